"""The rows ``TrackingDb`` returns, as TypedDicts (plain dicts at run time; columns as in ``migrations/``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from datetime import datetime

    from include.ferrero.campaigns import PlannedMaster


class CampaignRow(TypedDict):
    campaign_id: str
    campaign_number: str | None
    name: str
    status: str | None
    box_folder_id: str | None
    box_folder_url: str | None
    final_assets_folder_id: str | None
    created_at: datetime
    updated_at: datetime


class MasterRow(TypedDict):
    id: int
    tracking_id: str
    dam_asset_id: str
    campaign_id: str
    name: str
    dam_metadata: dict[str, Any]  # the DAM's fields of the master, as the hook read them
    box_file_id: str | None
    box_file_url: str | None
    upload_folder_id: str | None
    status: str
    created_at: datetime
    updated_at: datetime


class PlannedTransfer(TypedDict):
    """One master of a run's plan and the run's campaign summary (``plan_campaign``'s, as planned)."""

    campaign: dict[str, Any]
    master: PlannedMaster


class TransferRow(TypedDict):
    """The latest outcome of one master's transfer in one run."""

    dag_run_id: str
    dam_asset_id: str
    campaign_id: str
    asset_name: str
    status: str  # succeeded | failed
    tracking_id: str | None
    box_file_id: str | None
    error: str | None
    updated_at: datetime


class StatusChangeRow(TypedDict):
    """A recorded campaign status change; ``created`` is whether this call recorded it."""

    id: int
    campaign_id: str
    old_status: str
    new_status: str
    cycle: int
    dag_run_id: str | None
    changed_at: datetime
    webhook_sent_at: datetime | None
    email_sent_at: datetime | None
    created: bool


class DerivativeRow(TypedDict):
    id: int
    master_asset_id: int
    tracking_id: str
    file_name: str
    clean_name: str | None
    box_file_id: str | None
    box_file_version_id: str | None
    dam_asset_id: str | None
    dam_latest_asset_id: str | None
    upload_status: str
    last_error: str | None
    uploaded_at: datetime


class CampaignProgress(TypedDict):
    """Tracking IDs of a campaign's masters, of those in Box and of those with a derivative; names still missing
    one."""

    masters: list[str]
    in_box: list[str]
    with_derivative: list[str]
    missing: list[str]
