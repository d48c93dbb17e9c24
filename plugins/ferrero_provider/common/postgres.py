"""The one reader of a PostgreSQL connection: ``psycopg2.connect`` keywords of a stored connection, built as
Airflow's ``PostgresHook.get_conn`` builds them (host, port, login, password, schema, then every extra except
the hook's own options), so the tasks, the receiver, ``tools/`` and the tests open the same database the same
way. Airflow-free: the tasks give it ``ConnectionFields.from_airflow``, the others ``from_environment``.

A URI-form connection keeps working: ``postgresql://user@/tracking?host=/socket/dir`` puts the socket folder
in the extra ``host``, which wins over the (empty) host, as it does in ``PostgresHook``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ferrero_provider.common.connection_fields import (
    ConnectionFields,
    ConnectionSettingsError,
    environment_variable,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

#: The tracking database's Airflow connection: its one definition (the tasks, ``include.ferrero.db``, the cockpit,
#: the receiver and ``tools/`` name it through this; no hook of ours reads it, the tasks use ``PostgresHook``).
TRACKING_DB_CONN_ID = "tracking_db"
TRACKING_DB_VARIABLE = environment_variable(TRACKING_DB_CONN_ID)

#: The extras ``PostgresHook`` reads itself and never hands to libpq (its ``ignored_extra_options``).
HOOK_ONLY_EXTRAS = frozenset({
    "iam", "redshift", "redshift-serverless", "cursor", "cluster-identifier", "workgroup-name", "aws_conn_id",
    "sqlalchemy_scheme", "sqlalchemy_query", "azure_conn_id",
})
POSTGRES_TYPES = ("postgres", "postgresql")


def libpq_kwargs(fields: ConnectionFields, *, name: str | None = None) -> dict[str, Any]:
    """``psycopg2.connect(**kwargs)`` keywords of a postgres connection; blank values are left out.

    :param name: how the error names the connection (default ``connection <conn_id>``).
    """
    if fields.conn_type not in (None, *POSTGRES_TYPES):
        name = name or f"connection {fields.conn_id}"
        raise ConnectionSettingsError(f"{name} must be a postgres connection (JSON or postgres:// URI)")
    kwargs: dict[str, Any] = {"host": fields.host, "port": fields.port, "user": fields.login,
                              "password": fields.password, "dbname": fields.schema}
    kwargs.update({key: value for key, value in fields.extra.items() if key not in HOOK_ONLY_EXTRAS})
    return {key: value for key, value in kwargs.items() if value not in (None, "")}


def libpq_kwargs_from_environment(conn_id: str = TRACKING_DB_CONN_ID,
                                  env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The keywords of ``AIRFLOW_CONN_<CONN_ID>`` (Airflow's JSON or URI form)."""
    return libpq_kwargs(ConnectionFields.from_environment(conn_id, env), name=environment_variable(conn_id))


def libpq_kwargs_from_value(value: str, conn_id: str = TRACKING_DB_CONN_ID) -> dict[str, Any]:
    """The keywords of one stored value (Airflow's JSON or URI form), e.g. a ``.env`` line's."""
    name = environment_variable(conn_id)
    return libpq_kwargs(ConnectionFields.from_value(conn_id, value, name=name), name=name)
