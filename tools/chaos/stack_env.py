"""Run ``tools.stack`` for the chaos scenario beside a ``make up``: its own data folder and its own ports.

``tools.stack`` keeps its folders in module globals and reads its ports from the environment; this module points
the globals at ``.local-chaos/`` and sets every port (the ones ``tools.stack`` does not set yet go straight to
Airflow as ``AIRFLOW__*`` variables). It also remembers how each component was started, so the scenario can kill
one by its PID and start it again the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from tools import processes, stack

ROOT = Path(__file__).resolve().parents[2]
CHAOS_LOCAL = ROOT / ".local-chaos"


@dataclass(frozen=True)
class ChaosPorts:
    """Every port the chaos stack listens on; ``CHAOS_PORT_OFFSET`` (default 10000) moves them all."""

    offset: int = 10000

    def port(self, default: int) -> int:
        return default + self.offset

    def environment(self) -> dict[str, str]:
        return {
            "AIRFLOW_PORT": str(self.port(8080)),
            "RECEIVER_PORT": str(self.port(8095)),
            "SANDBOX_OTMM_PORT": str(self.port(8091)),
            "SANDBOX_BOX_API_PORT": str(self.port(8092)),
            "SANDBOX_BOX_UPLOAD_PORT": str(self.port(8093)),
            "SANDBOX_SINKS_PORT": str(self.port(8094)),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.port(8793)),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.port(8794)),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(self.port(8974)),
        }


@dataclass
class Launch:
    name: str
    cmd: list[str]
    env: dict[str, str]


@dataclass
class ChaosStack:
    """The chaos stack's folders, ports and how each component was launched."""

    ports: ChaosPorts
    local: Path = CHAOS_LOCAL
    launches: dict[str, Launch] = field(default_factory=dict)

    def configure(self, extra_env: dict[str, str]) -> None:
        """Point ``tools.stack`` at ``local`` and put the ports and ``extra_env`` in this process's environment."""
        stack.LOCAL = self.local
        stack.RUN, stack.LOGS, stack.PGDATA = self.local / "run", self.local / "logs", self.local / "pgdata"
        stack.AIRFLOW_HOME, stack.SANDBOX_DATA = self.local / "airflow", self.local / "sandbox"
        stack.SECRETS_FILE = self.local / "secrets.json"
        os.environ.update(self.ports.environment())
        os.environ.update(extra_env)
        os.environ["XDG_RUNTIME_DIR"] = str(self.local / "xdg-runtime")
        (self.local / "xdg-runtime").mkdir(parents=True, exist_ok=True, mode=0o700)
        if getattr(stack._spawn, "records_launches", False):
            return
        original = stack._spawn

        def recording_spawn(name: str, cmd: list[str], env: dict[str, str]) -> None:
            self.launches[name] = Launch(name, list(cmd), dict(env))
            original(name, cmd, env)

        recording_spawn.records_launches = True  # type: ignore[attr-defined]  # a mark on the function object
        stack._spawn = recording_spawn

    def up(self) -> None:
        if stack.up() != 0:
            raise SystemExit("chaos: starting the stack failed")

    def down(self) -> None:
        stack.down()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.port(8080)}"

    def pid(self, name: str) -> int | None:
        return stack._pid(name)

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> int:
        """Signal one component's process group (its PID is the group id) and reap it; returns the PID."""
        pid = self.pid(name)
        if pid is None:
            raise RuntimeError(f"chaos: {name} has no PID file")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and processes.group_alive(pid):
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)  # what ignored SIGTERM (api-server workers) must not hold the port
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)  # we started it: reap it, or it stays a zombie that looks alive
        return pid

    def restart(self, name: str) -> None:
        launch = self.launches[name]
        stack._spawn(launch.name, launch.cmd, launch.env)
