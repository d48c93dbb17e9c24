"""Read-only queries of the tracking database for the operator's cockpit (the Campaigns view in Airflow's UI).

Every page is a handful of set-based queries: the list aggregates per campaign in one statement, a campaign's
page reads only that campaign's rows (indexes in ``include/ferrero/db/migrations/0005_cockpit_indexes.sql``).
Sessions are read-only, so nothing here can change the tracking data.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import psycopg2
import psycopg2.extras

from ferrero_provider.common.postgres import TRACKING_DB_CONN_ID
from include.ferrero.db.derivatives import SUPERSEDED_BY
from include.ferrero.outbox import flip_keys

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from psycopg2.extensions import connection as PgConnection
    from psycopg2.extensions import cursor as PgCursor

# A failed upload counts until a later upload supersedes it (db.derivatives.SUPERSEDED_BY: a DAM version of the
# same Box file or of the same master); LATERAL ... LIMIT 1 makes it two index probes per failure.
_RESOLVED = SUPERSEDED_BY

_TOTALS = f"""
SELECT (SELECT count(*) FROM derivative_versions WHERE processed_at > now() - interval '24 hours') AS uploads_24h,
       (SELECT count(*) FROM derivative_failures f {_RESOLVED} WHERE r.superseded_by IS NULL) AS failed_uploads,
       (SELECT count(*) FROM outbox_messages WHERE status = 'pending') AS pending_messages,
       (SELECT count(*) FROM outbox_messages WHERE status = 'failed') AS failed_messages
"""

# Messages not delivered that belong to no campaign (e.g. the error email of a campaign that could not be read).
_UNATTRIBUTED_MESSAGES = """
SELECT message_key, channel, target, status, attempts, last_error, created_at, body->>'subject' AS subject
  FROM outbox_messages WHERE campaign_id IS NULL AND status <> 'sent'
 ORDER BY id DESC LIMIT 100
"""

# The latest transfer of each master (a master is retried by later runs; the newest outcome counts).
_LATEST_TRANSFERS = """
SELECT DISTINCT ON (dam_asset_id) dam_asset_id, status, error, dag_run_id, updated_at
  FROM master_transfers WHERE campaign_id = %(c)s
 ORDER BY dam_asset_id, updated_at DESC
"""

# One pass per table, grouped by campaign; only failed transfers and unsent messages are read (partial indexes).
_CAMPAIGNS = f"""
WITH m AS (
    SELECT ma.campaign_id, count(*) AS masters, count(ma.box_file_id) AS in_box,
           count(d.n) AS with_derivative, coalesce(sum(d.n), 0) AS derivatives
      FROM master_assets ma
      LEFT JOIN (SELECT tracking_id, count(*) AS n FROM derivative_assets GROUP BY tracking_id) d
             ON d.tracking_id = ma.tracking_id
     WHERE ma.status = 'active'
     GROUP BY ma.campaign_id),
t AS (
    SELECT f.campaign_id, count(DISTINCT f.dam_asset_id) AS failed_masters
      FROM master_transfers f
     WHERE f.status = 'failed' AND NOT EXISTS (
           SELECT 1 FROM master_transfers s
            WHERE s.campaign_id = f.campaign_id AND s.dam_asset_id = f.dam_asset_id AND s.updated_at > f.updated_at)
     GROUP BY f.campaign_id),
f AS (
    SELECT f.campaign_id, count(*) AS failed_derivatives
      FROM derivative_failures f {_RESOLVED}
     WHERE r.superseded_by IS NULL
     GROUP BY f.campaign_id),
o AS (
    SELECT campaign_id, count(*) FILTER (WHERE status = 'pending') AS outbox_pending,
           count(*) FILTER (WHERE status = 'failed') AS outbox_failed
      FROM outbox_messages WHERE campaign_id IS NOT NULL AND status <> 'sent'
     GROUP BY campaign_id),
h AS (
    SELECT campaign_id,
           json_agg(json_build_object('old', old_status, 'new', new_status, 'cycle', cycle,
                                      'at', changed_at, 'run', dag_run_id) ORDER BY changed_at) AS history
      FROM campaign_status_changes
     GROUP BY campaign_id)
