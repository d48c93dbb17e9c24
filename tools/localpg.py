"""The embedded PostgreSQL of a laptop install: the ``pgserver`` wheel's binaries, data in the project folder.

It listens on a Unix socket inside its data folder (no TCP port to collide with a system PostgreSQL). As root,
pgserver runs the server as its own system user ``pgserver``. ``stop()`` signals the postmaster by PID.
"""

from __future__ import annotations

import os
import signal
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import psycopg2
from psycopg2 import sql

if TYPE_CHECKING:
    from pathlib import Path


def start(pgdata: Path) -> str:
    """Initialise (first time) and start the server; return the socket folder for ``host=``."""
    import pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)  # None: keep running after this process exits
    return str(server.get_postmaster_info().socket_dir)


def running_pid(pgdata: Path) -> int | None:
    """PID of the postmaster serving ``pgdata``, or None."""
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def socket_dir(pgdata: Path) -> str | None:
    """The socket folder recorded in postmaster.pid (line 5), or None when not running."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        return lines[4] or None
    except (FileNotFoundError, IndexError):
        return None


def stop(pgdata: Path, timeout: float = 30) -> bool:
    """Fast shutdown (SIGINT to the postmaster); True if a server was stopped."""
    pid = running_pid(pgdata)
    if pid is None:
        return False
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and running_pid(pgdata) is not None:
        time.sleep(0.2)
    if running_pid(pgdata) is not None:
        os.kill(pid, signal.SIGKILL)
    return True


def dsn(socket: str, database: str, user: str = "postgres") -> str:
    """libpq URI for a database on the socket."""
    return f"postgresql://{user}@/{database}?host={quote(socket, safe='/')}"


def ensure_database(server_dsn: str, database: str, template: str | None = None) -> bool:
    """Create ``database`` if missing (True if created). ``server_dsn`` points at any existing database.
    With ``template``, the new database is a copy of that one (which nobody may be connected to)."""
    conn = psycopg2.connect(server_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cur.fetchone():
                return False
            create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database))
            if template:
                create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            cur.execute(create)
            return True
    finally:
        conn.close()


def drop_database(server_dsn: str, database: str) -> None:
    conn = psycopg2.connect(server_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    finally:
        conn.close()


def conn_fields(dsn: str) -> dict[str, Any]:
    """Airflow connection fields of a libpq URI (socket folders go in ``host``)."""
    parts = urlsplit(dsn)
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "localhost"])[0]
    fields: dict[str, Any] = {"host": unquote(host), "login": unquote(parts.username or "postgres"),
                              "schema": parts.path.lstrip("/")}
    if parts.password:
        fields["password"] = unquote(parts.password)
    if parts.port:
        fields["port"] = parts.port
    return fields
