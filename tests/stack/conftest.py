"""The whole product running as `make up` runs it, started by ``tools.stack up`` itself in a folder of its own
(``STACK_DIR``) on free ports: PostgreSQL, Airflow's api-server, scheduler, dag-processor and triggerer
(LocalExecutor, or CeleryExecutor with Redis and workers), the receiver, and the seeded sandbox.

Runs are started and repaired through the REST API, as operators and the receiver do, and executed by the
real scheduler: the one place where clearing a task instance with its downstream is tested as it happens.

``stack`` is a stack of the module's own; a module that needs other settings starts its own with
``running_stack(...)``. What every stack would build first is made once per session and copied: the demo data
(``tests/seeded.py``) and the migrated databases (``tests/stack/pgtemplate.py``)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
import yaml

from sandbox.connections import product_connections
from sandbox.settings import SandboxSettings
from tests.airflow_api import AirflowApi, free_port
from tests.receiver.conftest import RunningReceiver, tracking_conn_json
from tests.seeded import seeded_copy
from tests.stack.pgtemplate import migrated_copy
from tools import localpg
from tools.airflow_env import COMPONENT_PORTS
from tools.airflow_rest import AirflowRest
from tools.processes import group_alive, stop_groups

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PIPELINE_DAGS = ("a1_to_a2", "a2_to_a3")
#: The settings every test stack gets beside its own ports and folder: fast scheduling, DAGs paused until a test
#: unpauses them, retries quick enough for a test.
TEST_SETTINGS = {
    "AIRFLOW__CORE__PARALLELISM": "4",
    "AIRFLOW__API__WORKERS": "1",
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",  # only the pipeline DAGs run (unpaused below)
    "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
    "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",  # as `make up`: the UI's Test button
    "CONTENT_SCALING_TASK_RETRIES": "1",
    "CONTENT_SCALING_TASK_RETRY_DELAY_SECONDS": "1",
    "RECEIVER_RETRY_INITIAL_SECONDS": "0.2",
    "RECEIVER_RETRY_MAX_SECONDS": "1",
    "SANDBOX_WEBHOOK_RETRY_SCALE": "0.001",
    "SANDBOX_OTMM_IMPORT_DELAY_SECONDS": "0.05",
}


class StackProcess:
    """A component ``tools.stack`` started (its PID file in ``$STACK_DIR/run``), with Popen's ``pid``/``wait``."""

    def __init__(self, run_dir: Path, name: str) -> None:
        self.name = name
        self.pid = int((run_dir / f"{name}.pid").read_text())

    def poll(self) -> int | None:
        return None if group_alive(self.pid) else 0

    def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while group_alive(self.pid):
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.name, timeout)
            time.sleep(0.2)
        return 0

    def stop(self) -> None:
        stop_groups([self.pid])


class StackApi(AirflowApi):
    """The stack's api-server: ``stop()`` ends its process group; ``start()`` starts it again
    (``tools.stack start api-server``: as ``make up`` starts it, without re-applying the bootstrap)."""

    def __init__(self, stack_dir: Path, port: int, env: dict[str, str], passwords: dict[str, str],
                 up_env: dict[str, str]) -> None:
        super().__init__(stack_dir, port, env, passwords)
        self.log_path = stack_dir / "logs" / "api-server.log"
        self.up_env = up_env

    def start(self, timeout: float = 420) -> StackApi:
        _tools_stack("start", self.up_env, timeout, "api-server")
        return self

    def stop(self, timeout: float = 15) -> None:
        with contextlib.suppress(FileNotFoundError):
            StackProcess(Path(self.up_env["STACK_DIR"]) / "run", "api-server").stop()


@dataclass
class StackSandbox:
    """The sandbox ``make up`` started, with the attributes of ``sandbox.testing.RunningSandbox`` tests read."""

    data_dir: Path
    env: dict[str, str]
    endpoints: dict[str, Any] = field(default_factory=dict)
    settings: SandboxSettings | None = None

    def __post_init__(self) -> None:
        self.endpoints = json.loads((self.data_dir / "endpoints.json").read_text())
        self.settings = SandboxSettings.from_env(self.env, persist=False)


class Stack(AirflowRest):
    """The running product: its REST API as admin (``call``, ``trigger``, ``wait_for_run``, …), ``api`` the
    api-server itself, ``sandbox`` the DAM/Box/mail sandbox, ``workers`` the Celery workers by name
    (``celery-worker-1``, …)."""

    def __init__(self, api: StackApi, sandbox: StackSandbox, receiver: RunningReceiver, tracking_dsn: str,
                 processes: list[StackProcess]) -> None:
        super().__init__(api.url, "admin", api.passwords["admin"])
        self.api, self.sandbox, self.receiver, self.tracking_dsn = api, sandbox, receiver, tracking_dsn
        self.processes = processes
        self.workers: dict[str, StackProcess] = {}
        self.workdir = Path()

    def received(self, kind: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.sandbox.endpoints['sinks_url']}/__sandbox__/{kind}", timeout=5).json()
        return answer if isinstance(answer, list) else next(v for v in answer.values() if isinstance(v, list))