SELECT c.campaign_id, c.campaign_number, c.name, c.status, c.box_folder_url, c.updated_at,
       coalesce(m.masters, 0) AS masters, coalesce(m.in_box, 0) AS in_box,
       coalesce(m.with_derivative, 0) AS with_derivative,
       coalesce(m.masters, 0) - coalesce(m.with_derivative, 0) AS waiting,
       coalesce(m.derivatives, 0) AS derivatives, coalesce(t.failed_masters, 0) AS failed_masters,
       coalesce(f.failed_derivatives, 0) AS failed_derivatives,
       coalesce(o.outbox_pending, 0) AS outbox_pending, coalesce(o.outbox_failed, 0) AS outbox_failed,
       coalesce(h.history, '[]'::json) AS history
  FROM campaigns c
  LEFT JOIN m USING (campaign_id) LEFT JOIN t USING (campaign_id) LEFT JOIN f USING (campaign_id)
  LEFT JOIN o USING (campaign_id) LEFT JOIN h USING (campaign_id)
 ORDER BY c.campaign_number NULLS LAST, c.name
"""

# Failed uploads nothing ties to a campaign (no known tracking ID, no earlier version, outside every campaign folder).
_UNATTRIBUTED = f"""
SELECT f.box_file_id, f.box_file_version_id, f.file_name, f.error, f.dag_run_id, f.failed_at
  FROM derivative_failures f {_RESOLVED}
 WHERE f.campaign_id IS NULL AND r.superseded_by IS NULL
 ORDER BY f.failed_at DESC LIMIT 100
"""

_MASTERS = f"""
WITH t AS ({_LATEST_TRANSFERS})
SELECT ma.tracking_id, ma.name, ma.dam_asset_id, ma.box_file_id, ma.box_file_url,
       t.status AS transfer_status, t.error AS transfer_error, t.dag_run_id AS transfer_run,
       t.updated_at AS transferred_at
  FROM master_assets ma LEFT JOIN t ON t.dam_asset_id = ma.dam_asset_id
 WHERE ma.campaign_id = %(c)s AND ma.status = 'active'
 ORDER BY ma.name
"""

_DERIVATIVES = """
SELECT da.tracking_id, da.file_name, da.clean_name, da.dam_asset_id, da.uploaded_at,
       v.versions, v.dam_version, v.processed_at
  FROM master_assets ma
  JOIN derivative_assets da ON da.tracking_id = ma.tracking_id
  LEFT JOIN LATERAL (
       SELECT count(*) AS versions, max(dam_version) AS dam_version, max(processed_at) AS processed_at
         FROM derivative_versions dv WHERE dv.tracking_id = da.tracking_id AND dv.file_name = da.file_name) v
       ON true
 WHERE ma.campaign_id = %(c)s
 ORDER BY da.tracking_id, da.file_name
"""

_FAILURES = f"""
SELECT f.box_file_id, f.box_file_version_id, f.file_name, f.tracking_id, ma.name AS master_name, f.error,
       f.dag_run_id, f.failed_at, r.superseded_by IS NOT NULL AS resolved, r.superseded_by
  FROM derivative_failures f {_RESOLVED}
  LEFT JOIN master_assets ma ON ma.tracking_id = f.tracking_id::bpchar
 WHERE f.campaign_id = %(c)s
 ORDER BY f.failed_at DESC
"""

_OUTBOX = """
SELECT id, message_key, channel, target, status, attempts, last_error, created_at, sent_at,
       body->>'subject' AS subject
  FROM outbox_messages WHERE campaign_id = %(c)s ORDER BY id
"""

_HISTORY = """
SELECT old_status, new_status, cycle, dag_run_id, changed_at
  FROM campaign_status_changes WHERE campaign_id = %(c)s ORDER BY changed_at
