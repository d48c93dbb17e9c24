from __future__ import annotations

import threading

import psycopg2

from include.ferrero.migrate import available_migrations, migrate
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
