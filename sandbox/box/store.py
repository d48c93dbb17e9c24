"""Box sandbox state: one SQLite database plus blob files under ``<data_dir>/box/``.

Every method is safe to call from several threads (one lock around the connection) and from several processes
(WAL mode, busy timeout): ``seed_box`` may write while a server runs, and the server sees it at once.
File contents never pass through memory whole: callers stream into :meth:`BoxStore.new_tmp_path` files, which
:meth:`BoxStore.add_version` moves into ``blobs/``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT_FOLDER_ID = 0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, login TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    parent_id INTEGER,
    owner_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    etag INTEGER NOT NULL DEFAULT 0,
    version_id INTEGER,
    shared_link TEXT,
    UNIQUE (parent_id, name_key)
);
CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id INTEGER NOT NULL,
    sha1 TEXT NOT NULL,
    size INTEGER NOT NULL,
    blob TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS upload_sessions (
    id TEXT PRIMARY KEY,
    folder_id INTEGER,
    file_id INTEGER,
    file_name TEXT,
    file_size INTEGER NOT NULL,
    part_size INTEGER NOT NULL,
    total_parts INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    committed_file_id INTEGER
);
CREATE TABLE IF NOT EXISTS parts (
    session_id TEXT NOT NULL, part_id TEXT NOT NULL, offset INTEGER NOT NULL, size INTEGER NOT NULL,
    sha1 TEXT NOT NULL, PRIMARY KEY (session_id, offset)
);
CREATE TABLE IF NOT EXISTS webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target_type TEXT NOT NULL, target_id INTEGER NOT NULL, address TEXT NOT NULL, triggers TEXT NOT NULL,
    created_by TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    webhook_id INTEGER NOT NULL,
    address TEXT NOT NULL,
    trigger TEXT NOT NULL,
    source_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    next_attempt_at REAL
);
CREATE TABLE IF NOT EXISTS attempts (
    event_id TEXT NOT NULL, attempt INTEGER NOT NULL, delivery_id TEXT NOT NULL, timestamp TEXT NOT NULL,
    status_code INTEGER, error TEXT, duration REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS versions_file_idx ON versions (file_id);
CREATE TABLE IF NOT EXISTS stream_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, event_type TEXT NOT NULL, body TEXT NOT NULL,
    recorded_epoch REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trash (
    file_id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL, trashed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS metadata (
    file_id INTEGER NOT NULL, scope TEXT NOT NULL, template TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (file_id, scope, template)
);
"""

_ITEM_COLUMNS = ("id", "type", "name", "name_key", "parent_id", "owner_id", "created_by", "modified_by", "created_at",
                 "modified_at", "description", "etag", "version_id", "shared_link")

# Box-looking id ranges: 12-digit item ids, 13-digit version ids, 9-digit webhook ids.
_SEQUENCE_STARTS = {"items": 300_000_000_000, "versions": 1_400_000_000_000, "webhooks": 700_000_000}


def now_iso(epoch: float | None = None) -> str:
    """Box's timestamp format: RFC 3339 with an explicit offset, whole seconds."""
    moment = datetime.now(UTC) if epoch is None else datetime.fromtimestamp(epoch, UTC)
    return moment.isoformat(timespec="seconds")


