"""The steps of A2 -> A3, one function per DAG task, given the hooks and the tracking database.

A derivative is checked (its Box folder, its V2 name, its tracking ID) before anything is downloaded, and its
asset representation is built before anything is uploaded: a bad file fails with one sentence and leaves
nothing behind. Each step is safe to retry, clear and re-run.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.ferrero.derivatives import (
    DerivativeError,
    campaign_complete,
    derivatives_folder_of,
)
from include.ferrero.media import read_media_metadata
from include.ferrero.messages import Email, render_email, status_payload
from include.ferrero.naming import parse_filename, safe_local_name
from include.ferrero.representation import RepresentationError, build_asset_representation
from include.ferrero.steps.a1_to_a2 import record
from include.ferrero.webhook_events import dag_run_id_for

if TYPE_CHECKING:
    from collections.abc import Callable

    from include.ferrero.representation import AssetRepresentation
    from include.ferrero.tracking_db import TrackingDb


def check_derivative(box: Any, db: TrackingDb, config: dict[str, Any], box_file_id: str) -> dict[str, Any]:
    """The Box file, its parsed V2 name, its master and campaign; a DerivativeError names what is wrong."""
    info = record(box.get_file_info(box_file_id))
    name = info["name"]
    folder = config["box"]["derivatives_folder_name"]
    if not derivatives_folder_of(info.get("path", []), info.get("parent_name"), folder):
        raise DerivativeError(f"{name!r} (Box file {box_file_id}) is not inside a {folder!r} folder, so it is not "
                              "an agency derivative", file_name=name)
    parsed = parse_filename(name, config.get("naming"))
    if not parsed.is_valid:
        raise DerivativeError(f"{name!r} does not follow the naming convention: {parsed.error_summary()}",
                              file_name=name)
    master = db.get_master(parsed.tracking_id)
    if master is None or not master["box_file_id"]:
        raise DerivativeError(f"{name!r} carries tracking ID {parsed.tracking_id}, which belongs to no master asset "
                              "sent to Box", file_name=name, tracking_id=parsed.tracking_id)
    campaign = db.get_campaign(master["campaign_id"]) or {}
    return {
        "box_file_id": str(info["file_id"]), "box_file_version_id": info.get("version_id"), "file_name": name,
        "clean_name": parsed.clean_name, "parsed": parsed.to_dict(), "tracking_id": parsed.tracking_id,
        "master_name": master["name"], "campaign_id": master["campaign_id"],
        "campaign_name": campaign.get("name"), "campaign_number": campaign.get("campaign_number"),
        "final_assets_folder_id": master["upload_folder_id"],
    }


def lookup_domains(otmm: Any, mappings: dict[str, Any]) -> dict[str, Any] | None:
    """The DAM's allowed codes of every configured field domain (None when validation is off)."""
    if not (mappings.get("validate_domain_values") or {}).get("enabled", True):
        return None
    return {domain: otmm.get_lookup_domain(domain) for domain in set((mappings.get("field_domains") or {}).values())}


def upload_derivative(otmm: Any, box: Any, db: TrackingDb, config: dict[str, Any],
                      derivative: dict[str, Any]) -> dict[str, Any]:
    """Box → temp file → media metadata → asset representation → DAM Final Assets → tracking database.

    A new Box version of a derivative already in the DAM becomes a new version of that DAM asset (same id), its
    media fields updated; the same Box version again changes nothing."""
    done = db.get_derivative(derivative["tracking_id"], derivative["file_name"])
    if done and done["dam_asset_id"] and done["box_file_version_id"] == derivative["box_file_version_id"]:
        return {"dam_asset_id": done["dam_asset_id"], "warnings": [], "already_done": True}
    master = db.get_master(derivative["tracking_id"])
    mappings = config["field_mappings"]
    domains = lookup_domains(otmm, mappings)
    temp_root = Path(config["temp"]["directory"])
    temp_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="derivative-", dir=temp_root) as tmp:
        local = Path(tmp) / safe_local_name(derivative["clean_name"])
        box.download_file(derivative["box_file_id"], local)
        media = read_media_metadata(local)
        try:
            representation = build_asset_representation(master["dam_metadata"], derivative["parsed"], media,
                                                        mappings, domains)
        except RepresentationError as exc:
            raise DerivativeError(f"{derivative['file_name']!r}: {exc}", file_name=derivative["file_name"],
                                  tracking_id=derivative["tracking_id"]) from exc
        dam_version = None
        if done and done["dam_asset_id"]:
            asset_id = done["dam_asset_id"]
            dam_version = otmm.check_in_new_version(asset_id, local, file_name=derivative["clean_name"],
                                                    metadata=media_elements(representation, mappings))
        else:
            asset_id = otmm.create_asset(derivative["final_assets_folder_id"], local,
                                         representation.representation, file_name=derivative["clean_name"])
    db.record_derivative(derivative["tracking_id"], derivative["file_name"], clean_name=derivative["clean_name"],
                         box_file_id=derivative["box_file_id"],
                         box_file_version_id=derivative["box_file_version_id"], dam_asset_id=asset_id)
    return {"dam_asset_id": asset_id, "warnings": representation.warnings, "already_done": False,
            "media": media, "dam_version": dam_version}


def media_elements(representation: AssetRepresentation, mappings: dict[str, Any]) -> list[dict[str, Any]]:
    """The representation's metadata elements of the fields read from the file (``media_field_mappings``)."""
    media_fields = {rule["field_id"] for rule in mappings.get("media_field_mappings") or ()}
    elements = representation.representation["asset_resource"]["asset"]["metadata"]["metadata_element_list"]
    return [element for element in elements if element["id"] in media_fields]


