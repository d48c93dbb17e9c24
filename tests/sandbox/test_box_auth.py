"""Box sandbox authentication through the official SDK: JWT (RS256-verified, encrypted PKCS#8 key through the
default decryptor), client credentials, and token expiry answered with 401 so the SDK fetches a new token."""

from __future__ import annotations

import hashlib
import io
import json
import time
from typing import TYPE_CHECKING

import pytest
import requests
from box_sdk_gen import (
    BoxAPIError,
    BoxCCGAuth,
    BoxClient,
    BoxJWTAuth,
    CCGConfig,
    CreateFolderParent,
    JWTConfig,
    UploadFileAttributes,
    UploadFileAttributesParentField,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.box.client import network_session
from sandbox.testing import start_sandbox

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sandbox.testing import RunningSandbox

pytestmark = pytest.mark.timeout(60)

PASSPHRASE = "agency-secret-passphrase"
TOKEN_TTL = 3


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private_pem, public_pem


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return _key_pair()


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, keys: tuple[str, str]) -> Iterator[RunningSandbox]:
    """A sandbox of its own: JWT public key configured and 3-second tokens."""
    running = start_sandbox(
        tmp_path_factory.mktemp("box-auth"), box_jwt_public_key_pem=keys[1], token_ttl_seconds=TOKEN_TTL
    )
    yield running
    running.stop()


def _config_json(box: RunningSandbox, private_pem: str, **subject: str) -> str:
    """The JSON the Box Developer Console lets you download for a JWT app."""
    settings = box.settings
    return json.dumps(
        {
            "boxAppSettings": {
                "clientID": settings.box_client_id,
                "clientSecret": settings.box_client_secret,
                "appAuth": {"publicKeyID": "sandbox-key", "privateKey": private_pem, "passphrase": PASSPHRASE},
            },
            **subject,
        }
    )


def _jwt_client(box: RunningSandbox, private_pem: str) -> BoxClient:
    config = JWTConfig.from_config_json_string(_config_json(box, private_pem, enterpriseID=box.settings.box_enterprise_id))
    return BoxClient(auth=BoxJWTAuth(config=config), network_session=network_session(box.endpoints))


def test_jwt_enterprise_and_user_subjects(box: RunningSandbox, keys: tuple[str, str]) -> None:
    client = _jwt_client(box, keys[0])
    assert client.users.get_user_me().id == box.settings.box_service_account_user_id
    agency_auth = client.auth.with_user_subject(box.settings.box_agency_user_id)
    agency = BoxClient(auth=agency_auth, network_session=network_session(box.endpoints))
    assert agency.users.get_user_me().id == box.settings.box_agency_user_id


def test_jwt_signed_with_another_key_is_refused(box: RunningSandbox) -> None:
    other_private, _ = _key_pair()
    with pytest.raises(BoxAPIError) as err:
        _jwt_client(box, other_private).users.get_user_me()
    assert err.value.response_info.status_code == 400
    assert err.value.response_info.body["error"] == "invalid_grant"


def test_client_credentials_subjects_and_bad_secret(box: RunningSandbox) -> None:
    settings = box.settings

    def ccg(**kwargs: str) -> BoxClient:
        config = CCGConfig(client_id=settings.box_client_id, client_secret=kwargs.pop("secret", settings.box_client_secret),
                           **kwargs)
        return BoxClient(auth=BoxCCGAuth(config=config), network_session=network_session(box.endpoints))

    assert ccg(enterprise_id=settings.box_enterprise_id).users.get_user_me().id == settings.box_service_account_user_id
    assert ccg(user_id=settings.box_agency_user_id).users.get_user_me().id == settings.box_agency_user_id
    with pytest.raises(BoxAPIError) as bad:
        ccg(enterprise_id=settings.box_enterprise_id, secret="wrong").users.get_user_me()
    assert bad.value.response_info.body["error"] == "invalid_client"
    with pytest.raises(BoxAPIError) as unknown:
        ccg(user_id="424242").users.get_user_me()
    assert unknown.value.response_info.body["error"] == "invalid_grant"


def _token(client: BoxClient) -> str:
    return client.auth.token_storage.get().access_token


def test_expired_tokens_get_401_and_the_sdk_refreshes(box: RunningSandbox, keys: tuple[str, str]) -> None:
    client = _jwt_client(box, keys[0])
    me_url = f"{box.endpoints['box_base_url']}/2.0/users/me"
    client.users.get_user_me()
    first = _token(client)
    assert requests.get(me_url, headers={"Authorization": f"Bearer {first}"}, timeout=10).status_code == 200

    time.sleep(TOKEN_TTL + 0.2)  # the TTL from settings runs out
    expired = requests.get(me_url, headers={"Authorization": f"Bearer {first}"}, timeout=10)
    assert expired.status_code == 401 and "invalid_token" in expired.headers["WWW-Authenticate"]
    assert client.users.get_user_me().id == box.settings.box_service_account_user_id
    second = _token(client)
    assert second != first

    answer = requests.post(f"{box.endpoints['box_base_url']}/__sandbox__/box/expire-tokens", timeout=10)
    assert answer.status_code == 200 and answer.json()["expired"] >= 1
    assert requests.get(me_url, headers={"Authorization": f"Bearer {second}"}, timeout=10).status_code == 401
    assert client.users.get_user_me().id == box.settings.box_service_account_user_id
    assert _token(client) not in (first, second)

    folder = client.folders.create_folder("expiry", CreateFolderParent(id="0"))
    requests.post(f"{box.endpoints['box_base_url']}/__sandbox__/box/expire-tokens", timeout=10)
    data = b"x" * 300_000  # the upload host answers 401 too; the SDK refreshes and re-sends the body
    uploaded = client.uploads.upload_file(
        UploadFileAttributes(name="after-expiry.bin", parent=UploadFileAttributesParentField(id=folder.id)),
        io.BytesIO(data), content_md_5=hashlib.sha1(data).hexdigest(),
    ).entries[0]
    assert uploaded.size == len(data)
