"""Project-wide fixtures: a throwaway PostgreSQL of the suite's own, fresh tracking databases, Airflow's
metadata DB, and the sandbox servers.

The embedded server (the ``pgserver`` wheel) starts before Airflow is imported, because Airflow reads its
settings at import time. Nothing here touches ``.local/`` of a running ``make up``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.run_dir import run_dir

ROOT = Path(__file__).resolve().parents[1]
RUN_DIR = run_dir()  # made here, before xdist starts its workers: they inherit it (tests/run_dir.py)
#: This process's own: its PostgreSQL, Airflow home and temporary folders (each xdist worker has its own).
_SCRATCH = Path(tempfile.mkdtemp(prefix="content-scaling-tests-"))


def _start_postgres() -> str:
    import logging

    from tools import localpg

    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs from atexit, after pytest closed streams

    socket = localpg.start(_SCRATCH / "pgdata")
    atexit.register(_stop_postgres)
    return socket


def _stop_postgres() -> None:
    """Stop this process's PostgreSQL and remove its scratch folder (at exit, and when pytest unconfigures: an
    xdist worker ends without running ``atexit``)."""
    from tools import localpg

    localpg.stop(_SCRATCH / "pgdata")
    shutil.rmtree(_SCRATCH, ignore_errors=True)


PG_SOCKET = _start_postgres()

# Airflow settings for the suite, before anything imports airflow.
os.environ["AIRFLOW_HOME"] = str(_SCRATCH / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"


def _bootstrap_settings() -> None:
    """The bootstrap's Airflow settings (e.g. ``[core] max_map_length``), as every deployment has them."""
    from tools.bootstrap import airflow_env

    os.environ.update(airflow_env())


_bootstrap_settings()
os.environ.pop("ENV", None)


def _airflow_db_uri() -> str:
    from tools import localpg

    localpg.ensure_database(localpg.dsn(PG_SOCKET, "postgres"), "airflow")
    return localpg.dsn(PG_SOCKET, "airflow").replace("postgresql://", "postgresql+psycopg2://", 1)


os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = _airflow_db_uri()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    _stop_postgres()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Temporary folders inside this session's scratch folder, unless ``--basetemp`` says otherwise. Under
    ``/tmp/pytest-of-root`` (pytest's default) every pytest session that starts takes the group and others'
    access to that folder away again, and PostgreSQL, which runs as the ``pgserver`` user, loses its data folder
    in the middle of a test (a stack's database lives in its ``tmp_path``)."""
    if config.option.basetemp is None:
        config.option.basetemp = str(_SCRATCH / "basetemp")


#: Markers (registered in pyproject.toml) that follow from the fixtures a test takes, so a new test is marked
#: without thinking about it: the running product or an Airflow api-server is `stack`; a seeded sandbox for
#: the DAGs is `e2e`. `make test-fast` leaves both out, and what is marked `slow` by hand.
MARKERS_BY_FIXTURE = {"stack": "stack", "celery": "stack", "airflow_api": "stack",
                      "seeded_sandbox": "e2e", "product_env": "e2e"}


#: The order in which `make test`'s workers take the modules (``--no-loadscope-reorder``): those that start the
#: product first, then those that run the DAGs, then the slow ones, then the rest (seconds each), so that no
#: worker is left with a long module at the end while the other one idles.
HEAVIEST_FIRST = ("stack", "e2e", "slow")

#: Modules whose tests `make test`'s workers may take one by one (no module-scoped fixture shared between them, or
#: one per parameter: a DAM variant's sandbox); every other module goes to one worker whole, so its stack or
#: sandbox starts once.
ONE_BY_ONE = {"tests/dags/test_variants_e2e.py", "tests/tools/test_verify.py"}

#: Seconds a test on a stack may take, starting the stack included.
STACK_START_TIMEOUT = 900


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for marker in {MARKERS_BY_FIXTURE[name] for name in getattr(item, "fixturenames", ())
                       if name in MARKERS_BY_FIXTURE}:
            item.add_marker(marker)
        # The first test on a stack waits for it to start (minutes on a busy machine), inside its time-out.
        if {"stack", "celery"} & set(getattr(item, "fixturenames", ())):
            marker = item.get_closest_marker("timeout")
            if marker is None or (marker.args and marker.args[0] < STACK_START_TIMEOUT):
                item.add_marker(pytest.mark.timeout(STACK_START_TIMEOUT))
    weight: dict[Path, int] = {}
    for item in items:
        heaviest = next((n for n, name in enumerate(HEAVIEST_FIRST) if item.get_closest_marker(name)),
                        len(HEAVIEST_FIRST))
        weight[item.path] = min(weight.get(item.path, heaviest), heaviest)
    items.sort(key=lambda item: weight[item.path])  # stable: a module's tests keep their order


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`make test`'s scheduler (``--dist loadscope``): a module is one unit of work, except those ``ONE_BY_ONE``.
    (xdist's ``loadgroup`` cannot be used: it renames the tests, which pytest 9 no longer lets it do.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return nodeid if module in ONE_BY_ONE else module

    return ModuleScheduling(config, log)


@pytest.fixture(scope="session")
def pg_socket() -> str:
    """Socket folder of the suite's PostgreSQL."""
    return PG_SOCKET


@pytest.fixture(scope="session")
def tracking_template(pg_socket: str) -> str:
    """Name of a tracking database migrated once per session; ``tracking_dsn`` copies it (never connect to it:
    PostgreSQL copies a template only while nobody is connected)."""
    from include.ferrero.db.tracking import TrackingDb
    from tools import localpg

    name = f"tracking_template_{uuid.uuid4().hex[:8]}"
    localpg.ensure_database(localpg.dsn(pg_socket, "postgres"), name)
    db = TrackingDb.from_dsn(localpg.dsn(pg_socket, name))
    db.migrate()
    db.close()
    return name


@pytest.fixture
def tracking_dsn(pg_socket: str, tracking_template: str):
    """A fresh, migrated tracking database for one test (a copy of the session's template), dropped afterwards."""
    from tools import localpg

    name = f"tracking_{uuid.uuid4().hex[:12]}"
    server = localpg.dsn(pg_socket, "postgres")
    localpg.ensure_database(server, name, template=tracking_template)
    yield localpg.dsn(pg_socket, name)
    localpg.drop_database(server, name)


@pytest.fixture
def tracking_db(tracking_dsn: str):
    """A ``TrackingDb`` on a fresh database."""
    from include.ferrero.db.tracking import TrackingDb

    db = TrackingDb.from_dsn(tracking_dsn)
    yield db
    db.close()


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's metadata DB, created once for the session (on the suite's PostgreSQL)."""
    from airflow.utils import db

    db.resetdb()
    yield


# The sandbox fixtures (`sandbox`: one sandbox per session; `sandbox_factory`: extra ones) for every test folder.
from tests.sandbox.conftest import sandbox, sandbox_factory  # noqa: E402, F401
