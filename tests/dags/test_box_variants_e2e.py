"""A2 -> A3 end to end against the sandbox Box in each of its behaviour variants (``sandbox/box/variants.py``),
one sandbox for all of them (the variant is switched at run time): the agency uploads its derivatives and a new
version of one; what the webhook brings goes to ``a2_to_a3`` as the receiver sends it (classified by the
receiver's own code); the rest is found by the reconciliation (``derivatives_sweep``: webhook check, event
stream). Each campaign reaches A3 with one DAM version per Box version.

- ``new-version-without-webhook``: the new version fires no webhook; the event stream brings it.
- ``webhook-auto-deleted``: Box deletes the webhook after two deliveries and sends ``WEBHOOK.DELETED``; the
  reconciliation it starts re-creates the webhook (one critical email) and finds the uploads no webhook brought.
  The time from the loss to the webhook being back, and to the first upload without a webhook being in the DAM,
  is printed.
- ``events-duplicated-out-of-order``: every webhook is lost (dropped) and the stream repeats and reverses
  events; each version still becomes one DAM version.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest
import requests

from sandbox.box.variants import (
    EVENTS_DUPLICATED_OUT_OF_ORDER,
    NEW_VERSION_WITHOUT_WEBHOOK,
    WEBHOOK_AUTO_DELETED,
)
from sandbox.testing import start_sandbox
from tests.dags.conftest import ROOT, fast, received, ti_states
from tests.dags.test_a2_to_a3_e2e import _agency, _campaign, _derivatives_folder, _final_assets

if TYPE_CHECKING:
    from collections.abc import Iterator

_WELL_NAMED = re.compile(r"_v\d+\.\w+$")  # the agency's one badly named file has no version segment
#: One small generated campaign (one master: the agency uploads one good and one badly named file) per variant.
CAMPAIGN_OF = {NEW_VERSION_WITHOUT_WEBHOOK: "CMP-2026-101", WEBHOOK_AUTO_DELETED: "CMP-2026-102",
               EVENTS_DUPLICATED_OUT_OF_ORDER: "CMP-2026-103"}


@pytest.fixture(scope="module")
def seeded_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One sandbox for every Box variant, seeded with one generated campaign of one master per variant."""
    running = start_sandbox(tmp_path_factory.mktemp("box-variants"), webhook_retry_scale=0.001,
                            otmm_import_delay_seconds=0.05, seed_extra_campaigns=len(CAMPAIGN_OF), seed_extra_masters=1)
    subprocess.run([sys.executable, "-m", "sandbox", "seed"], env=running.env, cwd=ROOT, check=True,
                   capture_output=True)
    yield running
    running.stop()


class Driver:
    """Plays the receiver (webhook deliveries -> runs) and the scheduler (reconciliations and the runs they queue)
    with ``dag.test``."""

    def __init__(self, dags: Any, sandbox: Any, recorder: Any, box: Any, folder_id: str) -> None:
        self.a2_to_a3 = fast(dags.get_dag("a2_to_a3"))
        self.sweep = fast(dags.get_dag("derivatives_sweep"))
        self.sandbox, self.recorder, self.box, self.folder_id = sandbox, recorder, box, folder_id
        self.seen = len(recorder.deliveries)
        from airflow.models.dagrun import DagRun

        # runs queued by an earlier test (other campaigns, another tracking database) are not ours
        self.started: set[str] = {r.run_id for r in DagRun.find(dag_id="a2_to_a3", state="queued")}
        self.lost_at: float | None = None
        self.back_at: float | None = None
        self.first_in_dam: float | None = None  # the first upload no webhook brought, in the DAM

    def deliveries(self) -> list[dict[str, Any]]:
        time.sleep(1)  # let the sandbox's delivery worker send what is due
        new = self.recorder.deliveries[self.seen:]
        self.seen += len(new)
        return [json.loads(d["body"]) for d in new]

    def webhooks(self) -> None:
        """What the receiver does with each delivery: a file event starts its run, WEBHOOK.DELETED a reconciliation."""
        from receiver.forwarder import conf_of, webhook_deleted_run
        from receiver.webhook_body import classify

        for body in self.deliveries():
            event = classify(body, delivery_id=None, derivatives_folder_name="Derivatives",
                             service_account_user_id=self.sandbox.settings.box_service_account_user_id)
            if event.trigger == "WEBHOOK.DELETED":
                self.lost_at = self.lost_at or time.monotonic()
                self.reconcile(webhook_deleted_run({"event_id": event.event_id, "payload": body})[1])
            elif event.ignore_reason is None:
                conf = conf_of({"event_id": event.event_id, "box_file_id": event.box_file_id,
                                "box_file_version_id": event.box_file_version_id, "file_name": event.file_name})
                self._run(conf)

    def reconcile(self, conf: dict[str, Any] | None = None) -> list[str]:
        """One reconciliation, then the a2_to_a3 runs it queued (as the scheduler would run them)."""
        from airflow.models.dagrun import DagRun

        run = self.sweep.test(run_conf=conf or {})
        assert run.state == "success", ti_states(run)
        if self.lost_at and not self.back_at:
            self.back_at = time.monotonic()  # the reconciliation's check re-created the webhook
        queued = [r for r in DagRun.find(dag_id="a2_to_a3", state="queued") if r.run_id not in self.started]
        ours = []
        for dag_run in queued:
            self.started.add(dag_run.run_id)
            # one sandbox, one tracking database per test: the other campaigns' files are an earlier test's
            if self.box.client.files.get_file_info(dag_run.conf["box_file_id"]).folder_id == self.folder_id:
                ours.append(dag_run.run_id)
                self._run(dag_run.conf)
                self.first_in_dam = self.first_in_dam or time.monotonic()
        return ours

    def _run(self, conf: dict[str, Any]) -> None:
        run = self.a2_to_a3.test(run_conf=conf)
        bad = not _WELL_NAMED.search(conf["file_name"])
        assert run.state == ("failed" if bad else "success"), (conf, ti_states(run))


