"""Every failed upload belongs to its campaign, and a bad name is recovered from by the agency alone.

Against the sandbox, with the DAGs run for real (``dag.test()``): the agency's badly named file (tracking ID,
no version segment), a file without a tracking ID in the campaign's Derivatives folder and a file outside every
campaign fail. The first two show on the campaign's page (the cockpit's HTML) with their sentence, and their
emails are among the campaign's messages; only the third is "of no known campaign". The agency renames the
bad file in Box: the sweep starts its run (its webhook never came), the file reaches the DAM's Final Assets and
the failure shows as resolved. A later valid file for the same master supersedes another failure, and the sweep
stops warning about it (it still warns about the failures nothing superseded).
"""

from __future__ import annotations

import html
import logging
import time
from pathlib import Path
from typing import Any

from tests.dags.conftest import fast, received, ti_states
from tests.dags.test_a2_to_a3_e2e import (
    _campaign,
    _derivatives_folder,
    _final_assets,
    _to_a2,
    _upload_as_agency,
)


def _agency_client(sandbox: Any) -> Any:
    from sandbox.box.client import ccg_client

    return ccg_client(sandbox.settings, sandbox.endpoints, user_id=sandbox.settings.box_agency_user_id)


def _derivative_bytes(box: Any, master: dict[str, Any], tmp: Path, note: str) -> bytes:
    """The master's bytes from Box, localized as the agency does."""
    from sandbox.box.agency import localize

    local = tmp / f"{master['tracking_id']}{Path(master['name']).suffix.lower()}"
    box.client.downloads.download_file(master["box_file_id"], local)
    localize(local, note)
    return local.read_bytes()


def _page_html(dsn: str, campaign_id: str) -> str:
    from cockpit.cockpit_app import TaskLinks, render_campaign
    from cockpit.queries import CockpitDb

    return render_campaign(CockpitDb.from_dsn(dsn).campaign(campaign_id), TaskLinks("", {}))


