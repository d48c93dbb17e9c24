"""The steps of A2 -> A3, one function per DAG task, each given the :class:`~include.ferrero.steps.ports.Ports`
(the DAM, Box, the tracking database, the config) and its own arguments.

A derivative is checked (its Box folder, its V2 name, its tracking ID) before anything is downloaded, and its
asset representation is built before anything is uploaded: a bad file fails with one sentence and leaves
nothing behind. Each step is safe to retry, clear and re-run.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.ferrero.box_webhooks import dag_run_id_for
from include.ferrero.db.derivatives import DerivativeStore
from include.ferrero.derivatives import (
    DerivativeError,
    campaign_complete,
    derivatives_folder_of,
    versions_to_process,
)
from include.ferrero.media import read_media_metadata
from include.ferrero.messages import Email, render_email, status_payload
from include.ferrero.naming import parse_filename, safe_local_name, tracking_id_in
from include.ferrero.outbox import (
    ASSET_WEBHOOK,
    STATUS_WEBHOOK,
    derivative_key,
    email_message,
    flip_keys,
    webhook_message,
)
from include.ferrero.representation import RepresentationError, build_asset_representation
from include.ferrero.steps.a1_to_a2 import record
from include.ferrero.temp_files import prepare_temp_root, size_problem

if TYPE_CHECKING:
    from collections.abc import Callable

    from include.ferrero.config_model import Config
    from include.ferrero.config_rules import FieldMappings
    from include.ferrero.db.rows import CampaignProgress, MasterRow, StatusChangeRow
    from include.ferrero.outbox import OutboxMessage
    from include.ferrero.representation import AssetRepresentation
    from include.ferrero.steps.payloads import (
        CampaignCompletion,
        Derivative,
        DerivativeRun,
        DerivativeUpload,
        FailedDerivative,
        VersionUpload,
    )
    from include.ferrero.steps.ports import BoxStorage, Dam, Ports


def check_derivative(ports: Ports, box_file_id: str, box_file_version_id: str | None = None) -> Derivative:
    """The Box file, its parsed V2 name, its master and campaign; a DerivativeError names what is wrong and, when
    anything ties the file to a campaign (the tracking ID its name leads with, an earlier version of the file,
    the campaign folder it sits in), that campaign. The derivative is the version the run was started for (the
    current one when none was given)."""
    db, config = ports.db, ports.config
    info = record(ports.box.files.get_file_info(box_file_id))
    name = info["name"]
    leading_id = tracking_id_in(name, config.naming)
    owner = DerivativeStore(db).owner_of(tracking_id=leading_id, box_file_id=str(info["file_id"]),
                                         folder_ids=[*info.get("path_ids", ()), info.get("folder_id") or ""])

    def refused(sentence: str, tracking_id: str | None = None) -> DerivativeError:
        return DerivativeError(sentence, file_name=name, tracking_id=tracking_id or leading_id or
                               (owner.tracking_id if owner else None),
                               campaign_id=owner.campaign_id if owner else None,
                               box_created_at=info.get("created_at"))

    folder = config.box.derivatives_folder_name
    if not derivatives_folder_of(info.get("path", []), info.get("parent_name"), folder):
        raise refused(f"{name!r} (Box file {box_file_id}) is not inside a {folder!r} folder, so it is not "
                      "an agency derivative")
    parsed = parse_filename(name, config.naming)
    if not parsed.is_valid:
        raise refused(f"{name!r} does not follow the naming convention: {parsed.error_summary()}")
    assert parsed.tracking_id is not None and parsed.clean_name is not None, "a valid name has both"
    master = db.get_master(parsed.tracking_id)
    if master is None or not master["box_file_id"] or not master["upload_folder_id"]:
        raise refused(f"{name!r} carries tracking ID {parsed.tracking_id}, which belongs to no master asset "
                      "sent to Box", parsed.tracking_id)
    campaign = db.get_campaign(master["campaign_id"])
    return {
        "box_file_id": str(info["file_id"]), "box_file_version_id": box_file_version_id or info.get("version_id"),
        "file_name": name, "clean_name": parsed.clean_name, "parsed": parsed.to_dict(),
        "tracking_id": parsed.tracking_id, "master_name": master["name"], "campaign_id": master["campaign_id"],
        "campaign_name": campaign["name"] if campaign else None,
        "campaign_number": campaign["campaign_number"] if campaign else None,
        "final_assets_folder_id": master["upload_folder_id"], "box_created_at": info.get("created_at"),
    }


def lookup_domains(dam: Dam, mappings: FieldMappings) -> dict[str, dict[str, str]] | None:
    """The DAM's allowed codes of every configured field domain (None when validation is off)."""
    if not mappings.validate_domain_values.enabled:
        return None
    return {domain: dam.lookup_domains.get_lookup_domain(domain) for domain in set(mappings.field_domains.values())}


