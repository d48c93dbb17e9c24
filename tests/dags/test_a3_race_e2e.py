"""Two runs finishing the last two derivatives of a campaign at the same moment move it to A3 once."""

from __future__ import annotations

import threading

from tests.dags.test_a2_to_a3_e2e import _agency, _campaign, _derivatives_folder, _to_a2


def test_last_two_derivatives_at_once_flip_once(dags, seeded_sandbox, seed, product_env, tracking_db) -> None:
    """The completion decision of two runs racing for the last two masters is taken once."""
    from ferrero_provider.box.hooks import BoxHook
    from ferrero_provider.otmm.hooks import OtmmHook
    from include.ferrero.config import load_settings
    from include.ferrero.db.tracking import TrackingDb
    from include.ferrero.steps.a2_to_a3 import check_derivative, complete_campaign, upload_derivative
    from include.ferrero.steps.ports import Ports

    campaign = _campaign(seed, "CMP-2026-001")
    _to_a2(dags, campaign)
    _agency(seeded_sandbox, campaign["number"])
    box, config = BoxHook(), load_settings()
    ports = Ports(dam=OtmmHook().client, box=box.client, db=tracking_db, config=config)
    files = [f for f in box.client.folders.list_folder_items(_derivatives_folder(box, seed, campaign)) if "_v01." in f.name]
    derivatives = [check_derivative(ports, f.item_id) for f in files]
    for derivative in derivatives:
        upload_derivative(ports, derivative)

    outcomes: list[dict] = []
    start = threading.Barrier(2)

    def finish(derivative: dict, run_id: str) -> None:
        db = TrackingDb.from_dsn(product_env["TRACKING_DSN"])
        start.wait()
        outcomes.append(complete_campaign(Ports(dam=OtmmHook().client, box=box.client, db=db, config=config),
                                          derivative, run_id))
        db.close()

    threads = [threading.Thread(target=finish, args=(d, f"race-{i}")) for i, d in enumerate(derivatives[-2:])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [o["flipped"] for o in outcomes] == [True, True]
    assert sorted(o["created"] for o in outcomes) == [False, True]
    assert OtmmHook().client.folders.get_campaign(campaign["id"]).status == "A3"
    assert tracking_db.completed_cycles(campaign["id"], "A2", "A3") == 1
