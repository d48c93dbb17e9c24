"""The one PostgreSQL connection reader (ferrero_provider/common/postgres.py): the keywords PostgresHook would
give libpq, from the JSON form, the URI form (socket folder in ``?host=``) and Airflow's own Connection, and a
real connection opened with them."""

from __future__ import annotations

import json
from typing import Any

import psycopg2
import pytest

from ferrero_provider.common.connection_fields import ConnectionFields, ConnectionSettingsError
from ferrero_provider.common.postgres import (
    HOOK_ONLY_EXTRAS,
    libpq_kwargs,
    libpq_kwargs_from_environment,
    libpq_kwargs_from_value,
)
from receiver.settings import tracking_db_kwargs
from tools.localpg import conn_fields

AS_JSON = json.dumps({"conn_type": "postgres", "host": "db.example.com", "port": 6432, "login": "svc",
                      "password": "p/w", "schema": "tracking",
                      "extra": {"sslmode": "verify-full", "sslrootcert": "/etc/ca.pem", "options": "-c x=1",
                                "keepalives_idle": 30, "cursor": "dictcursor", "iam": False}})


def test_every_extra_but_the_hooks_own_goes_to_libpq() -> None:
    assert libpq_kwargs_from_value(AS_JSON) == {
        "host": "db.example.com", "port": 6432, "user": "svc", "password": "p/w", "dbname": "tracking",
        "sslmode": "verify-full", "sslrootcert": "/etc/ca.pem", "options": "-c x=1", "keepalives_idle": 30}
    assert {"cursor", "iam", "sqlalchemy_query", "aws_conn_id"} <= HOOK_ONLY_EXTRAS


def test_uri_form_with_a_socket_folder() -> None:
    kwargs = libpq_kwargs_from_value("postgresql://postgres@/tracking?host=/run/pg%20dir&sslmode=disable")
    assert kwargs == {"host": "/run/pg dir", "user": "postgres", "dbname": "tracking", "sslmode": "disable"}


def test_airflows_connection_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.models.connection import Connection

    for value in (AS_JSON, "postgresql://u:p%40ss@/tracking?host=/run/pg&connect_timeout=5"):
        conn = Connection.from_json(value, conn_id="tracking_db") if value.startswith("{") else Connection(
            conn_id="tracking_db", uri=value)
        from_airflow = libpq_kwargs(ConnectionFields.from_airflow(conn))
        monkeypatch.setenv("AIRFLOW_CONN_TRACKING_DB", value)
        assert from_airflow == libpq_kwargs_from_environment() == tracking_db_kwargs(value)


@pytest.mark.parametrize(("value", "sentence"), [
    ("mysql://u@h/db", "AIRFLOW_CONN_TRACKING_DB must be a postgres connection (JSON or postgres:// URI)"),
    ('{"conn_type": "http", "host": "h"}',
     "AIRFLOW_CONN_TRACKING_DB must be a postgres connection (JSON or postgres:// URI)"),
    ('{"conn_type": "postgres", "port": "x"}', "AIRFLOW_CONN_TRACKING_DB has a port that is not a number: 'x'"),
])
def test_bad_connections_say_what_is_wrong(value: str, sentence: str) -> None:
    with pytest.raises(ConnectionSettingsError) as caught:
        libpq_kwargs_from_value(value)
    assert str(caught.value) == sentence


def test_the_keywords_open_the_database(tracking_dsn: str) -> None:
    as_json = json.dumps({"conn_type": "postgres", **conn_fields(tracking_dsn),
                          "extra": {"application_name": "parser-test", "connect_timeout": "5"}})
    for value in (as_json, tracking_dsn):
        kwargs: dict[str, Any] = libpq_kwargs_from_value(value)
        with psycopg2.connect(**kwargs) as conn, conn.cursor() as cur:
            cur.execute("SELECT current_database()")
            assert cur.fetchone()[0] == kwargs["dbname"]
        conn.close()


def test_tracking_db_from_airflow_opens_the_connection(tracking_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from include.ferrero.db.tracking import TrackingDb

    monkeypatch.setenv("AIRFLOW_CONN_TRACKING_DB", tracking_dsn)  # URI form, socket folder in ?host=
    db = TrackingDb.from_airflow()
    with db.conn.cursor() as cur:
        cur.execute("SELECT current_database()")
        assert cur.fetchone()[0] == libpq_kwargs_from_value(tracking_dsn)["dbname"]
    db.close()
