"""An operator's day on a fresh stack, in a real browser (Playwright + Debian's chromium), observed from outside.

1. A fresh install: Home shows no import error (and the REST API lists none, for DAGs or plugins).
2. A2 for both demo campaigns; the agency of CMP-2026-001 uploads its derivatives and one badly named file.
3. The bad name shows on CMP-2026-001's page (not among the failures of no known campaign).
4. The agency renames the file in Box, through the Box API; Box's FILE.RENAMED webhook brings it into the DAM's
   Final Assets without any operator action, and the failure shows as resolved.
5. With the mail sink failing, the agency's next bad file: its error email shows as failed on the campaign's
   page; the sink is healed; the operator clicks Re-send; the sink then holds exactly one copy per Message-Id.

Screenshots go to ``.local/screenshots/operator-day/`` (git-ignored).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
import requests

from include.ferrero.box_webhooks import dag_run_id_for
from tests.chromium import LAUNCH_ARGS, ensure_chromium, screenshot, sign_in
from tests.stack.conftest import ROOT, Stack

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from playwright.sync_api import FrameLocator, Page

SCREENSHOTS = ROOT / ".local" / "screenshots" / "operator-day"
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def page(stack: Stack) -> Iterator[Page]:
    """A logged-in admin's page (Airflow's own login form) in Debian's chromium."""
    from playwright.sync_api import sync_playwright

    chromium = ensure_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1100})
        context.set_default_timeout(60_000)
        page = context.new_page()
        sign_in(page, stack.api.url, stack.api.passwords["admin"])
        yield page
        browser.close()


def _shot(page: Page, name: str) -> None:
    screenshot(page, SCREENSHOTS, name)


def _seed(stack: Stack) -> dict[str, Any]:
    return json.loads((stack.sandbox.data_dir / "seed.json").read_text())


def _runs(stack: Stack, dag_id: str) -> list[dict[str, Any]]:
    while True:
        try:
            return stack.call("GET", f"dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"]
        except requests.Timeout:  # a slow answer on a busy machine: ask again
            continue


def _wait_done(stack: Stack, dag_id: str, count: int, timeout: float = 400) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        done = [r for r in _runs(stack, dag_id) if r["state"] in ("success", "failed")]
        if len(done) >= count or time.monotonic() > deadline:
            return done
        time.sleep(2)


def _faults(stack: Stack, rule: dict[str, Any] | None) -> None:
    """Arm ``rule`` on the mail and webhook sinks, or clear their rules (None)."""
    url = f"{stack.sandbox.endpoints['sinks_url']}/__sandbox__/faults"
    if rule is None:
        requests.delete(url, timeout=5).raise_for_status()
    else:
        requests.post(url, json=rule, timeout=5).raise_for_status()


def _agency(stack: Stack) -> Any:
    """The agency's Box client (the sandbox's Box API, as the agency's own tools would call it)."""
    from sandbox.box.client import ccg_client

    settings = stack.sandbox.settings
    return ccg_client(settings, stack.sandbox.endpoints, user_id=settings.box_agency_user_id)


def _no_import_error(stack: Stack, page: Page, shot: str) -> None:
    """Neither the REST API nor Airflow's Home page report a DAG or plugin import error."""
    deadline = time.monotonic() + 180
    wanted = {"a1_discovery", "a1_to_a2", "a2_to_a3", "derivatives_sweep", "outbox_dispatch"}
    while not wanted <= {d["dag_id"] for d in stack.call("GET", "dags", params={"limit": 100})["dags"]}:
        assert time.monotonic() < deadline, "the DAGs were not parsed"
        time.sleep(2)
    dag_errors, plugin_errors = stack.call("GET", "importErrors"), stack.call("GET", "plugins/importErrors")
    assert (dag_errors["total_entries"], plugin_errors["total_entries"]) == (0, 0), (dag_errors, plugin_errors)
    page.goto(f"{stack.api.url}/")
    page.get_by_text("Health", exact=True).first.wait_for()  # the Home page has rendered
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Import Error").count() == 0
    _shot(page, shot)


def _campaign_page(stack: Stack, page: Page, number: str) -> FrameLocator:
    page.goto(f"{stack.api.url}/plugin/campaigns")
    frame = page.frame_locator("iframe")
    frame.get_by_role("link", name=number).click()
    frame.locator("#masters").wait_for()
    return frame


def _wait_for(what: str, check: Any, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)
    return found


