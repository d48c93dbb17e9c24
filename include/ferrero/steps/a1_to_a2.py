"""The steps of A1 -> A2, one function per DAG task, each given the :class:`~include.ferrero.steps.ports.Ports`
(the DAM, Box, the tracking database, the config) and its own arguments.

No Airflow import here: the DAG files build the ports and call these, so the same code runs in tests against
the sandbox. Each step is safe to retry, clear and re-run.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.ferrero.campaigns import (
    CampaignError,
    PlannedMaster,
    campaign_run_id,
    check_startable,
    find_campaign,
    order_masters,
    transfer_report,
)
from include.ferrero.messages import render_email, status_payload
from include.ferrero.naming import safe_local_name
from include.ferrero.outbox import STATUS_WEBHOOK, email_message, flip_keys, run_key, webhook_message
from include.ferrero.temp_files import prepare_temp_root, size_problem

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from include.ferrero.config_model import Config
    from include.ferrero.db.rows import CampaignProgress, MasterRow, PlannedTransfer, StatusChangeRow
    from include.ferrero.outbox import OutboxMessage
    from include.ferrero.steps.payloads import (
        CampaignPlan,
        CampaignRun,
        CampaignSummary,
        MasterTransfer,
        StatusChange,
    )
    from include.ferrero.steps.ports import Dam, HasAsDict, Ports

_DAM_ID = re.compile(r"^[0-9a-fA-F]{40}$")


def record(value: HasAsDict | Mapping[str, Any]) -> dict[str, Any]:
    """A hook's result (a small dataclass with ``as_dict``, or a mapping) as a plain dict."""
    return dict(value.as_dict()) if hasattr(value, "as_dict") else dict(value)


_BOX_FORBIDDEN = re.compile(r"[/\\\x00-\x1f]")


def discover_campaigns(ports: Ports) -> list[CampaignRun]:
    """Campaigns in A1, each with the run id and conf of the run that processes it."""
    db, limit = ports.db, ports.config.polling.max_campaigns_per_run
    runs: list[CampaignRun] = []
    for campaign in map(record, ports.dam.folders.search_campaigns("A1")[:limit]):
        db.upsert_campaign(campaign["campaign_id"], campaign["name"], campaign.get("number"), campaign["status"])
        cycle = db.completed_cycles(campaign["campaign_id"], "A1", "A2") + 1
        runs.append({
            "trigger_run_id": campaign_run_id(campaign, cycle),
            "conf": {"campaign": campaign["campaign_id"], "force": False, "cycle": cycle},
        })
    return runs


def run_by_hand(ports: Ports, reference: str, force: bool, now: datetime) -> tuple[CampaignRun, str]:
    """The run an operator asks for, named after its campaign as discovery's runs are: an A1 campaign gets
    its cycle's run (never started twice); a forced re-send of a campaign past A1 gets a run of its own. With
    the sentence for the log, naming the campaign's real status."""
    campaign, db = resolve_campaign(ports.dam, reference), ports.db
    check_startable(campaign, force)
    campaign_id = campaign["campaign_id"]
    db.upsert_campaign(campaign_id, campaign["name"], campaign.get("number"), campaign["status"])
    done = db.completed_cycles(campaign_id, "A1", "A2")
    cycle = done + 1 if campaign["status"] == "A1" or done == 0 else done
    run_id = campaign_run_id(campaign, cycle)
    label = campaign.get("number") or campaign_id
    said = f"campaign {label} is in status {campaign['status']} in the DAM"
    if campaign["status"] != "A1":
        run_id += f"__forced-{now:%Y%m%dT%H%M%S}"
        said += ": its masters are sent to Box again (force), its status is left as it is"
    return ({"trigger_run_id": run_id, "conf": {"campaign": campaign_id, "force": force, "cycle": cycle}},
            f"{said}; run {run_id}")


def resolve_campaign(dam: Dam, reference: str) -> dict[str, Any]:
    """The campaign named by its DAM id or its campaign number."""
    reference = (reference or "").strip()
    if not reference:
        raise CampaignError("no campaign given: enter its DAM id or its campaign number")
    if _DAM_ID.match(reference):
        return record(dam.folders.get_campaign(reference))
    candidates = [record(c) for status in ("A1", "A2", "A3") for c in dam.folders.search_campaigns(status)]
    return find_campaign(candidates, reference)


