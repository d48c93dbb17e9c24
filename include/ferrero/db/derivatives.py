"""Derivatives in the tracking database: the per-target lock, the Box versions that became DAM versions, and
failures, each recorded together with its outgoing messages (the outbox).

One DAM asset per derivative and one DAM version per Box version, whatever runs at once: every run that may
create or check in the asset of a DAM target (its Final Assets folder and clean name) holds that target's
advisory lock for the whole create/check-in, on a connection of its own, so racing runs take turns and each
sees what the previous one recorded. A process that dies loses its connection, and with it the lock.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from include.ferrero.db import outbox

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from include.ferrero.db.tracking import TrackingDb
    from include.ferrero.outbox import OutboxMessage


@dataclass(frozen=True)
class FailureOwner:
    """The master (when known) and campaign a failed upload belongs to."""

    campaign_id: str
    tracking_id: str | None = None
    master_name: str | None = None


# Who a file belongs to, first match wins: the master its tracking ID names, the master an earlier version of the
# same Box file went to, the campaign whose Box folder holds it.
_OWNER = """
SELECT * FROM (
    SELECT 1 AS rank, campaign_id, tracking_id, name AS master_name FROM master_assets WHERE tracking_id = %(t)s
    UNION ALL
    (SELECT 2, ma.campaign_id, ma.tracking_id, ma.name FROM derivative_versions v
       JOIN master_assets ma ON ma.tracking_id = v.tracking_id
      WHERE v.box_file_id = %(f)s ORDER BY v.processed_at DESC LIMIT 1)
    UNION ALL
    (SELECT 3, campaign_id, NULL, NULL FROM campaigns WHERE box_folder_id = ANY(%(folders)s) LIMIT 1)
) owners ORDER BY rank LIMIT 1
"""

# A failure is superseded once a DAM version exists of the same Box file (that version, or one processed after the
# failure: a rename or a corrected new version) or of a file for the same master created in Box after the failing
# one (a valid upload that replaced the bad one; Box's creation times, so the order the runs ran in does not
# matter). ``f`` is the failure row.
SUPERSEDED_BY = """LEFT JOIN LATERAL (
       SELECT v.file_name AS superseded_by FROM derivative_versions v
        WHERE v.box_file_id = f.box_file_id
          AND (v.box_file_version_id = f.box_file_version_id OR v.processed_at > f.failed_at)
       UNION ALL
       SELECT v.file_name FROM derivative_versions v
        WHERE v.tracking_id = f.tracking_id::bpchar AND v.box_created_at > f.box_created_at
       LIMIT 1) r ON true"""


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
                " file_name, dam_asset_id, dam_version, dam_version_asset_id, box_created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (box_file_id, box_file_version_id) DO NOTHING",
                (derivative["box_file_id"], version_id, position, derivative["tracking_id"], derivative["file_name"],
                 dam_asset_id, dam_version, latest, derivative.get("box_created_at")),
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

    def owner_of(self, *, tracking_id: str | None, box_file_id: str | None,
                 folder_ids: Iterable[str] = ()) -> FailureOwner | None:
        """The master and campaign a file belongs to: by the tracking ID in its name, by an earlier version of the
        same Box file, or by the campaign folder it sits in (``folder_ids``: its Box path); None when nothing
        ties it to a campaign."""
        with self.db.transaction() as cur:
            cur.execute(_OWNER, {"t": tracking_id, "f": box_file_id, "folders": [str(i) for i in folder_ids]})
            row = cur.fetchone()
        return FailureOwner(row["campaign_id"], row["tracking_id"], row["master_name"]) if row else None

    def superseded_failures(self, box_file_ids: list[str]) -> set[tuple[str, str]]:
        """(Box file id, version id) of the failures among ``box_file_ids`` that a later upload superseded."""
        if not box_file_ids:
            return set()
        with self.db.transaction() as cur:
            cur.execute(f"SELECT f.box_file_id, f.box_file_version_id FROM derivative_failures f {SUPERSEDED_BY}"
                        " WHERE f.box_file_id = ANY(%s) AND r.superseded_by IS NOT NULL", (list(box_file_ids),))
            return {(row["box_file_id"], row["box_file_version_id"]) for row in cur.fetchall()}

    def record_failure(self, *, box_file_id: str, version_id: str, file_name: str | None, tracking_id: str | None,
                       campaign_id: str | None, error: str, run_id: str | None, box_created_at: str | None = None,
                       messages: Iterable[OutboxMessage] = ()) -> None:
        """A Box version that could not become a DAM asset, with its error email, in one transaction. The version's
        latest failure counts: a renamed file that fails again replaces its name, reason and owner."""
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO derivative_failures (box_file_id, box_file_version_id, file_name, tracking_id,"
                " campaign_id, error, dag_run_id, box_created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (box_file_id, box_file_version_id) DO UPDATE SET error = EXCLUDED.error,"
                " dag_run_id = EXCLUDED.dag_run_id, failed_at = now(),"
                " box_created_at = coalesce(EXCLUDED.box_created_at, derivative_failures.box_created_at),"
                " file_name = coalesce(EXCLUDED.file_name, derivative_failures.file_name),"
                " tracking_id = coalesce(EXCLUDED.tracking_id, derivative_failures.tracking_id),"
                " campaign_id = coalesce(EXCLUDED.campaign_id, derivative_failures.campaign_id)",
                (box_file_id, version_id, file_name, tracking_id, campaign_id, error, run_id, box_created_at),
            )
            outbox.add(cur, messages)
