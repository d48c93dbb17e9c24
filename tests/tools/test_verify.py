"""``make verify`` against the sandbox: every row OK on the default DAM, and in each behaviour variant the report
names that variant (read-only checks plus the write checks in test folders)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from include.ferrero.box_webhooks import WEBHOOK_TRIGGERS
from sandbox.connections import product_connections
from sandbox.otmm.variants import BEARER_WRITES_NEED_REQUESTED_BY, VARIANTS
from sandbox.testing import start_sandbox
from tests.dags.conftest import ROOT
from tests.plugins.conftest import DamData
from tests.seeded import seeded_copy

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow  # each test runs `make verify` against a sandbox of its own


ADDRESS = "http://127.0.0.1:9/box/webhook"  # webhook.public_url of these runs: nothing listens there


def _verify(variant: str, tmp_path: Path, *, webhook: bool = True) -> tuple[int, dict, str]:
    sandbox = start_sandbox(seeded_copy(tmp_path / "sandbox"), otmm_variants=variant, otmm_import_delay_seconds=0.05)
    try:
        seed = json.loads((sandbox.data_dir / "seed.json").read_text())
        dam = DamData(sandbox, tmp_path)
        paging = dam.campaign("Paging", "A3", final_name="Final Assets")
        dam.folder(paging, "Other")
        for n in range(60):
            dam.asset(paging, f"page-{n:02d}.txt", b"x")
        status_folder = dam.campaign("Status test", "A1", final_name=None)
        env = {**sandbox.env, **product_connections(sandbox.data_dir), "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}",
               "RECEIVER_PUBLIC_URL": ADDRESS}
        if webhook:  # as make up does: the product's webhook on the root folder
            register = subprocess.run([sys.executable, "-m", "receiver", "register-webhook"], capture_output=True,
                                      env={**env, "AIRFLOW_CONN_TRACKING_DB": "postgres://unused@localhost/tracking",
                                           "AIRFLOW_WEBHOOK_USER": "unused", "AIRFLOW_WEBHOOK_PASSWORD": "unused",
                                           "BOX_WEBHOOK_PRIMARY_KEY": "unused"}, cwd=ROOT, text=True, timeout=120)
            assert register.returncode == 0, register.stderr[-2000:]
        if variant == BEARER_WRITES_NEED_REQUESTED_BY:
            s = sandbox.settings
            env["AIRFLOW_CONN_OTMM_DEFAULT"] = json.dumps({
                "conn_type": "otmm", "host": sandbox.endpoints["otmm_base_url"], "extra": {
                    "auth_mode": "otds", "client_id": s.otds_client_id, "client_secret": s.otds_client_secret,
                    "otds_token_url": sandbox.endpoints["otds_token_url"]}})
        report = tmp_path / "verify.json"
        campaign = seed["campaigns"][0]
        done = subprocess.run(
            [sys.executable, "-m", "tools.verify", "--campaign", campaign["id"], "--paging-folder", paging,
             "--write", "--dam-test-folder", campaign["final_assets_folder_id"], "--dam-status-folder",
             status_folder, "--box-test-folder", str(seed["box_root_folder_id"]), "--json", str(report)],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        return done.returncode, json.loads(report.read_text()), done.stdout + done.stderr
    finally:
        sandbox.stop()


def test_verify_passes_against_the_default_sandbox(tmp_path: Path):
    code, report, output = _verify("", tmp_path)

    assert code == 0, output
    assert report["ok"] and report["variants"] == []
    areas = {f["area"] for f in report["findings"]}
    assert {"dam.auth", "dam.search", "dam.folders", "dam.assets", "dam.domains", "dam.write", "box"} <= areas
    assert "OK" in output and "DIFFERS" not in output.split("-" * 110)[1]
    rows = {(f["area"], f["assumption"].split(" ")[1]): f for f in report["findings"] if f["area"] != "box"}
    webhook = rows[("box.webhook", "webhook")]
    assert webhook["verdict"] == "OK" and ADDRESS in webhook["observed"]
    assert ", ".join(WEBHOOK_TRIGGERS) in webhook["assumption"]
    assert rows[("box.events", "event")]["verdict"] == "OK"
    versions = rows[("box.events", "new")]
    assert versions["verdict"] == "OK" and "new_version): events ITEM_UPLOAD, ITEM_UPLOAD" in versions["observed"]


def test_verify_reports_a_missing_webhook(tmp_path: Path):
    code, report, output = _verify("", tmp_path, webhook=False)

    [row] = [f for f in report["findings"] if f["verdict"] == "DIFFERS"]
    assert row["area"] == "box.webhook" and row["observed"] == "no webhook on the root folder", output
    assert "register-webhook" in row["setting"] and code == 1


@pytest.mark.parametrize("variant", VARIANTS)
def test_verify_names_the_variant_a_dam_matches(variant: str, tmp_path: Path):
    code, report, output = _verify(variant, tmp_path)

    assert code == 0, "a difference the client handles does not block go-live\n" + output
    assert report["variants"] == [variant] and not report["ok"], output
    [row] = [f for f in report["findings"] if f["verdict"] == "DIFFERS"]
    assert f"SANDBOX_OTMM_VARIANTS={variant}" in row["setting"]


def test_a_difference_the_client_cannot_handle_blocks_go_live(tmp_path: Path):
    sandbox = start_sandbox(tmp_path / "sandbox")
    try:
        env = {**sandbox.env, **product_connections(sandbox.data_dir), "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}"}
        report = tmp_path / "verify.json"
        done = subprocess.run([sys.executable, "-m", "tools.verify", "--skip-box", "--campaign", "0" * 40,
                               "--json", str(report)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    finally:
        sandbox.stop()

    assert done.returncode == 1, done.stdout + done.stderr
    rows = {f["assumption"]: f for f in json.loads(report.read_text())["findings"]}
    row = rows["a campaign's status is readable through GET /folders/{id}"]
    assert row["verdict"] == "DIFFERS" and not row["variant"] and "HTTP 404" in row["observed"]


@pytest.mark.parametrize("broken", ["wrong password", "unreachable host"])
def test_a_wrong_password_or_an_unreachable_dam_is_one_sentence_and_a_failure(broken: str, tmp_path: Path):
    from tests.airflow_api import free_port

    sandbox = start_sandbox(tmp_path / "sandbox")
    try:
        env = {**sandbox.env, **product_connections(sandbox.data_dir), "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}"}
        conn = json.loads(env["AIRFLOW_CONN_OTMM_DEFAULT"])
        if broken == "wrong password":
            conn["password"] = "not-the-password"
        else:
            conn["host"] = f"http://127.0.0.1:{free_port()}/otmmapi/v6"
        env["AIRFLOW_CONN_OTMM_DEFAULT"] = json.dumps(conn)
        done = subprocess.run([sys.executable, "-m", "tools.verify", "--skip-box", "--json", str(tmp_path / "v.json")],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    finally:
        sandbox.stop()

    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output
    sentence = done.stderr.strip().splitlines()[-1]
    assert sentence.startswith("make verify: the DAM cannot be used, so nothing was checked: "), output
    assert ("401" if broken == "wrong password" else "connection failed") in sentence, sentence
