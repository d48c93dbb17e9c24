"""The tracking database's memory of Box's event stream (tables ``box_stream_positions``, ``box_stream_events``):
the position the last reconciliation reached, when, and the ids of the events it already acted on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from include.ferrero.db.tracking import TrackingDb


@dataclass(frozen=True)
class StreamPosition:
    position: str
    read_at: datetime


class StreamStore:
    def __init__(self, db: TrackingDb) -> None:
        self.db = db

    def position(self, stream_type: str) -> StreamPosition | None:
        with self.db.transaction() as cur:
            cur.execute("SELECT position, read_at FROM box_stream_positions WHERE stream_type = %s", (stream_type,))
            row = cur.fetchone()
        return StreamPosition(row["position"], row["read_at"]) if row else None

    def unseen(self, event_ids: Iterable[str]) -> set[str]:
        """Those of ``event_ids`` not acted on yet."""
        ids = sorted(set(event_ids))
        if not ids:
            return set()
        with self.db.transaction() as cur:
            cur.execute("SELECT event_id FROM box_stream_events WHERE event_id = ANY(%s)", (ids,))
            return set(ids) - {row["event_id"] for row in cur.fetchall()}

    def advance(self, stream_type: str, position: str, events: Iterable[tuple[str, str, str | None]],
                forget_after_days: int) -> None:
        """Keep ``position`` as where the next read starts and ``events`` (id, type, file id) as acted on, in one
        transaction; event ids older than ``forget_after_days`` (past the stream's retention) are forgotten."""
        with self.db.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"box-stream:{stream_type}",))
            cur.execute("INSERT INTO box_stream_positions (stream_type, position) VALUES (%s, %s) "
                        "ON CONFLICT (stream_type) DO UPDATE SET position = excluded.position, read_at = now()",
                        (stream_type, position))
            for event_id, event_type, file_id in events:
                cur.execute("INSERT INTO box_stream_events (event_id, event_type, box_file_id) VALUES (%s, %s, %s) "
                            "ON CONFLICT (event_id) DO NOTHING", (event_id, event_type, file_id))
            cur.execute("DELETE FROM box_stream_events WHERE seen_at < now() - make_interval(days => %s)",
                        (forget_after_days,))

    def forget_position(self, stream_type: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM box_stream_positions WHERE stream_type = %s", (stream_type,))