def test_an_operators_day(stack: Stack, page: Page, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from cockpit.queries import CockpitDb
    from ferrero_provider.otmm.hooks import OtmmHook

    for key, value in stack.api.env.items():
        if key.startswith("AIRFLOW_CONN_"):
            monkeypatch.setenv(key, value)
    seed = _seed(stack)
    first = next(c for c in seed["campaigns"] if c["number"] == "CMP-2026-001")
    _no_import_error(stack, page, "01-home-fresh-install")

    # A2 for both campaigns, then the agency of CMP-2026-001: one derivative per master and one bad name.
    for campaign in seed["campaigns"]:
        stack.trigger("a1_to_a2", {"campaign": campaign["id"]})
    assert [r["state"] for r in _wait_done(stack, "a1_to_a2", 2)] == ["success", "success"]
    register = subprocess.run([sys.executable, "-m", "receiver", "register-webhook", "--address",
                               stack.receiver.webhook_url], env=stack.receiver.env, cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
    assert register.returncode == 0, register.stderr
    agency = subprocess.run([sys.executable, "-m", "sandbox", "agency", "--campaign", first["number"]],
                            env=stack.sandbox.env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert agency.returncode == 0, agency.stderr
    uploads = len(first["masters"]) + 1
    done = _wait_done(stack, "a2_to_a3", uploads)
    assert sorted(r["state"] for r in done) == ["failed"] + ["success"] * (uploads - 1), done
    [failed_run] = [r for r in done if r["state"] == "failed"]
    bad_id, version, bad_name = (failed_run["conf"][k] for k in ("box_file_id", "box_file_version_id", "file_name"))
    cockpit = CockpitDb.from_dsn(stack.tracking_dsn)
    _wait_for("the failure recorded", lambda: cockpit.campaign(first["id"])["failures"])

    # The bad name shows on CMP-2026-001's page, with its sentence; nothing is "of no known campaign".
    page.goto(f"{stack.api.url}/plugin/campaigns")
    frame = page.frame_locator("iframe")
    frame.locator("#campaigns").wait_for()
    assert frame.locator("#unattributed-failures").count() == 0
    assert frame.locator(f'tr[data-campaign="{first["number"]}"] [data-field="failed_derivatives"]').inner_text() == "1"
    frame = _campaign_page(stack, page, first["number"])
    row = frame.locator('#failures tr[data-kind="derivative"]')
    assert row.count() == 1 and row.get_attribute("data-resolved") == "no"
    assert bad_name in row.inner_text() and "VERSION segment is missing" in row.locator(".sentence").inner_text()
    assert frame.locator('[data-count="failures"] b').inner_text() == "1"
    row.scroll_into_view_if_needed()
    _shot(page, "02-bad-name-on-its-campaign")

    # The agency renames the file in Box: FILE.RENAMED starts its run, and it reaches Final Assets by itself.
    stem, dot, ext = bad_name.rpartition(".")
    good_name = f"{stem}_v01{dot}{ext}"
    _agency(stack).files.update_file_by_id(bad_id, name=good_name)
    renamed_run = dag_run_id_for(bad_id, version, good_name)
    assert stack.wait_for_run("a2_to_a3", renamed_run, timeout=300) == "success"
    final = {a.name for a in OtmmHook().client.folders.list_master_assets(first["final_assets_folder_id"])}
    assert good_name[7:] in final and len(final) == len(first["masters"]) + 1, final
    frame = _campaign_page(stack, page, first["number"])
    row = frame.locator('#failures tr[data-kind="derivative"]')
    assert row.get_attribute("data-resolved") == "yes" and f"superseded by {good_name}" in row.inner_text()
    assert frame.locator('[data-count="failures"] b').inner_text() == "0"
    row.scroll_into_view_if_needed()
    _shot(page, "03-renamed-failure-resolved")

    # With the mail sink failing, the agency's next bad file: its error email fails and shows on the page.
    stack.call("PATCH", "dags/outbox_dispatch", json={"is_paused": False})  # as `make up` leaves it
    _faults(stack, {"method": "POST", "path": "/v3/*/messages", "kind": "status", "status": 400, "count": 1000})
    before = len(stack.received("mail"))
    second_bad = f"{stem}_draft.{ext}"  # leads with the same tracking ID; no version segment again
    derivatives = _agency(stack).files.get_file_by_id(bad_id, fields=["parent"]).parent.id
    local = tmp_path / "draft"
    local.write_bytes(b"%PDF-1.4 a draft the agency did not mean to send")
    from box_sdk_gen import UploadFileAttributes, UploadFileAttributesParentField

    with local.open("rb") as fh:
        uploaded = _agency(stack).uploads.upload_file(
            UploadFileAttributes(name=second_bad, parent=UploadFileAttributesParentField(id=derivatives)), fh
        ).entries[0]
    draft_run = dag_run_id_for(uploaded.id, uploaded.file_version.id, second_bad)
    assert stack.wait_for_run("a2_to_a3", draft_run, timeout=300) == "failed"

    def failed_email() -> list[dict[str, Any]]:
        return [o for o in cockpit.campaign(first["id"])["outbox"]
                if o["status"] == "failed" and o["target"] == "upload_failed"]

    _wait_for("the failed error email", failed_email)
    _faults(stack, None)  # the mail provider is fixed
    frame = _campaign_page(stack, page, first["number"])
    failed = frame.locator('#outbox tr[data-status="failed"]')
    assert failed.count() == 1 and "HTTP 400" in failed.locator(".sentence").inner_text()
    assert frame.locator('#failures tr[data-kind="derivative"][data-resolved="no"]').count() == 1
    failed.first.scroll_into_view_if_needed()
    _shot(page, "04-failed-email-on-its-campaign")

    failed.get_by_role("button", name="Re-send").click()
    notice = frame.locator("#resend-notice")
    notice.wait_for()
    resend_run = notice.get_by_role("link").inner_text().strip()
    assert stack.wait_for_run("outbox_dispatch", resend_run, timeout=300) == "success"
    frame = _campaign_page(stack, page, first["number"])
    assert frame.locator('#outbox tr[data-status="failed"]').count() == 0
    frame.locator("#outbox").scroll_into_view_if_needed()
    _shot(page, "05-email-resent")

    mail = stack.received("mail")
    new = mail[before:]
    assert len(new) == 1 and second_bad in new[0]["subject"], new
    copies = Counter(m["message_id_header"] for m in mail)
    assert all(n == 1 for n in copies.values()), copies
    time.sleep(5)  # outbox_dispatch keeps running every minute: nothing more goes out
    assert Counter(m["message_id_header"] for m in stack.received("mail")) == copies
    _no_import_error(stack, page, "06-home-end-of-day")
