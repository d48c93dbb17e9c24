"""A stack's PostgreSQL, migrated once per test run: ``tools.stack up`` in a test starts on a copy of a data
folder whose ``airflow`` and ``tracking`` databases are migrated already (``airflow db migrate`` on an empty
database takes a minute on a busy machine; on a migrated one, the bootstrap finds nothing to do). Migrated by one
process of the run, copied by all (``tests/run_dir.py``).

The copy is taken while the template's server is stopped, with ``cp -a`` (the files belong to pgserver's user).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.run_dir import built_once
from tools import localpg

ROOT = Path(__file__).resolve().parents[2]


def _migrate(pgdata: Path) -> None:
    socket = localpg.start(pgdata)
    try:
        server = localpg.dsn(socket, "postgres")
        for name in ("airflow", "tracking"):
            localpg.ensure_database(server, name)
        airflow_db = localpg.dsn(socket, "airflow").replace("postgresql://", "postgresql+psycopg2://", 1)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(AIRFLOW_HOME=str(pgdata.parent / "pgtemplate-airflow"), AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=airflow_db,
                   PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "plugins")]))
        subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env=env, cwd=ROOT,
                       check=True, capture_output=True, timeout=600)
        from include.ferrero.db.tracking import TrackingDb

        tracking = TrackingDb.from_dsn(localpg.dsn(socket, "tracking"))
        tracking.migrate()
        tracking.close()
    finally:
        localpg.stop(pgdata)


def migrated_copy(target: Path) -> Path:
    """``target`` (absent) made a copy of the migrated data folder; returns ``target``."""
    subprocess.run(["cp", "-a", str(built_once("migrated-pgdata", _migrate)), str(target)], check=True)
    return target