def plan_campaign(ports: Ports, reference: str, run_id: str, force: bool = False,
                  cycle: int | None = None) -> CampaignPlan:
    """Check the campaign, make its Box folders, and record its masters as the run's plan (one mapped task instance
    each, by position: ``transfer_master`` reads its own from the tracking database)."""
    otmm, db = ports.dam, ports.db
    campaign = resolve_campaign(otmm, reference)
    check_startable(campaign, force)
    campaign_id = campaign["campaign_id"]
    masters = [record(m) for m in otmm.folders.list_master_assets(campaign_id)]
    if not masters:
        raise CampaignError(f"campaign {campaign.get('number') or campaign_id} {campaign['name']!r} has no master "
                            "assets (non-folder children of its DAM folder)")
    final_folder_id = otmm.folders.find_final_assets_folder(campaign_id).folder_id
    folders = ports.box.folders.ensure_campaign_folders(campaign.get("number") or "", campaign["name"],
                                                        parent_folder_id=str(ports.config.box.root_folder_id))
    db.upsert_campaign(campaign_id, campaign["name"], campaign.get("number"), campaign["status"])
    db.record_campaign_folders(campaign_id, folders.campaign_folder_id, final_folder_id)
    if cycle is None:
        # A campaign in A1 starts a new cycle; a forced re-send of one already past A1 stays in its last cycle,
        # so its (already made) flip and notifications are not repeated.
        done = db.completed_cycles(campaign_id, "A1", "A2")
        cycle = done + 1 if campaign["status"] == "A1" or done == 0 else done
    summary: CampaignSummary = {
        "campaign_id": campaign_id, "name": campaign["name"], "number": campaign.get("number"),
        "status": campaign["status"], "cycle": cycle, "force": force, "master_count": len(masters),
        "final_assets_folder_id": final_folder_id, "box_folder_id": folders.campaign_folder_id,
        "masters_folder_id": folders.masters_folder_id,
    }
    planned = order_masters([PlannedMaster(asset_id=m["asset_id"], name=m["name"], dam_asset=m) for m in masters])
    db.plan_run(run_id, summary, planned)
    return {"campaign": summary, "positions": list(range(len(planned)))}


def planned_transfer(ports: Ports, run_id: str, position: int) -> PlannedTransfer:
    """The master at ``position`` of the run's plan, with the run's campaign."""
    planned = ports.db.planned_transfer(run_id, position)
    if planned is None:
        raise CampaignError(f"run {run_id} has no planned master at position {position} (it was planned again "
                            "with fewer masters, or before this version of the pipeline): clear plan_campaign with "
                            "its downstream tasks to plan the run again")
    return planned


def box_file_url(web_url: str, file_id: str) -> str:
    """The file's page in the Box web app (config ``box.web_url``; what a person opens from the tracking
    database)."""
    return f"{web_url}/file/{file_id}"


def box_master_name(tracking_id: str, master_name: str) -> str:
    """``<TRACKING>_<original name>``, with characters Box refuses in names replaced."""
    return f"{tracking_id}_{_BOX_FORBIDDEN.sub('_', master_name)}"[:255]


def transfer_master(ports: Ports, campaign: CampaignSummary, master: PlannedMaster, run_id: str, *,
                    read_dam: bool = False) -> MasterTransfer:
    """DAM original -> temp file -> Box ``Masters/`` as ``<TRACKING>_<name>``, recorded in the tracking DB.

    The master's DAM record (metadata, size) is the one its run's planning listed, unless ``read_dam`` (a retry, or
    a master planned without it): then it is read from the DAM again. Re-running finds the same tracking ID (kept
    forever per master) and the same Box file (same name, same SHA-1); the temp file is removed whatever happens.
    The outcome is recorded for the partial-result email.
    """
    campaign_id, asset_id, name = campaign["campaign_id"], master["asset_id"], master["name"]
    otmm, db, config = ports.dam, ports.db, ports.config
    try:
        tracking_id = db.get_or_create_tracking_id(asset_id, campaign_id, name)
        planned = master.get("dam_asset")
        asset = planned if planned and not read_dam else record(otmm.assets.get_asset(asset_id))
        too_large = size_problem(asset.get("content_size"), config.temp.max_size_mb, f"master {name!r}")
        if too_large:
            raise CampaignError(too_large)
        with tempfile.TemporaryDirectory(prefix="master-", dir=prepare_temp_root(config.temp)) as tmp:
            local = Path(tmp) / safe_local_name(name)
            otmm.assets.download_original(asset_id, local, expected_size=asset.get("content_size"))
            uploaded = ports.box.uploads.upload_file(campaign["masters_folder_id"], local,
                                                     file_name=box_master_name(tracking_id, name))
        db.record_master_in_box(asset_id, name=name, dam_metadata=asset, box_file_id=uploaded.file_id,
                                box_file_url=box_file_url(config.box.web_url, uploaded.file_id),
                                upload_folder_id=campaign["final_assets_folder_id"])
    except Exception as exc:
        db.record_transfer(run_id, campaign_id, asset_id, name, error=str(exc) or type(exc).__name__)
        raise
    db.record_transfer(run_id, campaign_id, asset_id, name, tracking_id=tracking_id,
                       box_file_id=uploaded.file_id)
    return {"asset_id": asset_id, "asset_name": name, "tracking_id": tracking_id, "box_file_id": uploaded.file_id}


