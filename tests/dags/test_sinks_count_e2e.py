"""Nothing twice, counted at the receiving end: what the mail and webhook sinks got, and what the DAM holds.

(a) eight runs finishing a campaign at the same instant, ten times over: one status webhook and one email per
flip; (b) a sender killed after its request reached the sink and before its mark: the repeat carries the same
idempotency key; (c) two Box versions whose runs start newest first: two DAM versions, in upload order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import requests

from tests.dags.conftest import ROOT, fast, received, ti_states
from tests.dags.test_a2_to_a3_e2e import _agency, _campaign, _derivatives_folder, _to_a2, _upload_as_agency

RUNS, ROUNDS = 8, 10


def _a3_received(sandbox, campaign_id: str) -> tuple[list[dict], list[dict]]:
    hooks = [h for h in received(sandbox, "status-webhooks")
             if h["body"]["campaign_id"] == campaign_id and h["body"]["new_status"] == "A3"]
    mails = [m for m in received(sandbox, "mail") if "(A3)" in m["subject"]]
    return hooks, mails


def _clear_sinks(sandbox) -> None:
    for kind in ("mail", "status-webhooks", "asset-webhooks"):
        requests.delete(f"{sandbox.endpoints['sinks_url']}/__sandbox__/{kind}", timeout=5)


def test_eight_runs_completing_at_once_send_one_webhook_and_one_email_per_flip(
        dags, seeded_sandbox, seed, product_env, tracking_db) -> None:
    from ferrero_provider.box.hooks import BoxHook
    from ferrero_provider.otmm.hooks import OtmmHook
    from include.ferrero.runtime import Services, deliver_now
    from include.ferrero.steps.a2_to_a3 import check_derivative, complete_campaign, upload_derivative

    campaign = _campaign(seed, "CMP-2026-001")
    _to_a2(dags, campaign)
    _agency(seeded_sandbox, campaign["number"])
    box, services = BoxHook(), Services()
    folder = _derivatives_folder(box, seed, campaign)
    for f in [f for f in box.client.folders.list_folder_items(folder) if "_v01." in f.name]:  # a second derivative per master
        content = box.get_conn().downloads.download_file(f.item_id).read()
        _upload_as_agency(seeded_sandbox, folder, f.name.replace("_v01.", "_v02."), content)
    files = [f for f in box.client.folders.list_folder_items(folder) if "_v0" in f.name and f.name[:6].isalnum()]
    derivatives = []
    for f in files:
        try:
            derivatives.append(check_derivative(services.ports, f.item_id))
        except ValueError:
            continue  # the agency's badly named file
    assert len(derivatives) >= RUNS
    for derivative in derivatives:
        upload_derivative(services.ports, derivative)

    for round_ in range(ROUNDS):
        _clear_sinks(seeded_sandbox)
        if round_:  # the campaign comes back through A1 -> A2: a new cycle, so a new A3 flip is due
            OtmmHook().client.folders.set_campaign_status(campaign["id"], "A2")
            with tracking_db.transaction() as cur:
                cur.execute("INSERT INTO campaign_status_changes (campaign_id, old_status, new_status, cycle)"
                            " VALUES (%s, 'A1', 'A2', %s)", (campaign["id"], round_ + 1))
        start, errors = threading.Barrier(RUNS), []

        def finish(derivative: dict, run_id: str, start: threading.Barrier = start, errors: list = errors) -> None:
            own = Services()
            try:
                start.wait()
                outcome = complete_campaign(own.ports, derivative, run_id)
                if outcome["flipped"]:  # as derivative_to_dam: right after the commit, one attempt each
                    deliver_now(own, list(outcome["message_keys"].values()))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                own.close()

        threads = [threading.Thread(target=finish, args=(d, f"race-{round_}-{i}"))
                   for i, d in enumerate(derivatives[:RUNS])]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        hooks, mails = _a3_received(seeded_sandbox, campaign["id"])
        print(f"round {round_ + 1}: {len(hooks)} A3 webhook(s), {len(mails)} A3 email(s) received")
        assert len(hooks) == 1 and len(mails) == 1, f"round {round_ + 1}"
        assert hooks[0]["headers"]["idempotency-key"] and mails[0]["message_id_header"]
    assert tracking_db.completed_cycles(campaign["id"], "A2", "A3") == ROUNDS


def test_a_sender_killed_after_sending_repeats_with_the_same_key(seeded_sandbox, product_env, tracking_db) -> None:
    from include.ferrero.messages import Email
    from include.ferrero.outbox import email_message, webhook_message
    from include.ferrero.runtime import Services

    sinks = seeded_sandbox.endpoints["sinks_url"]
    services = Services()
    hook = webhook_message("test/kill/status-webhook", "campaign_status_update",
                           {"campaign_id": "KILL", "new_status": "A2"})
    mail = email_message("test/kill/email", "a1_to_a2_complete",
                         Email(recipients=["team@ferrero.com"], subject="kill test", html="<p>x</p>"))
    services.outbox.add([hook, mail])
    for message, path, kind in ((hook, "/status-webhook", "status-webhooks"), (mail, "/v3/*", "mail")):
        requests.post(f"{sinks}/__sandbox__/faults", json={"kind": "slow_answer", "path": path, "seconds": 60},
                      timeout=5).raise_for_status()
        sender = subprocess.Popen(  # noqa: S603 - our own interpreter
            [sys.executable, "-c", "import sys; from include.ferrero.runtime import Services; "
             "Services().deliver([sys.argv[1]])", message.key], cwd=ROOT, env=os.environ.copy())
        deadline = time.monotonic() + 60
        while not received(seeded_sandbox, kind) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert received(seeded_sandbox, kind), "the request reached the sink"
        sender.send_signal(signal.SIGKILL)
        sender.wait(10)

        assert services.outbox.get([message.key])[message.key].status == "pending", "its mark died with it"
        services.outbox.deliver([message.key], services.send, timeout_seconds=30)  # the dispatcher's turn
        got = received(seeded_sandbox, kind)
        keys = {r["headers"]["idempotency-key"] if kind != "mail" else r["message_id_header"] for r in got}
        print(f"{kind}: {len(got)} received (raw), {len(keys)} distinct key(s)")
        assert len(got) == 2 and len(keys) == 1, "the one repeat carries the same key"
        assert services.outbox.get([message.key])[message.key].status == "sent"
    services.close()


def test_two_box_versions_reach_the_dam_in_upload_order_whichever_run_starts_first(
        dags, seeded_sandbox, seed, product_env, tracking_db) -> None:
    from ferrero_provider.box.hooks import BoxHook
    from ferrero_provider.otmm.hooks import OtmmHook
    from sandbox.otmm.store import OtmmStore
    from tests.dags.test_a2_to_a3_new_version_e2e import _upload_new_version

    campaign = _campaign(seed, "CMP-2026-002")
    _to_a2(dags, campaign)
    _agency(seeded_sandbox, campaign["number"])
    box, otmm = BoxHook(), OtmmHook()
    image = next(f for f in box.client.folders.list_folder_items(_derivatives_folder(box, seed, campaign))
                 if f.name.endswith((".png", ".jpg")) and "_v0" in f.name)
    v1 = box.client.files.get_file_info(image.item_id).version_id
    original = box.get_conn().downloads.download_file(image.item_id).read()
    contents = {v1: original}
    for n in (2, 3):  # two new versions a second apart, before any run of theirs starts
        _upload_new_version(seeded_sandbox, image.item_id, image.name, original + f"\n{n}".encode())
        contents[box.client.files.get_file_info(image.item_id).version_id] = original + f"\n{n}".encode()
        time.sleep(1)
    v1, v2, v3 = contents

    a2_to_a3 = fast(dags.get_dag("a2_to_a3"))
    for version in (v3, v1, v2):  # the newest run starts first, the oldest in the middle
        run = a2_to_a3.test(run_conf={"box_file_id": image.item_id, "box_file_version_id": version})
        assert run.state == "success", ti_states(run)

    [asset] = [a for a in otmm.client.folders.list_master_assets(campaign["final_assets_folder_id"]) if a.name == image.name[7:]]
    history = OtmmStore(seeded_sandbox.settings.otmm_dir).content_history(asset.asset_id)
    assert history == [contents[v1], contents[v2], contents[v3]], "one DAM version per Box version, in order"
    webhooks = [h["body"] for h in received(seeded_sandbox, "asset-webhooks") if h["body"]["filename"] == image.name]
    assert len(webhooks) == 3 and len({w["dam_asset_id"] for w in webhooks}) == 1
