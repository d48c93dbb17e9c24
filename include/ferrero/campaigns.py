"""Campaign decisions of the A1 -> A2 pipeline: run ids, sharding of masters, the partial-result report.

Pure Python: no Airflow, no I/O.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

#: Airflow's default ``max_map_length`` is 1024; each shard stays below it, and a campaign's masters are
#: spread over ``MASTER_SHARDS`` mapped tasks, so one run handles up to MASTER_SHARDS * MASTERS_PER_SHARD masters.
MASTERS_PER_SHARD = 1000
MASTER_SHARDS = 4
MAX_MASTERS = MASTERS_PER_SHARD * MASTER_SHARDS

_NOT_RUN_ID = re.compile(r"[^A-Za-z0-9_.~:+-]+")


class CampaignError(ValueError):
    """A campaign cannot be processed as asked; the message is one sentence for the operator."""


def campaign_run_id(campaign: dict[str, Any], cycle: int) -> str:
    """A DAG run id that names the campaign (number and name) and its A1 cycle.

    The same campaign in the same cycle always gets the same id, so discovery never starts it twice; a
    campaign that comes back to A1 after reaching A2 is in a new cycle and gets a new run.
    """
    name = _NOT_RUN_ID.sub("-", campaign["name"]).strip("-")[:60] or "campaign"
    number = _NOT_RUN_ID.sub("-", campaign.get("number") or "").strip("-")
    key = number or campaign["campaign_id"][:12]
    return f"{key}__{name}__a1-cycle{cycle}"


def shard_masters(masters: list[dict[str, Any]], shards: int = MASTER_SHARDS,
                  per_shard: int = MASTERS_PER_SHARD) -> dict[str, list[dict[str, Any]]]:
    """Split masters (sorted by name, for stable map indexes) into ``shard_0`` .. ``shard_<n-1>``."""
    if len(masters) > shards * per_shard:
        raise CampaignError(
            f"the campaign has {len(masters)} master assets, more than the {shards * per_shard} one run can take"
        )
    ordered = sorted(masters, key=lambda m: (m["name"].lower(), m["asset_id"]))
    return {f"shard_{i}": ordered[i * per_shard:(i + 1) * per_shard] for i in range(shards)}


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


def transfer_report(masters: list[dict[str, Any]], transfers: list[dict[str, Any]]) -> dict[str, Any]:
    """Successes and failures of a run, one entry per master; a master with no outcome failed upstream."""
    by_asset = {t["dam_asset_id"]: t for t in transfers}
    succeeded, failed = [], []
    for master in sorted(masters, key=lambda m: m["name"].lower()):
        outcome = by_asset.get(master["asset_id"])
        entry = {"asset_id": master["asset_id"], "asset_name": master["name"]}
        if outcome and outcome["status"] == "succeeded":
            succeeded.append({**entry, "tracking_id": outcome["tracking_id"], "box_file_id": outcome["box_file_id"]})
        else:
            error = outcome["error"] if outcome else "its task did not run (an upstream step failed)"
            failed.append({**entry, "error": error})
    return {"total_assets": len(masters), "successful": len(succeeded), "failed": len(failed),
            "processed_assets": succeeded, "failed_assets": failed}


def discovery_schedule(polling: dict[str, Any]) -> str | timedelta | None:
    """``a1_discovery``'s schedule from ``polling``: none when disabled; a cron expression when the interval is a
    whole number of minutes dividing the hour (``*/5 * * * *`` for 300 s), else a plain interval."""
    if not polling["enabled"]:
        return None
    seconds = int(polling["interval_seconds"])
    minutes, rest = divmod(seconds, 60)
    if rest == 0 and minutes and 60 % minutes == 0:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    return timedelta(seconds=seconds)
