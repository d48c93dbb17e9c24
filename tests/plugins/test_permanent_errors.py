"""Permanent errors fail at once, transient ones are retried: each hook against the sandbox over sockets, the
requests counted at the sandbox's fault injector."""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING

import pytest

from ferrero_provider.box.exceptions import BoxAuthError, BoxBadRequestError, BoxNotFoundError, BoxServerError
from ferrero_provider.box.hooks import BoxHook
from ferrero_provider.common.errors import ServiceError
from ferrero_provider.common.retry import RetryPolicy
from ferrero_provider.otmm.exceptions import (
    OtmmAuthError,
    OtmmBadRequestError,
    OtmmNotFoundError,
    OtmmServerError,
)
from tests.plugins.conftest import dam_hook

if TYPE_CHECKING:
    from pathlib import Path

    from ferrero_provider.otmm.hooks import OtmmHook
    from tests.plugins.conftest import DamData, Faults

BASE = "/otmmapi/v6"
#: A deployment that retries only 429 and 503 (``retry.retryable_http_codes``), without waiting.
ONLY_503 = RetryPolicy(retryable_http_codes=frozenset({429, 503}), initial_delay_seconds=0, max_attempts=3)
PERMANENT = [(400, "Bad"), (403, "Auth"), (404, "NotFound"), (422, "Bad")]


def otmm_hook(retry: RetryPolicy | None = None) -> OtmmHook:
    return dam_hook(retry=retry, initial_delay_seconds=0)


def box_hook(retry: RetryPolicy | None = None) -> BoxHook:
    return BoxHook(retry=(retry or RetryPolicy()).with_overrides(initial_delay_seconds=0))


# ---- DAM ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "kind"), PERMANENT)
def test_dam_4xx_is_permanent_after_one_request(status: int, kind: str, otmm_conn: str, dam: DamData,
                                                otmm_faults: Faults) -> None:
    campaign_id = dam.campaign("Refused", "A1")
    rule = otmm_faults.arm(kind="status", status=status, method="GET", path=f"{BASE}/folders/{campaign_id}", count=5)
    expected = {"Bad": OtmmBadRequestError, "Auth": OtmmAuthError, "NotFound": OtmmNotFoundError}[kind]

    with pytest.raises(expected) as info:
        otmm_hook().client.folders.get_campaign(campaign_id)

    assert otmm_faults.hits(rule["id"]) == 1
    assert info.value.permanent and not info.value.retryable
    assert "attempts" not in str(info.value)


def test_dam_503_is_retried_and_transient(otmm_conn: str, dam: DamData, otmm_faults: Faults) -> None:
    campaign_id = dam.campaign("Down", "A1")
    rule = otmm_faults.arm(kind="status", status=503, method="GET", path=f"{BASE}/folders/{campaign_id}", count=9)

    with pytest.raises(OtmmServerError) as info:
        otmm_hook().client.folders.get_campaign(campaign_id)

    assert otmm_faults.hits(rule["id"]) == 3
    assert not info.value.permanent and info.value.retryable
    assert str(info.value).endswith("after 3 attempts.")


def test_dam_honours_the_configured_retryable_codes(otmm_conn: str, dam: DamData, otmm_faults: Faults) -> None:
    campaign_id = dam.campaign("Broken", "A1")
    rule = otmm_faults.arm(kind="status", status=500, method="GET", path=f"{BASE}/folders/{campaign_id}", count=9)

    with pytest.raises(OtmmServerError) as info:
        otmm_hook(ONLY_503).client.folders.get_campaign(campaign_id)

    assert otmm_faults.hits(rule["id"]) == 1, "500 is not in retry.retryable_http_codes"
    assert not info.value.permanent and not info.value.retryable, "Airflow's task retries still apply"
    assert "attempts" not in str(info.value)

    otmm_faults.clear()
    rule = otmm_faults.arm(kind="status", status=503, method="GET", path=f"{BASE}/folders/{campaign_id}", count=1)
    assert otmm_hook(ONLY_503).client.folders.get_campaign(campaign_id).name == "Broken"
    assert otmm_faults.hits(rule["id"]) == 1