def _use(sandbox: Any, *variants: str) -> None:
    requests.post(f"{sandbox.endpoints['box_base_url']}/__sandbox__/box/variants", json={"variants": list(variants)},
                  timeout=5).raise_for_status()


@pytest.mark.parametrize("variant", list(CAMPAIGN_OF))
def test_a2_to_a3_with_one_dam_version_per_box_version(variant: str, dags, seeded_sandbox, seed, product_env,
                                                       webhook_recorder, tracking_db) -> None:
    from ferrero_provider.box.hooks import BoxHook
    from ferrero_provider.otmm.hooks import OtmmHook
    from tests.dags.test_a2_to_a3_new_version_e2e import _upload_new_version

    campaign = _campaign(seed, CAMPAIGN_OF[variant])
    _use(seeded_sandbox)
    assert fast(dags.get_dag("a1_to_a2")).test(run_conf={"campaign": campaign["id"]}).state == "success"
    otmm, box = OtmmHook(), BoxHook()
    driver = Driver(dags, seeded_sandbox, webhook_recorder, box, _derivatives_folder(box, seed, campaign))
    driver.reconcile()  # the webhook in place, the stream's position kept
    _use(seeded_sandbox, variant)
    if variant == EVENTS_DUPLICATED_OUT_OF_ORDER:
        requests.post(f"{seeded_sandbox.endpoints['box_base_url']}/__sandbox__/box/webhooks/drop-next",
                      json={"count": 1000}, timeout=5).raise_for_status()

    _agency(seeded_sandbox, campaign["number"])
    uploaded_at = time.monotonic()
    driver.webhooks()
    found = driver.reconcile()
    if variant == EVENTS_DUPLICATED_OUT_OF_ORDER:
        assert len(found) == 2, "every upload (one good, one badly named) from the stream, once"

    files = box.client.folders.list_folder_items(_derivatives_folder(box, seed, campaign))
    good = [f for f in files if _WELL_NAMED.search(f.name)]
    image = good[0]
    original = box.get_conn().downloads.download_file(image.item_id).read()
    _upload_new_version(seeded_sandbox, image.item_id, image.name, original + b"\n2")
    driver.webhooks()
    second = driver.reconcile()
    if variant in (NEW_VERSION_WITHOUT_WEBHOOK, EVENTS_DUPLICATED_OUT_OF_ORDER):
        assert len(second) == 1, "the new version, from the event stream"
    if variant == WEBHOOK_AUTO_DELETED:  # the new version's upload found the webhook gone
        assert driver.lost_at and driver.back_at and driver.first_in_dam
        print(f"\n[{variant}] WEBHOOK.DELETED received -> webhook back: {driver.back_at - driver.lost_at:.1f} s; "
              f"-> first upload without a webhook in the DAM: {driver.first_in_dam - driver.lost_at:.1f} s "
              f"(in-process dag.test; a deployment adds the scheduler's pickup); agency upload -> campaign "
              f"uploads done: {driver.first_in_dam - uploaded_at:.1f} s")
    assert driver.reconcile() == []  # nothing twice

    assert otmm.client.folders.get_campaign(campaign["id"]).status == "A3"
    assets = _final_assets(otmm, campaign)
    for file in good:
        versions = box.client.files.file_versions(file.item_id)
        asset = assets[file.name[7:]]
        assert asset.version == len(versions), (file.name, asset.version, len(versions))
    with tracking_db.transaction() as cur:
        cur.execute("SELECT box_file_id, count(*) AS n FROM derivative_versions GROUP BY box_file_id")
        counts = {r["box_file_id"]: r["n"] for r in cur.fetchall()}
    assert counts == {f.item_id: len(box.client.files.file_versions(f.item_id)) for f in good}
    hooks = box.client.watch.list_webhooks()
    assert [h.address for h in hooks] == [webhook_recorder.url]
    if variant == WEBHOOK_AUTO_DELETED:
        critical = [m for m in received(seeded_sandbox, "mail") if "Box webhook" in m["subject"]]
        assert [m["subject"].split(":")[0] for m in critical][:1] == ["CRITICAL"], critical
    _use(seeded_sandbox)
    requests.post(f"{seeded_sandbox.endpoints['box_base_url']}/__sandbox__/box/webhooks/drop-next",
                  json={"count": 0}, timeout=5).raise_for_status()
