"""Cockpit page benchmark: the Campaigns view's pages on 100 campaigns of 1,500 masters each.

    .venv/bin/python bench/cockpit_bench.py [--campaigns 100] [--masters 1500] [--repeat 15]

Seeds a fresh tracking database (embedded PostgreSQL, in a temporary folder under ``.local/``) with set-based
SQL: campaigns in A1, A2 and A3 with their status history, masters with tracking IDs and Box files, transfers
(some failed), derivatives with DAM versions (some with two), failed uploads and outgoing messages. It then
renders each page as the api-server does (queries + Jinja2) and prints median and p95 beside a floor page
(``SELECT 1`` through the same connection and template path), then again without the 0005 cockpit indexes.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

if TYPE_CHECKING:
    from collections.abc import Callable

# Crockford base32 of n (6 characters): a valid, unique tracking ID per master.
_TRACKING_ID = """CREATE FUNCTION bench_tid(n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((n >> (5 * k)) & 31)::int + 1, 1), ''
                      ORDER BY k DESC) FROM generate_series(0, 5) k $$"""

_SEED = """
INSERT INTO campaigns (campaign_id, campaign_number, name, status, box_folder_id, box_folder_url)
SELECT 'cmp' || c, 'CMP-2026-' || lpad(c::text, 3, '0'), 'Campaign ' || c,
       CASE WHEN c % 10 < 3 THEN 'A1' WHEN c % 10 < 7 THEN 'A2' ELSE 'A3' END,
       'bf' || c, 'https://app.box.com/folder/bf' || c
  FROM generate_series(1, {campaigns}) c;

INSERT INTO campaign_status_changes (campaign_id, old_status, new_status, dag_run_id, changed_at)
SELECT campaign_id, 'A1', 'A2', campaign_number || '__a1-cycle1', now() - interval '3 days'
  FROM campaigns WHERE status IN ('A2', 'A3')
UNION ALL
SELECT campaign_id, 'A2', 'A3', 'box_last_' || campaign_id, now() - interval '1 hour'
  FROM campaigns WHERE status = 'A3';

INSERT INTO master_assets (tracking_id, dam_asset_id, campaign_id, name, box_file_id, box_file_url)
SELECT bench_tid(c * 100000 + m), 'dam' || c || '_' || m, 'cmp' || c, 'Master ' || m || '.mp4',
       CASE WHEN c % 10 >= 3 OR m % 2 = 0 THEN 'bx' || c || '_' || m END,
       CASE WHEN c % 10 >= 3 OR m % 2 = 0 THEN 'https://app.box.com/file/bx' || c || '_' || m END
  FROM generate_series(1, {campaigns}) c, generate_series(1, {masters}) m;

-- every master sent once; in A1 campaigns the odd ones failed (a few of them succeeded on a later run)
INSERT INTO master_transfers (dag_run_id, dam_asset_id, campaign_id, asset_name, status, tracking_id, error,
                              updated_at)
SELECT ca.campaign_number || '__a1-cycle1', ma.dam_asset_id, ma.campaign_id, ma.name,
       CASE WHEN ma.box_file_id IS NULL OR ma.id % 20 = 1 THEN 'failed' ELSE 'succeeded' END, ma.tracking_id,
       CASE WHEN ma.box_file_id IS NULL OR ma.id % 20 = 1
            THEN 'The DAM answered 503 for the content of ' || ma.name END, now() - interval '3 days'
  FROM master_assets ma JOIN campaigns ca USING (campaign_id);
INSERT INTO master_transfers (dag_run_id, dam_asset_id, campaign_id, asset_name, status, tracking_id, updated_at)
SELECT 'retry__' || ma.campaign_id, ma.dam_asset_id, ma.campaign_id, ma.name, 'succeeded', ma.tracking_id,
       now() - interval '2 days'
  FROM master_assets ma WHERE ma.id % 20 = 1 AND ma.box_file_id IS NOT NULL;

-- derivatives: every master of A3 campaigns, 60 percent of A2's
INSERT INTO derivative_assets (tracking_id, master_asset_id, file_name, clean_name, box_file_id,
                               box_file_version_id, dam_asset_id, uploaded_at)
SELECT ma.tracking_id, ma.id, ma.tracking_id || '_Master_video_IT_v01.mp4', 'Master_video_IT.mp4', 'df' || ma.id,
       'dv' || ma.id, 'damd' || ma.id, now() - (ma.id % 72) * interval '1 hour'
  FROM master_assets ma JOIN campaigns ca USING (campaign_id)
 WHERE ca.status = 'A3' OR (ca.status = 'A2' AND ma.id % 5 < 3);

INSERT INTO derivative_versions (box_file_id, box_file_version_id, box_position, tracking_id, file_name,
                                 dam_asset_id, dam_version, processed_at, box_created_at)
SELECT box_file_id, box_file_version_id, 1, tracking_id, file_name, dam_asset_id, 1, uploaded_at, uploaded_at
  FROM derivative_assets
UNION ALL
SELECT box_file_id, box_file_version_id || 'b', 2, tracking_id, file_name, dam_asset_id, 2,
       uploaded_at + interval '10 minutes', uploaded_at
  FROM derivative_assets WHERE master_asset_id % 10 = 0;

INSERT INTO derivative_failures (box_file_id, box_file_version_id, file_name, tracking_id, campaign_id, error,
                                 dag_run_id, box_created_at)
