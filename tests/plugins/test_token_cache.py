"""The credentials shared by a host's task processes (``common.token_cache``): an entry lasts until its expiry and
no longer, is private to its user, is replaced whole; a refused one is dropped and fetched again; processes that
start together fetch once. Against the sandbox: two clients (two task processes) get one Box token and one DAM
session between them, what the service refuses (401) is fetched again, and processes racing log in once."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from ferrero_provider.box.client import BoxApi
from ferrero_provider.common.connection_fields import ConnectionFields
from ferrero_provider.common.retry import RetryPolicy
from ferrero_provider.common.token_cache import CACHE_DIR_VARIABLE, TokenCache, cache_key
from ferrero_provider.otmm.client import DamSettings, OtmmClient
from ferrero_provider.otmm.dam_connection import DamConnection
from sandbox.box.store import BoxStore
from sandbox.otmm.store import OtmmStore
from tests.plugins.conftest import box_connection, otmm_connection

if TYPE_CHECKING:
    import pytest

    from sandbox.testing import RunningSandbox

RETRY = RetryPolicy(max_attempts=2, initial_delay_seconds=0)


# ---- the cache itself ---------------------------------------------------------------------------------------


def test_an_entry_lasts_until_its_expiry_and_is_private(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "tokens")
    key = cache_key("box", "https://api.box.com", "client", "secret")
    assert "secret" not in key and cache.get(key) is None
    cache.put(key, {"access_token": "t1"}, time.time() + 60)
    assert cache.get(key) == {"access_token": "t1"}
    assert cache.get(key, now=time.time() + 61) is None, "an expired entry is not handed out"
    folder, [entry] = tmp_path / "tokens", list((tmp_path / "tokens").glob("*.json"))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")], "written whole, through a rename"

    cache.put(key, {"access_token": "t0"}, time.time() - 1)
    assert cache.get(key) is None, "stored already expired: a miss"


def test_drop_removes_only_the_refused_entry(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path)
    cache.put("k", {"access_token": "fresh"}, time.time() + 60)
    cache.drop("k", {"access_token": "refused"})  # another process stored a fresher one meanwhile
    assert cache.get("k") == {"access_token": "fresh"}
    cache.drop("k", {"access_token": "fresh"})
    assert cache.get("k") is None


def test_off_keeps_credentials_per_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_DIR_VARIABLE, "off")
    cache = TokenCache.default()
    cache.put("k", {"a": 1}, time.time() + 60)
    assert not cache.enabled and cache.get("k") is None
    monkeypatch.setenv(CACHE_DIR_VARIABLE, str(tmp_path / "here"))
    assert TokenCache.default().folder == tmp_path / "here"


def _fetch_once(folder: str, counter: str, start: float) -> None:
    """A task process: wait for the common start, then take the token from the cache or fetch it (slowly)."""
    cache = TokenCache(Path(folder))
    time.sleep(max(0.0, start - time.time()))
    if cache.get("k") is None:
        with cache.fetching("k"):
            if cache.get("k") is None:
                with open(counter, "a") as file:
                    file.write("fetch\n")
                time.sleep(0.3)
                cache.put("k", {"access_token": f"from {os.getpid()}"}, time.time() + 60)
    assert cache.get("k") is not None


def test_processes_starting_together_fetch_once(tmp_path: Path) -> None:
    counter = tmp_path / "fetches"
    context = multiprocessing.get_context("fork")
    start = time.time() + 0.5
    workers = [context.Process(target=_fetch_once, args=(str(tmp_path / "tokens"), str(counter), start))
               for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert [w.exitcode for w in workers] == [0] * 6
    assert counter.read_text().count("fetch") == 1


# ---- Box: one token for the host's processes; a refused one fetched again -----------------------------------


def _box(sandbox: RunningSandbox, cache: TokenCache) -> BoxApi:
    api = BoxApi.from_fields(ConnectionFields.from_value("box_default", box_connection(sandbox)), retry=RETRY)
    api.calls.tokens = cache
    return api


def _box_tokens(sandbox: RunningSandbox) -> set[str]:
    return {row["token"] for row in BoxStore(sandbox.settings.box_dir).query("SELECT token FROM tokens")}


def test_box_clients_share_one_token_and_fetch_a_new_one_after_a_401(sandbox: RunningSandbox,
                                                                     tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "tokens")
    seen = _box_tokens(sandbox)  # every token the sandbox has issued so far (expired ones are purged later)

    def issued() -> set[str]:
        new = _box_tokens(sandbox) - seen
        seen.update(new)
        return new

    first, second = _box(sandbox, cache), _box(sandbox, cache)  # two task processes of one host
    me = first.whoami().id
    assert second.whoami().id == me
    assert len(issued()) == 1, "one token for both"

    requests.post(f"{sandbox.endpoints['box_base_url']}/__sandbox__/box/expire-tokens",
                  timeout=5).raise_for_status()  # Box ends the token early: the next call meets a 401
    assert _box(sandbox, cache).whoami().id == me
    renewed = issued()
    assert len(renewed) == 1, "fetched again once, after the 401"
    [entry] = (tmp_path / "tokens").glob("*.json")
    assert json.loads(entry.read_text())["value"]["access_token"] in renewed, "the new token is the shared one"
    assert second.whoami().id == me and first.whoami().id == me  # each meets a 401 with the token it held
    assert not issued(), "they take the token stored since: no further fetch"


# ---- the DAM: one session for the host's processes; an ended one logged in again ----------------------------

DAM_SETTINGS = DamSettings(timeout_seconds=10, job_timeout_seconds=10, job_poll_seconds=0.1, page_size=10,
                           domain_cache_ttl_seconds=0, domain_cache_file=None)


def _dam(sandbox: RunningSandbox, cache: TokenCache, mode: str = "session") -> OtmmClient:
    conn = DamConnection.from_connection(ConnectionFields.from_value("otmm_default", otmm_connection(sandbox, mode)))
    client = OtmmClient(conn, settings=DAM_SETTINGS, retry=RETRY)
    client.transport.tokens = cache
    return client


def _sessions(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    with OtmmStore(sandbox.settings.otmm_dir).connect() as db:
        return [dict(row) for row in db.execute("SELECT id, expires_at FROM sessions")]


def _root_folders(client: OtmmClient) -> Any:
    return client.transport.request("GET", "/folders/rootfolders", "reading the root folders", params={"limit": 1})


def test_dam_clients_share_one_session_and_log_in_again_after_a_401(sandbox: RunningSandbox,
                                                                    tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "tokens")
    before = {s["id"] for s in _sessions(sandbox)}
    first, second = _dam(sandbox, cache), _dam(sandbox, cache)
    _root_folders(first), _root_folders(second)
    created = [s for s in _sessions(sandbox) if s["id"] not in before]
    assert len(created) == 1, "one login for both"
    first.close()  # a shared session is not logged out by one of its users
    _root_folders(second)

    OtmmStore(sandbox.settings.otmm_dir).delete_session(created[0]["id"])  # the DAM ends the session
    _root_folders(second)  # 401 -> logs in again, stores it
    again = [s for s in _sessions(sandbox) if s["id"] not in before]
    assert len(again) == 1 and again[0]["id"] != created[0]["id"]
    _root_folders(_dam(sandbox, cache))
    assert len([s for s in _sessions(sandbox) if s["id"] not in before]) == 1, "the new session is the shared one"


def test_dam_token_is_shared_until_its_expiry(sandbox: RunningSandbox, tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "tokens")
    first = _dam(sandbox, cache, "otds")
    _root_folders(first)
    [entry] = (tmp_path / "tokens").glob("*.json")
    stored = json.loads(entry.read_text())
    assert stored["value"]["headers"]["Authorization"].startswith("Bearer ")
    assert stored["expires_at"] <= time.time() + sandbox.settings.token_ttl_seconds, "kept no longer than it lives"
    second = _dam(sandbox, cache, "otds")
    _root_folders(second)
    assert second.transport.get_conn().headers["Authorization"] == stored["value"]["headers"]["Authorization"]


def _dam_call(endpoints: dict[str, Any], settings: Any, folder: str, start: float) -> None:
    conn = DamConnection.from_connection(ConnectionFields.from_value("otmm_default", json.dumps({
        "conn_type": "otmm", "host": endpoints["otmm_base_url"], "login": settings.otmm_username,
        "password": settings.otmm_password, "extra": {"auth_mode": "session"}})))
    client = OtmmClient(conn, settings=DAM_SETTINGS, retry=RETRY)
    client.transport.tokens = TokenCache(Path(folder))
    time.sleep(max(0.0, start - time.time()))
    _root_folders(client)


def test_dam_processes_starting_together_log_in_once(sandbox: RunningSandbox, tmp_path: Path) -> None:
    before = {s["id"] for s in _sessions(sandbox)}
    context = multiprocessing.get_context("fork")
    start = time.time() + 0.5
    workers = [context.Process(target=_dam_call, args=(sandbox.endpoints, sandbox.settings,
                                                       str(tmp_path / "tokens"), start)) for _ in range(5)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0] * 5
    assert len([s for s in _sessions(sandbox) if s["id"] not in before]) == 1
