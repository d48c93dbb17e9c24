"""OtmmHook.check_in_new_version against the sandbox DAM: a new version (its own asset id, the same logical id),
once, with its metadata, the lock always released, and clear errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ferrero_provider.otmm.exceptions import OtmmBadRequestError, OtmmConflictError
from tests.plugins.conftest import dam_hook

if TYPE_CHECKING:
    from pathlib import Path

    from ferrero_provider.otmm.hooks import OtmmHook
    from tests.plugins.conftest import DamData, Faults

BASE = "/otmmapi/v6"
DURATION = "FERRERO.FIELD.DURATION"
MEDIA = [{"id": DURATION, "type": "com.artesia.metadata.MetadataField",
          "value": {"value": {"type": "decimal", "value": 4.5}}}]


@pytest.fixture
def hook(otmm_conn: str) -> OtmmHook:
    return dam_hook(initial_delay_seconds=0, job_poll_seconds=0.1)


@pytest.fixture
def asset(dam: DamData) -> str:
    folder = dam.folder(dam.root, "Final Assets")
    return dam.asset(folder, "spot_IT_v01.mp4", b"version one", mime="video/mp4")


def _file(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "upload" / "spot_IT_v01.mp4"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    return path


def _content(hook: OtmmHook, asset_id: str, tmp_path: Path) -> bytes:
    return open(hook.client.assets.download_original(asset_id, tmp_path / "check.bin").path, "rb").read()


def _latest(dam: DamData, asset_id: str) -> dict:
    return dam.store.versions(asset_id)[-1]


def test_new_version_gets_its_own_id_under_the_same_logical_asset(hook: OtmmHook, dam: DamData, asset: str,
                                                                  tmp_path: Path):
    result = hook.client.versions.check_in_new_version(asset, _file(tmp_path, b"version two, longer"), metadata=MEDIA)

    assert (result.version, result.logical_id, result.previous_asset_id) == (2, asset, asset)
    assert result.asset_id != asset and result.checked_in
    row = dam.get(result.asset_id)
    assert row["version"] == 2 and row["content_size"] == len(b"version two, longer") and row["latest_version"]
    assert row["original_asset_id"] == asset and not dam.get(asset)["latest_version"]
    assert row["locked_by"] is None and not row["checked_out"] and dam.get(asset)["locked_by"] is None
    assert row["metadata"][DURATION]["values"] == [4.5], "the metadata was updated on the new version"
    assert _content(hook, result.asset_id, tmp_path) == b"version two, longer"
    assert [c["asset_id"] for c in dam.store.children(row["parent_id"])] == [result.asset_id], "no second asset"


def test_an_older_version_id_is_resolved_to_the_latest(hook: OtmmHook, dam: DamData, asset: str, tmp_path: Path):
    second = hook.client.versions.check_in_new_version(asset, _file(tmp_path, b"two"))

    third = hook.client.versions.check_in_new_version(asset, _file(tmp_path, b"three!"))

    assert third.previous_asset_id == second.asset_id and third.version == 3 and third.logical_id == asset
    assert dam.store.content_history(asset) == [b"version one", b"two", b"three!"]


def test_the_same_file_again_is_not_a_second_version(hook: OtmmHook, dam: DamData, asset: str, tmp_path: Path,
                                                     otmm_faults: Faults):
    path = _file(tmp_path, b"version 2!!")  # same size as version one: the bytes are compared
    first = hook.client.versions.check_in_new_version(asset, path)
    rule = otmm_faults.arm(kind="status", status=500, method="POST", path=f"{BASE}/jobs/imports", count=5)

    again = hook.client.versions.check_in_new_version(first.asset_id, path)

    assert otmm_faults.hits(rule["id"]) == 0, "no import job started"
    assert (again.asset_id, again.version, again.checked_in) == (first.asset_id, 2, False)
    assert _latest(dam, asset)["version"] == 2 and _latest(dam, asset)["locked_by"] is None


def test_a_check_in_whose_answer_is_lost_is_not_repeated(hook: OtmmHook, dam: DamData, asset: str,
                                                         tmp_path: Path, otmm_faults: Faults):
    rule = otmm_faults.arm(kind="reset", method="PUT", path=f"{BASE}/jobs/checkins/*", count=1, after_bytes=0)

    result = hook.client.versions.check_in_new_version(asset, _file(tmp_path, b"the third content"))

    assert otmm_faults.hits(rule["id"]) == 1
    assert result.version == 2 and len(dam.store.versions(asset)) == 2, "the DAM had the bytes: checked in once"
    assert _content(hook, result.asset_id, tmp_path) == b"the third content"


def test_a_503_before_the_check_in_is_retried(hook: OtmmHook, dam: DamData, asset: str, tmp_path: Path,
                                              otmm_faults: Faults):
    rule = otmm_faults.arm(kind="status", status=503, method="PUT", path=f"{BASE}/jobs/checkins/*", count=1)

    assert hook.client.versions.check_in_new_version(asset, _file(tmp_path, b"retried content")).version == 2

    assert otmm_faults.hits(rule["id"]) == 1
    assert dam.get(asset)["locked_by"] is None and _latest(dam, asset)["locked_by"] is None


def test_a_refused_check_in_fails_clearly_and_unlocks(hook: OtmmHook, dam: DamData, asset: str, tmp_path: Path,
                                                      otmm_faults: Faults):
    otmm_faults.arm(kind="status", status=400, method="PUT", path=f"{BASE}/jobs/checkins/*", count=1)

    with pytest.raises(OtmmBadRequestError, match=r"^DAM request failed while checking in a new version of asset "
                                                  r".*HTTP 400[^\n]*\.$"):
        hook.client.versions.check_in_new_version(asset, _file(tmp_path, b"refused content"))

    row = dam.get(asset)
    assert row["version"] == 1 and row["locked_by"] is None and not row["checked_out"]
    assert _content(hook, asset, tmp_path) == b"version one"


def test_an_asset_locked_by_someone_else_is_left_alone(hook: OtmmHook, dam: DamData, asset: str, tmp_path: Path):
    dam.store.set_lock(asset, "marketing.user")

    with pytest.raises(OtmmConflictError, match=r"checking out asset .*HTTP 409.*locked by marketing.user"):
        hook.client.versions.check_in_new_version(asset, _file(tmp_path, b"not this time"))

    row = dam.get(asset)
    assert row["locked_by"] == "marketing.user" and row["version"] == 1