SELECT 'bad' || ca.campaign_id || '_' || k, 'v1', 'Nutella_bad_name_' || k || '.mp4', NULL, ca.campaign_id,
       'Nutella_bad_name_' || k || '.mp4 does not start with a tracking ID (6 characters, then _).',
       'box_bad' || ca.campaign_id || '_' || k, now()
  FROM campaigns ca, generate_series(1, 20) k WHERE ca.status = 'A2'
UNION ALL  -- bad names that lead with a master's tracking ID: superseded or not by a later file of that master
SELECT 'bad' || ma.id, 'v1', ma.tracking_id || '_Nutella_bad_name.mp4', ma.tracking_id, ma.campaign_id,
       ma.tracking_id || '_Nutella_bad_name.mp4: the VERSION segment is missing.', 'box_bad' || ma.id,
       now() - interval '1 day'
  FROM master_assets ma JOIN campaigns ca USING (campaign_id) WHERE ca.status = 'A2' AND ma.id % 75 = 0;

INSERT INTO outbox_messages (message_key, channel, target, campaign_id, body, status, attempts, sent_at)
SELECT 'asset/' || v.box_file_id || '/' || v.box_file_version_id, 'webhook', 'asset_upload_complete',
       ma.campaign_id, '{}'::jsonb, CASE WHEN ma.id % 97 = 0 THEN 'pending' ELSE 'sent' END, 1, v.processed_at
  FROM derivative_versions v JOIN master_assets ma USING (tracking_id)
UNION ALL
SELECT 'flip/' || campaign_id || '/' || old_status || '-' || new_status || '/' || kind, kind, kind,
       campaign_id, '{}'::jsonb, 'sent', 1, changed_at
  FROM campaign_status_changes, (VALUES ('email'), ('webhook')) k(kind);
ANALYZE;
"""

_COCKPIT_INDEXES = ("master_transfers_campaign_idx", "derivative_versions_file_idx", "master_transfers_failed_idx",
                    "derivative_versions_processed_idx", "derivative_failures_campaign_idx", "outbox_messages_unsent_idx")


def _seed(dsn: str, campaigns: int, masters: int) -> float:
    import psycopg2

    started = time.perf_counter()
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(_TRACKING_ID)
        cur.execute(_SEED.replace("{campaigns}", str(int(campaigns))).replace("{masters}", str(int(masters))))
    conn.close()
    return time.perf_counter() - started


def _time(render: Callable[[], object], repeat: int) -> tuple[float, float]:
    render()  # warm-up (template compilation, plan caches)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        render()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]


def _measure(dsn: str, repeat: int, label: str) -> None:
    from cockpit.cockpit_app import TaskLinks, render_campaign, render_floor, render_overview
    from cockpit.queries import CockpitDb

    db = CockpitDb.from_dsn(dsn)
    pages: dict[str, Callable[[], object]] = {
        "floor: SELECT 1 page": lambda: render_floor(db),
        "campaign list (100 campaigns + counts)": lambda: render_overview(db.overview(), TaskLinks("", {})),
        "  its queries alone": db.overview,
    }
    for number, kind in ((10, "A3, 1,500 derivatives"), (4, "A2, 900 derivatives, 20 failed"),
                         (1, "A1, 750 masters not in Box")):
        campaign_id = f"cmp{number}"
        pages[f"campaign {campaign_id} ({kind})"] = (
            lambda c=campaign_id: render_campaign(db.campaign(c), TaskLinks("", {})))  # type: ignore[arg-type]
        pages["  its queries alone" + " " * number] = lambda c=campaign_id: db.campaign(c)
    print(f"\n{label}  (median / p95 of {repeat} renders, ms)")
    for name, render in pages.items():
        median, p95 = _time(render, repeat)
        output = render()
        size = f"{len(output) / 1024:7.0f} KiB" if isinstance(output, str) else ""
        print(f"  {name.rstrip():<48} {median:8.1f} {p95:8.1f}   {size}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=100)
    parser.add_argument("--masters", type=int, default=1500)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    import psycopg2

    from include.ferrero.db.tracking import TrackingDb
    from tools import localpg

    (ROOT / ".local").mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="cockpit-bench-", dir=ROOT / ".local"))
    pgdata = scratch / "pgdata"
    try:
        socket = localpg.start(pgdata)
        localpg.ensure_database(localpg.dsn(socket, "postgres"), "tracking")
        dsn = localpg.dsn(socket, "tracking")
        db = TrackingDb.from_dsn(dsn)
        db.migrate()
        db.close()
        seconds = _seed(dsn, args.campaigns, args.masters)
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT (SELECT count(*) FROM master_assets), (SELECT count(*) FROM derivative_versions),"
                        " (SELECT count(*) FROM outbox_messages)")
            masters, versions, messages = cur.fetchone()
        conn.close()
        print(f"Seeded {args.campaigns} campaigns, {masters} masters, {versions} DAM versions, "
              f"{messages} messages in {seconds:.1f} s")
        _measure(dsn, args.repeat, "With the cockpit indexes (migration 0005)")
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute(f"DROP INDEX {', '.join(_COCKPIT_INDEXES)}")
        conn.close()
        _measure(dsn, args.repeat, "Without them (for comparison)")
    finally:
        localpg.stop(pgdata)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