# ---- Box ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def stored(box_conn: str, tmp_path: Path) -> str:
    hook = box_hook()
    folder = hook.client.folders.ensure_folder("0", f"permanent-{uuid.uuid4().hex[:10]}")
    path = tmp_path / "src.bin"
    path.write_bytes(hashlib.sha256(b"src").digest() * 64)
    return hook.client.uploads.upload_file(folder, path).file_id


@pytest.mark.parametrize(("status", "kind"), PERMANENT)
def test_box_4xx_is_permanent_after_one_request(status: int, kind: str, stored: str, box_api_faults: Faults) -> None:
    rule = box_api_faults.arm(kind="status", status=status, method="GET", path=f"/2.0/files/{stored}", count=5)
    expected = {"Bad": BoxBadRequestError, "Auth": BoxAuthError, "NotFound": BoxNotFoundError}[kind]

    with pytest.raises(expected) as info:
        box_hook().client.files.get_file_info(stored)

    assert box_api_faults.hits(rule["id"]) == 1
    assert info.value.permanent and not info.value.retryable
    assert "attempts" not in str(info.value)


def test_box_unknown_file_is_permanent_after_one_request(box_conn: str, box_api_faults: Faults) -> None:
    counter = box_api_faults.arm(kind="delay", seconds=0, method="GET", path="/2.0/files/999999999999", count=5)

    with pytest.raises(BoxNotFoundError, match="reading file 999999999999: HTTP 404") as info:
        box_hook().client.files.get_file_info("999999999999")

    assert box_api_faults.hits(counter["id"]) == 1
    assert isinstance(info.value, ServiceError) and info.value.permanent


def test_box_503_is_retried_and_transient(stored: str, box_api_faults: Faults) -> None:
    rule = box_api_faults.arm(kind="status", status=503, method="GET", path=f"/2.0/files/{stored}", count=9)

    with pytest.raises(BoxServerError) as info:
        box_hook().client.files.get_file_info(stored)

    assert box_api_faults.hits(rule["id"]) == 3
    assert not info.value.permanent and info.value.retryable


def test_box_honours_the_configured_retryable_codes(stored: str, box_api_faults: Faults,
                                                     box_upload_faults: Faults, tmp_path: Path) -> None:
    rule = box_api_faults.arm(kind="status", status=500, method="GET", path=f"/2.0/files/{stored}", count=9)
    with pytest.raises(BoxServerError) as info:
        box_hook(ONLY_503).client.files.get_file_info(stored)
    assert box_api_faults.hits(rule["id"]) == 1, "500 is not in retry.retryable_http_codes"
    assert not info.value.permanent and not info.value.retryable
    assert "attempts" not in str(info.value), "the SDK did not retry it, so the message must not say so"
    box_api_faults.clear()

    rule = box_upload_faults.arm(kind="status", status=500, method="GET", path="/d/1/*/download", count=9)
    with pytest.raises(BoxServerError):
        box_hook(ONLY_503).client.downloads.download_file(stored, tmp_path / "copy.bin")
    assert box_upload_faults.hits(rule["id"]) == 1, "a download answering 500 is not retried either"
    box_upload_faults.clear()

    rule = box_upload_faults.arm(kind="status", status=503, method="GET", path="/d/1/*/download", count=1)
    assert box_hook(ONLY_503).client.downloads.download_file(stored, tmp_path / "copy.bin").size == 32 * 64
    assert box_upload_faults.hits(rule["id"]) == 1


def test_box_download_url_503_is_retried_by_one_layer_only(stored: str, box_api_faults: Faults,
                                                           tmp_path: Path) -> None:
    rule = box_api_faults.arm(kind="status", status=503, method="GET", path=f"/2.0/files/{stored}/content", count=20)
    with pytest.raises(BoxServerError, match="after 3 attempts"):
        box_hook().client.downloads.download_file(stored, tmp_path / "copy.bin")
    assert box_api_faults.hits(rule["id"]) == 3, "the SDK's retries, not multiplied by the download's own"
