"""``python -m tools.compose_test [--keep]`` (``make compose-test``): build, start, check, tear down; prints each
phase's time. Everything it writes stays in .local/compose-test/ (logs, the rendered override and env file)."""

from __future__ import annotations

import argparse
import base64
import functools
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from tools.compose_test import engine, images, override
from tools.compose_test.checks import AirflowApi, Sandbox
from tools.compose_test.deployment import ROOT, Deployment
from tools.compose_test.scenario import Scenario

if TYPE_CHECKING:
    from collections.abc import Callable

WORK = ROOT / ".local" / "compose-test"
CACHE = Path(os.environ.get("COMPOSE_TEST_CACHE", "/var/cache/ferrero-compose-test"))
HEALTHY_WITHIN = 900  # seconds: five Airflow components importing Airflow on 2 shared cores


class Phases:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, str]] = []
        self.started = time.monotonic()

    def run(self, name: str, step: Callable[[], str]) -> str:
        print(f"[{time.monotonic() - self.started:7.1f}s] {name} ...", flush=True)
        start = time.monotonic()
        outcome = step()
        took = time.monotonic() - start
        self.rows.append((name, took, outcome))
        print(f"           {name}: {took:.1f} s  {outcome}", flush=True)
        return outcome

    def table(self) -> str:
        lines = ["", "| phase | seconds | outcome |", "|---|---:|---|"]
        lines += [f"| {name} | {took:.1f} | {outcome} |" for name, took, outcome in self.rows]
        lines.append(f"| total | {time.monotonic() - self.started:.1f} | |")
        return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed_sandbox(data_dir: Path, ports: override.SandboxPorts) -> dict:
    """Fresh sandbox data (credentials, demo DAM, Box root) made here, then handed to the container's user."""
    from sandbox.settings import SandboxSettings

    shutil.rmtree(data_dir, ignore_errors=True)
    env = {"SANDBOX_DATA_DIR": str(data_dir), "SANDBOX_SEED_EXTRA_CAMPAIGNS": "2", "SANDBOX_SEED_EXTRA_MASTERS": "8",
           **ports.env()}
    SandboxSettings.from_env(env)
    seeded = subprocess.run([sys.executable, "-m", "sandbox", "seed"], cwd=ROOT, env={**os.environ, **env},
                            capture_output=True, text=True, timeout=600)
    if seeded.returncode != 0:
        raise SystemExit(f"compose-test: seeding the sandbox failed: {seeded.stderr[-500:]}")
    subprocess.run(["chown", "-R", "50000:0", str(data_dir)], check=True)
    return json.loads((data_dir / "seed.json").read_text())


