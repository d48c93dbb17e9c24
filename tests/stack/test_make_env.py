"""`make up`, then `eval "$(make -s env)"`: the Airflow CLI of the running install reads the product's
connections (the Fernet key comes through ``AIRFLOW__CORE__FERNET_KEY_CMD``, never printed)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stack.conftest import ROOT
from tools.airflow_env import COMPONENT_PORTS

pytestmark = [pytest.mark.stack, pytest.mark.timeout(600)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_env_gives_a_cli_that_reads_the_connections(tmp_path: Path) -> None:
    ports = {variable: str(_free_port()) for ports in COMPONENT_PORTS.values() for variable, _ in ports}
    env = {**os.environ, "STACK_DIR": str(tmp_path / "stack"), "AIRFLOW_PORT": ports["AIRFLOW__API__PORT"],
           **ports, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'plugins'}"}
    env = {k: v for k, v in env.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW__CORE__FERNET"))}
    stack = [sys.executable, "-m", "tools.stack"]
    try:
        up = subprocess.run([*stack, "up"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=420)
        assert up.returncode == 0, up.stdout + up.stderr
        printed = subprocess.run([*stack, "env"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert printed.returncode == 0, printed.stderr
        assert "AIRFLOW__CORE__FERNET_KEY=" not in printed.stdout and "AIRFLOW_CONN_" not in printed.stdout
        airflow = Path(sys.executable).parent / "airflow"
        cli = subprocess.run(["bash", "-c", f'eval "$1"; exec {airflow} connections list -o json', "-",
                              printed.stdout], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
        assert cli.returncode == 0, cli.stdout + cli.stderr
        listed = {c["conn_id"]: c["conn_type"] for c in json.loads(cli.stdout[cli.stdout.index("["):])}
        assert listed.get("otmm_default") == "otmm" and listed.get("box_default") == "box", listed
    finally:
        subprocess.run([*stack, "down"], cwd=ROOT, env=env, capture_output=True, timeout=120)
