"""The bootstrap (config/bootstrap.yaml applied by tools/bootstrap.py) sets up both databases, the pools and the
connections, and applying it again changes nothing."""

from __future__ import annotations

import json
import os

import pytest

from tools import bootstrap, localpg


def test_settings_carry_the_product_needs() -> None:
    env = bootstrap.airflow_env()
    assert int(env["AIRFLOW__CORE__MAX_MAP_LENGTH"]) >= 5000
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin,box_webhook:user"
    assert os.environ["AIRFLOW__CORE__MAX_MAP_LENGTH"] == env["AIRFLOW__CORE__MAX_MAP_LENGTH"], "tests apply it too"


@pytest.mark.slow
def test_applying_twice_is_idempotent(airflow_db, tracking_dsn: str) -> None:
    from airflow.models.connection import Connection
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    from include.ferrero.config import load_settings

    box = {"conn_type": "box", "login": "client", "password": "secret", "extra": {"auth_mode": "ccg"}}
    env = {**os.environ, "AIRFLOW_CONN_TRACKING_DB": json.dumps({"conn_type": "postgres",
                                                                 **localpg.conn_fields(tracking_dsn)}),
           "AIRFLOW_CONN_BOX_DEFAULT": json.dumps(box)}
    first = bootstrap.apply(env)
    second = bootstrap.apply(env)
    assert first == second and "tracking database: up to date" in second
    assert "connections stored: box_default" in second
    pools = load_settings().pools
    for name, description in bootstrap.load_definition()["pools"].items():
        pool = Pool.get_pool(name)
        assert (pool.slots, pool.description) == (getattr(pools, name), description)
    with create_session() as session:
        count = session.scalar(select(func.count()).select_from(Connection).where(Connection.conn_id == "box_default"))
        stored = session.scalar(select(Connection).where(Connection.conn_id == "box_default"))
        assert count == 1 and stored.login == "client" and stored.password == "secret"
