"""OtmmHook against the sandbox DAM over sockets: every operation, each fault kind, expired credentials,
the idempotent create, the campaign status flip and the connection test."""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import TYPE_CHECKING

import pytest
import requests

from ferrero_provider.otmm.client import domains as otmm_domains
from ferrero_provider.otmm.exceptions import (
    OtmmAuthError,
    OtmmBadRequestError,
    OtmmConfigError,
    OtmmConflictError,
    OtmmError,
    OtmmIntegrityError,
    OtmmNotFoundError,
    OtmmServerError,
    OtmmStatusError,
    OtmmTransportError,
)
from ferrero_provider.otmm.hooks import OtmmHook
from tests.plugins.conftest import STATUS_FIELD, dam_hook, otmm_connection

if TYPE_CHECKING:
    from pathlib import Path

    from sandbox.testing import RunningSandbox
    from tests.plugins.conftest import DamData, Faults

BASE = "/otmmapi/v6"
REPRESENTATION = {"asset_resource": {"asset": {
    "metadata": {"metadata_element_list": [
        {"id": "ARTESIA.FIELD.ASSET DESCRIPTION", "type": "com.artesia.metadata.MetadataField",
         "value": {"value": {"type": "string", "value": "derivative"}}}]},
    "metadata_model_id": "FERRERO.MODEL.ASSET", "security_policy_list": [{"id": 2}]}}}


def make_hook(**kwargs: object) -> OtmmHook:
    kwargs.setdefault("initial_delay_seconds", 0)
    kwargs.setdefault("job_poll_seconds", 0.1)
    return dam_hook(**kwargs)  # type: ignore[arg-type]


@pytest.fixture
def hook(otmm_conn: str) -> OtmmHook:
    return make_hook()


# ---- reading campaigns ---------------------------------------------------------------------------------------


def test_search_campaigns_pages_through_all_results_and_checks_the_status_exactly(hook: OtmmHook, dam: DamData):
    wanted = {dam.campaign(f"Campaign {i}", "A1", f"CMP-T-{i:03d}") for i in range(5)}
    near_miss = dam.campaign("Campaign A10", "A10")  # CONTAINS "A1" matches it on the DAM side
    other = dam.campaign("Campaign A2", "A2")

    found = make_hook(page_size=2).client.folders.search_campaigns("A1")

    ids = {c.campaign_id for c in found}
    assert wanted <= ids
    assert near_miss not in ids and other not in ids
    assert all(c.status == "A1" for c in found)
    assert len(ids) == len(found)  # no duplicates across pages
    one = next(c for c in found if c.campaign_id in wanted)
    assert one.number.startswith("CMP-T-") and one.name.startswith("Campaign ")
    assert one.fields[STATUS_FIELD] == "A1"


def test_get_campaign_returns_name_number_status_and_metadata(hook: OtmmHook, dam: DamData):
    campaign_id = dam.campaign("Nutella Test", "A2", "CMP-9")

    campaign = hook.client.folders.get_campaign(campaign_id)

    assert (campaign.campaign_id, campaign.name, campaign.number, campaign.status) == (
        campaign_id, "Nutella Test", "CMP-9", "A2")
    assert campaign.metadata["metadata_element_list"]  # the DAM's grouped metadata, for the tracking record
    assert json.loads(json.dumps(campaign.as_dict()))["number"] == "CMP-9"


def test_get_campaign_unknown_is_not_found_and_not_retried(hook: OtmmHook, otmm_faults: Faults):
    with pytest.raises(OtmmNotFoundError, match=r"reading campaign nope.*HTTP 404"):
        hook.client.folders.get_campaign("nope")


def test_list_master_assets_returns_every_non_folder_child_over_pages(hook: OtmmHook, dam: DamData):
    campaign_id = dam.campaign("Masters", "A1")
    dam.folder(campaign_id, "Working files")
    expected = {dam.asset(campaign_id, f"master_{i}.png", b"x" * (i + 1), "image/png") for i in range(5)}

    masters = make_hook(page_size=2).client.folders.list_master_assets(campaign_id)

    assert {m.asset_id for m in masters} == expected
    sizes = {m.name: m.content_size for m in masters}
    assert sizes["master_0.png"] == 1 and sizes["master_4.png"] == 5
    assert all(m.mime_type == "image/png" for m in masters)


