"""What an operator sees and repairs on the running product, observed from outside: the REST API (import
errors, task states, task logs, run times), the mail sink, and the Campaigns view in a real browser.

- A fresh install: no DAG import error and no plugin import error.
- With the mail sink answering 400, a campaign's success email fails; the campaign page shows it with its
  error; the sink is healed; the operator clicks **Re-send** in the Campaigns view (an ``outbox_dispatch`` run);
  the sink then holds exactly one copy per Message-Id. Clearing the task that sends a failed email re-sends it
  too, and a clear after it was sent says "already sent at" and sends nothing.
- Planning that fails (a campaign not in A1; the DAM down) fails ``plan_campaign`` alone, with one email; a
  refused campaign in seconds, on its first try.
- A forced discovery of a campaign past A1 logs its real status.
- ``eval "$(make -s env)"`` beside the running install gives an ``airflow`` CLI that reads the product's
  connections (the Fernet key comes through ``AIRFLOW__CORE__FERNET_KEY_CMD``, never printed).

Screenshots go to ``.local/screenshots/repairs/``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.chromium import LAUNCH_ARGS, ensure_chromium, screenshot, sign_in
from tests.stack.conftest import ROOT, Stack

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Page

SCREENSHOTS = ROOT / ".local" / "screenshots" / "repairs"
pytestmark = pytest.mark.timeout(1500)


def _seed(stack: Stack) -> dict[str, Any]:
    return json.loads((stack.sandbox.data_dir / "seed.json").read_text())


def _campaign(stack: Stack, number: str) -> dict[str, Any]:
    return next(c for c in _seed(stack)["campaigns"] if c["number"] == number)


def _faults(stack: Stack, service: str, rule: dict[str, Any] | None) -> None:
    """Arm ``rule`` on a sandbox server (``sinks_url``, ``otmm_url``), or clear its rules (None)."""
    url = f"{stack.sandbox.endpoints[service]}/__sandbox__/faults"
    if rule is None:
        requests.delete(url, timeout=5).raise_for_status()
    else:
        requests.post(url, json=rule, timeout=5).raise_for_status()


def _mail(stack: Stack) -> list[dict[str, Any]]:
    return stack.received("mail")


def _run(stack: Stack, dag_id: str, run_id: str) -> dict[str, Any]:
    return stack.call("GET", f"dags/{dag_id}/dagRuns/{run_id}")


def _states(stack: Stack, dag_id: str, run_id: str) -> dict[str, tuple[str | None, int]]:
    return {ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else ""): (ti["state"], ti["try_number"])
            for ti in stack.task_instances(dag_id, run_id)}


def _log(stack: Stack, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
    answer = stack.call("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                        params={"full_content": "true"}, headers={"Accept": "application/json"})
    content = answer["content"]
    return "\n".join(str(line.get("event", "")) if isinstance(line, dict) else str(line) for line in content)


def _seconds(run: dict[str, Any]) -> float:
    return (datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])).total_seconds()


def _wait_dags_parsed(stack: Stack, dag_ids: set[str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        found = {d["dag_id"] for d in stack.call("GET", "dags", params={"limit": 100})["dags"]}
        if dag_ids <= found or time.monotonic() > deadline:
            assert dag_ids <= found, f"DAGs not parsed: {dag_ids - found}"
            return
        time.sleep(2)


def _by_message_id(mail: list[dict[str, Any]]) -> Counter[str]:
    return Counter(m["message_id_header"] for m in mail)


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


def test_fresh_install_has_no_import_error(stack: Stack) -> None:
    _wait_dags_parsed(stack, {"a1_discovery", "a1_to_a2", "a2_to_a3", "derivatives_sweep", "outbox_dispatch"})
    dag_errors = stack.call("GET", "importErrors")
    plugin_errors = stack.call("GET", "plugins/importErrors")
    plugins = {p["name"] for p in stack.call("GET", "plugins")["plugins"]}
    print("DAG import errors:", dag_errors, "plugin import errors:", plugin_errors)
    assert dag_errors["total_entries"] == 0, dag_errors
    assert plugin_errors["total_entries"] == 0, plugin_errors
    assert "campaigns_cockpit" in plugins


def test_failed_email_is_shown_and_resent_from_the_campaigns_view(stack: Stack, page: Page) -> None:
    campaign = _campaign(stack, "CMP-2026-002")
    stack.set_paused("outbox_dispatch")  # as `make up` leaves it: it carries out the re-send
    _faults(stack, "sinks_url", {"method": "POST", "path": "/v3/*/messages", "kind": "status", "status": 400,
                                 "count": 1000})
    run_id = stack.trigger("a1_to_a2", {"campaign": campaign["id"]})
    assert stack.wait_for_run("a1_to_a2", run_id, timeout=400) == "failed"
    states = _states(stack, "a1_to_a2", run_id)
    assert states["send_success_email"] == ("failed", 1), states  # refused for good: no retry
    assert states["send_status_webhook"][0] == "success" and states["flip_to_a2"][0] == "success"
    assert _mail(stack) == []

    # The campaign page (as the REST route serves it) shows the failed email and its error; so does the list.
    bearer = {"Authorization": f"Bearer {stack.api.token('admin')}"}
    html = requests.get(f"{stack.api.url}/cockpit/campaigns/{campaign['id']}", headers=bearer, timeout=30).text
    assert 'data-status="failed"' in html and "HTTP 400" in html
    _faults(stack, "sinks_url", None)  # the receiver is fixed

    page.goto(f"{stack.api.url}/plugin/campaigns")
    frame = page.frame_locator("iframe")
    row = frame.locator(f'tr[data-campaign="{campaign["number"]}"]')
    assert row.locator('[data-field="outbox_failed"]').inner_text() == "1"
    _shot(page, "01-campaigns-one-failed-message")
    frame.get_by_role("link", name=campaign["number"]).click()
    failed = frame.locator('#outbox tr[data-status="failed"]')
    failed.first.wait_for()
    assert failed.count() == 1
    assert "HTTP 400" in failed.locator(".sentence").inner_text()
    assert frame.locator('#outbox-summary [data-count="failed_messages"]').inner_text() == "1"
    failed.first.scroll_into_view_if_needed()
    _shot(page, "02-campaign-failed-email")

    failed.get_by_role("button", name="Re-send").click()
    notice = frame.locator("#resend-notice")
    notice.wait_for()
    resend_run = notice.get_by_role("link").inner_text().strip()
    _shot(page, "03-resend-started")
    assert stack.wait_for_run("outbox_dispatch", resend_run, timeout=300) == "success"
    assert "sent at" in _log(stack, "outbox_dispatch", resend_run, "resend_failed_messages", 1)

    page.reload()
    frame.locator("#outbox").wait_for()
    assert frame.locator('#outbox tr[data-status="failed"]').count() == 0
    assert frame.locator('#history [data-field="email-sent"]').first.inner_text().endswith("UTC")
    _shot(page, "04-campaign-email-resent")

    mail = _mail(stack)
    assert len(mail) == 1 and "all 3 masters are in Box" in mail[0]["subject"], mail
    assert all(n == 1 for n in _by_message_id(mail).values())

    # Asking again (as an operator would through the same route, with a token) sends nothing twice.
    again = requests.post(f"{stack.api.url}/cockpit/campaigns/{campaign['id']}/resend", headers=bearer,
                          allow_redirects=False, timeout=30)
    assert again.status_code == 409, again.text
    anonymous = requests.post(f"{stack.api.url}/cockpit/campaigns/{campaign['id']}/resend", timeout=30)
    assert anonymous.status_code == 401
    time.sleep(5)
    assert _by_message_id(_mail(stack)) == _by_message_id(mail)


def test_clearing_the_task_of_a_failed_email_resends_it_once(stack: Stack) -> None:
    campaign = _campaign(stack, "CMP-2026-001")
    before = _mail(stack)
    _faults(stack, "sinks_url", {"method": "POST", "path": "/v3/*/messages", "kind": "status", "status": 400,
                                 "count": 1000})
    run_id = stack.trigger("a1_to_a2", {"campaign": campaign["id"]})
    assert stack.wait_for_run("a1_to_a2", run_id, timeout=400) == "failed"
    assert _states(stack, "a1_to_a2", run_id)["send_success_email"] == ("failed", 1)
    _faults(stack, "sinks_url", None)

    clear = {"dag_run_id": run_id, "task_ids": ["send_success_email"], "dry_run": False, "only_failed": True}
    stack.call("POST", "dags/a1_to_a2/clearTaskInstances", json=clear)
    assert stack.wait_for_run("a1_to_a2", run_id, timeout=300) == "success"
    states = _states(stack, "a1_to_a2", run_id)
    assert states["send_success_email"] == ("success", 2)
    assert "sent at" in _log(stack, "a1_to_a2", run_id, "send_success_email", 2)

    # A clear after it was sent: the log says so, the sink gets nothing more.
    stack.call("POST", "dags/a1_to_a2/clearTaskInstances", json={**clear, "only_failed": False})
    deadline = time.monotonic() + 300
    while _states(stack, "a1_to_a2", run_id)["send_success_email"] != ("success", 3):
        assert time.monotonic() < deadline, _states(stack, "a1_to_a2", run_id)
        time.sleep(2)
    log = _log(stack, "a1_to_a2", run_id, "send_success_email", 3)
    assert "was already sent at" in log and "not sent again" in log, log
    new = _mail(stack)[len(before):]
    assert len(new) == 1 and "all 4 masters are in Box" in new[0]["subject"], new
    assert all(n == 1 for n in _by_message_id(_mail(stack)).values())


def test_a_refused_campaign_fails_in_seconds_with_one_email(stack: Stack) -> None:
    campaign = _campaign(stack, "CMP-2026-002")  # in A2 by now
    before = len(_mail(stack))
    run_id = stack.trigger("a1_to_a2", {"campaign": campaign["id"]})
    assert stack.wait_for_run("a1_to_a2", run_id, timeout=300) == "failed"
    run, states = _run(stack, "a1_to_a2", run_id), _states(stack, "a1_to_a2", run_id)
    print(f"refused campaign: run took {_seconds(run):.1f} s; task states {states}")
    assert states.pop("plan_campaign") == ("failed", 1)  # its first try: no retry helps
    assert {state for state, _ in states.values()} == {"upstream_failed"}, states  # nothing else crashed
    assert _seconds(run) < 60
    sentence = f"campaign {campaign['number']} {campaign['name']!r} is in status 'A2', not A1"
    assert sentence in _log(stack, "a1_to_a2", run_id, "plan_campaign", 1)
    time.sleep(5)  # the failure callback's email, if any more were coming
    new = _mail(stack)[before:]
    assert len(new) == 1 and "could not be processed" in new[0]["subject"], new
    assert sentence in new[0]["text"] or sentence.replace("'", "&#39;") in new[0]["html"]


def test_the_dam_down_at_planning_fails_planning_alone_with_one_email(stack: Stack) -> None:
    campaign = _campaign(stack, "CMP-2026-001")
    before = len(_mail(stack))
    _faults(stack, "otmm_url", {"method": "*", "path": "/otmmapi/*", "kind": "status", "status": 503,
                                "count": 100000})
    try:
        run_id = stack.trigger("a1_to_a2", {"campaign": campaign["id"], "force": True})
        assert stack.wait_for_run("a1_to_a2", run_id, timeout=400) == "failed"
    finally:
        _faults(stack, "otmm_url", None)
    states = _states(stack, "a1_to_a2", run_id)
    print(f"DAM down at planning: task states {states}")
    assert states.pop("plan_campaign") == ("failed", 2)  # the stack's CONTENT_SCALING_TASK_RETRIES=1
    assert {state for state, _ in states.values()} == {"upstream_failed"}, states
    time.sleep(5)
    new = _mail(stack)[before:]
    assert len(new) == 1 and "could not be processed" in new[0]["subject"], new
    assert "503" in new[0]["text"] or "503" in new[0]["html"]


def test_a_forced_discovery_logs_the_campaigns_real_status(stack: Stack) -> None:
    campaign = _campaign(stack, "CMP-2026-002")  # in A2
    stack.set_paused("a1_discovery")
    try:
        run_id = stack.trigger("a1_discovery", {"campaign": campaign["number"], "force": True})
        assert stack.wait_for_run("a1_discovery", run_id, timeout=300) == "success"
    finally:
        stack.set_paused("a1_discovery", paused=True)
        stack.set_paused("a1_to_a2", paused=True)  # the forced run it started need not run here
    log = _log(stack, "a1_discovery", run_id, "find_a1_campaigns", 1)
    assert f"campaign {campaign['number']} is in status A2 in the DAM" in log, log
    assert "campaign(s) in A1" not in log


def test_the_test_button_answers_for_every_product_connection(stack: Stack) -> None:
    """What the UI's Test button calls (``POST /api/v2/connections/test``) on the product's connections as the
    bootstrap stored them: each answers with its own sentence; a DAM that is down within 10 s, naming it."""
    def test(conn_id: str, **changes: Any) -> tuple[bool, str, float]:
        fields = {**json.loads(stack.api.env[f"AIRFLOW_CONN_{conn_id.upper()}"]), **changes}
        body = {"connection_id": conn_id, **fields, "extra": json.dumps(fields.get("extra", {}))}
        started = time.monotonic()
        answer = stack.call("POST", "connections/test", json=body)
        return answer["status"], answer["message"], time.monotonic() - started

    expected = {"otmm_default": "Connected to the DAM at", "box_default": "",
                "mailgun_default": "accepts the API key and sends for the domain",
                "campaign_status_webhook": "answers (HTTP 405 to a GET; nothing was posted) and does not refuse",
                "asset_upload_webhook": "does not refuse the bearer credentials"}
    for conn_id, sentence in expected.items():
        ok, said, took = test(conn_id)
        print(f"Test {conn_id:<26} {ok!s:<5} {took:4.1f} s  {said}")
        assert ok and sentence in said, (conn_id, said)

    ok, said, _ = test("mailgun_default", password="key-wrong")
    assert not ok and "refused the API key (HTTP 401)" in said, said
    ok, said, _ = test("campaign_status_webhook", password="wrong")
    assert not ok and "refuses the bearer credentials (HTTP 401)" in said, said
    down = "http://127.0.0.1:9/otmmapi/v6"
    ok, said, took = test("otmm_default", host=down)
    print(f"Test otmm_default (down)     {ok!s:<5} {took:4.1f} s  {said}")
    assert not ok and down in said and took < 10, (took, said)


def test_make_env_gives_a_cli_that_reads_the_connections(stack: Stack, tmp_path: Path) -> None:
    env = {k: v for k, v in stack.api.up_env.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW__CORE__FERNET"))}
    printed = subprocess.run([sys.executable, "-m", "tools.stack", "env"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    assert "AIRFLOW__CORE__FERNET_KEY=" not in printed.stdout and "AIRFLOW_CONN_" not in printed.stdout
    airflow = Path(sys.executable).parent / "airflow"
    cli = subprocess.run(["bash", "-c", f'eval "$1"; exec {airflow} connections list -o json', "-", printed.stdout],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    listed = {c["conn_id"]: c["conn_type"] for c in json.loads(cli.stdout[cli.stdout.index("["):])}
    assert listed.get("otmm_default") == "otmm" and listed.get("box_default") == "box", listed