def test_failures_belong_to_their_campaign_and_a_rename_recovers(
        dags, seeded_sandbox, seed, product_env, tracking_db, tracking_dsn, tmp_path: Path, caplog) -> None:
    from box_sdk_gen import CreateFolderParent

    from cockpit.queries import CockpitDb
    from ferrero_provider.box.hooks import BoxHook
    from ferrero_provider.otmm.hooks import OtmmHook
    from include.ferrero.box_webhooks import dag_run_id_for
    from include.ferrero.config import load_settings
    from include.ferrero.steps.a2_to_a3 import sweep_derivatives
    from include.ferrero.steps.ports import Ports
    from sandbox.box.agency import v2_name

    campaign = _campaign(seed, "CMP-2026-001")
    _to_a2(dags, campaign)
    box, otmm, config = BoxHook(), OtmmHook(), load_settings()
    ports = Ports(dam=otmm.client, box=box.client, db=tracking_db, config=config)
    agency = _agency_client(seeded_sandbox)
    folder = _derivatives_folder(box, seed, campaign)
    first, second = tracking_db.masters_of_campaign(campaign["id"])[:2]
    box_names = {m["tracking_id"]: box.client.files.get_file_info(m["box_file_id"]).name for m in (first, second)}
    a2_to_a3 = fast(dags.get_dag("a2_to_a3"))
    runs: dict[str, str] = {}  # the webhook-style run id of each file run here -> its state

    def run(file_id: str) -> Any:
        info = box.client.files.get_file_info(file_id)
        dag_run = a2_to_a3.test(run_conf={"box_file_id": file_id, "box_file_version_id": info.version_id,
                                          "file_name": info.name})
        runs[dag_run_id_for(file_id, info.version_id, info.name)] = dag_run.state
        return dag_run

    bad_name = v2_name(box_names[first["tracking_id"]], 0, bad=True)  # e.g. 5RKZDM_..._EN_GB.pdf, no version
    bad = _upload_as_agency(seeded_sandbox, folder, bad_name, _derivative_bytes(box, first, tmp_path, "EN"))
    no_id = _upload_as_agency(seeded_sandbox, folder, "Brand guidelines.pdf", b"%PDF-1.4 no tracking id")
    elsewhere = agency.folders.create_folder("Agency drafts", CreateFolderParent(id=seed["box_root_folder_id"])).id
    elsewhere_derivatives = agency.folders.create_folder("Derivatives", CreateFolderParent(id=elsewhere)).id
    lost = _upload_as_agency(seeded_sandbox, elsewhere_derivatives, "lost.pdf", b"%PDF-1.4 of no campaign")
    for file_id in (bad, no_id, lost):
        dag_run = run(file_id)
        assert dag_run.state == "failed" and ti_states(dag_run)[("derivative_to_dam", -1)] == "failed"

    # The two files in the campaign's folder are the campaign's failures; the third is of no known campaign.
    cockpit = CockpitDb.from_dsn(tracking_dsn)
    page = cockpit.campaign(campaign["id"])
    failures = {f["box_file_id"]: f for f in page["failures"]}
    assert set(failures) == {bad, no_id}
    assert (failures[bad]["tracking_id"], failures[bad]["master_name"]) == (first["tracking_id"], first["name"])
    assert not any(f["resolved"] for f in failures.values())
    assert [f["box_file_id"] for f in cockpit.overview()["unattributed_failures"]] == [lost]
    mails = {m["subject"]: html.unescape(m["html"]) for m in received(seeded_sandbox, "mail")
             if "was not uploaded" in m["subject"]}
    assert len(mails) == 3
    assert first["tracking_id"] in next(text for subject, text in mails.items() if bad_name in subject)
    failed_emails = [o for o in page["outbox"] if o["target"] == "upload_failed"]
    assert len(failed_emails) == 2 and {o["status"] for o in failed_emails} == {"sent"}
    text = _page_html(tracking_dsn, campaign["id"])
    assert bad_name in text and "VERSION segment is missing" in html.unescape(text) and "No failure" not in text
    assert "Brand guidelines.pdf" in text and "lost.pdf" not in text

    # The agency renames the bad file in Box. Its webhook never came: the sweep starts the renamed file's run.
    good_name = v2_name(box_names[first["tracking_id"]], 0)
    agency.files.update_file_by_id(bad, name=good_name)
    due = sweep_derivatives(ports, runs.get)
    assert [(r["conf"]["box_file_id"], r["conf"]["file_name"]) for r in due] == [(bad, good_name)]
    renamed = a2_to_a3.test(run_conf=due[0]["conf"])
    assert renamed.state == "success", ti_states(renamed)
    assert sorted(_final_assets(otmm, campaign)) == [good_name[7:]], "the renamed file is in Final Assets"
    [fixed] = [f for f in cockpit.campaign(campaign["id"])["failures"] if f["box_file_id"] == bad]
    assert (fixed["resolved"], fixed["superseded_by"]) == (True, good_name)
    assert 'data-resolved="yes"' in _page_html(tracking_dsn, campaign["id"])

    # A bad file of the second master, then (a second later: Box times are whole seconds) a valid new file for
    # it: the failure is superseded, and the sweep no longer warns about it (it still does about the other).
    second_bad = _upload_as_agency(seeded_sandbox, folder, v2_name(box_names[second["tracking_id"]], 1, bad=True),
                                   _derivative_bytes(box, second, tmp_path, "IT"))
    assert run(second_bad).state == "failed"
    time.sleep(1.1)
    second_good = _upload_as_agency(seeded_sandbox, folder, v2_name(box_names[second["tracking_id"]], 2),
                                    _derivative_bytes(box, second, tmp_path, "FR"))
    assert run(second_good).state == "success"
    states = {f["box_file_id"]: f["resolved"] for f in cockpit.campaign(campaign["id"])["failures"]}
    assert states == {bad: True, second_bad: True, no_id: False}
    assert cockpit.overview()["summary"]["failed_uploads"] == 2  # the file without tracking ID, and lost.pdf
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="include.ferrero.steps.a2_to_a3"):
        assert sweep_derivatives(ports, runs.get) == []
    warned = sorted(r.getMessage().split(" (Box file")[0] for r in caplog.records if r.levelno == logging.WARNING)
    assert warned == ["Brand guidelines.pdf", "lost.pdf"], "failed, nothing superseded them: still warned about"
    assert any("superseded" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
    mails = [m for m in received(seeded_sandbox, "mail") if "was not uploaded" in m["subject"]]
    assert len(mails) == 4, "one error email per failed file, none for the rename or the superseding upload"

