"""End-to-end fixtures: a seeded sandbox of the module's own, the product's connections pointing at it, a fresh
tracking database, fast retries, and the DAGs run for real with ``dag.test()`` (tasks execute in-process)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
import yaml

from sandbox.box.recorder import WebhookRecorder
from sandbox.connections import product_connections
from sandbox.testing import start_sandbox
from tests.seeded import seeded_copy

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def seeded_sandbox(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A sandbox of this module's own, seeded with the demo campaigns. Parametrized indirectly, the parameter is
    its ``SANDBOX_OTMM_VARIANTS`` (``sandbox/otmm/variants.py``); the default DAM otherwise."""
    data_dir = seeded_copy(tmp_path_factory.mktemp("e2e-sandbox"))  # `sandbox seed` once per session
    running = start_sandbox(data_dir, webhook_retry_scale=0.001, otmm_import_delay_seconds=0.05,
                            otmm_variants=getattr(request, "param", ""))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def seed(seeded_sandbox) -> dict[str, Any]:
    return json.loads((seeded_sandbox.data_dir / "seed.json").read_text())


@pytest.fixture(scope="module")
def webhook_recorder() -> Iterator[WebhookRecorder]:
    """Where the product's Box webhook delivers in these tests (``webhook.public_url``): a recorder, not a receiver
    (the tests start the runs themselves), and never another stack's receiver."""
    with WebhookRecorder() as recorder:
        yield recorder


@pytest.fixture
def product_env(seeded_sandbox, tracking_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                airflow_db, webhook_recorder) -> Iterator[dict[str, str]]:
    """Environment of a deployment on the sandbox: connections, root folder, a test config with fast retries."""
    from include.ferrero.config import clear_cache
    from tools.localpg import conn_fields

    env = product_connections(seeded_sandbox.data_dir)
    env["AIRFLOW_CONN_TRACKING_DB"] = json.dumps({"conn_type": "postgres", **conn_fields(tracking_dsn)})
    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", config_dir)
    path = config_dir / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["retry"].update(initial_delay_seconds=0, max_delay_seconds=0)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    hooks_path = config_dir / "webhooks.yaml"
    hooks = yaml.safe_load(hooks_path.read_text())
    hooks["asset_upload_complete"]["enabled"] = True
    hooks_path.write_text(yaml.safe_dump(hooks, sort_keys=False))
    env["CONTENT_SCALING_CONFIG_DIR"] = str(config_dir)
    env["CONTENT_SCALING_TEMP_DIR"] = str(tmp_path / "transfers")
    env["TRACKING_DSN"] = tracking_dsn
    env["RECEIVER_PUBLIC_URL"] = webhook_recorder.url
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    clear_cache()
    sinks = seeded_sandbox.endpoints["sinks_url"]
    for kind in ("mail", "status-webhooks", "asset-webhooks"):
        requests.delete(f"{sinks}/__sandbox__/{kind}", timeout=5)
    _ensure_pools()
    yield env
    requests.delete(f"{seeded_sandbox.endpoints['otmm_url']}/__sandbox__/faults", timeout=5)
    clear_cache()


def _ensure_pools() -> None:
    """The bootstrap's pools (config/bootstrap.yaml), with the sizes of the test's config.yaml."""
    from tools.bootstrap import ensure_pools, load_definition, pool_slots

    ensure_pools(load_definition(), pool_slots())


@pytest.fixture(scope="module")
def dags():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag


def fast(dag):
    """The DAG with retries off, so a failing path fails now (dag.test sleeps through retry delays)."""
    for task in dag.tasks:
        task.retries = 0
    return dag


def received(sandbox, kind: str) -> list[dict]:
    answer = requests.get(f"{sandbox.endpoints['sinks_url']}/__sandbox__/{kind}", timeout=5).json()
    return answer if isinstance(answer, list) else next(v for v in answer.values() if isinstance(v, list))


def status_webhooks(sandbox, new_status: str) -> list[dict]:
    """The bodies of the status webhooks the sink received for a change to ``new_status``, matched on the field
    (a substring of the whole record would also match a tracking ID such as ``XA3K7M`` in an A2 webhook)."""
    return [h["body"] for h in received(sandbox, "status-webhooks") if h["body"]["new_status"] == new_status]


def ti_states(dag_run) -> dict[tuple[str, int], str]:
    return {(ti.task_id, ti.map_index): ti.state for ti in dag_run.get_task_instances()}


def derivative_row(tracking_db, tracking_id: str, file_name: str) -> dict[str, Any]:
    """The ``derivative_assets`` row of a derivative (read by the test only; the product reads it otherwise)."""
    with tracking_db.transaction() as cur:
        cur.execute("SELECT * FROM derivative_assets WHERE tracking_id = %s AND file_name = %s",
                    (tracking_id, file_name))
        row = cur.fetchone()
    assert row is not None, f"no derivative_assets row for {file_name}"
    return dict(row)