def test_find_final_assets_folder_matches_case_insensitively(hook: OtmmHook, dam: DamData):
    campaign_id = dam.campaign("Case", "A2", final_name="final ASSETS")

    folder = hook.client.folders.find_final_assets_folder(campaign_id)

    assert folder.name == "final ASSETS" and dam.get(folder.folder_id)["parent_id"] == campaign_id


def test_find_final_assets_folder_missing_is_a_clear_error(hook: OtmmHook, dam: DamData):
    campaign_id = dam.campaign("No final", "A2", final_name=None)
    with pytest.raises(OtmmNotFoundError, match=r"has no subfolder named 'Final Assets'"):
        hook.client.folders.find_final_assets_folder(campaign_id)


# ---- downloads and faults ------------------------------------------------------------------------------------


@pytest.fixture
def master(dam: DamData) -> tuple[str, bytes]:
    content = os.urandom(256 * 1024 + 7)
    campaign_id = dam.campaign("Download", "A1")
    return dam.asset(campaign_id, "spot.mp4", content, "video/mp4"), content


def test_download_original_streams_to_a_file_with_size_and_sha1(hook: OtmmHook, master, tmp_path: Path):
    asset_id, content = master
    result = hook.client.assets.download_original(asset_id, tmp_path / "out" / "spot.mp4")

    assert (tmp_path / "out" / "spot.mp4").read_bytes() == content
    assert result.size == len(content) and result.sha1 == hashlib.sha1(content).hexdigest()  # noqa: S324
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".part")]


@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_download_cut_short_once_is_retried(hook: OtmmHook, master, otmm_faults: Faults, tmp_path: Path, kind: str):
    asset_id, content = master
    rule = otmm_faults.arm(kind=kind, method="GET", path=f"{BASE}/assets/{asset_id}/contents", count=1)

    result = hook.client.assets.download_original(asset_id, tmp_path / "spot.mp4", expected_size=len(content))

    assert otmm_faults.hits(rule["id"]) == 1
    assert result.size == len(content) and (tmp_path / "spot.mp4").read_bytes() == content


@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_download_cut_short_every_time_fails_clearly(hook: OtmmHook, master, otmm_faults: Faults, tmp_path: Path,
                                                     kind: str):
    asset_id, content = master
    rule = otmm_faults.arm(kind=kind, method="GET", path=f"{BASE}/assets/{asset_id}/contents", count=10)

    with pytest.raises((OtmmTransportError, OtmmIntegrityError)) as info:
        hook.client.assets.download_original(asset_id, tmp_path / "spot.mp4", expected_size=len(content))

    message = str(info.value)
    assert f"downloading the original of asset {asset_id}" in message and "after 3 attempts" in message
    assert "cut short" in message or "broke" in message or "connection" in message
    assert otmm_faults.hits(rule["id"]) == 3
    assert not (tmp_path / "spot.mp4").exists()


def test_download_size_different_from_content_size_is_an_integrity_error(hook: OtmmHook, master, tmp_path: Path):
    asset_id, content = master
    with pytest.raises(OtmmIntegrityError, match=r"received \d+ bytes where the server's metadata announced"):
        hook.client.assets.download_original(asset_id, tmp_path / "x", expected_size=len(content) + 1)
    assert not (tmp_path / "x").exists()


def test_429_waits_for_retry_after(hook: OtmmHook, dam: DamData, otmm_faults: Faults):
    campaign_id = dam.campaign("Busy", "A1")
    rule = otmm_faults.arm(kind="429", method="GET", path=f"{BASE}/folders/{campaign_id}", retry_after=1, count=1)

    started = time.monotonic()
    assert hook.client.folders.get_campaign(campaign_id).campaign_id == campaign_id
    assert time.monotonic() - started >= 1.0
    assert otmm_faults.hits(rule["id"]) == 1


def test_503_then_success(hook: OtmmHook, dam: DamData, otmm_faults: Faults):
    campaign_id = dam.campaign("Flaky", "A1")
    rule = otmm_faults.arm(kind="status", status=503, method="GET", path=f"{BASE}/folders/{campaign_id}", count=2)

    assert hook.client.folders.get_campaign(campaign_id).name == "Flaky"
    assert otmm_faults.hits(rule["id"]) == 2


