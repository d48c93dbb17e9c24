"""OTMM state on disk: SQLite (``<data_dir>/otmm/otmm.sqlite``) plus original files under ``blobs/``.

Every version of an asset is a row of its own with its own asset id (spec §17, M): a check-in adds a row with the
next ``version``, ``original_asset_id`` (the logical id: the first version's id) and ``latest_version`` set, and
clears ``latest_version`` on the row before. Listings and searches show latest versions only. Files uploaded to an import job wait in ``staged_files`` until the job is checked in.

One short-lived connection per operation (WAL mode), so the seed command can write while a server runs and the
server sees it on its next request.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

PUBLIC_ROOT_ID = "ARTESIA.PUBLIC.TREEN"
CONTAINER_TYPE = "ARTESIA.BASIC.FOLDER"  # A: container type id of a plain folder

_SCHEMA = """
CREATE TABLE IF NOT EXISTS assets (
    asset_id TEXT PRIMARY KEY,
    parent_id TEXT,
    is_container INTEGER NOT NULL,
    name TEXT NOT NULL,
    container_type_id TEXT,
    metadata_model_id TEXT,
    mime_type TEXT,
    content_type TEXT,
    content_size INTEGER,
    content_id TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    security_policy_ids TEXT NOT NULL DEFAULT '[2]',
    import_job_id INTEGER,
    import_user_name TEXT,
    date_imported TEXT,
    date_last_updated TEXT,
    locked_by TEXT,
    checked_out INTEGER NOT NULL DEFAULT 0,
    visible_after REAL NOT NULL DEFAULT 0,
    seq INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    original_asset_id TEXT,
    latest_version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS assets_parent ON assets(parent_id, seq);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    message_digest TEXT UNIQUE NOT NULL,
    jsessionid TEXT UNIQUE NOT NULL,
    login_name TEXT NOT NULL,
    created REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    refresh_token TEXT UNIQUE,
    kind TEXT NOT NULL,
    login_name TEXT NOT NULL,
    client_id TEXT,
    created REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_name TEXT NOT NULL,
    job_type TEXT NOT NULL,
    asset_ids TEXT NOT NULL DEFAULT '[]',
    user_name TEXT,
    created REAL NOT NULL,
    completes_at REAL NOT NULL,
    message TEXT
);
CREATE TABLE IF NOT EXISTS staged_files (
    job_id INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    content_id TEXT NOT NULL,
    content_size INTEGER NOT NULL,
    mime_type TEXT NOT NULL,
    PRIMARY KEY (job_id, file_name)
);
CREATE TABLE IF NOT EXISTS checkins (
    import_job_id INTEGER PRIMARY KEY,
    checkin_job_id INTEGER NOT NULL,
    asset_ids TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS domains (
    domain_id TEXT PRIMARY KEY,
    datatype TEXT NOT NULL DEFAULT 'CHAR',
    cacheable INTEGER NOT NULL DEFAULT 1,
    domain_values TEXT NOT NULL DEFAULT '[]'
);
"""


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_asset_id() -> str:
    """40-hex ids, like OTMM's (SHA-1 style)."""
    return hashlib.sha1(uuid.uuid4().bytes).hexdigest()  # noqa: S324 - an id, not security


def content_type_for(mime: str) -> str:
    if mime.startswith("video/"):
        return "VIDEO"
    if mime.startswith("image/"):
        return "BITMAP"
    if mime.startswith("audio/"):
        return "AUDIO"
    if mime == "application/pdf":
        return "ACROBAT"
    return "OTHER"


class OtmmStore:
    """All OTMM state; safe to use from several processes at once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.db_path = root / "otmm.sqlite"
        schema = sqlite3.connect(self.db_path, timeout=30)
        try:
            schema.execute("PRAGMA journal_mode=WAL")
            schema.executescript(_SCHEMA)
            columns = {row[1] for row in schema.execute("PRAGMA table_info(assets)")}
            if "version" not in columns:  # a store written before versions existed
                schema.execute("ALTER TABLE assets ADD COLUMN version INTEGER NOT NULL DEFAULT 1")
            if "latest_version" not in columns:
                schema.execute("ALTER TABLE assets ADD COLUMN original_asset_id TEXT")
                schema.execute("ALTER TABLE assets ADD COLUMN latest_version INTEGER NOT NULL DEFAULT 1")
        finally:
            schema.close()
        with self.connect() as db:
            if db.execute("SELECT 1 FROM assets WHERE asset_id = ?", (PUBLIC_ROOT_ID,)).fetchone() is None:
                db.execute(
                    "INSERT INTO assets (asset_id, parent_id, is_container, name, container_type_id, seq, "
                    "date_imported, date_last_updated) VALUES (?, NULL, 1, 'Public Folders', ?, 0, ?, ?)",
                    (PUBLIC_ROOT_ID, CONTAINER_TYPE, now_iso(), now_iso()),
                )
            if db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'jobs'").fetchone() is None:
                db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('jobs', 1000)")

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    # ---- assets and folders -------------------------------------------------------------------------------

    @staticmethod
    def _row(row: sqlite3.Row | None) -> dict[str, Any] | None:
        if row is None:
            return None
        item = dict(row)
        item["metadata"] = json.loads(item["metadata"])
        item["security_policy_ids"] = json.loads(item["security_policy_ids"])
        return item

    def get(self, asset_id: str, *, include_pending: bool = False) -> dict[str, Any] | None:
        with self.connect() as db:
            row = db.execute("SELECT * FROM assets WHERE asset_id = ?", (asset_id,)).fetchone()
        item = self._row(row)
        if item and not include_pending and item["visible_after"] > time.time():
            return None
        return item

    def _insert(self, db: sqlite3.Connection, item: dict[str, Any]) -> None:
        seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM assets").fetchone()[0]
        item = {**item, "seq": seq}
        item["metadata"] = json.dumps(item.get("metadata", {}))
        item["security_policy_ids"] = json.dumps(item.get("security_policy_ids", [2]))
        cols = ", ".join(item)
        db.execute(f"INSERT INTO assets ({cols}) VALUES ({', '.join('?' * len(item))})", list(item.values()))  # noqa: S608

    def create_folder(
        self,
        parent_id: str,
        name: str,
        *,
        metadata: dict[str, Any] | None = None,
        model_id: str | None = None,
        container_type_id: str = CONTAINER_TYPE,
        security_policy_ids: list[int] | None = None,
        user: str = "",
    ) -> dict[str, Any]:
        asset_id = new_asset_id()
        with self.connect() as db:
            self._insert(
                db,
                {
                    "asset_id": asset_id,
                    "parent_id": parent_id,
                    "is_container": 1,
                    "name": name,
                    "container_type_id": container_type_id,
                    "metadata_model_id": model_id,
                    "metadata": metadata or {},
                    "security_policy_ids": security_policy_ids or [2],
                    "import_user_name": user,
                    "date_imported": now_iso(),
                    "date_last_updated": now_iso(),
                },
            )
        return self.get(asset_id)  # type: ignore[return-value]

    def store_blob(self, source: IO[bytes] | Path) -> tuple[str, int]:
        """Copy a file into the blob store; returns (content id, size). Constant memory."""
        content_id = secrets.token_hex(20)
        target = self.blobs / content_id
        tmp = target.with_suffix(".part")
        if isinstance(source, Path):
            shutil.copyfile(source, tmp)
        else:
            with tmp.open("wb") as out:
                shutil.copyfileobj(source, out, 1024 * 1024)
        os.replace(tmp, target)
        return content_id, target.stat().st_size

    def blob_path(self, content_id: str) -> Path:
        return self.blobs / content_id

    def create_asset(
        self,
        parent_id: str,
        name: str,
        mime_type: str,
        content_id: str,
        size: int,
        *,
        metadata: dict[str, Any] | None = None,
        model_id: str | None = None,
        security_policy_ids: list[int] | None = None,
        import_job_id: int | None = None,
        user: str = "",
        visible_after: float = 0,
    ) -> dict[str, Any]:
        asset_id = new_asset_id()
        with self.connect() as db:
            self._insert(
                db,
                {
                    "asset_id": asset_id,
                    "parent_id": parent_id,
                    "is_container": 0,
                    "name": name,
                    "metadata_model_id": model_id,
                    "mime_type": mime_type,
                    "content_type": content_type_for(mime_type),
                    "content_size": size,
                    "content_id": content_id,
                    "metadata": metadata or {},
                    "security_policy_ids": security_policy_ids or [2],
                    "import_job_id": import_job_id,
                    "import_user_name": user,
                    "date_imported": now_iso(),
                    "date_last_updated": now_iso(),
                    "visible_after": visible_after,
                },
            )
        return self.get(asset_id, include_pending=True)  # type: ignore[return-value]

    def versions(self, asset_id: str) -> list[dict[str, Any]]:
        """Every version of the asset (given any version's id), oldest first."""
        with self.connect() as db:
            row = db.execute("SELECT COALESCE(original_asset_id, asset_id) FROM assets WHERE asset_id = ?",
                             (asset_id,)).fetchone()
            if row is None:
                return []
            rows = db.execute("SELECT * FROM assets WHERE asset_id = ? OR original_asset_id = ? ORDER BY version",
                              (row[0], row[0])).fetchall()
        return [self._row(r) for r in rows]  # type: ignore[misc]

    def content_history(self, asset_id: str) -> list[bytes]:
        """The asset's content of every version (given any version's id), oldest first."""
        rows = self.versions(asset_id)
        return [self.blob_path(r["content_id"]).read_bytes() for r in rows]

    def children(self, parent_id: str, *, containers_only: bool = False) -> list[dict[str, Any]]:
        query = "SELECT * FROM assets WHERE parent_id = ? AND visible_after <= ? AND latest_version = 1"
        if containers_only:
            query += " AND is_container = 1"
        with self.connect() as db:
            rows = db.execute(query + " ORDER BY seq", (parent_id, time.time())).fetchall()
        return [self._row(r) for r in rows]  # type: ignore[misc]

    def all_assets(self) -> list[dict[str, Any]]:
        with self.connect() as db:
            rows = db.execute(
                "SELECT * FROM assets WHERE parent_id IS NOT NULL AND visible_after <= ? AND latest_version = 1 "
                "ORDER BY seq", (time.time(),)
            ).fetchall()
        return [self._row(r) for r in rows]  # type: ignore[misc]

    def ancestors(self, asset_id: str) -> list[dict[str, Any]]:
        """Parents from the root down to the direct parent."""
        chain: list[dict[str, Any]] = []
        item = self.get(asset_id, include_pending=True)
        while item and item["parent_id"]:
            item = self.get(item["parent_id"], include_pending=True)
            if item:
                chain.insert(0, item)
        return chain

    def child_counts(self, folder_id: str) -> dict[str, int]:
        with self.connect() as db:
            rows = db.execute(
                "SELECT is_container, COUNT(*) FROM assets WHERE parent_id = ? AND visible_after <= ? "
                "AND latest_version = 1 GROUP BY is_container",
                (folder_id, time.time()),
            ).fetchall()
        counts = {bool(r[0]): r[1] for r in rows}
        return {
            "container_count": counts.get(True, 0),
            "asset_count": counts.get(False, 0),
            "total_child_count": counts.get(True, 0) + counts.get(False, 0),
        }

    def update_metadata(self, asset_id: str, updates: dict[str, Any]) -> None:
        with self.connect() as db:
            row = db.execute("SELECT metadata FROM assets WHERE asset_id = ?", (asset_id,)).fetchone()
            metadata = json.loads(row["metadata"])
            metadata.update(updates)
            db.execute(
                "UPDATE assets SET metadata = ?, date_last_updated = ? WHERE asset_id = ?",
                (json.dumps(metadata), now_iso(), asset_id),
            )

    def set_lock(self, asset_id: str, locked_by: str | None, *, checked_out: bool = False) -> None:
        with self.connect() as db:
            db.execute(
                "UPDATE assets SET locked_by = ?, checked_out = ? WHERE asset_id = ?",
                (locked_by, int(checked_out), asset_id),
            )

    # ---- new versions (three-step import + check-in) -----------------------------------------------------

    def stage_file(self, job_id: int, file_name: str, content_id: str, size: int, mime_type: str) -> None:
        """A file uploaded to an import job (``POST /renditions``); a second upload of the name replaces it."""
        with self.connect() as db:
            db.execute(
                "INSERT INTO staged_files (job_id, file_name, content_id, content_size, mime_type) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(job_id, file_name) DO UPDATE SET "
                "content_id = excluded.content_id, content_size = excluded.content_size, "
                "mime_type = excluded.mime_type",
                (job_id, file_name, content_id, size, mime_type),
            )

    def staged_file(self, job_id: int, file_name: str) -> dict[str, Any] | None:
        with self.connect() as db:
            row = db.execute(
                "SELECT * FROM staged_files WHERE job_id = ? AND file_name = ?", (job_id, file_name)
            ).fetchone()
        return dict(row) if row else None

    def checkin_of(self, import_job_id: int) -> dict[str, Any] | None:
        """The check-in an import job already went through, if any."""
        with self.connect() as db:
            row = db.execute("SELECT * FROM checkins WHERE import_job_id = ?", (import_job_id,)).fetchone()
        return {**dict(row), "asset_ids": json.loads(row["asset_ids"])} if row else None

    def check_in(self, import_job_id: int, checkin_job_id: int, files: list[tuple[str, dict[str, Any]]], *,
                 keep_lock: bool = False) -> list[str] | None:
        """Make each (latest version's id, staged file) a new version: a new row with its own id, the old row no
        longer latest and no longer checked out or locked; the new one locked by the same user only with
        ``keep_lock``. One transaction; None (nothing changed) when the import job was already checked in,
        else the new versions' ids."""
        created: list[str] = []
        with self.connect() as db:
            if db.execute("SELECT 1 FROM checkins WHERE import_job_id = ?", (import_job_id,)).fetchone():
                return None
            for asset_id, staged in files:
                old = dict(db.execute("SELECT * FROM assets WHERE asset_id = ?", (asset_id,)).fetchone())
                new_id = new_asset_id()
                seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM assets").fetchone()[0]
                row = {**old, "asset_id": new_id, "original_asset_id": old["original_asset_id"] or asset_id,
                       "version": old["version"] + 1, "latest_version": 1, "checked_out": 0,
                       "locked_by": old["locked_by"] if keep_lock else None, "content_id": staged["content_id"],
                       "content_size": staged["content_size"], "mime_type": staged["mime_type"],
                       "content_type": content_type_for(staged["mime_type"]), "import_job_id": import_job_id,
                       "date_last_updated": now_iso(), "seq": seq}
                cols = ", ".join(row)
                db.execute(f"INSERT INTO assets ({cols}) VALUES ({', '.join('?' * len(row))})",  # noqa: S608
                           list(row.values()))
                db.execute("UPDATE assets SET latest_version = 0, checked_out = 0, locked_by = NULL "
                           "WHERE asset_id = ?", (asset_id,))
                created.append(new_id)
            db.execute(
                "INSERT INTO checkins (import_job_id, checkin_job_id, asset_ids) VALUES (?, ?, ?)",
                (import_job_id, checkin_job_id, json.dumps(created)),
            )
            db.execute("DELETE FROM staged_files WHERE job_id = ?", (import_job_id,))
        return created

    # ---- jobs -------------------------------------------------------------------------------------------

    def create_job(self, job_name: str, job_type: str, user: str, delay: float) -> int:
        created = time.time()
        with self.connect() as db:
            cur = db.execute(
                "INSERT INTO jobs (job_name, job_type, user_name, created, completes_at) VALUES (?, ?, ?, ?, ?)",
                (job_name, job_type, user, created, created + delay),
            )
            return int(cur.lastrowid)

    def finish_job(self, job_id: int, asset_ids: list[str], *, completes_at: float | None = None) -> None:
        with self.connect() as db:
            db.execute("UPDATE jobs SET asset_ids = ? WHERE job_id = ?", (json.dumps(asset_ids), job_id))
            if completes_at is not None:
                db.execute("UPDATE jobs SET completes_at = ? WHERE job_id = ?", (completes_at, job_id))

    def get_job(self, job_id: int) -> dict[str, Any] | None:
        with self.connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        job = dict(row)
        job["asset_ids"] = json.loads(job["asset_ids"])
        return job

    # ---- lookup domains ---------------------------------------------------------------------------------

    def put_domain(self, domain_id: str, values: list[dict[str, Any]], datatype: str = "CHAR") -> None:
        with self.connect() as db:
            db.execute(
                "INSERT INTO domains (domain_id, datatype, domain_values) VALUES (?, ?, ?) "
                "ON CONFLICT(domain_id) DO UPDATE SET datatype = excluded.datatype, "
                "domain_values = excluded.domain_values",
                (domain_id, datatype, json.dumps(values)),
            )

    def domains(self) -> list[dict[str, Any]]:
        with self.connect() as db:
            rows = db.execute("SELECT * FROM domains ORDER BY domain_id").fetchall()
        return [{**dict(r), "domain_values": json.loads(r["domain_values"])} for r in rows]

    def domain(self, domain_id: str) -> dict[str, Any] | None:
        return next((d for d in self.domains() if d["domain_id"] == domain_id), None)

    # ---- sessions and tokens ----------------------------------------------------------------------------

    def create_session(self, login_name: str, ttl: float) -> dict[str, Any]:
        session = {
            "id": secrets.randbelow(900_000_000) + 100_000_000,
            "message_digest": secrets.token_hex(20),
            "jsessionid": secrets.token_hex(16).upper(),
            "login_name": login_name,
            "created": time.time(),
            "expires_at": time.time() + ttl,
        }
        with self.connect() as db:
            db.execute(
                "INSERT INTO sessions (id, message_digest, jsessionid, login_name, created, expires_at) "
                "VALUES (:id, :message_digest, :jsessionid, :login_name, :created, :expires_at)",
                session,
            )
        return session

    def find_session(self, *, jsessionid: str | None = None, digest: str | None = None) -> dict[str, Any] | None:
        with self.connect() as db:
            if jsessionid:
                row = db.execute("SELECT * FROM sessions WHERE jsessionid = ?", (jsessionid,)).fetchone()
            elif digest:
                row = db.execute("SELECT * FROM sessions WHERE message_digest = ?", (digest,)).fetchone()
            else:
                row = None
        return dict(row) if row else None

    def delete_session(self, session_id: int) -> None:
        with self.connect() as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def create_token(self, kind: str, login_name: str, client_id: str, ttl: float) -> dict[str, Any]:
        token = {
            "token": secrets.token_urlsafe(32),
            "refresh_token": secrets.token_urlsafe(32),
            "kind": kind,
            "login_name": login_name,
            "client_id": client_id,
            "created": time.time(),
            "expires_at": time.time() + ttl,
        }
        with self.connect() as db:
            db.execute(
                "INSERT INTO tokens (token, refresh_token, kind, login_name, client_id, created, expires_at) "
                "VALUES (:token, :refresh_token, :kind, :login_name, :client_id, :created, :expires_at)",
                token,
            )
        return token

    def find_token(self, *, token: str | None = None, refresh_token: str | None = None) -> dict[str, Any] | None:
        with self.connect() as db:
            if token:
                row = db.execute("SELECT * FROM tokens WHERE token = ?", (token,)).fetchone()
            else:
                row = db.execute("SELECT * FROM tokens WHERE refresh_token = ?", (refresh_token,)).fetchone()
        return dict(row) if row else None

    def expire_all_credentials(self) -> int:
        """Make every current token and session expired (tests of the 401 → re-authenticate path)."""
        past = time.time() - 1
        with self.connect() as db:
            n = db.execute("UPDATE tokens SET expires_at = ? WHERE expires_at > ?", (past, past)).rowcount
            n += db.execute("UPDATE sessions SET expires_at = ? WHERE expires_at > ?", (past, past)).rowcount
        return n
