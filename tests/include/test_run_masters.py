"""A run's plan of masters in the tracking database: what each ``transfer_master`` instance reads by position."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from include.ferrero.db.tracking import TrackingDb


def test_each_position_reads_its_master_and_a_replan_replaces_the_list(tracking_db: TrackingDb) -> None:
    run = "CMP-2026-001__Summer__a1-cycle1"
    masters = [{"asset_id": f"{i:040x}", "name": f"Master {i:04d}.pdf"} for i in range(1500)]
    tracking_db.plan_run_masters(run, masters)
    tracking_db.plan_run_masters("another run", masters[:2])
    assert tracking_db.run_master(run, 0) == masters[0]
    assert tracking_db.run_master(run, 1499) == masters[1499]
    assert tracking_db.run_masters(run) == masters

    tracking_db.plan_run_masters(run, masters[10:13])  # planning the run again (plan_campaign cleared)
    assert tracking_db.run_masters(run) == masters[10:13]
    assert tracking_db.run_master(run, 3) is None
    assert tracking_db.run_masters("another run") == masters[:2]