def upload_derivative(ports: Ports, derivative: Derivative) -> DerivativeUpload:
    """The run's Box version (and any older one not yet in the DAM, first) → DAM Final Assets, recorded.

    Under the DAM target's lock, so racing runs never both create the asset or check in one version twice. The
    first version creates the asset; each later one becomes a new version of it, in upload order."""
    db, store = ports.db, DerivativeStore(ports.db)
    file_id, wanted = derivative["box_file_id"], derivative["box_file_version_id"]
    with store.target_lock(derivative["final_assets_folder_id"], derivative["clean_name"]):
        history = {v["version_id"]: v for v in map(record, ports.box.files.file_versions(file_id))}
        due = versions_to_process(list(history), wanted, set(store.processed_versions(file_id)))
        if due is None:
            raise DerivativeError(f"{derivative['file_name']!r}: Box no longer has version {wanted} of file {file_id}",
                                  file_name=derivative["file_name"], tracking_id=derivative["tracking_id"])
        if not due:
            return {"dam_asset_id": store.dam_asset_of(derivative["tracking_id"], derivative["file_name"]),
                    "warnings": [], "already_done": True, "versions": [], "message_keys": []}
        master = db.get_master(derivative["tracking_id"])
        if master is None:
            raise DerivativeError(f"{derivative['file_name']!r}: master {derivative['tracking_id']} is no longer "
                                  "recorded", file_name=derivative["file_name"], tracking_id=derivative["tracking_id"])
        context = _UploadContext(ports, derivative, master)
        result: VersionUpload | None = None
        keys: list[str] = []
        for version_id in due:
            try:
                result = context.upload(history[version_id], store.dam_ids_of(derivative["tracking_id"],
                                                                               derivative["file_name"]))
            except DerivativeError as exc:
                if version_id == wanted:
                    raise
                record_upload_failure(ports, derivative, str(exc), None, None, version_id=version_id)
                continue
            messages = asset_webhook_messages(ports.config, derivative, version_id, result["dam_asset_id"])
            store.record_version(derivative, version_id=version_id, position=history[version_id]["position"],
                                 dam_asset_id=result["dam_asset_id"], dam_version=result["dam_version"],
                                 messages=messages, dam_version_asset_id=result["dam_version_asset_id"])
            keys += [m.key for m in messages]
    assert result is not None, "the run's own version is the last one due: it was uploaded or raised"
    return {**result, "already_done": False, "versions": due, "message_keys": keys}


class _UploadContext:
    """What every version's upload of one derivative shares: the hooks, its master, the mappings and domains."""

    def __init__(self, ports: Ports, derivative: Derivative, master: MasterRow) -> None:
        self.otmm, self.box, self.derivative, self.master = ports.dam, ports.box, derivative, master
        self.mappings = ports.config.field_mappings
        self.domains = lookup_domains(ports.dam, self.mappings)
        self.temp = ports.config.temp

    def upload(self, version: dict[str, Any], dam_ids: tuple[str, str] | None) -> VersionUpload:
        """Box version → temp file → media metadata → representation → a new DAM asset, or a new version of it
        (checked in on its latest version; ``dam_ids`` = (logical id, latest version's id))."""
        d = self.derivative
        too_large = size_problem(version["size"], self.temp.max_size_mb, f"{d['file_name']!r} (Box version {version['version_id']})")
        if too_large:
            raise DerivativeError(too_large, file_name=d["file_name"], tracking_id=d["tracking_id"])
        with tempfile.TemporaryDirectory(prefix="derivative-", dir=prepare_temp_root(self.temp)) as tmp:
            local = Path(tmp) / safe_local_name(d["clean_name"])
            self.box.downloads.download_file(d["box_file_id"], local, version_id=version["version_id"], sha1=version["sha1"],
                                   size=version["size"])
            media = read_media_metadata(local)
            try:
                representation = build_asset_representation(self.master["dam_metadata"], d["parsed"], media,
                                                            self.mappings, self.domains)
            except RepresentationError as exc:
                raise DerivativeError(f"{d['file_name']!r}: {exc}", file_name=d["file_name"],
                                      tracking_id=d["tracking_id"]) from exc
            if dam_ids:
                checked = self.otmm.versions.check_in_new_version(dam_ids[1], local, file_name=d["clean_name"],
                                                         metadata=media_elements(representation, self.mappings))
                asset_id, dam_version, version_asset_id = dam_ids[0], checked.version, checked.asset_id
            else:
                asset_id = self.otmm.assets.create_asset(d["final_assets_folder_id"], local, representation.representation,
                                                  file_name=d["clean_name"])
                dam_version, version_asset_id = 1, asset_id
        return {"dam_asset_id": asset_id, "dam_version": dam_version, "dam_version_asset_id": version_asset_id,
                "warnings": representation.warnings, "media": media}


