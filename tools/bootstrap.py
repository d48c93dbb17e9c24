"""Apply config/bootstrap.yaml: migrations of both databases, pools, connections, users; idempotent.

``python -m tools.bootstrap`` runs every step with the Airflow environment it is given: ``make up`` calls it,
so do the compose init service (airflow-init) and the tests. ``airflow_env()`` gives the Airflow settings
every component gets. Nothing here imports Airflow at module level: callers set Airflow's environment first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from ferrero_provider.common.postgres import TRACKING_DB_VARIABLE

ROOT = Path(__file__).resolve().parents[1]
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
FAB_ROLES = {"viewer": "Viewer", "user": "User", "op": "Op", "admin": "Admin"}


def airflow_bin() -> str:
    """The ``airflow`` beside this Python (a venv), else the one on PATH (Airflow's image)."""
    beside = Path(sys.executable).parent / "airflow"
    return str(beside) if beside.is_file() else shutil.which("airflow") or "airflow"


def definition_path() -> Path:
    folder = os.environ.get("CONTENT_SCALING_CONFIG_DIR")
    path = Path(folder) / "bootstrap.yaml" if folder else None
    return path if path and path.is_file() else ROOT / "config" / "bootstrap.yaml"


def load_definition() -> dict[str, Any]:
    return yaml.safe_load(definition_path().read_text(encoding="utf-8"))


def airflow_env(definition: dict[str, Any] | None = None) -> dict[str, str]:
    """The product's Airflow settings as environment variables, with the users for SimpleAuthManager."""
    definition = definition or load_definition()
    env = {f"AIRFLOW__{section.upper()}__{key.upper()}": str(value)
           for section, values in definition["airflow_settings"].items() for key, value in values.items()}
    env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = ",".join(
        f"{name}:{user['role']}" for name, user in definition["users"].items())
    return env


def pool_slots() -> dict[str, int]:
    from include.ferrero.config import load_settings

    pools = load_settings().pools
    return {"dam_api": pools.dam_api, "box_api": pools.box_api}


def migrate_tracking(conn_value: str) -> list[str]:
    import psycopg2

    from ferrero_provider.common.postgres import libpq_kwargs_from_value
    from include.ferrero.db.migrate import migrate

    conn = psycopg2.connect(**libpq_kwargs_from_value(conn_value))
    try:
        return migrate(conn)
    finally:
        conn.close()


def migrate_airflow() -> None:
    result = subprocess.run([airflow_bin(), "db", "migrate"], cwd=ROOT,
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-3000:])
        raise SystemExit(f"bootstrap: `airflow db migrate` failed (exit {result.returncode})")


def ensure_pools(definition: dict[str, Any], slots: dict[str, int]) -> None:
    """Create or resize every pool (before the scheduler starts: a task waits for a missing pool forever)."""
    from airflow.models.pool import Pool

    for name, description in definition["pools"].items():
        Pool.create_or_update_pool(name=name, slots=slots[name], description=description, include_deferred=False)


def import_connections(definition: dict[str, Any], env: dict[str, str]) -> list[str]:
    """Store the product's connections found in ``env`` in Airflow's database, replacing those ids."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    stored = []
    with create_session() as session:
        for conn_id in definition["connections"]:
            value = env.get(f"AIRFLOW_CONN_{conn_id.upper()}", "").strip()
            if not value:
                continue
            conn = Connection.from_json(value, conn_id=conn_id) if value.startswith("{") else Connection(
                conn_id=conn_id, uri=value)
            session.execute(delete(Connection).where(Connection.conn_id == conn_id))
            session.add(conn)
            stored.append(conn_id)
    return stored


def ensure_fab_users(definition: dict[str, Any], env: dict[str, str]) -> list[str]:
    """With the FAB auth manager: create each missing user with its role and the password from ``env``."""
    airflow = airflow_bin()
    listed = subprocess.run([airflow, "users", "list", "-o", "json"], capture_output=True, text=True, check=True)
    existing = {user["username"] for user in _json_list(listed.stdout)}
    created = []
    for name, user in definition["users"].items():
        if name in existing:
            continue
        password = env.get(user["password_env"])
        if not password:
            raise SystemExit(f"bootstrap: set {user['password_env']} (the password of the Airflow user {name})")
        subprocess.run([airflow, "users", "create", "--username", name, "--password", password,
                        "--role", FAB_ROLES[user["role"]], "--firstname", name, "--lastname", "service",
                        "--email", f"{name}@localhost"], check=True, capture_output=True)
        created.append(name)
    return created


def _json_list(stdout: str) -> list[dict[str, Any]]:
    """The JSON array a CLI printed, past any log line Airflow wrote to stdout before it (seen in the image:
    a library's deprecation warning)."""
    start = next((i for i, line in enumerate(stdout.splitlines(keepends=True)) if line.lstrip().startswith("[")),
                 None)
    if start is None:
        return []
    return json.JSONDecoder().raw_decode("".join(stdout.splitlines(keepends=True)[start:]).lstrip())[0]


def apply(env: dict[str, str] | None = None, slots: dict[str, int] | None = None) -> list[str]:
    """Every step, in order; returns one line per step for the log."""
    env = dict(os.environ if env is None else env)
    definition = load_definition()
    done = []
    for database in definition["migrate"]:
        if database == "airflow":
            migrate_airflow()
            done.append("airflow database migrated")
        elif env.get(TRACKING_DB_VARIABLE):
            applied = migrate_tracking(env[TRACKING_DB_VARIABLE])
            done.append(f"tracking database: {'applied ' + ', '.join(applied) if applied else 'up to date'}")
    ensure_pools(definition, slots or pool_slots())
    done.append("pools " + ", ".join(definition["pools"]))
    stored = import_connections(definition, env)
    done.append(f"connections stored: {', '.join(stored) or 'none given'}")
    if "fab" in env.get("AIRFLOW__CORE__AUTH_MANAGER", "").lower():
        done.append(f"FAB users created: {', '.join(ensure_fab_users(definition, env)) or 'none missing'}")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bootstrap", description=__doc__.splitlines()[0])
    parser.add_argument("--pool-slots", type=int, help="every pool this size (tests) instead of config.yaml's")
    args = parser.parse_args(argv)
    definition = load_definition()
    os.environ.update({k: v for k, v in airflow_env(definition).items() if k not in os.environ})
    slots = {name: args.pool_slots for name in definition["pools"]} if args.pool_slots else None
    for line in apply(slots=slots):
        print(f"Bootstrap       {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
