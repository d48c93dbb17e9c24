"""The tracking database (PostgreSQL): :class:`TrackingDb` holds its connection and transactions and records
campaigns, masters (their tracking IDs), A1 -> A2 transfers and status changes. The other modules of
``include.ferrero.db`` store the rest of the tracking data on a ``TrackingDb``.

Every write is idempotent: UPSERTs keyed by the domain's natural keys (DAM asset id, Box event id, tracking
ID + file name), so a retried, cleared or re-run task never creates a second row. In Airflow the connection
comes from the ``tracking_db`` connection through ``PostgresHook``; elsewhere (the webhook receiver, the CLI,
tests) from a libpq DSN.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, cast

import psycopg2
import psycopg2.errors
import psycopg2.extras

from ferrero_provider.common.connection_fields import ConnectionFields
from ferrero_provider.common.postgres import TRACKING_DB_CONN_ID, libpq_kwargs
from include.ferrero.db import outbox
from include.ferrero.tracking_ids import new_tracking_id

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from psycopg2.extensions import connection as PgConnection
    from psycopg2.extensions import cursor as PgCursor

    from include.ferrero.campaigns import MasterRef, PlannedMaster
    from include.ferrero.db.rows import (
        CampaignProgress,
        CampaignRow,
        MasterRow,
        PlannedTransfer,
        StatusChangeRow,
        TransferRow,
    )
    from include.ferrero.outbox import OutboxMessage

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
        """Connect with the Airflow connection ``conn_id`` (inside tasks), read as ``PostgresHook`` reads it
        (``ferrero_provider.common.postgres.libpq_kwargs``: every libpq extra is passed through).

        The connection is opened with psycopg2 (the provider may pick psycopg 3 for its own ``get_conn``)."""
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        kwargs = libpq_kwargs(ConnectionFields.from_airflow(PostgresHook.get_connection(conn_id)))
        return cls(lambda: psycopg2.connect(**kwargs))

    # -- plumbing ---------------------------------------------------------------------------------------

    @property
    def conn(self) -> PgConnection:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def new_connection(self) -> PgConnection:
        """A connection of its own (not the shared one), e.g. to hold a session lock; the caller closes it."""
        return self._connect()

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
        """Apply pending schema migrations; see ``include.ferrero.db.migrate``."""
        from include.ferrero.db.migrate import migrate

        return migrate(self.conn)

    # -- campaigns --------------------------------------------------------------------------------------

    def upsert_campaign(
        self, campaign_id: str, name: str, campaign_number: str | None = None, status: str | None = None
    ) -> CampaignRow:
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
            return cast("CampaignRow", dict(cur.fetchone()))

    def get_campaign(self, campaign_id: str) -> CampaignRow | None:
        with self.transaction() as cur:
            cur.execute("SELECT * FROM campaigns WHERE campaign_id = %s", (campaign_id,))
            row = cur.fetchone()
        return cast("CampaignRow", dict(row)) if row else None

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
                    return str(row["tracking_id"])
            except psycopg2.errors.UniqueViolation as exc:
                if exc.diag.constraint_name != "master_assets_tracking_id_key":
                    raise
        raise TrackingIdExhaustedError(
            f"no free tracking ID found for DAM asset {dam_asset_id} after {MAX_TRACKING_ID_ATTEMPTS} draws"
        )

    def get_master(self, tracking_id: str) -> MasterRow | None:
        with self.transaction() as cur:
            cur.execute("SELECT * FROM master_assets WHERE tracking_id = %s", (tracking_id,))
            row = cur.fetchone()
        return cast("MasterRow", dict(row)) if row else None

    def record_master_in_box(
        self,
        dam_asset_id: str,
        *,
        name: str,
        dam_metadata: dict[str, Any],
        box_file_id: str,
        box_file_url: str | None,
        upload_folder_id: str | None,
    ) -> None:
        """Store the master's Box file, full DAM metadata and Final Assets folder (its row already exists)."""
        with self.transaction() as cur:
            cur.execute(
                """
                UPDATE master_assets
                   SET name = %s, dam_metadata = %s, box_file_id = %s, box_file_url = %s,
                       upload_folder_id = %s, status = 'active', updated_at = now()
                 WHERE dam_asset_id = %s
                """,
                (name, psycopg2.extras.Json(dam_metadata), box_file_id, box_file_url, upload_folder_id,
                 dam_asset_id),
            )
            if cur.rowcount != 1:
                raise LookupError(f"DAM asset {dam_asset_id} has no tracking ID yet")

    def masters_of_campaign(self, campaign_id: str) -> list[MasterRow]:
        with self.transaction() as cur:
            cur.execute(
                "SELECT * FROM master_assets WHERE campaign_id = %s AND status = 'active' ORDER BY name",
                (campaign_id,),
            )
            return [cast("MasterRow", dict(row)) for row in cur.fetchall()]

    # -- A1 -> A2 transfers and status changes --------------------------------------------------------

    def plan_run(self, dag_run_id: str, campaign: Mapping[str, Any], masters: list[PlannedMaster]) -> None:
        """A run's plan: the campaign's summary and its masters in map order, each with its DAM record as listed
        (a re-planned run's plan replaces its earlier one)."""
        with self.transaction() as cur:
            cur.execute(
                """
                INSERT INTO run_plans (dag_run_id, campaign) VALUES (%s, %s)
                ON CONFLICT (dag_run_id) DO UPDATE SET campaign = EXCLUDED.campaign, planned_at = now()
                """,
                (dag_run_id, psycopg2.extras.Json(dict(campaign))),
            )
            cur.execute("DELETE FROM run_masters WHERE dag_run_id = %s", (dag_run_id,))
            psycopg2.extras.execute_values(
                cur, "INSERT INTO run_masters (dag_run_id, position, dam_asset_id, name, dam_asset) VALUES %s",
                [(dag_run_id, position, m["asset_id"], m["name"], psycopg2.extras.Json(m.get("dam_asset")))
                 for position, m in enumerate(masters)],
                page_size=500)

    def planned_transfer(self, dag_run_id: str, position: int) -> PlannedTransfer | None:
        """The master at ``position`` of a run's plan, with the run's campaign summary (None when the run planned
        no master there, or was planned before plans held the campaign)."""
        with self.transaction() as cur:
            cur.execute(
                """
                SELECT m.dam_asset_id, m.name, m.dam_asset, p.campaign
                  FROM run_masters m JOIN run_plans p USING (dag_run_id)
                 WHERE m.dag_run_id = %s AND m.position = %s
                """,
                (dag_run_id, position),
            )
            row = cur.fetchone()
        if row is None:
            return None
        return {"campaign": row["campaign"],
                "master": {"asset_id": row["dam_asset_id"], "name": row["name"], "dam_asset": row["dam_asset"]}}

    def run_masters(self, dag_run_id: str) -> list[MasterRef]:
        """A run's planned masters, in map order."""
        with self.transaction() as cur:
            cur.execute("SELECT dam_asset_id, name FROM run_masters WHERE dag_run_id = %s ORDER BY position",
                        (dag_run_id,))
            return [{"asset_id": r["dam_asset_id"], "name": r["name"]} for r in cur.fetchall()]

    def record_transfer(
        self,
        dag_run_id: str,
        campaign_id: str,
        dam_asset_id: str,
        asset_name: str,
        *,
        error: str | None = None,
        tracking_id: str | None = None,
        box_file_id: str | None = None,
    ) -> None:
        """The latest outcome of one master's transfer in one run (a retry overwrites it)."""
        with self.transaction() as cur:
            cur.execute(
                """
                INSERT INTO master_transfers
                    (dag_run_id, dam_asset_id, campaign_id, asset_name, status, tracking_id, box_file_id, error)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (dag_run_id, dam_asset_id) DO UPDATE
                   SET status = EXCLUDED.status, tracking_id = EXCLUDED.tracking_id,
                       box_file_id = EXCLUDED.box_file_id, error = EXCLUDED.error,
                       asset_name = EXCLUDED.asset_name, updated_at = now()
                """,
                (dag_run_id, dam_asset_id, campaign_id, asset_name, "failed" if error else "succeeded",
                 tracking_id, box_file_id, error),
            )

    def transfers_of_run(self, dag_run_id: str) -> list[TransferRow]:
        with self.transaction() as cur:
            cur.execute("SELECT * FROM master_transfers WHERE dag_run_id = %s ORDER BY asset_name", (dag_run_id,))
            return [cast("TransferRow", dict(row)) for row in cur.fetchall()]

    def completed_cycles(self, campaign_id: str, old_status: str, new_status: str) -> int:
        """How many times we already moved this campaign from ``old_status`` to ``new_status``."""
        with self.transaction() as cur:
            cur.execute(
                "SELECT count(*) AS n FROM campaign_status_changes"
                " WHERE campaign_id = %s AND old_status = %s AND new_status = %s",
                (campaign_id, old_status, new_status),
            )
            return int(cur.fetchone()["n"])

    def record_campaign_folders(self, campaign_id: str, box_folder_id: str, final_assets_folder_id: str) -> None:
        """Where the campaign's masters go (its Box folder) and its derivatives (the DAM's Final Assets)."""
        with self.transaction() as cur:
            cur.execute("UPDATE campaigns SET box_folder_id = %s, final_assets_folder_id = %s, updated_at = now()"
                        " WHERE campaign_id = %s", (box_folder_id, final_assets_folder_id, campaign_id))

    def record_box_folder_url(self, campaign_id: str, box_folder_url: str) -> None:
        """The shared link of the campaign's Box folder (the success email's and the cockpit's link)."""
        with self.transaction() as cur:
            cur.execute("UPDATE campaigns SET box_folder_url = %s, updated_at = now() WHERE campaign_id = %s",
                        (box_folder_url, campaign_id))

    # -- derivatives (A2 -> A3) -------------------------------------------------------------------------

    def recorded_box_files(self, box_file_ids: list[str]) -> set[tuple[str, str | None]]:
        """(box file id, version id) pairs among ``box_file_ids`` that already became derivatives."""
        if not box_file_ids:
            return set()
        with self.transaction() as cur:
            cur.execute("SELECT box_file_id, box_file_version_id FROM derivative_assets WHERE box_file_id = ANY(%s)"
                        " UNION SELECT box_file_id, box_file_version_id FROM derivative_versions"
                        " WHERE box_file_id = ANY(%s)", (list(box_file_ids), list(box_file_ids)))
            return {(row["box_file_id"], row["box_file_version_id"]) for row in cur.fetchall()}

    def campaign_progress(self, campaign_id: str) -> CampaignProgress:
        """Masters of the campaign and those that have at least one derivative."""
        with self.transaction() as cur:
            return _campaign_progress(cur, campaign_id)

    @contextlib.contextmanager
    def campaign_lock(self, campaign_id: str) -> Iterator[PgCursor]:
        """A transaction holding the campaign's advisory lock: status decisions made inside it are serialised
        across processes (two runs finishing at the same moment flip once)."""
        with self.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"campaign:{campaign_id}",))
            yield cur

    def campaigns_with_box_folder(self, statuses: tuple[str, ...] = ("A2",)) -> list[CampaignRow]:
        with self.transaction() as cur:
            cur.execute("SELECT * FROM campaigns WHERE box_folder_id IS NOT NULL AND status = ANY(%s)"
                        " ORDER BY campaign_id", (list(statuses),))
            return [cast("CampaignRow", dict(r)) for r in cur.fetchall()]

    def flip_once(
        self,
        campaign_id: str,
        old_status: str,
        new_status: str,
        cycle: int,
        dag_run_id: str,
        apply: Callable[[CampaignProgress], bool],
        messages: Callable[[StatusChangeRow, list[MasterRow]], list[OutboxMessage]] = lambda _c, _m: [],
    ) -> StatusChangeRow | None:
        """Move the campaign ``old_status`` -> ``new_status`` once per cycle, however many runs race here.

        Under the campaign's lock: when the change is already recorded, return it (``created`` False); otherwise
        call ``apply(progress)`` (which changes the DAM and returns True, or returns False when the campaign is
        not ready) and record the change together with its outgoing ``messages(change, masters)`` (rendered
        now, in the same transaction: the outbox). Returns None when ``apply`` declined.
        """
        with self.campaign_lock(campaign_id) as cur:
            cur.execute(
                "SELECT *, false AS created FROM campaign_status_changes"
                " WHERE campaign_id = %s AND old_status = %s AND new_status = %s AND cycle = %s",
                (campaign_id, old_status, new_status, cycle),
            )
            row = cur.fetchone()
            if row is not None:
                return cast("StatusChangeRow", dict(row))
            if not apply(_campaign_progress(cur, campaign_id)):
                return None
            cur.execute(
                "INSERT INTO campaign_status_changes (campaign_id, old_status, new_status, cycle, dag_run_id)"
                " VALUES (%s, %s, %s, %s, %s) RETURNING *, true AS created",
                (campaign_id, old_status, new_status, cycle, dag_run_id),
            )
            change = cast("StatusChangeRow", dict(cur.fetchone()))
            cur.execute("UPDATE campaigns SET status = %s, updated_at = now() WHERE campaign_id = %s",
                        (new_status, campaign_id))
            cur.execute("SELECT * FROM master_assets WHERE campaign_id = %s AND status = 'active' ORDER BY name",
                        (campaign_id,))
            outbox.add(cur, messages(change, [cast("MasterRow", dict(m)) for m in cur.fetchall()]))
            return change


def _campaign_progress(cur: PgCursor, campaign_id: str) -> CampaignProgress:
    cur.execute(
        """
        SELECT m.tracking_id, m.name, m.box_file_id, count(d.id) AS derivatives
          FROM master_assets m LEFT JOIN derivative_assets d ON d.tracking_id = m.tracking_id
         WHERE m.campaign_id = %s AND m.status = 'active'
         GROUP BY m.tracking_id, m.name, m.box_file_id
        """,
        (campaign_id,),
    )
    rows = [dict(r) for r in cur.fetchall()]
    return {"masters": [r["tracking_id"] for r in rows],
            "in_box": [r["tracking_id"] for r in rows if r["box_file_id"]],
            "with_derivative": [r["tracking_id"] for r in rows if r["derivatives"]],
            "missing": sorted(r["name"] for r in rows if not r["derivatives"])}