def asset_webhook_messages(config: Config, derivative: Derivative, version_id: str,
                           dam_asset_id: str) -> list[OutboxMessage]:
    """The ``asset_upload_complete`` webhook of one Box version that reached the DAM (when enabled)."""
    settings = config.webhooks.get(ASSET_WEBHOOK)
    if settings is None or not settings.enabled:
        return []
    payload = status_payload(settings.payload_template, {
        "tracking_id": derivative["tracking_id"], "dam_asset_id": dam_asset_id, "filename": derivative["file_name"],
        "clean_name": derivative["clean_name"], "box_file_id": derivative["box_file_id"],
        "box_file_version_id": version_id, "campaign_id": derivative["campaign_id"],
        "timestamp": datetime.now(timezone.utc).isoformat(),
    })
    return [webhook_message(derivative_key(derivative["box_file_id"], version_id, "asset-webhook"), ASSET_WEBHOOK,
                            payload, derivative["campaign_id"])]


def media_elements(representation: AssetRepresentation, mappings: FieldMappings) -> list[dict[str, Any]]:
    """The representation's metadata elements of the fields read from the file (``media_field_mappings``)."""
    media_fields = {rule.field_id for rule in mappings.media_field_mappings}
    elements = representation.representation["asset_resource"]["asset"]["metadata"]["metadata_element_list"]
    return [element for element in elements if element["id"] in media_fields]


def complete_campaign(ports: Ports, derivative: Derivative, run_id: str) -> CampaignCompletion:
    """A2 -> A3 once, when every master of the campaign has at least one derivative (also when the last two
    derivatives land at the same moment: the decision is taken under the campaign's lock), recorded together
    with its status webhook and completion email."""
    otmm, db, config = ports.dam, ports.db, ports.config
    campaign_id = derivative["campaign_id"]
    cycle = max(1, db.completed_cycles(campaign_id, "A1", "A2"))
    outcome: CampaignCompletion = {"flipped": False}

    def apply(progress: CampaignProgress) -> bool:
        outcome["missing"] = progress["missing"]
        if not campaign_complete(progress["masters"], progress["with_derivative"]):
            return False
        current = otmm.folders.get_campaign(campaign_id).status
        outcome["dam_status"] = current
        if current not in ("A2", "A3"):
            return False
        otmm.folders.set_campaign_status(campaign_id, "A3")
        return True

    change = db.flip_once(campaign_id, "A2", "A3", cycle, run_id, apply,
                          lambda change, masters: a3_messages(config, derivative, change, masters))
    if change is None:
        return outcome
    return {**outcome, "flipped": True, "change_id": change["id"], "created": change["created"],
            "changed_at": change["changed_at"].isoformat(), "message_keys": flip_keys(campaign_id, "A2", "A3", cycle)}


