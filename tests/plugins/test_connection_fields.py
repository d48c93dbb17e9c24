"""The one reader of stored connections: Airflow's JSON and URI forms, and HttpHook's TLS/proxy extras."""

from __future__ import annotations

import pytest
import requests

from ferrero_provider.common.connection_fields import ConnectionFields, ConnectionSettingsError, HttpOptions


def test_json_form_with_extras_as_text() -> None:
    conn = ConnectionFields.from_value(
        "otmm_default", '{"conn_type": "otmm", "host": "https://dam/otmmapi/v6", "login": "u", "password": "s3cret",'
        ' "port": "8443", "extra": "{\\"auth_mode\\": \\"session\\"}"}')
    assert (conn.conn_type, conn.host, conn.login, conn.password, conn.port) == (
        "otmm", "https://dam/otmmapi/v6", "u", "s3cret", 8443)
    assert conn.text("auth_mode") == "session"
    assert "s3cret" not in repr(conn)


def test_uri_form_as_airflow_reads_it() -> None:
    conn = ConnectionFields.from_value("tracking_db", "postgresql://us%40er:p%2Fw@/tracking?host=/run/pg&sslmode=require")
    assert (conn.conn_type, conn.host, conn.login, conn.password, conn.schema) == (
        "postgres", None, "us@er", "p/w", "tracking")
    assert conn.extra == {"host": "/run/pg", "sslmode": "require"}
    extra_json = ConnectionFields.from_value("x", 'http://h:81/?__extra__=%7B%22verify%22%3A+false%7D')
    assert (extra_json.port, extra_json.extra) == (81, {"verify": False})


@pytest.mark.parametrize(("value", "sentence"), [
    ("", "AIRFLOW_CONN_BOX_DEFAULT must be set (the box_default connection)"),
    ("{nope", "AIRFLOW_CONN_BOX_DEFAULT is not valid JSON (Expecting property name enclosed in double quotes)"),
    ('{"extra": "[1]"}', "AIRFLOW_CONN_BOX_DEFAULT must have a JSON object as its extras"),
    ("just-text", "AIRFLOW_CONN_BOX_DEFAULT must be Airflow's JSON form or a URI such as scheme://host"),
])
def test_unusable_values_get_one_sentence(value: str, sentence: str) -> None:
    with pytest.raises(ConnectionSettingsError) as caught:
        ConnectionFields.from_environment("box_default", {"AIRFLOW_CONN_BOX_DEFAULT": value})
    assert str(caught.value) == sentence


def test_http_options_as_http_hook_reads_them() -> None:
    options = HttpOptions.from_extra({"verify_ssl": "/etc/ca.pem", "cert": ["/c.pem", "/k.pem"],
                                      "proxy": "http://proxy:3128", "trust_env": "false"})
    session = options.apply(requests.Session())
    assert (session.verify, session.cert, session.trust_env) == ("/etc/ca.pem", ("/c.pem", "/k.pem"), False)
    assert session.proxies == {"http": "http://proxy:3128", "https": "http://proxy:3128"}
    assert HttpOptions.from_extra({"verify": "false"}).verify is False
    assert HttpOptions.from_extra({}) == HttpOptions()
