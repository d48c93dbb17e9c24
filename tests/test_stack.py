"""`make up` refuses a broken configuration with the one-sentence error, before starting anything; the settings
every stack shares (outage tolerance, ports)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools.airflow_env import outage_settings, ports_in_use

ROOT = Path(__file__).resolve().parents[1]


def test_up_refuses_a_broken_config(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    path = config / "config.yaml"
    path.write_text(path.read_text().replace("interval_seconds: 300", "interval_seconds: five"))
    env = {**os.environ, "CONTENT_SCALING_CONFIG_DIR": str(config)}
    result = subprocess.run([sys.executable, "-m", "tools.stack", "up"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "polling.interval_seconds must be an integer >= 60, got 'five'"
    ), result.stderr
    assert "config.yaml" in result.stderr


def test_outage_settings_let_a_task_wait_the_tolerance_out() -> None:
    settings = outage_settings({"AIRFLOW_OUTAGE_TOLERANCE_SECONDS": "600", "AIRFLOW_OUTAGE_RETRY_SECONDS": "5"})
    waits = int(settings["AIRFLOW__WORKERS__EXECUTION_API_RETRIES"]) - 1
    assert waits * float(settings["AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MIN"]) >= 600
    assert settings["AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MIN"] == settings[
        "AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MAX"]  # a fixed wait: the total is not left to chance
    assert int(settings["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"]) > 600
    assert int(settings["AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT"]) > 600
    # a running task's token is renewed when a fifth of its life is left: that fifth outlasts the outage
    assert int(settings["AIRFLOW__EXECUTION_API__JWT_EXPIRATION_TIME"]) / 5 > 600
    explicit = {"AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "42"}
    assert "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT" not in outage_settings(explicit)
    assert outage_settings({"AIRFLOW_OUTAGE_TOLERANCE_SECONDS": "0"}) == {}
    with pytest.raises(ValueError, match="AIRFLOW_OUTAGE_TOLERANCE_SECONDS must be a number of seconds"):
        outage_settings({"AIRFLOW_OUTAGE_TOLERANCE_SECONDS": "ten minutes"})


def test_a_taken_port_is_named_by_its_variable() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert ports_in_use("scheduler", {"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(port),
                                          "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": "0"}) == [
            f"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT={port}"]
    assert ports_in_use("scheduler", {"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(port),
                                      "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": "0"}) == []


def test_docker_compose_carries_the_outage_settings_of_make_up() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    environment = compose["x-airflow-common"]["environment"]
    defaults = {key: re.fullmatch(r"\$\{\w+:-(.*)\}", str(value)).group(1) for key, value in environment.items()
                if key in outage_settings({})}
    assert defaults == outage_settings({})


def test_up_names_a_taken_port_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "STACK_DIR": str(tmp_path / "stack2"), "AIRFLOW_PORT": str(port)}
        result = subprocess.run([sys.executable, "-m", "tools.stack", "up"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"AIRFLOW__API__PORT={port}" in result.stderr and "is taken" in result.stderr
    assert not (tmp_path / "stack2" / "pgdata").exists()  # nothing was started