@dataclass(frozen=True)
class BroughtToDam:
    """What one derivative's task did: its upload, whether the campaign moved to A3, the messages to send."""

    derivative: Derivative
    upload: DerivativeUpload
    completion: CampaignCompletion

    @property
    def message_keys(self) -> list[str]:
        """The upload's webhooks, then the flip's status webhook and email (when this run flipped)."""
        flip = self.completion.get("message_keys", {}) if self.completion["flipped"] else {}
        return [*self.upload["message_keys"], *flip.values()]

    @property
    def log(self) -> list[str]:
        """What the task did, in sentences (its XCom is for machines, not for the log)."""
        derivative, upload, outcome = self.derivative, self.upload, self.completion
        lines = [f"warning: {warning}" for warning in upload["warnings"]]
        if upload["already_done"]:
            lines.append(f"Box version {derivative.get('box_file_version_id') or '(latest)'} of "
                         f"{derivative['file_name']} is already in the DAM (asset {upload['dam_asset_id']}, "
                         f"{derivative['clean_name']}): nothing uploaded again")
        else:
            lines.append(f"{derivative['clean_name']} is DAM asset {upload['dam_asset_id']} version "
                         f"{upload.get('dam_version', '?')}, from Box version(s) {', '.join(upload['versions'])}")
        if outcome["flipped"]:
            lines.append(("moved" if outcome["created"] else "already moved") + " to A3")
        else:
            lines.append("campaign stays in A2; masters without a derivative: "
                         + (", ".join(outcome.get("missing", [])) or "-"))
        return lines


def bring_to_dam(ports: Ports, derivative: Derivative, run_id: str) -> BroughtToDam:
    """A checked derivative into the DAM, then A2 -> A3 when it was the campaign's last missing one; both steps
    are found done when the run is retried or cleared."""
    upload = upload_derivative(ports, derivative)
    return BroughtToDam(derivative, upload, complete_campaign(ports, derivative, run_id))


def a3_messages(config: Config, derivative: Derivative, change: StatusChangeRow,
                masters: list[MasterRow]) -> list[OutboxMessage]:
    """The A3 flip's status webhook and completion email, rendered from the recorded change."""
    campaign_id = derivative["campaign_id"]
    keys = flip_keys(campaign_id, "A2", "A3", change["cycle"])
    messages = []
    hook = config.webhooks["campaign_status_update"]
    if hook.enabled:
        messages.append(webhook_message(keys["status-webhook"], STATUS_WEBHOOK, status_payload(hook.payload_template, {
            "campaign_id": campaign_id, "campaign_number": derivative.get("campaign_number"),
            "campaign_name": derivative.get("campaign_name"), "old_status": "A2", "new_status": "A3",
            "asset_count": len(masters), "processed_assets": [], "timestamp": change["changed_at"].isoformat(),
        }), campaign_id))
    if config.notifications.enabled:
        messages.append(email_message(keys["email"], "a2_to_a3_complete", render_email("a2_to_a3_complete", config, {
            "campaign_name": derivative.get("campaign_name") or "", "campaign_id": campaign_id,
            "campaign_number": derivative.get("campaign_number") or "", "asset_count": len(masters),
        }), campaign_id))
    return messages


def upload_failed_email(config: Config, file_name: str | None, box_file_id: str | None, error: str,
                        tracking_id: str | None, airflow_url: str | None) -> Email:
    """The error email of a derivative; names the file once (by its Box id when its name is unknown) and gives the
    tracking ID its name leads with, also when the name is otherwise invalid."""
    if not tracking_id and file_name:
        tracking_id = tracking_id_in(file_name, config.naming)
    return render_email("upload_failed", config, {
        "filename": file_name, "tracking_id": tracking_id, "error": error, "box_file_id": box_file_id,
        "airflow_url": airflow_url,
    })


def record_upload_failure(ports: Ports, derivative: FailedDerivative | Derivative, error: str, run_id: str | None,
                          airflow_url: str | None, *, version_id: str | None = None) -> str | None:
    """Record that a Box version did not reach the DAM, with its error email (once per version and name, whatever
    the retries and clears); return the email's outbox key (None when emails are off). The failure and its email
    belong to the file's campaign whenever anything names it (see :func:`failure_owner`)."""
    config, file_id = ports.config, derivative["box_file_id"]
    version = version_id or derivative.get("box_file_version_id") or "current"
    file_name = derivative.get("file_name")
    tracking_id, campaign_id = failure_owner(ports, derivative)
    key = derivative_key(file_id, version, failed_email_what(file_name))
    messages = []
    if config.notifications.enabled:
        messages.append(email_message(key, "upload_failed", upload_failed_email(
            config, file_name, file_id, error, tracking_id, airflow_url), campaign_id))
    DerivativeStore(ports.db).record_failure(box_file_id=file_id, version_id=version, file_name=file_name,
                                       tracking_id=tracking_id, campaign_id=campaign_id, error=error, run_id=run_id,
                                       box_created_at=derivative.get("box_created_at"), messages=messages)
    return key if messages else None


