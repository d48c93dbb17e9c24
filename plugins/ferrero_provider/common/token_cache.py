"""Credentials shared by the task processes of one host: a Box access token, a DAM session or token.

Every task runs in a process of its own, so without this each one fetched a Box token and logged in to the DAM
before its first real call (two round trips, and work for both services, per task). An entry is one small JSON
file per key in a folder only this user can read (0700 folder, 0600 files), written whole with an atomic rename
(a reader sees the old entry or the new one, never half of one), with its expiry: an expired entry is not
handed out. The key is a hash of where and as whom (URL, client id, user, a hash of the secret), so a changed
connection never gets another one's credentials. A credential the service refuses (401) is dropped by whoever
met the refusal, then fetched again and stored; ``drop`` only removes the entry it was given, so it never
removes a fresher one another process just stored. ``fetching`` lets one process fetch while the others that
found nothing wait and read what it stored (a burst of tasks starting together logs in once).

The folder: ``FERRERO_TOKEN_CACHE_DIR``, else ``$XDG_RUNTIME_DIR/ferrero-tokens``, else
``<temp dir>/ferrero-tokens-<uid>``; ``FERRERO_TOKEN_CACHE_DIR=off`` turns the sharing off (each process keeps
its credentials in memory, as before). Nothing here logs a credential. Airflow-free.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

log = logging.getLogger("ferrero_provider.token_cache")

#: The environment variable naming the folder (``off``: no sharing).
CACHE_DIR_VARIABLE = "FERRERO_TOKEN_CACHE_DIR"
#: How long a process waits for another one's fetch before fetching itself.
FETCH_WAIT_SECONDS = 30.0


def cache_key(*parts: str | None) -> str:
    """A file-name-safe key for the credentials of ``parts`` (service, URL, client, subject, secret...); secrets
    go in only through this hash."""
    return hashlib.sha256("\x1f".join(p or "" for p in parts).encode()).hexdigest()[:40]


class TokenCache:
    """Credentials by key, each with its expiry (seconds since the epoch), in files shared by the host's processes.

    :param folder: where the entries live; ``None``: nothing is shared (every ``get`` misses, ``put`` is a no-op).
    """

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    @classmethod
    def default(cls) -> TokenCache:
        """The host's cache (see the module's doc for the folder)."""
        configured = os.environ.get(CACHE_DIR_VARIABLE, "").strip()
        if configured.lower() in ("off", "none", "0", "false"):
            return cls(None)
        if configured:
            return cls(Path(configured))
        runtime = os.environ.get("XDG_RUNTIME_DIR", "").strip()
        if runtime and Path(runtime).is_dir():
            return cls(Path(runtime) / "ferrero-tokens")
        return cls(Path(tempfile.gettempdir()) / f"ferrero-tokens-{os.getuid()}")

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{key}.json"

    def _ready(self) -> bool:
        """The folder exists and is private (created 0700 when missing); False when it cannot be used."""
        if self.folder is None:
            return False
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            status = self.folder.stat()
            if status.st_uid != os.getuid():
                raise PermissionError("the folder belongs to another user")
            if status.st_mode & 0o077:
                os.chmod(self.folder, 0o700)
            return True
        except OSError as exc:
            log.warning("token cache %s not usable (%s); credentials are kept per process", self.folder,
                        type(exc).__name__)
            return False

    def get(self, key: str, *, now: float | None = None) -> dict[str, Any] | None:
        """The entry's value while it has not expired; None when absent, expired or unreadable."""
        entry = self.entry(key, now=now)
        return entry[0] if entry else None

    def entry(self, key: str, *, now: float | None = None) -> tuple[dict[str, Any], float] | None:
        """The entry's value and expiry while it has not expired; None when absent, expired or unreadable."""
        if self.folder is None:
            return None
        try:
            entry = json.loads(self._path(key).read_text())
            value, expires_at = entry["value"], float(entry["expires_at"])
            if expires_at > (time.time() if now is None else now) and isinstance(value, dict):
                return value, expires_at
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None

    def put(self, key: str, value: dict[str, Any], expires_at: float) -> None:
        """Store ``value`` until ``expires_at`` (written to a private temp file, then renamed over the entry)."""
        if not self._ready():
            return
        path = self._path(key)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.folder)
            with os.fdopen(fd, "w") as file:  # mkstemp creates it 0600
                json.dump({"expires_at": expires_at, "value": value}, file)
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("token cache: could not store an entry (%s)", type(exc).__name__)
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)

    def drop(self, key: str, value: dict[str, Any] | None = None) -> None:
        """Forget the entry (a refused credential); with ``value``, only while the entry still holds that value (its
        fields compared; a fresher one stored meanwhile by another process stays)."""
        if self.folder is None:
            return
        with self._locked(key):
            current = self.get(key, now=0.0)
            if value is not None and (current is None or any(current.get(k) != v for k, v in value.items())):
                return
            with contextlib.suppress(OSError):
                self._path(key).unlink()

    @contextlib.contextmanager
    def fetching(self, key: str) -> Iterator[None]:
        """Hold the key's fetch lock: who finds no entry takes it, looks again (another process may have stored one
        while it waited), fetches and stores only if still missing. Waits at most ``FETCH_WAIT_SECONDS``, then
        goes on without the lock (a stuck process never blocks the others)."""
        with self._locked(key):
            yield

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        if not self._ready():
            yield
            return
        assert self.folder is not None
        try:
            handle = open(self.folder / f".{key}.lock", "a")  # noqa: SIM115 - closed below, after the unlock
        except OSError:
            yield
            return
        try:
            deadline = time.monotonic() + FETCH_WAIT_SECONDS
            locked = False
            while not locked:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    locked = True
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(0.02)
            yield
        finally:
            handle.close()  # closing releases the lock