def test_503_every_time_gives_up_after_the_configured_attempts(hook: OtmmHook, dam: DamData, otmm_faults: Faults):
    campaign_id = dam.campaign("Down", "A1")
    rule = otmm_faults.arm(kind="status", status=503, method="GET", path=f"{BASE}/folders/{campaign_id}", count=9)

    with pytest.raises(OtmmServerError) as info:
        make_hook(max_attempts=4).client.folders.get_campaign(campaign_id)

    assert otmm_faults.hits(rule["id"]) == 4
    assert str(info.value) == (f"DAM request failed while reading campaign {campaign_id}: HTTP 503 Service "
                               "Unavailable (Injected fault), after 4 attempts.")


def test_other_4xx_are_never_retried(hook: OtmmHook, dam: DamData, otmm_faults: Faults):
    campaign_id = dam.campaign("Bad", "A1")
    rule = otmm_faults.arm(kind="status", status=400, method="GET", path=f"{BASE}/folders/{campaign_id}", count=3)

    with pytest.raises(OtmmBadRequestError, match="HTTP 400"):
        hook.client.folders.get_campaign(campaign_id)
    assert otmm_faults.hits(rule["id"]) == 1


def test_timeout_is_retried(dam: DamData, otmm_conn: str, otmm_faults: Faults):
    campaign_id = dam.campaign("Slow", "A1")
    rule = otmm_faults.arm(kind="delay", seconds=1.5, method="GET", path=f"{BASE}/folders/{campaign_id}", count=1)

    assert make_hook(timeout_seconds=0.5).client.folders.get_campaign(campaign_id).name == "Slow"
    assert otmm_faults.hits(rule["id"]) == 1


# ---- authentication -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["session", "oauth", "otds"])
def test_expired_credentials_are_renewed_once(mode: str, sandbox: RunningSandbox, dam: DamData,
                                              monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIRFLOW_CONN_OTMM_DEFAULT", otmm_connection(sandbox, mode))
    campaign_id = dam.campaign(f"Auth {mode}", "A1")
    hook = make_hook()
    assert hook.client.folders.get_campaign(campaign_id).status == "A1"

    expired = requests.post(f"{sandbox.endpoints['otmm_url']}/__sandbox__/otmm/expire-tokens", timeout=5)
    assert expired.ok and expired.json()["expired"] >= 1

    assert hook.client.folders.get_campaign(campaign_id).status == "A1"


def test_credentials_refused_after_renewal_is_an_auth_error_without_secrets(sandbox: RunningSandbox,
                                                                            monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIRFLOW_CONN_OTMM_DEFAULT", otmm_connection(sandbox, password="wrong-password-123"))
    with pytest.raises(OtmmAuthError) as info:
        make_hook().client.folders.get_campaign("x")
    assert "logging in to the DAM as" in str(info.value) and "HTTP 401" in str(info.value)
    assert "wrong-password-123" not in str(info.value)


@pytest.mark.parametrize("mode", ["session", "oauth", "otds"])
def test_connection_test_passes(mode: str, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIRFLOW_CONN_OTMM_DEFAULT", otmm_connection(sandbox, mode))
    ok, message = OtmmHook().test_connection()
    assert ok, message
    assert f"({mode} authentication)" in message


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"password": "not-the-password"}, "HTTP 401"),
        ({"host": ""}, "has no host"),
        ({"extra": {"auth_mode": "kerberos"}}, "auth_mode 'kerberos'"),
        ({"extra": {"auth_mode": "otds", "otds_token_url": None}}, "has no"),
    ],
)
def test_connection_test_fails_with_a_reason(changes: dict, expected: str, sandbox: RunningSandbox,
                                             monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIRFLOW_CONN_OTMM_DEFAULT", otmm_connection(sandbox, **changes))
    ok, message = make_hook().test_connection()
    assert not ok
    assert expected in message
    assert "not-the-password" not in message


def test_connection_test_fails_when_the_dam_is_unreachable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIRFLOW_CONN_OTMM_DEFAULT", json.dumps(
        {"conn_type": "otmm", "host": "http://127.0.0.1:9/otmmapi/v6", "login": "u", "password": "p4ssw0rd"}))
    ok, message = make_hook(max_attempts=1).test_connection()
    assert not ok and "connection failed" in message


