from __future__ import annotations

import threading

import psycopg2

from include.ferrero.db.migrate import available_migrations, migrate
from tools import localpg


def _tables(dsn: str) -> set[str]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row[0] for row in cur.fetchall()}


def test_from_empty_then_reapplied(pg_socket: str) -> None:
    server = localpg.dsn(pg_socket, "postgres")
    localpg.drop_database(server, "migrate_empty")
    localpg.ensure_database(server, "migrate_empty")
    dsn = localpg.dsn(pg_socket, "migrate_empty")
    try:
        conn = psycopg2.connect(dsn)
        applied = migrate(conn)
        assert applied == [f"{v:04d}_{n}" for v, n, _ in available_migrations()]
        assert migrate(conn) == []
        conn.close()
        assert {"campaigns", "campaign_status_changes", "master_assets", "derivative_assets",
                "box_webhook_events", "schema_migrations"} <= _tables(dsn)
    finally:
        localpg.drop_database(server, "migrate_empty")


def test_concurrent_migrations_apply_once(pg_socket: str) -> None:
    server = localpg.dsn(pg_socket, "postgres")
    localpg.drop_database(server, "migrate_race")
    localpg.ensure_database(server, "migrate_race")
    dsn = localpg.dsn(pg_socket, "migrate_race")
    results: list[list[str]] = []
    try:
        def run() -> None:
            conn = psycopg2.connect(dsn)
            results.append(migrate(conn))
            conn.close()

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(len(r) for r in results) == [0, 0, 0, len(available_migrations())]
    finally:
        localpg.drop_database(server, "migrate_race")


def test_failures_of_earlier_releases_get_their_campaign(pg_socket: str) -> None:
    """0007: a failure stored without campaign (a name that did not parse) gets the master its name leads with,
    or the one an earlier version of the same Box file went to; one nothing names stays without."""
    server = localpg.dsn(pg_socket, "postgres")
    localpg.drop_database(server, "migrate_failures")
    localpg.ensure_database(server, "migrate_failures")
    dsn = localpg.dsn(pg_socket, "migrate_failures")
    try:
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            for version, _, path in available_migrations():
                if version < 7:
                    cur.execute(path.read_text())
            cur.execute("""
                INSERT INTO campaigns (campaign_id, name) VALUES ('c1', 'One');
                INSERT INTO master_assets (tracking_id, dam_asset_id, campaign_id, name) VALUES
                    ('5RKZDM', 'm1', 'c1', 'guide.pdf'), ('K7M2QX', 'm2', 'c1', 'film.mp4');
                INSERT INTO derivative_versions (box_file_id, box_file_version_id, box_position, tracking_id,
                                                 file_name, dam_asset_id) VALUES
                    ('f2', 'v1', 1, 'K7M2QX', 'K7M2QX_Nutella_Film_video_IT_v01.mp4', 'd2');
                INSERT INTO derivative_failures (box_file_id, box_file_version_id, file_name, error) VALUES
                    ('f1', 'v1', '5RKZDM_Nutella_Brand-Guidelines_document_EN_GB.pdf', 'no version'),
                    ('f2', 'v2', 'film.mp4', 'renamed badly'), ('f3', 'v1', 'lost.pdf', 'no tracking ID');
            """)
            [(_, _, latest)] = [m for m in available_migrations() if m[0] == 7]
            cur.execute(latest.read_text())
            cur.execute("SELECT box_file_id, tracking_id, campaign_id FROM derivative_failures ORDER BY 1")
            assert cur.fetchall() == [("f1", "5RKZDM", "c1"), ("f2", "K7M2QX", "c1"), ("f3", None, None)]
        conn.close()
    finally:
        localpg.drop_database(server, "migrate_failures")
