"""Fixtures of the hook tests: connections as ``AIRFLOW_CONN_*`` pointing at the session sandbox, DAM test data
written into the sandbox's store, and fault injection (rules cleared around every test)."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest
import requests

from sandbox.otmm.metadata import DEFAULT_ASSET_MODEL, DEFAULT_FOLDER_MODEL
from sandbox.otmm.store import PUBLIC_ROOT_ID, OtmmStore

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from ferrero_provider.common.retry import RetryPolicy
    from ferrero_provider.otmm.hooks import OtmmHook
    from sandbox.testing import RunningSandbox

STATUS_FIELD = "FERRERO.CAMPAIGN.FIELD.STATUS"
NUMBER_FIELD = "FERRERO.CAMPAIGN.FIELD.NUMBER"


def _root(url: str) -> str:
    return "/".join(url.split("/")[:3])


class Faults:
    """Arms fault rules on one sandbox server (``/__sandbox__/faults``)."""

    def __init__(self, base_url: str) -> None:
        self.url = f"{_root(base_url)}/__sandbox__/faults"

    def arm(self, **rule: Any) -> dict[str, Any]:
        resp = requests.post(self.url, json=rule, timeout=5)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def hits(self, rule_id: int) -> int:
        rules = requests.get(self.url, timeout=5).json()["faults"]
        return next(r["hits"] for r in rules if r["id"] == rule_id)

    def clear(self) -> None:
        requests.delete(self.url, timeout=5)


@pytest.fixture
def otmm_faults(sandbox: RunningSandbox) -> Iterator[Faults]:
    faults = Faults(sandbox.endpoints["otmm_url"])
    faults.clear()
    yield faults
    faults.clear()


@pytest.fixture
def box_api_faults(sandbox: RunningSandbox) -> Iterator[Faults]:
    faults = Faults(sandbox.endpoints["box_base_url"])
    faults.clear()
    yield faults
    faults.clear()


@pytest.fixture
def box_upload_faults(sandbox: RunningSandbox) -> Iterator[Faults]:
    faults = Faults(sandbox.endpoints["box_upload_url"])
    faults.clear()
    yield faults
    faults.clear()


def otmm_connection(sandbox: RunningSandbox, mode: str = "session", **changes: Any) -> str:
    s = sandbox.settings
    assert s is not None
    extra: dict[str, Any] = {"auth_mode": mode}
    if mode == "oauth":
        extra.update(client_id=s.otmm_client_id, client_secret=s.otmm_client_secret)
    if mode == "otds":
        extra.update(client_id=s.otds_client_id, client_secret=s.otds_client_secret,
                     otds_token_url=sandbox.endpoints["otds_token_url"])
    conn: dict[str, Any] = {"conn_type": "otmm", "host": sandbox.endpoints["otmm_base_url"],
                            "login": s.otmm_username, "password": s.otmm_password, "extra": extra}
    extra.update(changes.pop("extra", {}))
    conn.update(changes)
    return json.dumps(conn)


def box_connection(sandbox: RunningSandbox, **extra: Any) -> str:
    s = sandbox.settings
    assert s is not None
    conn_extra: dict[str, Any] = {"auth_mode": "ccg", "enterprise_id": s.box_enterprise_id,
                                  "base_url": sandbox.endpoints["box_base_url"],
                                  "upload_url": sandbox.endpoints["box_upload_url"]}
    conn_extra.update(extra)
    login = conn_extra.pop("login", s.box_client_id)
    password = conn_extra.pop("password", s.box_client_secret)
    return json.dumps({"conn_type": "box", "login": login, "password": password, "extra": conn_extra})


@pytest.fixture
def otmm_conn(sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> str:
    """``otmm_default`` as a session-auth connection to the sandbox."""
    monkeypatch.setenv("AIRFLOW_CONN_OTMM_DEFAULT", otmm_connection(sandbox))
    return "otmm_default"


@pytest.fixture
def box_conn(sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> str:
    """``box_default`` as a client-credentials connection to the sandbox."""
    monkeypatch.setenv("AIRFLOW_CONN_BOX_DEFAULT", box_connection(sandbox))
    return "box_default"


def _field(value: Any, kind: str = "scalar") -> dict[str, Any]:
    return {"kind": kind, "type": "string", "values": list(value) if isinstance(value, (list, tuple)) else [value]}


class DamData:
    """Builds DAM test data straight in the sandbox's store, under a folder of its own."""

    def __init__(self, sandbox: RunningSandbox, tmp_path: Path) -> None:
        assert sandbox.settings is not None
        self.store = OtmmStore(sandbox.settings.otmm_dir)
        self.user = sandbox.settings.otmm_username
        self.tmp_path = tmp_path
        self.root = self.store.create_folder(PUBLIC_ROOT_ID, f"hooks-{uuid.uuid4().hex[:8]}",
                                             model_id=DEFAULT_FOLDER_MODEL, user=self.user)["asset_id"]

    def campaign(self, name: str, status: str, number: str = "CMP-T-001", *, final_name: str | None = "Final Assets",
                 parent: str | None = None) -> str:
        folder = self.store.create_folder(parent or self.root, name, model_id=DEFAULT_FOLDER_MODEL, user=self.user,
                                          metadata={STATUS_FIELD: _field(status), NUMBER_FIELD: _field(number)})
        if final_name:
            self.folder(folder["asset_id"], final_name)
        return folder["asset_id"]

    def folder(self, parent: str, name: str) -> str:
        return self.store.create_folder(parent, name, model_id=DEFAULT_FOLDER_MODEL, user=self.user)["asset_id"]

    def asset(self, folder_id: str, name: str, content: bytes, mime: str = "application/octet-stream") -> str:
        source = self.tmp_path / f"src-{uuid.uuid4().hex[:8]}"
        source.write_bytes(content)
        content_id, size = self.store.store_blob(source)
        row = self.store.create_asset(folder_id, name, mime, content_id, size, model_id=DEFAULT_ASSET_MODEL,
                                      user=self.user, metadata={"ARTESIA.FIELD.ASSET DESCRIPTION": _field(name)})
        return row["asset_id"]

    def get(self, asset_id: str) -> dict[str, Any]:
        item = self.store.get(asset_id)
        assert item is not None
        return item


@pytest.fixture
def dam(sandbox: RunningSandbox, tmp_path: Path) -> DamData:
    return DamData(sandbox, tmp_path)


def dam_hook(*, retry: RetryPolicy | None = None, max_attempts: int | None = None,
             initial_delay_seconds: float | None = None, domain_cache_ttl_hours: float | None = None,
             **settings: Any) -> OtmmHook:
    """An ``OtmmHook`` from single values, as the tests give them: retry values on the policy, the rest as
    ``DamSettings`` (``domain_cache_ttl_hours`` in hours)."""
    from ferrero_provider.common.retry import RetryPolicy
    from ferrero_provider.otmm.client.settings import DamSettings
    from ferrero_provider.otmm.hooks import OtmmHook

    policy = (retry or RetryPolicy()).with_overrides(max_attempts=max_attempts,
                                                     initial_delay_seconds=initial_delay_seconds)
    if domain_cache_ttl_hours is not None:
        settings["domain_cache_ttl_seconds"] = domain_cache_ttl_hours * 3600
    return OtmmHook(retry=policy, settings=DamSettings(**settings))
