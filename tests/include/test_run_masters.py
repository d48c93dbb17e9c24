"""A run's plan in the tracking database: what each ``transfer_master`` instance reads by position (its master, the
DAM record the planning listed, the run's campaign), in one query."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from include.ferrero.db.tracking import TrackingDb


def test_each_position_reads_its_master_with_the_campaign_and_a_replan_replaces_the_plan(
        tracking_db: TrackingDb) -> None:
    run = "CMP-2026-001__Summer__a1-cycle1"
    campaign = {"campaign_id": "c" * 40, "name": "Summer", "masters_folder_id": "123"}
    masters = [{"asset_id": f"{i:040x}", "name": f"Master {i:04d}.pdf",
                "dam_asset": {"content_size": i, "metadata": {"FIELD": [f"value {i}"]}}} for i in range(1500)]
    refs = [{"asset_id": m["asset_id"], "name": m["name"]} for m in masters]
    tracking_db.plan_run(run, campaign, masters)
    tracking_db.plan_run("another run", {**campaign, "name": "Other"}, masters[:2])
    assert tracking_db.planned_transfer(run, 0) == {"campaign": campaign, "master": masters[0]}
    assert tracking_db.planned_transfer(run, 1499) == {"campaign": campaign, "master": masters[1499]}
    assert tracking_db.run_masters(run) == refs

    replanned = {**campaign, "masters_folder_id": "456"}
    tracking_db.plan_run(run, replanned, masters[10:13])  # planning the run again (plan_campaign cleared)
    assert tracking_db.run_masters(run) == refs[10:13]
    assert tracking_db.planned_transfer(run, 0) == {"campaign": replanned, "master": masters[10]}
    assert tracking_db.planned_transfer(run, 3) is None
    assert tracking_db.run_masters("another run") == refs[:2]
    assert tracking_db.planned_transfer("another run", 1)["campaign"]["name"] == "Other"  # type: ignore[index]


def test_a_master_planned_without_its_dam_record_reads_as_none(tracking_db: TrackingDb) -> None:
    tracking_db.plan_run("run", {"campaign_id": "c" * 40}, [{"asset_id": "a" * 40, "name": "M.pdf", "dam_asset": None}])
    assert tracking_db.planned_transfer("run", 0) == {
        "campaign": {"campaign_id": "c" * 40}, "master": {"asset_id": "a" * 40, "name": "M.pdf", "dam_asset": None}}


def test_a_position_the_plan_does_not_hold_fails_with_what_to_do(tracking_db: TrackingDb) -> None:
    import pytest

    from include.ferrero.campaigns import CampaignError
    from include.ferrero.config import load_settings
    from include.ferrero.steps.a1_to_a2 import planned_transfer
    from include.ferrero.steps.ports import Ports

    ports = Ports(dam=None, box=None, db=tracking_db, config=load_settings())  # type: ignore[arg-type]  # unused
    tracking_db.plan_run("run", {"campaign_id": "c" * 40}, [{"asset_id": "a" * 40, "name": "M.pdf", "dam_asset": None}])
    assert planned_transfer(ports, "run", 0)["master"]["name"] == "M.pdf"
    with pytest.raises(CampaignError, match=r"^run run has no planned master at position 1 .*: clear plan_campaign "
                                            r"with its downstream tasks to plan the run again$"):
        planned_transfer(ports, "run", 1)
