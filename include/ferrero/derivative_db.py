"""Derivatives in the tracking database: the per-target lock, the Box versions that became DAM versions, and
failures, each recorded together with its outgoing messages (the outbox).

One DAM asset per derivative and one DAM version per Box version, whatever runs at once: every run that may
create or check in the asset of a DAM target (its Final Assets folder and clean name) holds that target's
advisory lock for the whole create/check-in, on a connection of its own, so racing runs take turns and each
sees what the previous one recorded. A process that dies loses its connection, and with it the lock.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from include.ferrero import outbox_db as outbox

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from include.ferrero.outbox import OutboxMessage
    from include.ferrero.tracking_db import TrackingDb


class DerivativeStore:
    """Data access for ``derivative_versions``, ``derivative_assets`` and ``derivative_failures``."""

    def __init__(self, db: TrackingDb) -> None:
        self.db = db

    @contextlib.contextmanager
    def target_lock(self, folder_id: str, clean_name: str) -> Iterator[None]:
        """Hold the DAM target's lock (session advisory lock on a separate connection) while the body runs."""
        conn = self.db.new_connection()
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"dam-target:{folder_id}:{clean_name.lower()}",))
            yield
        finally:
            conn.close()  # closing the session releases its advisory locks

    def processed_versions(self, box_file_id: str) -> dict[str, int]:
        """Box version id -> its position in the file's history, for versions already in the DAM."""
        with self.db.transaction() as cur:
            cur.execute("SELECT box_file_version_id, box_position FROM derivative_versions WHERE box_file_id = %s",
                        (box_file_id,))
            return {row["box_file_version_id"]: row["box_position"] for row in cur.fetchall()}

    def dam_asset_of(self, tracking_id: str, file_name: str) -> str | None:
        """The DAM asset (logical id) already made for this derivative (by its file name), if any."""
        return (self.dam_ids_of(tracking_id, file_name) or (None, None))[0]

    def dam_ids_of(self, tracking_id: str, file_name: str) -> tuple[str, str] | None:
        """(logical id, latest version's own id) of the derivative's DAM asset, if any."""
        with self.db.transaction() as cur:
            cur.execute("SELECT dam_asset_id, COALESCE(dam_latest_asset_id, dam_asset_id) AS latest"
                        " FROM derivative_assets WHERE tracking_id = %s AND file_name = %s", (tracking_id, file_name))
            row = cur.fetchone()
        return (row["dam_asset_id"], row["latest"]) if row else None

    def record_version(self, derivative: Mapping[str, Any], *, version_id: str, position: int, dam_asset_id: str,
                       dam_version: int | None, messages: Iterable[OutboxMessage] = (),
                       dam_version_asset_id: str | None = None) -> dict[str, Any]:
        """A Box version is in the DAM: its version row, the derivative's row (now at this version) and its
        messages, in one transaction. ``dam_asset_id`` is the logical id, ``dam_version_asset_id`` the DAM
        version's own id (the latest from now on)."""
        latest = dam_version_asset_id or dam_asset_id
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO derivative_versions (box_file_id, box_file_version_id, box_position, tracking_id,"
                " file_name, dam_asset_id, dam_version, dam_version_asset_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (box_file_id, box_file_version_id) DO NOTHING",
                (derivative["box_file_id"], version_id, position, derivative["tracking_id"], derivative["file_name"],
                 dam_asset_id, dam_version, latest),
            )
            cur.execute(
                """
                INSERT INTO derivative_assets (tracking_id, master_asset_id, file_name, clean_name, box_file_id,
                                               box_file_version_id, dam_asset_id, dam_latest_asset_id)
                SELECT %s, id, %s, %s, %s, %s, %s, %s FROM master_assets WHERE tracking_id = %s
                ON CONFLICT (tracking_id, file_name) DO UPDATE
                   SET clean_name = EXCLUDED.clean_name, box_file_id = EXCLUDED.box_file_id,
                       box_file_version_id = EXCLUDED.box_file_version_id, dam_asset_id = EXCLUDED.dam_asset_id,
                       dam_latest_asset_id = EXCLUDED.dam_latest_asset_id, upload_status = 'completed', last_error = NULL, uploaded_at = now()
                RETURNING *
                """,
                (derivative["tracking_id"], derivative["file_name"], derivative["clean_name"],
                 derivative["box_file_id"], version_id, dam_asset_id, latest, derivative["tracking_id"]),
            )
            row = cur.fetchone()
            if row is None:
                raise LookupError(f"no master has tracking ID {derivative['tracking_id']}")
            outbox.add(cur, messages)
            return dict(row)

    def record_failure(self, *, box_file_id: str, version_id: str, file_name: str | None, tracking_id: str | None,
                       campaign_id: str | None, error: str, run_id: str | None,
                       messages: Iterable[OutboxMessage] = ()) -> None:
        """A Box version that could not become a DAM asset, with its error email, in one transaction."""
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO derivative_failures (box_file_id, box_file_version_id, file_name, tracking_id,"
                " campaign_id, error, dag_run_id) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (box_file_id, box_file_version_id) DO UPDATE SET error = EXCLUDED.error,"
                " dag_run_id = EXCLUDED.dag_run_id, failed_at = now()",
                (box_file_id, version_id, file_name, tracking_id, campaign_id, error, run_id),
            )
            outbox.add(cur, messages)
