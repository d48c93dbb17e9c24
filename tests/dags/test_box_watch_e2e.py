"""The reconciliation with Box (``derivatives_sweep``, ``steps/box_watch.py``) against the sandbox: the webhook
re-created when it is gone with one critical email per loss, and the uploads no webhook brought found from the
event stream (uploads, new versions, copies, moves, renames; duplicates and disorder harmless), or from folder
listings when the stream cannot be used."""

from __future__ import annotations

import io
import uuid
from typing import TYPE_CHECKING

import requests
from box_sdk_gen import (
    CopyFileParent,
    CreateWebhookTarget,
    CreateWebhookTargetTypeField,
    CreateWebhookTriggers,
    UploadFileAttributes,
    UploadFileAttributesParentField,
)
from box_sdk_gen.managers.files import UpdateFileByIdParent

from include.ferrero.box_webhooks import WEBHOOK_TRIGGERS, dag_run_id_for
from sandbox.box.agency import v2_name
from sandbox.box.variants import EVENTS_DUPLICATED_OUT_OF_ORDER
from tests.dags.conftest import fast, received, ti_states
from tests.dags.test_a2_to_a3_e2e import (
    _campaign,
    _derivatives_folder,
    _final_assets,
    _to_a2,
    _upload_as_agency,
)
from tests.dags.test_a2_to_a3_new_version_e2e import _upload_new_version

if TYPE_CHECKING:
    from typing import Any


def _webhook_mails(sandbox) -> list[str]:
    return [m["subject"] for m in received(sandbox, "mail") if "Box webhook" in m["subject"]]


def test_the_webhook_comes_back_with_one_critical_email_per_loss(dags, seeded_sandbox, seed, product_env,
                                                               webhook_recorder, tracking_db) -> None:
    from ferrero_provider.box.hooks import BoxHook

    box = BoxHook()
    sweep = fast(dags.get_dag("derivatives_sweep"))
    root = str(seed["box_root_folder_id"])
    for hook in box.client.watch.list_webhooks():  # lost, silently (no WEBHOOK.DELETED reaches anyone)
        box.get_conn().webhooks.delete_webhook_by_id(hook.webhook_id)

    def check() -> None:
        run = sweep.test()
        assert run.state == "success", ti_states(run)

    check()
    [hook] = box.client.watch.list_webhooks()
    assert (hook.folder_id, hook.address) == (root, webhook_recorder.url)
    assert set(hook.triggers) == set(WEBHOOK_TRIGGERS)
    lost = _webhook_mails(seeded_sandbox)
    assert len(lost) == 1 and lost[0].startswith("CRITICAL: the Box webhook was missing"), lost
    check()  # back: the outage ends
    assert _webhook_mails(seeded_sandbox)[1:] == ["Resolved: the Box webhook delivers to the receiver again"]
    check()
    assert len(_webhook_mails(seeded_sandbox)) == 2  # nothing while it stays

    # a second loss: the webhook now points elsewhere (someone re-registered it by hand)
    box.get_conn().webhooks.delete_webhook_by_id(hook.webhook_id)
    box.get_conn().webhooks.create_webhook(
        CreateWebhookTarget(id=root, type=CreateWebhookTargetTypeField.FOLDER), "http://127.0.0.1:9/box/webhook",
        [CreateWebhookTriggers.FILE_UPLOADED])
    check()
    check()
    mails = _webhook_mails(seeded_sandbox)
    assert len(mails) == 4 and mails[2].startswith("CRITICAL") and mails[3].startswith("Resolved"), mails
    [again] = box.client.watch.list_webhooks()
    assert again.address == webhook_recorder.url