def _tools_stack(command: str, env: dict[str, str], timeout: float, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "tools.stack", command, *args], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        logs = Path(env["STACK_DIR"]) / "logs"
        tails = "".join(f"\n--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
                        for log in sorted(logs.glob("*.log")))
        raise RuntimeError(f"tools.stack {command} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                           f"{result.stderr[-3000:]}{tails}")
    return result.stdout


def _test_config(workdir: Path, pool_slots: int | None = None) -> Path:
    """The product's config folder with retries that do not wait (a test's failures fail now); every Airflow
    pool ``pool_slots`` big when given."""
    config_dir = workdir / "config"
    shutil.copytree(ROOT / "config", config_dir)
    config = yaml.safe_load((config_dir / "config.yaml").read_text())
    config["retry"].update(initial_delay_seconds=0, max_delay_seconds=0)
    if pool_slots:
        config["pools"] = {name: pool_slots for name in config["pools"]}
    (config_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return config_dir


@contextlib.contextmanager
def running_stack(workdir: Path, pg_socket: str | None = None, celery_workers: int = 0,
                  pool_slots: int | None = None, **overrides: str) -> Iterator[Stack]:
    """``tools.stack up`` in ``workdir`` (its ``STACK_DIR``: PostgreSQL of its own, logs in ``logs/``) with the
    LocalExecutor, or ``celery_workers`` Celery workers and an embedded Redis; ``tools.stack down`` afterwards.
    ``overrides`` go to every component's environment (e.g. ``AIRFLOW_OUTAGE_TOLERANCE_SECONDS``,
    ``CONTENT_SCALING_TASK_RETRIES``, ``RECEIVER_RETRY_MAX_SECONDS``); every pool gets ``pool_slots`` when given
    (else config.yaml's sizes). ``pg_socket`` is not used (kept for
    callers of the earlier signature): a stack has its PostgreSQL, as ``make up`` has."""
    stack_dir = workdir.resolve()
    ports = {variable: str(free_port()) for component in COMPONENT_PORTS.values() for variable, _ in component}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "SANDBOX_", "BOX_", "RECEIVER_", "CONTENT_SCALING_", "EXECUTOR",
                                "WORKER", "REDIS_", "CELERY_", "EXTERNAL_POSTGRES"))}
    env.update({
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
        "STACK_DIR": str(stack_dir),
        **ports,
        "AIRFLOW_PORT": ports["AIRFLOW__API__PORT"],
        "CONTENT_SCALING_CONFIG_DIR": str(_test_config(stack_dir, pool_slots)),
        **TEST_SETTINGS,
    })
    if celery_workers:
        env.update(EXECUTOR="celery", WORKERS=str(celery_workers), WORKER_CONCURRENCY="2",
                   REDIS_PORT=str(free_port()))
    env.update(overrides)
    # what `up` would build first, made once per session: the demo data, the migrated databases
    seeded_copy(stack_dir / "sandbox")
    migrated_copy(stack_dir / "pgdata")
    try:
        _tools_stack("up", env, timeout=600)
        yield _attach(stack_dir, env)
    finally:
        _tools_stack("down", env, timeout=180)


def _attach(stack_dir: Path, up_env: dict[str, str]) -> Stack:
    """The handles of a stack ``tools.stack up`` started in ``stack_dir``."""
    socket = localpg.socket_dir(stack_dir / "pgdata")
    assert socket, "the stack's PostgreSQL is not running"
    tracking_dsn = localpg.dsn(socket, "tracking")
    sandbox_dir = stack_dir / "sandbox"
    connections = {**product_connections(sandbox_dir), "AIRFLOW_CONN_TRACKING_DB": tracking_conn_json(tracking_dsn)}
    passwords = json.loads((stack_dir / "secrets.json").read_text())["airflow_passwords"]
    port = int(up_env["AIRFLOW__API__PORT"])
    api = StackApi(stack_dir, port, {**up_env, **connections}, passwords, up_env)
    sandbox = StackSandbox(sandbox_dir, {**up_env, "SANDBOX_DATA_DIR": str(sandbox_dir)})
    receiver = RunningReceiver({**up_env, **connections, "AIRFLOW_API_URL": api.url,
                                "AIRFLOW_WEBHOOK_USER": "box_webhook",
                                "AIRFLOW_WEBHOOK_PASSWORD": passwords["box_webhook"]},
                               stack_dir / "logs" / "receiver.log")
    run_dir = stack_dir / "run"
    processes = [StackProcess(run_dir, pid.stem) for pid in sorted(run_dir.glob("*.pid"))]
    running = Stack(api, sandbox, receiver, tracking_dsn, processes)
    running.workers = {p.name: p for p in processes if p.name.startswith("celery-worker")}
    running.workdir = stack_dir
    for dag_id in PIPELINE_DAGS:
        running.set_paused(dag_id, False, timeout=120)
    return running


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of the module's own (tests change the demo campaigns, count every run, mail and webhook)."""
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running
