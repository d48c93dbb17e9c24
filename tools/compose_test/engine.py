"""The container engine of ``make compose-test``: Debian's docker.io (dockerd, containerd, runc) and debootstrap,
installed with apt when missing; dockerd started here when no daemon answers, and stopped again at the end."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

PACKAGES = {"dockerd": "docker.io", "debootstrap": "debootstrap"}


def ensure_packages() -> list[str]:
    """apt-get install what is missing (root, as on the project's machines); returns what was installed."""
    missing = [package for command, package in PACKAGES.items() if not shutil.which(command)]
    if missing:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, capture_output=True, env=env)
    return missing


def docker(*args: str, check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def daemon_answers() -> bool:
    return docker("info", "--format", "{{.ServerVersion}}", check=False, timeout=30).returncode == 0


@dataclass
class Daemon:
    """dockerd, started by us (``process``) or found running."""

    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> str:
        if daemon_answers():
            return "already running"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT,  # noqa: S607
                                            start_new_session=True)
        deadline = time.monotonic() + 60
        while not daemon_answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"compose-test: dockerd did not start; see {self.log_path}")
            time.sleep(1)
        return f"started (pid {self.process.pid}, log {self.log_path})"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
