"""One parser of the Box connection: the hook and the webhook receiver read the same JSON identically, and the
connection's HTTP options (CA bundle, client certificate, proxies) reach the session the SDK sends through."""

from __future__ import annotations

import json

import pytest

from ferrero_provider.box.client.box_connection import DEFAULT_OAUTH_URL, DEFAULT_UPLOAD_URL, BoxConnection
from ferrero_provider.box.client.session import http_session
from ferrero_provider.box.exceptions import BoxConfigError
from ferrero_provider.box.hooks import BoxHook
from ferrero_provider.common.connection_fields import ConnectionFields
from receiver.registration import box_client
from receiver.settings import SettingsError

APP_CONFIG = {"boxAppSettings": {"clientID": "cid", "clientSecret": "csecret",
                                 "appAuth": {"publicKeyID": "kid", "privateKey": "-----BEGIN KEY-----", "passphrase": ""}},
              "enterpriseID": "111", "userID": "222"}
PROXIES = {"https": "http://proxy.example:3128", "http": "http://proxy.example:3128"}


def conn_json(**extra: object) -> str:
    return json.dumps({"conn_type": "box", "login": "cid", "password": "csecret",
                       "extra": {"auth_mode": "ccg", "enterprise_id": "111", **extra}})


def test_http_options_reach_the_session() -> None:
    value = conn_json(verify="/path/ca.pem", cert="/path/client.pem", proxies=PROXIES)
    connection = BoxConnection.from_connection(ConnectionFields.from_value("box_default", value))

    session = http_session(connection)

    assert session.verify == "/path/ca.pem"
    assert session.cert == "/path/client.pem"
    assert session.proxies["https"] == "http://proxy.example:3128"
    assert session.proxies["http"] == "http://proxy.example:3128"


@pytest.mark.parametrize("value", [
    conn_json(verify="/path/ca.pem", proxies=PROXIES),
    conn_json(base_url="http://127.0.0.1:9/box", user_id="42"),
    json.dumps({"conn_type": "box", "extra": {"jwt_config_json": json.dumps(APP_CONFIG)}}),
])
def test_receiver_and_hook_parse_the_same_json_identically(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_BOX_DEFAULT", value)
    parsed = BoxConnection.from_connection(ConnectionFields.from_environment("box_default"))

    assert BoxHook().conn_settings == parsed

    client = box_client(value)
    urls = client.network_session.base_urls
    assert (urls.base_url, urls.upload_url, urls.oauth_2_url) == (parsed.base_url, parsed.upload_url, parsed.oauth_url)
    assert client.network_session.network_client.requests_session.verify == parsed.http.verify
    assert client.auth.config.user_id == parsed.user_id


def test_config_json_user_id_and_default_urls() -> None:
    value = json.dumps({"conn_type": "box", "extra": {"jwt_config_json": json.dumps(APP_CONFIG)}})
    parsed = BoxConnection.from_connection(ConnectionFields.from_value("box_default", value))

    assert (parsed.auth_mode, parsed.client_id, parsed.user_id, parsed.enterprise_id) == ("jwt", "cid", "222", "111")
    assert (parsed.upload_url, parsed.oauth_url) == (DEFAULT_UPLOAD_URL, DEFAULT_OAUTH_URL)


def test_an_incomplete_connection_is_refused_by_both() -> None:
    value = json.dumps({"conn_type": "box", "extra": {"auth_mode": "ccg"}})
    with pytest.raises(BoxConfigError, match="no a client id"):
        BoxConnection.from_connection(ConnectionFields.from_value("box_default", value))
    with pytest.raises(SettingsError, match="no a client id"):
        box_client(value)