"""

# The messages of the status changes, by their keys (include/ferrero/outbox.flip_keys).
_MESSAGES_BY_KEY = """
SELECT message_key, status, sent_at, last_error FROM outbox_messages WHERE message_key = ANY(%(keys)s)
"""


class CockpitDb:
    """Read-only access; ``connect`` returns a new psycopg2 connection (closed after each page)."""

    def __init__(self, connect: Callable[[], PgConnection]) -> None:
        self._connect = connect

    @classmethod
    def from_dsn(cls, dsn: str) -> CockpitDb:
        return cls(lambda: psycopg2.connect(dsn))

    @classmethod
    def from_airflow(cls, conn_id: str = TRACKING_DB_CONN_ID) -> CockpitDb:
        """The tracking database's Airflow connection, resolved as the tasks resolve it."""
        from include.ferrero.db.tracking import TrackingDb

        return cls(TrackingDb.from_airflow(conn_id).new_connection)

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[PgCursor]:
        conn = self._connect()
        try:
            conn.set_session(readonly=True, autocommit=True)
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                yield cur
        finally:
            conn.close()

    def ping(self) -> int:
        """``SELECT 1`` through the same path: the floor the page timings are compared with."""
        with self._cursor() as cur:
            cur.execute("SELECT 1 AS one")
            return int(cur.fetchone()["one"])

    def overview(self) -> dict[str, Any]:
        """The status counts, one row per campaign with its counts and status history, and the failed uploads
        of no known campaign."""
        with self._cursor() as cur:
            # Masters joined to derivatives by tracking ID: merging the two unique indexes beats hashing 10^5
            # rows ~2x (bench/cockpit_bench.py); the setting ends with this page's own connection.
            cur.execute("SET enable_hashjoin = off")
            cur.execute(_CAMPAIGNS)
            campaigns = [dict(r) for r in cur.fetchall()]
            cur.execute(_TOTALS)
            totals = dict(cur.fetchone())
            cur.execute(_UNATTRIBUTED)
            unattributed = [dict(r) for r in cur.fetchall()]
            cur.execute(_UNATTRIBUTED_MESSAGES)
            messages = [dict(r) for r in cur.fetchall()]
        summary = {"masters": sum(c["masters"] for c in campaigns),
                   "derivatives": sum(c["derivatives"] for c in campaigns),
                   "pending_a1": sum(c["status"] == "A1" for c in campaigns),
                   "pending_a2": sum(c["status"] == "A2" for c in campaigns), **totals}
        return {"summary": summary, "campaigns": campaigns, "unattributed_failures": unattributed,
                "unattributed_messages": messages}

    def campaign(self, campaign_id: str) -> dict[str, Any] | None:
        """One campaign: masters with their transfer state and derivatives, failures, messages, history."""
        with self._cursor() as cur:
            cur.execute("SELECT * FROM campaigns WHERE campaign_id = %s", (campaign_id,))
            row = cur.fetchone()
            if row is None:
                return None
            args = {"c": campaign_id}
            cur.execute(_MASTERS, args)
            masters = [dict(r) for r in cur.fetchall()]
            cur.execute(_DERIVATIVES, args)
            derivatives = [dict(r) for r in cur.fetchall()]
            cur.execute(_FAILURES, args)
            failures = [dict(r) for r in cur.fetchall()]
            cur.execute(_OUTBOX, args)
            outbox = [dict(r) for r in cur.fetchall()]
            cur.execute(_HISTORY, args)
            history = [dict(r) for r in cur.fetchall()]
            keys = {id(h): flip_keys(campaign_id, h["old_status"], h["new_status"], h["cycle"]) for h in history}
            cur.execute(_MESSAGES_BY_KEY, {"keys": [k for ks in keys.values() for k in ks.values()]})
            sent = {r["message_key"]: dict(r) for r in cur.fetchall()}
        for change in history:  # when each status change's messages went out (or why not yet)
            for what, column in (("status-webhook", "webhook"), ("email", "email")):
                change[column] = sent.get(keys[id(change)][what])
        by_master: dict[str, list[dict[str, Any]]] = {}
        for derivative in derivatives:
            by_master.setdefault(derivative["tracking_id"], []).append(derivative)
        for master in masters:
            master["derivatives"] = by_master.get(master["tracking_id"], [])
        return {
            "campaign": dict(row),
            "masters": masters,
            "waiting": [m for m in masters if not m["derivatives"]],
            "failed_masters": [m for m in masters if m["transfer_status"] == "failed"],
            "failures": failures,
            "outbox": outbox,
            "history": history,
        }