def failure_owner(ports: Ports, derivative: FailedDerivative | Derivative) -> tuple[str | None, str | None]:
    """(tracking ID, campaign id) of a failed derivative: what its check found, else the tracking ID its name
    leads with and the master or campaign the tracking database ties it to (also when its check never ran, e.g.
    Box was down)."""
    config, file_name = ports.config, derivative.get("file_name")
    tracking_id = derivative.get("tracking_id") or (tracking_id_in(file_name, config.naming) if file_name else None)
    campaign_id = derivative.get("campaign_id")
    if campaign_id is None:
        owner = DerivativeStore(ports.db).owner_of(tracking_id=tracking_id, box_file_id=derivative["box_file_id"])
        if owner is not None:
            tracking_id, campaign_id = tracking_id or owner.tracking_id, owner.campaign_id
    return tracking_id, campaign_id


def failed_email_what(file_name: str | None) -> str:
    """The failure email's part of its outbox key: a renamed file that fails again is a new fact (a new email)."""
    return f"failed-email/{hashlib.sha256((file_name or '').encode()).hexdigest()[:12]}"


log = logging.getLogger(__name__)
#: Campaign statuses the tracking database may hold for a campaign with a Box folder (the sweep reads them all).
CAMPAIGN_STATUSES = ("A1", "A2", "A3")


def sweep_derivatives(ports: Ports, run_state: Callable[[str], str | None]) -> list[DerivativeRun]:
    """Files in any campaign's Derivatives folder that never became a derivative and have no a2_to_a3 run: the
    runs to start for them. ``run_state(run_id)`` is the state of the a2_to_a3 run of that id, None when there is
    none; the run id is the one a webhook would have started, so a run is never doubled. A run that succeeded is
    done, one queued or running is under way; a failed one is logged, not started again (its id is taken: clear it
    once the cause is fixed), unless a later upload for the same file or master superseded its failure (then
    nothing is left to fix). A renamed file has a new run id, so a rename whose webhook never came is started
    here."""
    box, db = ports.box, ports.db
    folder_name = ports.config.box.derivatives_folder_name.lower()
    runs: list[DerivativeRun] = []
    for campaign_folder_id in _campaign_folders(ports):
        derivative_folders = [i for i in map(record, box.folders.list_folder_items(campaign_folder_id))
                              if i["item_type"] == "folder" and i["name"].lower() == folder_name]
        files = [f for folder in derivative_folders for f in _files_below(box, folder["item_id"])]
        recorded = db.recorded_box_files([f["item_id"] for f in files])
        superseded = DerivativeStore(db).superseded_failures([f["item_id"] for f in files])
        for file in files:
            version = file.get("version_id") or box.files.get_file_info(file["item_id"]).version_id
            if (file["item_id"], version) in recorded:
                continue
            run_id = dag_run_id_for(file["item_id"], version, file["name"])
            state = run_state(run_id)
            if state == "failed" and (file["item_id"], version) in superseded:
                log.info("%s (Box file %s): run %s failed, superseded by a later upload", file["name"], file["item_id"],
                         run_id)
            elif state == "failed":
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


def _campaign_folders(ports: Ports) -> list[str]:
    """Every campaign's Box folder, whatever its status: the root folder's subfolders and those the tracking
    database knows."""
    folders = {str(c["box_folder_id"]) for c in ports.db.campaigns_with_box_folder(CAMPAIGN_STATUSES)}
    root = ports.config.box.root_folder_id  # digits, validated
    if root != "0":
        folders.update(i["item_id"] for i in map(record, ports.box.folders.list_folder_items(root))
                       if i["item_type"] == "folder")
    return sorted(folders)


def _files_below(box: BoxStorage, folder_id: str) -> list[dict[str, Any]]:
    found = []
    for item in map(record, box.folders.list_folder_items(folder_id)):
        if item["item_type"] == "file":
            found.append(item)
        elif item["item_type"] == "folder":
            found.extend(_files_below(box, item["item_id"]))
    return found
