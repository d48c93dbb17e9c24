"""The seed command (demo DAM + Box root, idempotent), readable through the OTMM API; and reset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
import requests

from sandbox.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from pathlib import Path

    from sandbox.testing import RunningSandbox


def run_cli(running: RunningSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**running.env, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run([sys.executable, "-m", "sandbox", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def counts(data_dir: Path) -> tuple[int, int]:
    import sqlite3

    db = sqlite3.connect(data_dir / "otmm" / "otmm.sqlite")
    try:
        return db.execute("SELECT COUNT(*) FROM assets").fetchone()[0], len(list((data_dir / "otmm" / "blobs").iterdir()))
    finally:
        db.close()


@pytest.mark.slow
def test_seed_is_idempotent_and_readable_then_reset(sandbox_factory) -> None:  # noqa: ANN001
    running = sandbox_factory()
    first = run_cli(running, "seed")
    assert first.returncode == 0, first.stderr
    seed = json.loads((running.data_dir / "seed.json").read_text())
    before = counts(running.data_dir)
    second = run_cli(running, "seed")
    assert second.returncode == 0, second.stderr
    assert json.loads((running.data_dir / "seed.json").read_text()) == seed
    assert counts(running.data_dir) == before

    assert seed["box_root_folder_id"] == seed["root_folder_id"]
    assert [c["number"] for c in seed["campaigns"]] == ["CMP-2026-001", "CMP-2026-002"]
    assert all(3 <= len(c["masters"]) <= 6 and c["status"] == "A1" for c in seed["campaigns"])

    s = running.settings
    base = running.endpoints["otmm_base_url"]
    token = requests.post(running.endpoints["otds_token_url"], timeout=10, data={
        "grant_type": "client_credentials", "client_id": s.otds_client_id, "client_secret": s.otds_client_secret,
    }).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    condition = {"search_condition_list": {"search_condition": [{
        "type": "com.artesia.search.SearchScalarCondition", "metadata_field_id": "FERRERO.CAMPAIGN.FIELD.STATUS",
        "relational_operator_id": "ARTESIA.OPERATOR.CHAR.CONTAINS", "value": "A1"}]}}
    hits = requests.post(f"{base}/search/text", headers=headers, timeout=10, data={
        "search_condition_list": json.dumps(condition), "load_type": "metadata", "limit": 10,
    }).json()["search_result_resource"]
    assert sorted(a["name"] for a in hits["asset_list"]) == ["Kinder Bueno Summer Crunch", "Nutella Breakfast Moments"]
    for campaign in seed["campaigns"]:
        children = requests.get(f"{base}/folders/{campaign['id']}/children", headers=headers, timeout=10).json()
        items = children["folder_children"]["asset_list"]
        assert [i["name"] for i in items if i["data_type"] == "CONTAINER"] == ["Final Assets"]
        kinds = {i["mime_type"] for i in items if i["data_type"] != "CONTAINER"}
        assert "video/mp4" in kinds and "image/png" in kinds

    refused = run_cli(running, "reset")
    assert refused.returncode == 1 and "running" in refused.stderr
    running.stop()
    credentials = (running.data_dir / "credentials.json").read_text()
    done = run_cli(running, "reset")
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(running.data_dir)) == ["credentials.json"]
    assert (running.data_dir / "credentials.json").read_text() == credentials