def test_the_event_stream_finds_every_kind_of_change_once(seeded_sandbox, seed, product_env, tracking_db) -> None:
    from ferrero_provider.box.hooks import BoxHook
    from ferrero_provider.otmm.hooks import OtmmHook
    from include.ferrero.config import load_settings
    from include.ferrero.steps.box_watch import reconcile_derivatives
    from include.ferrero.steps.ports import Ports
    from sandbox.box.client import ccg_client

    config, box = load_settings(), BoxHook()
    ports = Ports(dam=OtmmHook().client, box=box.client, db=tracking_db, config=config)
    folders = box.client.folders.ensure_campaign_folders("CMP-2026-900", f"Stream {uuid.uuid4().hex[:6]}",
                                          parent_folder_id=str(seed["box_root_folder_id"]))
    agency = ccg_client(seeded_sandbox.settings, seeded_sandbox.endpoints,
                        user_id=seeded_sandbox.settings.box_agency_user_id)
    service = box.get_conn()
    started: set[str] = set()

    def run_state(run_id: str) -> str | None:
        return "success" if run_id in started else None

    def reconcile() -> Any:
        found = reconcile_derivatives(ports, run_state)
        started.update(r["trigger_run_id"] for r in found.runs)
        return found

    def upload(folder: str, name: str) -> Any:
        return agency.uploads.upload_file(UploadFileAttributes(
            name=name, parent=UploadFileAttributesParentField(id=folder)), io.BytesIO(uuid.uuid4().bytes)).entries[0]

    def run_id(file_id: str, name: str) -> str:
        info = box.client.files.get_file_info(file_id)
        return dag_run_id_for(file_id, info.version_id, name)

    renamed = upload(folders.derivatives_folder_id, "AAAAAA_Brand_Subject_image_IT_v01.png")
    first = reconcile()
    assert first.source == "folders" and first.why == "no stream position kept yet"
    assert run_id(renamed.id, renamed.name) in {r["trigger_run_id"] for r in first.runs}

    new = upload(folders.derivatives_folder_id, "BBBBBB_Brand_Subject_image_IT_v01.png")
    first_version = dag_run_id_for(new.id, new.file_version.id, new.name)
    _upload_new_version(seeded_sandbox, new.id, new.name, b"second version")
    in_masters = upload(folders.masters_folder_id, "CCCCCC_Brand_Subject_image.png")
    copy = service.files.copy_file(in_masters.id, CopyFileParent(id=folders.derivatives_folder_id),
                                   name="CCCCCC_Brand_Subject_image_IT_v01.png")
    moved = upload(folders.masters_folder_id, "DDDDDD_Brand_Subject_image_IT_v01.png")
    service.files.update_file_by_id(moved.id, parent=UpdateFileByIdParent(id=folders.derivatives_folder_id))
    service.files.update_file_by_id(renamed.id, name="AAAAAA_Brand_Subject_image_IT_v02.png")
    requests.post(f"{seeded_sandbox.endpoints['box_base_url']}/__sandbox__/box/variants",
                  json={"variants": [EVENTS_DUPLICATED_OUT_OF_ORDER]}, timeout=5).raise_for_status()
    try:
        found = reconcile()
    finally:
        requests.post(f"{seeded_sandbox.endpoints['box_base_url']}/__sandbox__/box/variants",
                      json={"variants": None}, timeout=5).raise_for_status()
    assert found.source == "events" and found.duplicates > 0
    assert sorted(r["trigger_run_id"] for r in found.runs) == sorted({
        first_version, run_id(new.id, new.name), run_id(copy.id, copy.name), run_id(moved.id, moved.name),
        run_id(renamed.id, "AAAAAA_Brand_Subject_image_IT_v02.png")})
    assert found.skipped.get("outside a Derivatives folder") == 2  # the two uploads into Masters
    assert reconcile().runs == []  # nothing twice

    # events after the kept position are gone from the stream (Box keeps ~21 days): folder listings find the
    # upload they were about, then the stream is read again
    late = upload(folders.derivatives_folder_id, "EEEEEE_Brand_Subject_image_IT_v01.png")
    requests.post(f"{seeded_sandbox.endpoints['box_base_url']}/__sandbox__/box/events/expire",
                  json={"older_than_seconds": 0}, timeout=5).raise_for_status()
    fallback = reconcile()
    assert fallback.source == "folders" and fallback.why.startswith("Box refused the event stream")
    assert [r["trigger_run_id"] for r in fallback.runs] == [run_id(late.id, late.name)]
    assert reconcile().source == "events"

    # an app whose authentication may not read the stream: folder listings every time, no position kept
    faults = f"{seeded_sandbox.endpoints['box_base_url']}/__sandbox__/faults"
    requests.post(faults, json={"method": "GET", "path": "/2.0/events", "kind": "status", "status": 403,
                                "count": 4}, timeout=5).raise_for_status()
    try:
        refused = [reconcile(), reconcile()]
    finally:
        requests.delete(faults, timeout=5)
    assert [r.source for r in refused] == ["folders", "folders"] and refused[0].why.startswith("Box refused")
    assert reconcile().source == "folders"  # no position was kept meanwhile; this one keeps one again
    assert reconcile().source == "events"

    with tracking_db.transaction() as cur:  # a position kept longer than the stream keeps is not trusted
        cur.execute("UPDATE box_stream_positions SET read_at = now() - interval '30 days'")
    stale = reconcile()
    assert stale.source == "folders" and "20 days" in stale.why and stale.runs == []
    assert reconcile().source == "events"


