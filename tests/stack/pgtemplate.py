"""A stack's PostgreSQL, migrated once per test session: ``tools.stack up`` in a test starts on a copy of a data
folder whose ``airflow`` and ``tracking`` databases are migrated already (``airflow db migrate`` on an empty
database takes a minute on a busy machine; on a migrated one, the bootstrap finds nothing to do).

The copy is taken while the template's server is stopped, with ``cp -a`` (the files belong to pgserver's user).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from tools import localpg

ROOT = Path(__file__).resolve().parents[2]
_lock = threading.Lock()
_template: Path | None = None


def _migrated_template() -> Path:
    global _template
    with _lock:
        if _template is None:
            folder = Path(tempfile.mkdtemp(prefix="content-scaling-pg-"))
            pgdata = folder / "pgdata"
            socket = localpg.start(pgdata)
            try:
                server = localpg.dsn(socket, "postgres")
                for name in ("airflow", "tracking"):
                    localpg.ensure_database(server, name)
                airflow_db = localpg.dsn(socket, "airflow").replace("postgresql://", "postgresql+psycopg2://", 1)
                env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
                env.update(AIRFLOW_HOME=str(folder / "airflow"), AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=airflow_db,
                           PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "plugins")]))
                subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env=env, cwd=ROOT,
                               check=True, capture_output=True, timeout=600)
                from include.ferrero.db.tracking import TrackingDb

                tracking = TrackingDb.from_dsn(localpg.dsn(socket, "tracking"))
                tracking.migrate()
                tracking.close()
            finally:
                localpg.stop(pgdata)
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            _template = pgdata
        return _template


def migrated_copy(target: Path) -> Path:
    """``target`` (absent) made a copy of the migrated data folder; returns ``target``."""
    subprocess.run(["cp", "-a", str(_migrated_template()), str(target)], check=True)
    return target