class BoxStore:
    """The Box sandbox's persistent state (items, versions, tokens, sessions, webhooks, deliveries)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blobs_dir = self.root / "blobs"
        self.sessions_dir = self.root / "sessions"
        self.tmp_dir = self.root / "tmp"
        for folder in (self.blobs_dir, self.sessions_dir, self.tmp_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            self.root / "box.sqlite3", check_same_thread=False, isolation_level=None, timeout=30
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives the process dying, without an fsync per commit blocking the event loop
        # (one per uploaded part otherwise); only an OS crash could lose the last transactions of a sandbox.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        with self._lock:
            self._db.executescript(_SCHEMA)
        with self.transaction() as db:
            for table, start in _SEQUENCE_STARTS.items():
                if not db.execute("SELECT 1 FROM sqlite_sequence WHERE name = ?", (table,)).fetchone():
                    db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, start))

    # -- plumbing -----------------------------------------------------------------------------------------

    def transaction(self) -> _Transaction:
        """``with store.transaction() as db:`` — an immediate (write-locking) transaction."""
        return _Transaction(self)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def new_tmp_path(self) -> Path:
        return self.tmp_dir / f"{uuid.uuid4().hex}.part"

    def session_path(self, session_id: str) -> Path:
        return self.sessions_dir / f"{session_id}.bin"

    def blob_path(self, blob: str) -> Path:
        return self.blobs_dir / blob

    # -- users and tokens ---------------------------------------------------------------------------------

    def ensure_user(self, user_id: str, name: str, login: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO users (id, name, login, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET name = excluded.name, login = excluded.login",
                (user_id, name, login, now_iso()),
            )

    def user(self, user_id: str) -> sqlite3.Row | None:
        return self.query_one("SELECT * FROM users WHERE id = ?", (user_id,))

    def issue_token(self, user_id: str, ttl_seconds: float) -> str:
        token = uuid.uuid4().hex + uuid.uuid4().hex
        with self.transaction() as db:
            db.execute("DELETE FROM tokens WHERE expires_at < ?", (time.time() - 86400,))
            db.execute(
                "INSERT INTO tokens (token, user_id, expires_at) VALUES (?, ?, ?)",
                (token, user_id, time.time() + ttl_seconds),
            )
        return token

    def token_user(self, token: str) -> str | None:
        """The user a token belongs to, or None when unknown or expired."""
        row = self.query_one("SELECT user_id, expires_at FROM tokens WHERE token = ?", (token,))
        if row is None or row["expires_at"] <= time.time():
            return None
        return row["user_id"]

    def expire_tokens(self) -> int:
        with self.transaction() as db:
            return db.execute("UPDATE tokens SET expires_at = 0 WHERE expires_at > 0").rowcount

    # -- items --------------------------------------------------------------------------------------------

    def ensure_root(self, owner_id: str) -> None:
        with self.transaction() as db:
            if not db.execute("SELECT 1 FROM items WHERE id = ?", (ROOT_FOLDER_ID,)).fetchone():
                stamp = now_iso()
                db.execute(
                    "INSERT INTO items (id, type, name, name_key, parent_id, owner_id, created_by, modified_by, "
                    "created_at, modified_at) VALUES (?, 'folder', 'All Files', '', NULL, ?, ?, ?, ?, ?)",
                    (ROOT_FOLDER_ID, owner_id, owner_id, owner_id, stamp, stamp),
                )

    def item(self, item_id: int | str, item_type: str | None = None) -> sqlite3.Row | None:
        try:
            key = int(item_id)
        except (TypeError, ValueError):
            return None
        row = self.query_one("SELECT * FROM items WHERE id = ?", (key,))
        if row is None or (item_type is not None and row["type"] != item_type) or _in_trash(row):
            return None
        return row

    def trashed_file(self, file_id: int | str) -> sqlite3.Row | None:
        """A file in the trash (``parent_id`` is where it was), or None."""
        try:
            key = int(file_id)
        except (TypeError, ValueError):
            return None
        columns = ", ".join(f"items.{c}" for c in _ITEM_COLUMNS if c != "parent_id")
        return self.query_one(f"SELECT {columns}, trash.parent_id, trash.trashed_at FROM items "
                              "JOIN trash ON trash.file_id = items.id WHERE items.id = ?", (key,))

    def trash_file(self, file_id: int) -> None:
        """Move a file to the trash: out of its folder (its name free again), kept with its versions."""
        with self.transaction() as db:
            row = db.execute("SELECT parent_id FROM items WHERE id = ?", (file_id,)).fetchone()
            db.execute("INSERT INTO trash (file_id, parent_id, trashed_at) VALUES (?, ?, ?)",
                       (file_id, row["parent_id"], now_iso()))
            db.execute("UPDATE items SET parent_id = NULL, etag = etag + 1 WHERE id = ?", (file_id,))

    def restore_file(self, file_id: int, parent_id: int, name: str, user_id: str) -> tuple[sqlite3.Row, sqlite3.Row | None]:
        """Take a file out of the trash into ``parent_id`` as ``name``; (file, None) or (other item, conflict)."""
        with self.transaction() as db:
            other = db.execute("SELECT * FROM items WHERE parent_id = ? AND name_key = ?",
                               (parent_id, name.casefold())).fetchone()
            if other is not None:
                return other, other
            db.execute("DELETE FROM trash WHERE file_id = ?", (file_id,))
            db.execute("UPDATE items SET parent_id = ?, name = ?, name_key = ?, etag = etag + 1, modified_by = ?, "
                       "modified_at = ? WHERE id = ?", (parent_id, name, name.casefold(), user_id, now_iso(), file_id))
            return db.execute("SELECT * FROM items WHERE id = ?", (file_id,)).fetchone(), None

    def child_by_name(self, parent_id: int, name: str) -> sqlite3.Row | None:
        return self.query_one(
            "SELECT * FROM items WHERE parent_id = ? AND name_key = ?", (parent_id, name.casefold())
        )

    def children(self, parent_id: int, offset: int, limit: int) -> tuple[list[sqlite3.Row], int]:
        """One page of a folder's children (folders first, then files, by name) and the total count."""
        total = self.query_one("SELECT COUNT(*) AS n FROM items WHERE parent_id = ?", (parent_id,))["n"]
        rows = self.query(
            "SELECT * FROM items WHERE parent_id = ? ORDER BY type DESC, name_key, id LIMIT ? OFFSET ?",
            (parent_id, limit, offset),
        )
        return rows, total

    def ancestors(self, item_id: int) -> list[sqlite3.Row]:
        """The folders above an item, root first (the item itself excluded)."""
        chain: list[sqlite3.Row] = []
        row = self.item(item_id)
        while row is not None and row["parent_id"] is not None:
            row = self.item(row["parent_id"])
            if row is not None:
                chain.append(row)
        return list(reversed(chain))

    def create_folder(self, parent_id: int, name: str, user_id: str) -> tuple[sqlite3.Row, sqlite3.Row | None]:
        """Create a folder; returns (folder, None) or (existing item, conflict) when the name is taken."""
        with self.transaction() as db:
            existing = db.execute(
                "SELECT * FROM items WHERE parent_id = ? AND name_key = ?", (parent_id, name.casefold())
            ).fetchone()
            if existing is not None:
                return existing, existing
            stamp = now_iso()
            cur = db.execute(
                "INSERT INTO items (type, name, name_key, parent_id, owner_id, created_by, modified_by, "
                "created_at, modified_at) VALUES ('folder', ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, name.casefold(), parent_id, user_id, user_id, user_id, stamp, stamp),
            )
            row = db.execute("SELECT * FROM items WHERE id = ?", (cur.lastrowid,)).fetchone()
        return row, None

    def update_item(self, item_id: int, user_id: str, **fields: Any) -> sqlite3.Row:
        """Set columns (name, description, shared_link, parent_id) and bump the etag."""
        if "name" in fields:
            fields["name_key"] = fields["name"].casefold()
        with self.transaction() as db:
            if fields:
                assignments = ", ".join(f"{column} = ?" for column in fields)
                db.execute(
                    f"UPDATE items SET {assignments}, etag = etag + 1, modified_by = ?, modified_at = ? "
                    "WHERE id = ?",
                    (*fields.values(), user_id, now_iso(), item_id),
                )
            return db.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()

    def add_file(
        self, parent_id: int, name: str, content: Path, sha1: str, size: int, user_id: str
    ) -> tuple[sqlite3.Row, sqlite3.Row | None]:
        """Create a file from a finished temp file; returns (file, None) or (existing item, conflict)."""
        with self.transaction() as db:
            existing = db.execute(
                "SELECT * FROM items WHERE parent_id = ? AND name_key = ?", (parent_id, name.casefold())
            ).fetchone()
            if existing is not None:
                return existing, existing
            stamp = now_iso()
            cur = db.execute(
                "INSERT INTO items (type, name, name_key, parent_id, owner_id, created_by, modified_by, "
                "created_at, modified_at) VALUES ('file', ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, name.casefold(), parent_id, user_id, user_id, user_id, stamp, stamp),
            )
            file_id = cur.lastrowid
            self._insert_version(db, file_id, content, sha1, size, user_id, stamp)
            row = db.execute("SELECT * FROM items WHERE id = ?", (file_id,)).fetchone()
        return row, None

    def add_version(
        self, file_id: int, content: Path, sha1: str, size: int, user_id: str, new_name: str | None = None
    ) -> sqlite3.Row:
        """Make a finished temp file the current version of a file (optionally renaming it)."""
        with self.transaction() as db:
            stamp = now_iso()
            self._insert_version(db, file_id, content, sha1, size, user_id, stamp)
            if new_name is not None:
                db.execute(
                    "UPDATE items SET name = ?, name_key = ? WHERE id = ?", (new_name, new_name.casefold(), file_id)
                )
            db.execute(
                "UPDATE items SET etag = etag + 1, modified_by = ?, modified_at = ? WHERE id = ?",
                (user_id, stamp, file_id),
            )
            return db.execute("SELECT * FROM items WHERE id = ?", (file_id,)).fetchone()

    def _insert_version(
        self, db: sqlite3.Connection, file_id: int, content: Path, sha1: str, size: int, user_id: str, stamp: str
    ) -> None:
        blob = f"{uuid.uuid4().hex}.bin"
        os.replace(content, self.blob_path(blob))
        cur = db.execute(
            "INSERT INTO versions (file_id, sha1, size, blob, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (file_id, sha1, size, blob, user_id, stamp),
        )
        db.execute("UPDATE items SET version_id = ? WHERE id = ?", (cur.lastrowid, file_id))

    def delete_tree(self, item_id: int) -> None:
        """Remove an item and everything below it (Box's trash, emptied at once), blobs included."""
        with self.transaction() as db:
            ids, frontier = [item_id], [item_id]
            while frontier:
                marks = ",".join("?" for _ in frontier)
                frontier = [r["id"] for r in db.execute(f"SELECT id FROM items WHERE parent_id IN ({marks})", frontier)]
                ids += frontier
            marks = ",".join("?" for _ in ids)
            blobs = [r["blob"] for r in db.execute(f"SELECT blob FROM versions WHERE file_id IN ({marks})", ids)]
            db.execute(f"DELETE FROM versions WHERE file_id IN ({marks})", ids)
            db.execute(f"DELETE FROM metadata WHERE file_id IN ({marks})", ids)
            db.execute(f"DELETE FROM items WHERE id IN ({marks})", ids)
        for blob in blobs:
            self.blob_path(blob).unlink(missing_ok=True)

    def version(self, version_id: int) -> sqlite3.Row | None:
        return self.query_one("SELECT * FROM versions WHERE id = ?", (version_id,))

    def find_shared_folder(self, token: str) -> sqlite3.Row | None:
        for row in self.query("SELECT * FROM items WHERE shared_link IS NOT NULL"):
            if json.loads(row["shared_link"]).get("token") == token:
                return row
        return None

    # -- upload sessions -----------------------------------------------------------------------------------

    def create_session(self, **fields: Any) -> sqlite3.Row:
        columns = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        with self.transaction() as db:
            db.execute(f"INSERT INTO upload_sessions ({columns}) VALUES ({marks})", tuple(fields.values()))
        self.session_path(fields["id"]).touch()
        return self.session(fields["id"])

    def session(self, session_id: str) -> sqlite3.Row | None:
        return self.query_one("SELECT * FROM upload_sessions WHERE id = ?", (session_id,))

    def session_parts(self, session_id: str) -> list[sqlite3.Row]:
        return self.query("SELECT * FROM parts WHERE session_id = ? ORDER BY offset", (session_id,))

    def add_part(self, session_id: str, part_id: str, offset: int, size: int, sha1: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO parts (session_id, part_id, offset, size, sha1) VALUES (?, ?, ?, ?, ?)",
                (session_id, part_id, offset, size, sha1),
            )

    def delete_session(self, session_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM parts WHERE session_id = ?", (session_id,))
            db.execute("DELETE FROM upload_sessions WHERE id = ?", (session_id,))
        self.session_path(session_id).unlink(missing_ok=True)

    def mark_session_committed(self, session_id: str, file_id: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM parts WHERE session_id = ?", (session_id,))
            db.execute("UPDATE upload_sessions SET committed_file_id = ? WHERE id = ?", (file_id, session_id))

    # -- meta ---------------------------------------------------------------------------------------------

    def meta(self, key: str, default: str = "") -> str:
        row = self.query_one("SELECT value FROM meta WHERE key = ?", (key,))
        return default if row is None else row["value"]

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


def _in_trash(row: sqlite3.Row) -> bool:
    """Only the root has no parent, but a trashed item (its folder is kept in table ``trash``)."""
    return row["parent_id"] is None and row["id"] != ROOT_FOLDER_ID


class _Transaction:
    """Holds the store's lock and an IMMEDIATE transaction; commits on success, rolls back on error."""

    def __init__(self, store: BoxStore) -> None:
        self._store = store

    def __enter__(self) -> sqlite3.Connection:
        self._store._lock.acquire()
        try:
            self._store._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._store._lock.release()
            raise
        return self._store._db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self._store._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self._store._lock.release()
