"""Receiver test kit: the receiver as a real subprocess on a free port, signed Box-like deliveries, and a real
Airflow api-server (one per test module) for the forwarding tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg2
import psycopg2.extras
import pytest
import requests

from tests.airflow_api import free_port, start_airflow_api
from tools.localpg import conn_fields

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT = Path(__file__).resolve().parents[2]
PRIMARY_KEY = "test-primary-key-0123456789"
SECONDARY_KEY = "test-secondary-key-9876543210"
SERVICE_ACCOUNT = "11111"
AGENCY_USER = "22222"


def box_timestamp(offset_seconds: float = 0) -> str:
    """RFC 3339 with an offset, whole seconds, like Box's BOX-DELIVERY-TIMESTAMP."""
    moment = datetime.now(timezone(timedelta(hours=-7))) + timedelta(seconds=offset_seconds)
    return moment.replace(microsecond=0).isoformat()


def sign(body: bytes, timestamp: str, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).digest()).decode()


def signed_headers(
    body: bytes,
    *,
    primary: str | None = PRIMARY_KEY,
    secondary: str | None = SECONDARY_KEY,
    timestamp: str | None = None,
    version: str = "1",
    algorithm: str = "HmacSHA256",
) -> dict[str, str]:
    """Box's delivery headers for ``body``; a key of None leaves that signature out."""
    timestamp = timestamp or box_timestamp()
    headers = {
        "Content-Type": "application/json; charset=UTF-8",
        "User-Agent": "Box-WH-Client/0.1",
        "BOX-DELIVERY-ID": str(uuid.uuid4()),
        "BOX-DELIVERY-TIMESTAMP": timestamp,
        "BOX-SIGNATURE-VERSION": version,
        "BOX-SIGNATURE-ALGORITHM": algorithm,
    }
    if primary:
        headers["BOX-SIGNATURE-PRIMARY"] = sign(body, timestamp, primary)
    if secondary:
        headers["BOX-SIGNATURE-SECONDARY"] = sign(body, timestamp, secondary)
    return headers


def upload_event(
    *,
    file_id: str | None = None,
    version_id: str | None = None,
    name: str = "K7M2QX_Nutella_Breakfast_video_IT_v01.mp4",
    folders: tuple[str, ...] = ("All Files", "Ferrero", "CMP-2026-001 Spring", "Derivatives"),
    created_by: str = AGENCY_USER,
    trigger: str = "FILE.UPLOADED",
    event_id: str | None = None,
) -> dict[str, Any]:
    """A FILE.UPLOADED body shaped like Box's (and the sandbox's), for the file's parent chain ``folders``."""
    file_id = file_id or str(uuid.uuid4().int % 10**12)
    version_id = version_id or str(uuid.uuid4().int % 10**12)
    entries = [{"type": "folder", "id": str(100 + i), "name": folder} for i, folder in enumerate(folders)]
    user = {"type": "user", "id": created_by, "name": "Someone", "login": f"{created_by}@example.com"}
    return {
        "type": "webhook_event",
        "id": event_id or str(uuid.uuid4()),
        "created_at": box_timestamp(),
        "trigger": trigger,
        "webhook": {"id": "9001", "type": "webhook"},
        "created_by": user,
        "source": {
            "type": "file", "id": file_id, "name": name, "sha1": "0" * 40, "size": 10, "etag": "0",
            "file_version": {"type": "file_version", "id": version_id, "sha1": "0" * 40},
            "path_collection": {"total_count": len(entries), "entries": entries},
            "parent": entries[-1], "created_by": user, "modified_by": user,
        },
        "additional_info": [],
    }


class RunningReceiver:
    """``python -m receiver`` in a subprocess; ``restart()`` keeps its port, database and settings."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.port = int(env["RECEIVER_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.webhook_url = f"{self.url}/box/webhook"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> RunningReceiver:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "receiver"], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"receiver exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                requests.get(f"{self.url}/health", timeout=5)
                return self
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"receiver not up after {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)

    def restart(self) -> RunningReceiver:
        self.stop()
        return self.start()

    def post(self, body: bytes | dict[str, Any], headers: dict[str, str] | None = None, **sign_args: Any) -> Any:
        """POST a delivery; dict bodies are serialised, and signed unless ``headers`` is given."""
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        if headers is None:
            headers = signed_headers(raw, **sign_args)
        return requests.post(self.webhook_url, data=raw, headers=headers, timeout=10)

    def logs(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                lines.append({"raw": line})
        return lines

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def tracking_conn_json(dsn: str) -> str:
    """The Airflow connection (JSON form) of a libpq URI, socket folder in ``host``, as ``make up`` writes it."""
    return json.dumps({"conn_type": "postgres", **conn_fields(dsn)})


@pytest.fixture
def receiver_factory(tracking_dsn: str, tmp_path: Path) -> Iterator[Callable[..., RunningReceiver]]:
    """Start receivers on the test's tracking database: ``receiver_factory(airflow=api_or_None, **env)``."""
    started: list[RunningReceiver] = []

    def factory(airflow: Any = None, **overrides: str) -> RunningReceiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOX_", "RECEIVER_", "AIRFLOW_WEBHOOK"))}
        env.update(
            {
                "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
                "RECEIVER_HOST": "127.0.0.1",
                "RECEIVER_PORT": str(free_port()),
                "RECEIVER_RETRY_INITIAL_SECONDS": "0.2",
                "RECEIVER_RETRY_MAX_SECONDS": "1",
                "AIRFLOW_API_URL": airflow.url if airflow else f"http://127.0.0.1:{free_port()}",
                "AIRFLOW_WEBHOOK_USER": "box_webhook",
                "AIRFLOW_WEBHOOK_PASSWORD": airflow.passwords["box_webhook"] if airflow else "unused",
                "AIRFLOW_CONN_TRACKING_DB": tracking_conn_json(tracking_dsn),
                "BOX_WEBHOOK_PRIMARY_KEY": PRIMARY_KEY,
                "BOX_WEBHOOK_SECONDARY_KEY": SECONDARY_KEY,
                "BOX_SERVICE_ACCOUNT_USER_ID": SERVICE_ACCOUNT,
            }
        )
        env.pop("ENV", None)
        env.update(overrides)
        running = RunningReceiver(env, tmp_path / f"receiver-{len(started)}.log")
        started.append(running)
        return running.start()

    yield factory
    for running in started:
        running.stop()


@pytest.fixture
def events_table(tracking_dsn: str) -> Callable[[], list[dict[str, Any]]]:
    """Read ``box_webhook_events`` (every row, oldest first) with a connection of the test's own."""

    def rows() -> list[dict[str, Any]]:
        conn = psycopg2.connect(tracking_dsn)
        try:
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                cur.execute("SELECT * FROM box_webhook_events ORDER BY id")
                return [dict(row) for row in cur.fetchall()]
        finally:
            conn.close()

    return rows


@pytest.fixture(scope="module")
def airflow_api(tmp_path_factory: pytest.TempPathFactory, airflow_db: None) -> Iterator[Any]:
    """A real Airflow api-server with the (stand-in) a2_to_a3 DAG, shared by a test module."""
    api = start_airflow_api(tmp_path_factory.mktemp("airflow-api"), dags_folder=ROOT / "dags")  # the real DAGs
    try:
        yield api
    finally:
        api.stop()


def wait_until(predicate: Callable[[], Any], timeout: float = 20, interval: float = 0.1, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)