def complete_campaign(otmm: Any, db: TrackingDb, derivative: dict[str, Any], run_id: str) -> dict[str, Any]:
    """A2 -> A3 once, when every master of the campaign has at least one derivative (also when the last two
    derivatives land at the same moment: the decision is taken under the campaign's lock)."""
    campaign_id = derivative["campaign_id"]
    cycle = max(1, db.completed_cycles(campaign_id, "A1", "A2"))
    outcome: dict[str, Any] = {}

    def apply(progress: dict[str, Any]) -> bool:
        outcome["missing"] = progress["missing"]
        if not campaign_complete(progress["masters"], progress["with_derivative"]):
            return False
        current = record(otmm.get_campaign(campaign_id))["status"]
        outcome["dam_status"] = current
        if current not in ("A2", "A3"):
            return False
        otmm.set_campaign_status(campaign_id, "A3")
        return True

    change = db.flip_once(campaign_id, "A2", "A3", cycle, run_id, apply)
    if change is None:
        return {"flipped": False, **outcome}
    return {"flipped": True, "change_id": change["id"], "created": change["created"],
            "changed_at": change["changed_at"].isoformat(), **outcome}


def a3_status_payload(db: TrackingDb, config: dict[str, Any], derivative: dict[str, Any],
                      change: dict[str, Any]) -> dict[str, Any]:
    progress = db.campaign_progress(derivative["campaign_id"])
    return status_payload(config["webhooks"]["campaign_status_update"]["payload_template"], {
        "campaign_id": derivative["campaign_id"], "campaign_number": derivative.get("campaign_number"),
        "campaign_name": derivative.get("campaign_name"), "old_status": "A2", "new_status": "A3",
        "asset_count": len(progress["masters"]), "processed_assets": [],
        "timestamp": change.get("changed_at") or datetime.now(timezone.utc).isoformat(),
    })


def a3_completion_email(db: TrackingDb, config: dict[str, Any], derivative: dict[str, Any]) -> Email:
    progress = db.campaign_progress(derivative["campaign_id"])
    return render_email("a2_to_a3_complete", config, {
        "campaign_name": derivative.get("campaign_name") or "", "campaign_id": derivative["campaign_id"],
        "campaign_number": derivative.get("campaign_number") or "", "asset_count": len(progress["masters"]),
    })


def upload_failed_email(config: dict[str, Any], file_name: str, box_file_id: str | None, error: str,
                        tracking_id: str | None, airflow_url: str | None) -> Email:
    return render_email("upload_failed", config, {
        "filename": file_name, "tracking_id": tracking_id, "error": error, "box_file_id": box_file_id,
        "airflow_url": airflow_url,
    })


log = logging.getLogger(__name__)
#: Campaign statuses the tracking database may hold for a campaign with a Box folder (the sweep reads them all).
CAMPAIGN_STATUSES = ("A1", "A2", "A3")


def sweep_derivatives(box: Any, db: TrackingDb, config: dict[str, Any],
                      run_state: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Files in any campaign's Derivatives folder that never became a derivative and have no a2_to_a3 run: the
    runs to start for them. ``run_state(run_id)`` is the state of the a2_to_a3 run of that id, None when there is
    none; the run id is the one a webhook would have started, so a run is never doubled. A run that succeeded is
    done, one queued or running is under way; a failed one is logged, not started again (its id is taken: clear it
    once the cause is fixed)."""
    folder_name = config["box"]["derivatives_folder_name"].lower()
    runs = []
    for campaign_folder_id in _campaign_folders(box, db, config):
        derivative_folders = [i for i in map(record, box.list_folder_items(campaign_folder_id))
                              if i["item_type"] == "folder" and i["name"].lower() == folder_name]
        files = [f for folder in derivative_folders for f in _files_below(box, folder["item_id"])]
        recorded = db.recorded_box_files([f["item_id"] for f in files])
        for file in files:
            version = record(box.get_file_info(file["item_id"])).get("version_id")
            if (file["item_id"], version) in recorded:
                continue
            run_id = dag_run_id_for(file["item_id"], version)
            state = run_state(run_id)
            if state == "failed":
                log.warning("%s (Box file %s): run %s failed; not started again, clear it once the cause is fixed",
                            file["name"], file["item_id"], run_id)
            if state is not None:
                continue
            runs.append({
                "trigger_run_id": run_id,
                "conf": {"box_file_id": file["item_id"], "box_file_version_id": version,
                         "file_name": file["name"], "event_id": None},
            })
    return runs


def _campaign_folders(box: Any, db: TrackingDb, config: dict[str, Any]) -> list[str]:
    """Every campaign's Box folder, whatever its status: the root folder's subfolders and those the tracking
    database knows."""
    folders = {str(c["box_folder_id"]) for c in db.campaigns_with_box_folder(CAMPAIGN_STATUSES)}
    root = str(config["box"].get("root_folder_id") or "0")
    if root != "0":
        folders.update(i["item_id"] for i in map(record, box.list_folder_items(root)) if i["item_type"] == "folder")
    return sorted(folders)


def _files_below(box: Any, folder_id: str) -> list[dict[str, Any]]:
    found = []
    for item in map(record, box.list_folder_items(folder_id)):
        if item["item_type"] == "file":
            found.append(item)
        elif item["item_type"] == "folder":
            found.extend(_files_below(box, item["item_id"]))
    return found
