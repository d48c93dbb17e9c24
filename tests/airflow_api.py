"""A real ``airflow api-server`` in a subprocess for tests: ``start_airflow_api(tmp_path) -> AirflowApi``.

It runs with the tests' own Airflow settings (``AIRFLOW_HOME`` and the metadata DB the ``airflow_db`` fixture
migrated), plus SimpleAuthManager users ``admin:admin,box_webhook:user`` whose passwords are pre-written to a
file under ``tmp_path``, a JWT secret of its own and a free port. DAGs come from a DAG bundle of their own
(``BUNDLE_NAME``), serialised into the DB with ``airflow dags reserialize -B <bundle>`` before the server starts;
by default that bundle holds a stand-in ``a2_to_a3`` (same params as the real one, a single no-op task), pass
``dags_folder=ROOT / "dags"`` to use the real DAG files instead. Runs are created (queued), never executed: no
scheduler is started.

    api = start_airflow_api(tmp_path)
    token = api.token("box_webhook")
    requests.get(f"{api.url}/api/v2/dags/a2_to_a3", headers={"Authorization": f"Bearer {token}"})
    api.stop(); api.start()   # same port, same users: "Airflow down for a while"
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
BUNDLE_NAME = "receiver-tests"
USERS = {"admin": "admin", "box_webhook": "user"}

STAND_IN_DAG = '''\
"""Stand-in for the A2->A3 DAG in receiver tests: same dag_id and params, one no-op task."""

from __future__ import annotations

from airflow.sdk import Param, dag, task


@dag(
    dag_id="a2_to_a3",
    schedule=None,
    catchup=False,
    params={
        "box_file_id": Param("", type="string"),
        "box_file_version_id": Param("", type="string"),
        "file_name": Param("", type="string"),
        "event_id": Param("", type="string"),
    },
)
def a2_to_a3():
    @task
    def noop() -> None:
        """Nothing: the receiver tests only look at the queued run."""

    noop()


a2_to_a3()
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AirflowApi:
    """A running (or stopped) api-server; ``url`` stays the same across ``stop()`` / ``start()``."""

    def __init__(self, workdir: Path, port: int, env: dict[str, str], passwords: dict[str, str]) -> None:
        self.workdir = workdir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = env
        self.passwords = passwords
        self.log_path = workdir / "api-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> AirflowApi:
        if self.process is not None and self.process.poll() is None:
            return self
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(VENV_BIN / "airflow"), "api-server", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"airflow api-server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/api/v2/monitor/health", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"airflow api-server not healthy after {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM the server's process group (uvicorn workers included) and wait; SIGKILL if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        pgid = os.getpgid(self.process.pid)
        os.killpg(pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.process.wait(timeout=timeout)
        # workers of the group may outlive the parent for a moment; the port must be free for a restart
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)

    def token(self, user: str = "box_webhook") -> str:
        response = requests.post(
            f"{self.url}/auth/token", json={"username": user, "password": self.passwords[user]}, timeout=10
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def get(self, path: str, user: str = "admin", **params: Any) -> Any:
        """GET ``/api/v2/<path>`` as ``user``; the decoded JSON."""
        response = requests.get(
            f"{self.url}/api/v2/{path.lstrip('/')}", params=params,
            headers={"Authorization": f"Bearer {self.token(user)}"}, timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def dag_runs(self, dag_id: str = "a2_to_a3") -> list[dict[str, Any]]:
        """Every run of ``dag_id``, all pages (the API answers at most 100 at a time)."""
        runs: list[dict[str, Any]] = []
        while True:
            page = self.get(f"dags/{dag_id}/dagRuns", limit=100, offset=len(runs), order_by="id")
            runs += page["dag_runs"]
            if not page["dag_runs"] or len(runs) >= page["total_entries"]:
                return runs

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> AirflowApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_airflow_api(
    tmp_path: Path, port: int | None = None, *, dags_folder: Path | None = None, timeout: float = 120
) -> AirflowApi:
    """Serialise the DAGs of ``dags_folder`` (default: a stand-in ``a2_to_a3``) and start an api-server."""
    workdir = Path(tmp_path) / "airflow-api"
    workdir.mkdir(parents=True, exist_ok=True)
    if dags_folder is None:
        dags_folder = workdir / "dags"
        dags_folder.mkdir(exist_ok=True)
        (dags_folder / "a2_to_a3.py").write_text(STAND_IN_DAG)
    passwords = {user: secrets.token_urlsafe(12) for user in USERS}
    passwords_file = workdir / "passwords.json"
    passwords_file.write_text(json.dumps(passwords))
    bundles = [{"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(ROOT / "dags")}}]
    bundle = "dags-folder"
    if Path(dags_folder).resolve() != (ROOT / "dags").resolve():
        bundle = BUNDLE_NAME
        bundles.append({"name": BUNDLE_NAME, "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                        "kwargs": {"path": str(Path(dags_folder).resolve())}})
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in USERS.items()),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__EXPOSE_CONFIG": "False",
        }
    )
    result = subprocess.run(
        [str(VENV_BIN / "airflow"), "dags", "reserialize", "-B", bundle],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"airflow dags reserialize failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
    api = AirflowApi(workdir, port or free_port(), env, passwords)
    return api.start(timeout=timeout)