def partial_result_message(ports: Ports, campaign: CampaignSummary, run_id: str,
                           airflow_url: str | None) -> OutboxMessage | None:
    """The partial-result email when some of the run's planned masters failed, else None; the same failures of the
    same run are one fact (a clear that fails the same masters again sends nothing new)."""
    config = ports.config
    report = transfer_report(ports.db.run_masters(run_id), ports.db.transfers_of_run(run_id))
    if report["failed"] == 0 or not config.notifications.enabled:
        return None
    email = render_email("a1_to_a2_partial", config, {
        "campaign_name": campaign["name"], "campaign_id": campaign["campaign_id"],
        "campaign_number": campaign.get("number") or "", "airflow_url": airflow_url, **report,
    })
    failed = [a["asset_id"] for a in report["failed_assets"]]
    return email_message(run_key("a1_to_a2", run_id, "partial-email", *failed), "a1_to_a2_partial", email,
                         campaign["campaign_id"])


def plan_failure_message(ports: Ports, reference: str | None, error: str, run_id: str,
                         airflow_url: str) -> OutboxMessage | None:
    """The error email of a campaign that could not even be planned (bad id, not in A1, no masters...), once per
    run; None when emails are off."""
    if not ports.config.notifications.enabled:
        return None
    email = render_email("campaign_processing_failed", ports.config, {
        "campaign_name": "", "campaign_id": reference, "campaign_number": reference, "error": error,
        "airflow_url": airflow_url,
    })
    return email_message(run_key("a1_to_a2", run_id, "plan-failed"), "campaign_processing_failed", email)


def flip_to_a2(ports: Ports, campaign: CampaignSummary, run_id: str, box_folder_url: str | None) -> StatusChange:
    """A1 -> A2 once per campaign cycle, only when every master of the campaign is in Box, recorded together with
    its status webhook and success email."""
    otmm, db, config = ports.dam, ports.db, ports.config
    campaign_id = campaign["campaign_id"]
    label = campaign.get("number") or campaign_id

    def apply(progress: CampaignProgress) -> bool:
        missing = len(progress["masters"]) - len(progress["in_box"])
        if len(progress["in_box"]) < campaign["master_count"] or missing:
            raise CampaignError(f"campaign {label} cannot move to A2: "
                                f"{max(missing, campaign['master_count'] - len(progress['in_box']))} master(s) "
                                "are not in Box yet")
        current = otmm.folders.get_campaign(campaign_id).status
        if current not in ("A1", "A2") and not campaign.get("force"):
            raise CampaignError(f"campaign {label} is now in status {current!r} in the DAM, so it was not moved "
                                "to A2")
        otmm.folders.set_campaign_status(campaign_id, "A2")
        return True

    if box_folder_url:  # the cockpit's link to the campaign's Box folder
        db.record_box_folder_url(campaign_id, box_folder_url)
    change = db.flip_once(campaign_id, "A1", "A2", campaign["cycle"], run_id, apply,
                          lambda change, masters: a2_messages(config, campaign, box_folder_url, change, masters))
    assert change is not None, "apply never declines: it flips or raises"
    return {"change_id": change["id"], "changed_at": change["changed_at"].isoformat(), "created": change["created"],
            "message_keys": flip_keys(campaign_id, "A1", "A2", change["cycle"])}


def a2_messages(config: Config, campaign: CampaignSummary, box_folder_url: str | None, change: StatusChangeRow,
                masters: list[MasterRow]) -> list[OutboxMessage]:
    """The A2 flip's status webhook and success email, rendered from the recorded change and its masters."""
    campaign_id = campaign["campaign_id"]
    keys = flip_keys(campaign_id, "A1", "A2", change["cycle"])
    assets = [{"asset_id": m["dam_asset_id"], "asset_name": m["name"], "tracking_id": m["tracking_id"],
               "box_file_id": m["box_file_id"]} for m in masters]
    messages = []
    hook = config.webhooks["campaign_status_update"]
    if hook.enabled:
        messages.append(webhook_message(keys["status-webhook"], STATUS_WEBHOOK, status_payload(hook.payload_template, {
            "campaign_id": campaign_id, "campaign_number": campaign.get("number"), "campaign_name": campaign["name"],
            "old_status": "A1", "new_status": "A2", "asset_count": len(assets), "processed_assets": assets,
            "timestamp": change["changed_at"].isoformat(),
        }), campaign_id))
    if config.notifications.enabled:
        messages.append(email_message(keys["email"], "a1_to_a2_complete", render_email("a1_to_a2_complete", config, {
            "campaign_name": campaign["name"], "campaign_id": campaign_id,
            "campaign_number": campaign.get("number") or "", "asset_count": len(assets), "assets": assets,
            "box_folder_url": box_folder_url,
        }), campaign_id))
    return messages