# ---- creating assets --------------------------------------------------------------------------------------------


@pytest.fixture
def final_folder(dam: DamData) -> str:
    campaign_id = dam.campaign("Derivatives", "A2", final_name=None)
    return dam.folder(campaign_id, "Final Assets")


def test_create_asset_uploads_waits_for_the_job_and_returns_the_new_id(hook: OtmmHook, dam: DamData,
                                                                       final_folder: str, tmp_path: Path):
    source = tmp_path / "IT_spot.mp4"
    source.write_bytes(os.urandom(300_000))

    asset_id = hook.client.assets.create_asset(final_folder, source, REPRESENTATION)

    stored = dam.get(asset_id)
    assert stored["parent_id"] == final_folder and stored["name"] == "IT_spot.mp4"
    assert stored["content_size"] == 300_000 and stored["mime_type"] == "video/mp4"
    assert stored["metadata"]["ARTESIA.FIELD.ASSET DESCRIPTION"]["values"] == ["derivative"]


def test_create_asset_twice_returns_the_first_one(hook: OtmmHook, dam: DamData, final_folder: str, tmp_path: Path):
    source = tmp_path / "twice.png"
    source.write_bytes(b"png" * 100)

    first = hook.client.assets.create_asset(final_folder, source, REPRESENTATION)
    second = make_hook().client.assets.create_asset(final_folder, source, json.dumps(REPRESENTATION))

    assert first == second
    assert [c["name"] for c in dam.store.children(final_folder)] == ["twice.png"]


def test_create_asset_returns_the_asset_an_earlier_attempt_left(hook: OtmmHook, dam: DamData, final_folder: str,
                                                                tmp_path: Path, otmm_faults: Faults):
    left = dam.asset(final_folder, "left.jpg", b"jpeg")
    source = tmp_path / "left.jpg"
    source.write_bytes(b"other bytes")
    rule = otmm_faults.arm(kind="status", status=500, method="POST", path=f"{BASE}/assets", count=5)

    assert hook.client.assets.create_asset(final_folder, source, REPRESENTATION) == left
    assert otmm_faults.hits(rule["id"]) == 0


def test_create_asset_after_a_503_checks_the_folder_and_creates_once(hook: OtmmHook, dam: DamData,
                                                                     final_folder: str, tmp_path: Path,
                                                                     otmm_faults: Faults):
    source = tmp_path / "retry.pdf"
    source.write_bytes(b"%PDF-1.4 test")
    rule = otmm_faults.arm(kind="status", status=503, method="POST", path=f"{BASE}/assets", count=1)

    asset_id = hook.client.assets.create_asset(final_folder, source, REPRESENTATION)

    assert otmm_faults.hits(rule["id"]) == 1
    assert [c["asset_id"] for c in dam.store.children(final_folder)] == [asset_id]


def test_create_asset_refused_by_the_dam_is_not_retried(hook: OtmmHook, final_folder: str, tmp_path: Path):
    source = tmp_path / "bad.txt"
    source.write_bytes(b"x")
    with pytest.raises(OtmmBadRequestError, match=r"creating asset 'bad.txt' in folder .*HTTP 400"):
        hook.client.assets.create_asset(final_folder, source, {"asset_resource": {"asset": {"metadata": {
            "metadata_element_list": [{"type": "com.artesia.metadata.MetadataField"}]}}}})


# ---- campaign status -------------------------------------------------------------------------------------------


def test_set_campaign_status_locks_patches_and_unlocks(hook: OtmmHook, dam: DamData):
    campaign_id = dam.campaign("Flip", "A1")

    assert hook.client.folders.set_campaign_status(campaign_id, "A2") is True

    stored = dam.get(campaign_id)
    assert stored["metadata"][STATUS_FIELD]["values"] == ["A2"]
    assert stored["locked_by"] is None
    assert hook.client.folders.set_campaign_status(campaign_id, "A2") is False  # already done: no change


