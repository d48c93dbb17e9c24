"""The one data-access module of the tracking database (PostgreSQL).

Every write is idempotent: UPSERTs keyed by the domain's natural keys (DAM asset id, Box event id, tracking
ID + file name), so a retried, cleared or re-run task never creates a second row. In Airflow the connection
comes from the ``tracking_db`` connection through ``PostgresHook``; elsewhere (the webhook receiver, the CLI,
tests) from a libpq DSN.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import psycopg2
import psycopg2.errors
import psycopg2.extras

from include.ferrero.tracking_ids import new_tracking_id

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from psycopg2.extensions import connection as PgConnection
    from psycopg2.extensions import cursor as PgCursor

TRACKING_DB_CONN_ID = "tracking_db"
MAX_TRACKING_ID_ATTEMPTS = 10


class TrackingIdExhaustedError(RuntimeError):
    """No free tracking ID was found after several random draws (practically impossible)."""


class TrackingDb:
    """Tracking database access. ``connect`` returns a new psycopg2 connection each time it is called."""

    def __init__(self, connect: Callable[[], PgConnection], new_id: Callable[[], str] = new_tracking_id) -> None:
        self._connect = connect
        self._new_id = new_id
        self._conn: PgConnection | None = None

    @classmethod
    def from_dsn(cls, dsn: str) -> TrackingDb:
        """Connect with a libpq DSN/URI, e.g. ``postgresql://postgres@/tracking?host=/path/to/socket``."""
        return cls(lambda: psycopg2.connect(dsn))

    @classmethod
    def from_airflow(cls, conn_id: str = TRACKING_DB_CONN_ID) -> TrackingDb:
        """Connect through Airflow's ``PostgresHook`` (inside tasks)."""
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        return cls(PostgresHook(postgres_conn_id=conn_id).get_conn)

    # -- plumbing ---------------------------------------------------------------------------------------

    @property
    def conn(self) -> PgConnection:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[PgCursor]:
        """A cursor (rows as dicts) inside one transaction: committed on success, rolled back on error."""
        conn = self.conn
        try:
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                yield cur
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    def migrate(self) -> list[str]:
        """Apply pending schema migrations; see ``include.ferrero.migrate``."""
        from include.ferrero.migrate import migrate

        return migrate(self.conn)

    # -- campaigns --------------------------------------------------------------------------------------

    def upsert_campaign(
        self, campaign_id: str, name: str, campaign_number: str | None = None, status: str | None = None
    ) -> dict[str, Any]:
        """Record a campaign (or refresh its name, number and last seen status) and return its row."""
        with self.transaction() as cur:
            cur.execute(
                """
                INSERT INTO campaigns (campaign_id, name, campaign_number, status)
                VALUES (%s, %s, %s, %s)
                ON CONFLICT (campaign_id) DO UPDATE
                   SET name = EXCLUDED.name,
                       campaign_number = COALESCE(EXCLUDED.campaign_number, campaigns.campaign_number),
                       status = COALESCE(EXCLUDED.status, campaigns.status),
                       updated_at = now()
                RETURNING *
                """,
                (campaign_id, name, campaign_number, status),
            )
            return dict(cur.fetchone())

    def get_campaign(self, campaign_id: str) -> dict[str, Any] | None:
        with self.transaction() as cur:
            cur.execute("SELECT * FROM campaigns WHERE campaign_id = %s", (campaign_id,))
            row = cur.fetchone()
        return dict(row) if row else None

    # -- masters ----------------------------------------------------------------------------------------

    def get_or_create_tracking_id(self, dam_asset_id: str, campaign_id: str, name: str) -> str:
        """The master's tracking ID, created on first call; the same master keeps its ID forever.

        Concurrent calls for the same master return the same ID; a random ID already taken by another master
        is drawn again (the unique constraint decides, not a read-then-write race).
        """
        for _ in range(MAX_TRACKING_ID_ATTEMPTS):
            candidate = self._new_id()
            try:
                with self.transaction() as cur:
                    cur.execute(
                        """
                        INSERT INTO master_assets (tracking_id, dam_asset_id, campaign_id, name)
                        VALUES (%s, %s, %s, %s)
                        ON CONFLICT (dam_asset_id) DO NOTHING
                        RETURNING tracking_id
                        """,
                        (candidate, dam_asset_id, campaign_id, name),
                    )
                    row = cur.fetchone()
                    if row is None:
                        cur.execute(
                            "SELECT tracking_id FROM master_assets WHERE dam_asset_id = %s", (dam_asset_id,)
                        )
                        row = cur.fetchone()
                    return row["tracking_id"]
            except psycopg2.errors.UniqueViolation as exc:
                if exc.diag.constraint_name != "master_assets_tracking_id_key":
                    raise
        raise TrackingIdExhaustedError(
            f"no free tracking ID found for DAM asset {dam_asset_id} after {MAX_TRACKING_ID_ATTEMPTS} draws"
        )

    def get_master(self, tracking_id: str) -> dict[str, Any] | None:
        with self.transaction() as cur:
            cur.execute("SELECT * FROM master_assets WHERE tracking_id = %s", (tracking_id,))
            row = cur.fetchone()
        return dict(row) if row else None

    def get_master_by_dam_id(self, dam_asset_id: str) -> dict[str, Any] | None:
        with self.transaction() as cur:
            cur.execute("SELECT * FROM master_assets WHERE dam_asset_id = %s", (dam_asset_id,))
            row = cur.fetchone()
        return dict(row) if row else None
