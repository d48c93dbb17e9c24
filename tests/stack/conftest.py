"""The whole product running as `make up` runs it, for a test module: Airflow's api-server, scheduler and
dag-processor (LocalExecutor, or CeleryExecutor with workers) on a metadata database of their own, the receiver, and a seeded sandbox.

Runs are started and repaired through the REST API, as operators and the receiver do, and executed by the
real scheduler: the one place where clearing a task instance with its downstream is tested as it happens."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
import yaml

from sandbox.connections import product_connections
from sandbox.testing import start_sandbox
from tests.airflow_api import AirflowApi, free_port
from tests.receiver.conftest import RunningReceiver, tracking_conn_json
from tools import bootstrap, localpg
from tools.airflow_env import outage_settings

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PIPELINE_DAGS = ("a1_to_a2", "a2_to_a3")


class Stack:
    """The running product; ``api`` is the Airflow REST API, ``sandbox`` the DAM/Box/mail sandbox."""

    def __init__(self, api: AirflowApi, sandbox: Any, receiver: RunningReceiver, tracking_dsn: str,
                 processes: list[subprocess.Popen[bytes]]) -> None:
        self.api, self.sandbox, self.receiver, self.tracking_dsn = api, sandbox, receiver, tracking_dsn
        self.processes = processes
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.workdir = Path()

    def call(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        response = requests.request(method, f"{self.api.url}/api/v2/{path.lstrip('/')}", timeout=30,
                                    headers={"Authorization": f"Bearer {self.api.token('admin')}", **(headers or {})},
                                    **kwargs)
        response.raise_for_status()
        return response.json()

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        return self.call("POST", f"dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, states: tuple[str, ...] = ("success", "failed"),
                     timeout: float = 240) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                state = self.call("GET", f"dags/{dag_id}/dagRuns/{run_id}")["state"]
            except requests.RequestException:  # a slow answer on a loaded machine: ask again
                state = None
            if state in states:
                return state
            time.sleep(1)
        raise AssertionError(f"run {run_id} of {dag_id} not in {states} after {timeout} s")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 500})[
            "task_instances"]

    def received(self, kind: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.sandbox.endpoints['sinks_url']}/__sandbox__/{kind}", timeout=5).json()
        return answer if isinstance(answer, list) else next(v for v in answer.values() if isinstance(v, list))


def _spawn(name: str, cmd: list[str], env: dict[str, str], workdir: Path) -> subprocess.Popen[bytes]:
    with (workdir / f"{name}.log").open("ab") as log:
        return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    pgid = os.getpgid(process.pid)
    os.killpg(pgid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(pgid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def running_stack(workdir: Path, pg_socket: str, celery_workers: int = 0, pool_slots: int = 4,
                  **overrides: str) -> Iterator[Stack]:
    """The product on databases of its own, bootstrapped as ``make up`` does it (tools/bootstrap.py): with
    the LocalExecutor, or with ``celery_workers`` Celery workers and an embedded Redis (tools/executor.py).
    ``overrides`` go to every component's environment (e.g. ``AIRFLOW_OUTAGE_TOLERANCE_SECONDS``,
    ``CONTENT_SCALING_TASK_RETRIES``, ``RECEIVER_RETRY_MAX_SECONDS``); every pool gets ``pool_slots``."""
    from tools import executor

    server = localpg.dsn(pg_socket, "postgres")
    names = {kind: f"stack_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("airflow", "tracking")}
    for name in names.values():
        localpg.ensure_database(server, name)
    tracking_dsn = localpg.dsn(pg_socket, names["tracking"])

    sandbox = start_sandbox(workdir / "sandbox", webhook_retry_scale=0.001, otmm_import_delay_seconds=0.05)
    subprocess.run([sys.executable, "-m", "sandbox", "seed"], env=sandbox.env, cwd=ROOT, check=True,
                   capture_output=True)

    config_dir = workdir / "config"
    shutil.copytree(ROOT / "config", config_dir)
    config = yaml.safe_load((config_dir / "config.yaml").read_text())
    config["retry"].update(initial_delay_seconds=0, max_delay_seconds=0)
    (config_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    port = free_port()
    passwords = {"admin": secrets.token_urlsafe(12), "box_webhook": secrets.token_urlsafe(12)}
    (workdir / "passwords.json").write_text(json.dumps(passwords))
    airflow_db = localpg.dsn(pg_socket, names["airflow"]).replace("postgresql://", "postgresql+psycopg2://", 1)
    runner = executor.Executor("celery" if celery_workers else "local", celery_workers, 2, None, free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SANDBOX_", "BOX_"))}
    env.update(product_connections(sandbox.data_dir))
    env.update(bootstrap.airflow_env())
    env.update(executor.airflow_env(runner, airflow_db))
    env.update({
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
        "AIRFLOW_HOME": str(workdir / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",  # only the DAGs a test unpauses run
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": airflow_db,
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(workdir / "passwords.json"),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        # ports of their own, beside `make up` and other test stacks
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",  # as `make up`: the UI's Test button
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(workdir / "logs"),
        "AIRFLOW_CONN_TRACKING_DB": tracking_conn_json(tracking_dsn),
        "AIRFLOW_API_URL": f"http://127.0.0.1:{port}",
        "CONTENT_SCALING_CONFIG_DIR": str(config_dir),
        "CONTENT_SCALING_TEMP_DIR": str(workdir / "transfers"),
        "CONTENT_SCALING_TASK_RETRIES": "1",
        "CONTENT_SCALING_TASK_RETRY_DELAY_SECONDS": "1",
        **overrides,
    })
    env.update(outage_settings(env))
    subprocess.run([sys.executable, "-m", "tools.bootstrap", "--pool-slots", str(pool_slots)], env=env, cwd=ROOT,
                   check=True, capture_output=True)

    processes = []
    if runner.kind == "celery":
        processes.append(_spawn("redis", executor.redis_command(runner.redis_port, workdir / "redis"), env, workdir))
        executor.wait_redis(runner.broker)
    processes += [_spawn(name, [str(VENV_BIN / "airflow"), name], env, workdir)
                  for name in ("scheduler", "dag-processor")]
    workers = {executor.worker_name(i): _spawn(executor.worker_name(i), executor.worker_command(i, 2),
                                               executor.worker_env(env, i, workdir / "workers"), workdir)
               for i in range(1, celery_workers + 1)}
    processes += workers.values()
    api = AirflowApi(workdir, port, env, passwords).start()
    receiver_env = {**env, "RECEIVER_HOST": "127.0.0.1", "RECEIVER_PORT": str(free_port()),
                    "RECEIVER_DATA_DIR": str(workdir / "receiver"), "RECEIVER_RETRY_INITIAL_SECONDS": "0.2",
                    "RECEIVER_RETRY_MAX_SECONDS": "1", "AIRFLOW_WEBHOOK_USER": "box_webhook",
                    "AIRFLOW_WEBHOOK_PASSWORD": passwords["box_webhook"]}
    receiver_env.update({k: v for k, v in overrides.items() if k.startswith("RECEIVER_")})
    receiver = RunningReceiver(receiver_env, workdir / "receiver.log").start()
    running = Stack(api, sandbox, receiver, tracking_dsn, processes)
    running.workers, running.workdir = workers, workdir
    try:
        deadline = time.monotonic() + 120
        for dag_id in PIPELINE_DAGS:
            while True:
                try:
                    running.call("PATCH", f"dags/{dag_id}", json={"is_paused": False})
                    break
                except requests.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(1)
        yield running
    finally:
        receiver.stop()
        api.stop()
        for process in reversed(processes):
            _stop(process)
        sandbox.stop()
        for name in names.values():
            localpg.drop_database(server, name)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, pg_socket: str) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack"), pg_socket) as running:
        yield running