def test_set_campaign_status_unlocks_even_when_the_patch_fails(hook: OtmmHook, dam: DamData, otmm_faults: Faults):
    campaign_id = dam.campaign("Patch fails", "A1")
    otmm_faults.arm(kind="status", status=400, method="PATCH", path=f"{BASE}/folders/{campaign_id}", count=1)

    with pytest.raises(OtmmBadRequestError, match=f"setting the status of campaign {campaign_id} to A2"):
        hook.client.folders.set_campaign_status(campaign_id, "A2")

    assert dam.get(campaign_id)["locked_by"] is None
    assert dam.get(campaign_id)["metadata"][STATUS_FIELD]["values"] == ["A1"]


def test_a_status_write_the_dam_accepts_but_does_not_apply_fails_with_a_sentence(hook: OtmmHook, dam: DamData,
                                                                                  otmm_faults: Faults):
    campaign_id = dam.campaign("Ignored", "A1")
    otmm_faults.arm(kind="ignore", method="PATCH", path=f"{BASE}/folders/{campaign_id}", count=1)

    with pytest.raises(OtmmStatusError, match=rf"^The DAM accepted the change of campaign {campaign_id} to status A2 "
                                              r"but reads back 'A1'; the status field .* was not changed\.$"):
        hook.client.folders.set_campaign_status(campaign_id, "A2")

    assert dam.get(campaign_id)["locked_by"] is None


def test_set_campaign_status_on_a_campaign_locked_by_someone_else(hook: OtmmHook, dam: DamData):
    campaign_id = dam.campaign("Locked", "A1")
    dam.store.set_lock(campaign_id, "marketing.user")
    with pytest.raises(OtmmConflictError, match=r"locking campaign .*HTTP 409.*locked by marketing.user"):
        hook.client.folders.set_campaign_status(campaign_id, "A2")
    assert dam.get(campaign_id)["locked_by"] == "marketing.user"


# ---- lookup domains ----------------------------------------------------------------------------------------------


@pytest.fixture
def domain(dam: DamData) -> str:
    domain_id = f"TEST.DOMAIN.{os.urandom(4).hex().upper()}"
    values = [{"field_value": {"type": "string", "value": code}, "display_value": label, "expired_value": expired}
              for code, label, expired in (("EN", "English", False), ("IT", "Italian", False), ("XX", "Old", True))]
    dam.store.put_domain(domain_id, values)
    otmm_domains._DOMAIN_CACHE.clear()
    return domain_id


def test_lookup_domain_values_are_cached_for_the_ttl(domain: str, otmm_conn: str, otmm_faults: Faults,
                                                     tmp_path: Path):
    cache_file = tmp_path / "domains.json"
    hook = make_hook(domain_cache_file=cache_file)
    assert hook.client.lookup_domains.get_lookup_domain(domain) == {"EN": "English", "IT": "Italian"}

    rule = otmm_faults.arm(kind="status", status=500, method="GET", path=f"{BASE}/lookupdomains/*", count=50)
    assert hook.client.lookup_domains.get_lookup_domain(domain) == {"EN": "English", "IT": "Italian"}  # memory
    otmm_domains._DOMAIN_CACHE.clear()
    assert make_hook(domain_cache_file=cache_file).client.lookup_domains.get_lookup_domain(domain)["IT"] == "Italian"  # another process
    assert otmm_faults.hits(rule["id"]) == 0

    with pytest.raises(OtmmServerError):  # TTL over: fetched again
        make_hook(domain_cache_file=cache_file, domain_cache_ttl_hours=0).client.lookup_domains.get_lookup_domain(domain)


def test_unknown_lookup_domain_is_not_found(hook: OtmmHook, otmm_faults: Faults):
    with pytest.raises(OtmmNotFoundError, match="reading lookup domain NO.SUCH.DOMAIN"):
        hook.client.lookup_domains.get_lookup_domain("NO.SUCH.DOMAIN")


def test_every_error_is_an_otmm_error_and_an_airflow_exception():
    from airflow.sdk.exceptions import AirflowException

    for cls in (OtmmAuthError, OtmmBadRequestError, OtmmConfigError, OtmmConflictError, OtmmIntegrityError,
                OtmmNotFoundError, OtmmServerError, OtmmTransportError):
        assert issubclass(cls, OtmmError) and issubclass(cls, AirflowException)
