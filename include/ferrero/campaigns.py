"""Campaign decisions of the A1 -> A2 pipeline: run ids, the masters of a run, the partial-result report.

Pure Python: no Airflow, no I/O.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, TypeVar

if TYPE_CHECKING:
    from include.ferrero.config_model import PollingConfig
    from include.ferrero.db.rows import TransferRow

#: One run maps one task instance per master; Airflow's ``[core] max_map_length`` (set by the bootstrap,
#: config/bootstrap.yaml) must be at least this.
MAX_MASTERS = 5000

_NOT_RUN_ID = re.compile(r"[^A-Za-z0-9_.~:+-]+")


class CampaignError(ValueError):
    """A campaign cannot be processed as asked; the message is one sentence for the operator."""


class MasterRef(TypedDict):
    """One master of a run (``transfer_master`` maps over these)."""

    asset_id: str
    name: str


class PlannedMaster(MasterRef):
    """A master as its run planned it: with its DAM record (``MasterAsset.as_dict``: metadata, size) as the
    planning listed it; None for a master planned before plans held it."""

    dam_asset: dict[str, Any] | None


def campaign_run_id(campaign: dict[str, Any], cycle: int) -> str:
    """A DAG run id that names the campaign (number and name) and its A1 cycle.

    The same campaign in the same cycle always gets the same id, so discovery never starts it twice; a
    campaign that comes back to A1 after reaching A2 is in a new cycle and gets a new run.
    """
    name = _NOT_RUN_ID.sub("-", campaign["name"]).strip("-")[:60] or "campaign"
    number = _NOT_RUN_ID.sub("-", campaign.get("number") or "").strip("-")
    key = number or campaign["campaign_id"][:12]
    return f"{key}__{name}__a1-cycle{cycle}"


M = TypeVar("M", bound=MasterRef)


def order_masters(masters: list[M], limit: int = MAX_MASTERS) -> list[M]:
    """Masters sorted by name (stable map indexes), refused when one run cannot take them all."""
    if len(masters) > limit:
        raise CampaignError(f"the campaign has {len(masters)} master assets, more than the {limit} one run can take")
    return sorted(masters, key=lambda m: (m["name"].lower(), m["asset_id"]))


def find_campaign(campaigns: list[dict[str, Any]], reference: str) -> dict[str, Any]:
    """The campaign whose DAM id or number is ``reference`` (case-insensitive for numbers)."""
    wanted = reference.strip()
    for campaign in campaigns:
        if campaign["campaign_id"] == wanted or (campaign.get("number") or "").lower() == wanted.lower():
            return campaign
    raise CampaignError(f"no campaign with id or number {wanted!r} was found in the DAM")


def check_startable(campaign: dict[str, Any], force: bool) -> None:
    """Only A1 campaigns go to Box, unless an operator forces it."""
    if campaign.get("status") != "A1" and not force:
        raise CampaignError(
            f"campaign {campaign.get('number') or campaign['campaign_id']} {campaign['name']!r} is in status "
            f"{campaign.get('status')!r}, not A1; tick 'force' to send its masters to Box anyway"
        )


class ReportEntry(TypedDict):
    """One master in the partial-result email: its tracking ID and Box file when it succeeded, else the error."""

    asset_id: str
    asset_name: str
    tracking_id: NotRequired[str | None]
    box_file_id: NotRequired[str | None]
    error: NotRequired[str | None]


class TransferReport(TypedDict):
    total_assets: int
    successful: int
    failed: int
    processed_assets: list[ReportEntry]
    failed_assets: list[ReportEntry]


def transfer_report(masters: list[MasterRef], transfers: list[TransferRow]) -> TransferReport:
    """Successes and failures of a run, one entry per master; a master with no outcome failed upstream."""
    by_asset = {t["dam_asset_id"]: t for t in transfers}
    succeeded: list[ReportEntry] = []
    failed: list[ReportEntry] = []
    for master in sorted(masters, key=lambda m: m["name"].lower()):
        outcome = by_asset.get(master["asset_id"])
        entry: ReportEntry = {"asset_id": master["asset_id"], "asset_name": master["name"]}
        if outcome and outcome["status"] == "succeeded":
            succeeded.append({**entry, "tracking_id": outcome["tracking_id"], "box_file_id": outcome["box_file_id"]})
        else:
            error = outcome["error"] if outcome else "its task did not run (an upstream step failed)"
            failed.append({**entry, "error": error})
    return {"total_assets": len(masters), "successful": len(succeeded), "failed": len(failed),
            "processed_assets": succeeded, "failed_assets": failed}


def discovery_schedule(polling: PollingConfig) -> str | timedelta | None:
    """``a1_discovery``'s schedule from ``polling``: none when disabled; a cron expression when the interval is a
    whole number of minutes dividing the hour (``*/5 * * * *`` for 300 s), else a plain interval."""
    if not polling.enabled:
        return None
    seconds = int(polling.interval_seconds)
    minutes, rest = divmod(seconds, 60)
    if rest == 0 and minutes and 60 % minutes == 0:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    return timedelta(seconds=seconds)
