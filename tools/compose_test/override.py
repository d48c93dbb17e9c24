"""The test-only compose override: the same docker-compose.yaml, with the images swapped for local stand-ins,
the sandbox DAM/Box/sinks as one more container, and the product's connections pointing at it.

Nothing else changes: every service keeps its command, healthcheck, depends_on, volumes and restart policy
as production runs them. The sandbox publishes its ports on the host's loopback only (the checks and the
agency read them from outside); it reaches the receiver through the receiver's published port on the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tools.compose_test import images

PRODUCT_IMAGE = "ferrero-compose-test/airflow:latest"
AIRFLOW_SERVICES = ("airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker", "receiver")
SANDBOX_DATA = "/opt/project/.local/sandbox"
HOST_GATEWAY = "host.docker.internal"

#: Test-only settings: a killed worker's task instances are noticed within a minute instead of 20.
TEST_ENV = {
    "ENV": "compose-test",  # config/environments/compose-test.yaml: discovery off, the test starts each campaign
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "10",
    "CONTENT_SCALING_TASK_RETRY_DELAY_SECONDS": "5",
}


@dataclass(frozen=True)
class SandboxPorts:
    otmm: int
    box_api: int
    box_upload: int
    sinks: int

    def env(self) -> dict[str, str]:
        return {"SANDBOX_OTMM_PORT": str(self.otmm), "SANDBOX_BOX_API_PORT": str(self.box_api),
                "SANDBOX_BOX_UPLOAD_PORT": str(self.box_upload), "SANDBOX_SINKS_PORT": str(self.sinks)}

    def all(self) -> tuple[int, ...]:
        return (self.otmm, self.box_api, self.box_upload, self.sinks)


def render(ports: SandboxPorts, sandbox_data_dir: str, product_env: dict[str, str]) -> dict[str, Any]:
    """The override as a Compose mapping; ``product_env`` is what every Airflow service and the receiver get
    (the AIRFLOW_CONN_* of the sandbox, BOX_* settings)."""
    airflow = {
        "image": PRODUCT_IMAGE,
        "build": {"args": {"AIRFLOW_IMAGE": images.AIRFLOW_BASE}},
        "environment": {**product_env, **TEST_ENV},
    }
    services: dict[str, Any] = {name: dict(airflow) for name in AIRFLOW_SERVICES}
    services["postgres"] = {"image": images.POSTGRES, "pull_policy": "never"}
    services["redis"] = {"image": images.REDIS, "pull_policy": "never"}
    services["sandbox"] = {
        "image": PRODUCT_IMAGE,
        "pull_policy": "never",
        "entrypoint": ["python", "-m", "sandbox", "serve"],
        "working_dir": "/opt/project",
        "user": "${AIRFLOW_UID:-50000}:0",
        "environment": {"SANDBOX_HOST": "0.0.0.0", "SANDBOX_DATA_DIR": SANDBOX_DATA, **ports.env()},  # noqa: S104
        "volumes": ["./sandbox:/opt/project/sandbox:ro", "./include:/opt/project/include:ro",
                    "./plugins:/opt/project/plugins:ro", "./config:/opt/project/config:ro",
                    f"{sandbox_data_dir}:{SANDBOX_DATA}"],
        "ports": [f"127.0.0.1:{port}:{port}" for port in ports.all()],
        "extra_hosts": [f"{HOST_GATEWAY}:host-gateway"],
        "healthcheck": {"test": ["CMD", "curl", "--fail", f"http://localhost:{ports.sinks}/__sandbox__/mail"],
                        "interval": "10s", "timeout": "10s", "retries": 10, "start_period": "10s"},
        "restart": "always",
    }
    return {"services": services}


def product_env(credentials: dict[str, str], ports: SandboxPorts, host: str, root_folder_id: str) -> dict[str, str]:
    """The product's connections to the sandbox at ``host`` (``sandbox`` inside the network, 127.0.0.1 outside)."""
    import json
    import tempfile
    from pathlib import Path

    from sandbox.connections import product_connections

    endpoints = {
        "otmm_base_url": f"http://{host}:{ports.otmm}/otmmapi/v6",
        "box_base_url": f"http://{host}:{ports.box_api}",
        "box_upload_url": f"http://{host}:{ports.box_upload}/api",
        "sinks_url": f"http://{host}:{ports.sinks}",
        "mailgun_base_url": f"http://{host}:{ports.sinks}/v3",
        "status_webhook_url": f"http://{host}:{ports.sinks}/status-webhook",
        "asset_webhook_url": f"http://{host}:{ports.sinks}/asset-webhook",
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "credentials.json").write_text(json.dumps(credentials))
        (folder / "endpoints.json").write_text(json.dumps(endpoints))
        (folder / "seed.json").write_text(json.dumps({"box_root_folder_id": root_folder_id}))
        return product_connections(folder)