def test_a_derivative_trashed_and_restored_reaches_the_dam_without_a_webhook(dags, seeded_sandbox, seed, product_env,
                                                                             tracking_db) -> None:
    """The agency uploads a derivative and trashes it by mistake before any reconciliation saw it (no webhook
    anywhere); the reconciliation meanwhile finds nothing to bring; the file restored from Box's trash reaches the
    DAM through the next one (``ITEM_UNDELETE_VIA_TRASH``), once."""
    from ferrero_provider.box.hooks import BoxHook
    from ferrero_provider.otmm.hooks import OtmmHook
    from include.ferrero.config import load_settings
    from include.ferrero.steps.box_watch import reconcile_derivatives
    from include.ferrero.steps.ports import Ports
    from sandbox.box.client import ccg_client

    campaign = _campaign(seed, "CMP-2026-001")
    _to_a2(dags, campaign)
    config, box, otmm = load_settings(), BoxHook(), OtmmHook()
    ports = Ports(dam=otmm.client, box=box.client, db=tracking_db, config=config)
    for hook in box.client.watch.list_webhooks():  # every webhook lost
        box.get_conn().webhooks.delete_webhook_by_id(hook.webhook_id)
    a2_to_a3 = fast(dags.get_dag("a2_to_a3"))
    states: dict[str, str] = {}

    def reconcile() -> list[str]:
        """One reconciliation, then the runs it starts (as the scheduler would run them)."""
        found = reconcile_derivatives(ports, states.get)
        for run in found.runs:
            states[run["trigger_run_id"]] = a2_to_a3.test(run_conf=run["conf"]).state
        return [r["trigger_run_id"] for r in found.runs]

    derivatives = _derivatives_folder(box, seed, campaign)
    masters = next(i.item_id for i in box.client.folders.list_folder_items(
        next(f.item_id for f in box.client.folders.list_folder_items(seed["box_root_folder_id"])
             if f.name == f"{campaign['number']} {campaign['name']}")) if i.name == "Masters")
    master = next(f for f in box.client.folders.list_folder_items(masters) if f.item_type == "file")
    name = v2_name(master.name, 0)
    reconcile()  # the stream's position kept (the campaign has no derivative yet)
    before = set(_final_assets(otmm, campaign))

    file_id = _upload_as_agency(seeded_sandbox, derivatives, name,
                                box.get_conn().downloads.download_file(master.item_id).read())
    agency = ccg_client(seeded_sandbox.settings, seeded_sandbox.endpoints,
                        user_id=seeded_sandbox.settings.box_agency_user_id)
    agency.files.delete_file_by_id(file_id)
    assert reconcile() == []  # in the trash: nothing to bring (and no run that fails for it)
    assert set(_final_assets(otmm, campaign)) == before

    agency.trashed_files.restore_file_from_trash(file_id)
    info = box.client.files.get_file_info(file_id)
    started = reconcile()
    assert started == [dag_run_id_for(file_id, info.version_id, name)]
    assert states[started[0]] == "success"
    assets = _final_assets(otmm, campaign)
    assert set(assets) - before == {name[7:]} and assets[name[7:]].version == 1  # in the DAM, under its clean name
    assert reconcile() == []  # nothing twice
    with tracking_db.transaction() as cur:
        cur.execute("SELECT count(*) AS n FROM derivative_versions WHERE box_file_id = %s", (file_id,))
        assert cur.fetchone()["n"] == 1