def write_config(ports: override.SandboxPorts, seed: dict) -> tuple[Path, Path, dict[str, str]]:
    """The env file (secrets, published ports, test timings) and the override; returns the host-side conns."""
    from sandbox.settings import SandboxSettings

    credentials = SandboxSettings.from_env({"SANDBOX_DATA_DIR": str(WORK / "sandbox")}, persist=False).credentials()
    root = str(seed["box_root_folder_id"])
    receiver_port = free_port()
    env = {
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16), "REDIS_PASSWORD": secrets.token_urlsafe(16),
        "AIRFLOW_FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "AIRFLOW_JWT_SECRET": secrets.token_urlsafe(32), "AIRFLOW_ADMIN_PASSWORD": secrets.token_urlsafe(12),
        "AIRFLOW_WEBHOOK_PASSWORD": secrets.token_urlsafe(12),
        "AIRFLOW_PORT": str(free_port()), "RECEIVER_PORT": str(receiver_port),
        # the published receiver port, as the containers reach the host (the reconciliation keeps the webhook on it)
        "RECEIVER_PUBLIC_URL": f"http://host.docker.internal:{receiver_port}/box/webhook",
        # Test timings through the file's own variables: a killed worker's tasks are retried within a minute.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "45",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "90",
    }
    env_file = WORK / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    env_file.chmod(0o600)
    rendered = override.render(ports, str(WORK / "sandbox"),
                               override.product_env(credentials, ports, "sandbox", root))
    override_file = WORK / "compose.override.yaml"
    override_file.write_text(yaml.safe_dump(rendered, sort_keys=False))
    override_file.chmod(0o600)
    return env_file, override_file, {**env, **override.product_env(credentials, ports, "127.0.0.1", root)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make compose-test", description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the deployment running (no `down`)")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    phases = Phases()
    daemon = engine.Daemon(WORK / "dockerd.log")
    deployment: Deployment | None = None
    failed = True
    try:
        def engine_packages() -> str:
            if all(shutil.which(c) for c in engine.PACKAGES):
                return "docker.io, debootstrap present"
            return "installed " + ", ".join(engine.ensure_packages())

        phases.run("engine: apt packages", engine_packages)
        phases.run("engine: dockerd", daemon.start)
        phases.run("base: debootstrap bookworm", lambda: images.bookworm(CACHE))
        for tag, folder in ((images.AIRFLOW_BASE, "airflow-base"), (images.POSTGRES, "postgres"),
                            (images.REDIS, "redis")):
            phases.run(f"base: {folder}", functools.partial(images.build, tag, folder, WORK / f"build-{folder}.log"))
        ports = override.SandboxPorts(free_port(), free_port(), free_port(), free_port())
        seed_holder: dict = {}

        def do_seed() -> str:
            seed_holder.update(seed_sandbox(WORK / "sandbox", ports))
            return f"{len(seed_holder['campaigns'])} A1 campaigns in the sandbox DAM"
        phases.run("sandbox: seed", do_seed)
        seed = seed_holder
        env_file, override_file, host_env = write_config(ports, seed)
        os.environ.update({k: v for k, v in host_env.items() if k.startswith(("AIRFLOW_CONN_", "BOX_"))})
        deployment = Deployment(env_file, override_file, WORK)
        deployment.compose("down", "-v", "--remove-orphans", check=False)  # a previous run's leftovers
        phases.run("product image: compose build", lambda: "layer cache" if "Using cache" in deployment.compose(
            "build", "airflow-init").stdout else "built")
        phases.run("compose up (as written)", lambda: f"{deployment.compose('up', '-d').stderr.count('Started')}"
                   " containers started, 1 worker")
        api = AirflowApi(f"http://127.0.0.1:{host_env['AIRFLOW_PORT']}", "admin", host_env["AIRFLOW_ADMIN_PASSWORD"])
        scenario = Scenario(deployment, api, Sandbox(f"http://127.0.0.1:{ports.otmm}",
                                                     f"http://127.0.0.1:{ports.sinks}"),
                            seed, int(host_env["RECEIVER_PORT"]), WORK / "sandbox")
        phases.run("check: every long-running service healthy", lambda: scenario.healthy(HEALTHY_WITHIN))
        phases.run("check: init applied the bootstrap once", scenario.init_applied_once)
        phases.run("check: UI login (FAB)", scenario.ui_login)
        phases.run("check: REST API as admin", scenario.rest_api)
        phases.run("check: both seeded campaigns A2 on the worker", scenario.a2_on_one_worker)
        phases.run("check: --scale airflow-worker=2", lambda: scenario.scale_to_two(HEALTHY_WITHIN))
        phases.run("check: worker killed mid-run", scenario.worker_killed)
        phases.run("check: agency uploads -> receiver port -> A3", scenario.agency_to_a3)
        phases.run("check: sinks hold one message per flip", scenario.one_message_per_flip)
        phases.run("check: init re-runs changed nothing", scenario.init_reruns_changed_nothing)
        failed = False
    finally:
        if deployment is not None:
            deployment.save_logs()
            if not args.keep:
                def down() -> str:
                    deployment.compose("down", "-v", "--remove-orphans")
                    left = deployment.leftovers()
                    if any(left.values()):
                        raise SystemExit(f"compose-test: FAILED: `down -v` left {left}")
                    return "no container, network or volume of the project left"
                phases.run("compose down -v", down)
        if not args.keep:
            daemon.stop()
        print(phases.table())
        print(f"\ncompose-test: {'FAILED' if failed else 'PASSED'} (logs: {WORK})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
