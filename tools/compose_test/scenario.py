"""The checks of ``make compose-test``, in order, on a deployment that is up. Each returns one line for the
report and raises SystemExit (one sentence) when what the outside world sees is wrong."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from tools.compose_test.checks import AirflowApi, Sandbox, dam_status, masters_in_box
from tools.compose_test.deployment import ROOT, Deployment
from tools.compose_test.engine import docker

if TYPE_CHECKING:
    from pathlib import Path

LONG_RUNNING = ["postgres", "redis", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                "airflow-triggerer", "airflow-worker", "receiver", "sandbox"]
DAGS = ["a1_discovery", "a1_to_a2", "a2_to_a3", "derivatives_sweep", "outbox_dispatch"]


def expect(condition: bool, sentence: str) -> None:
    if not condition:
        raise SystemExit(f"compose-test: FAILED: {sentence}")


@dataclass
class Scenario:
    deployment: Deployment
    api: AirflowApi
    sandbox: Sandbox
    seed: dict[str, Any]
    receiver_port: int
    sandbox_data_dir: Path

    def campaign(self, number: str) -> dict[str, Any]:
        return next(c for c in self.seed["campaigns"] if c["number"] == number)

    def worker_hosts(self) -> dict[str, str]:
        """Running workers' hostname (what task instances record) -> container name."""
        return {c["Config"]["Hostname"]: c["Name"].lstrip("/")
                for c in self.deployment.containers("airflow-worker", every=False)}

    # --- the deployment as written ---------------------------------------------------------------------
    def init_applied_once(self) -> str:
        [init] = self.deployment.containers("airflow-init")
        log = self.deployment.logs("airflow-init")
        steps = [line.split("Bootstrap", 1)[1].strip() for line in log.splitlines() if "Bootstrap " in line]
        expect(init["State"]["Status"] == "exited" and init["State"]["ExitCode"] == 0,
               f"airflow-init ended {init['State']['Status']} with exit code {init['State']['ExitCode']}")
        expect(sum(s == "airflow database migrated" for s in steps) == 1, f"bootstrap applied once: {steps}")
        expect(any(s.startswith("connections stored: otmm_default, box_default") for s in steps), f"{steps}")
        expect("FAB users created: admin, box_webhook" in steps, f"FAB users: {steps}")
        return "airflow-init exited 0 after one bootstrap: " + "; ".join(steps)

    def init_reruns_changed_nothing(self) -> str:
        """Each later `up` (the --scale ones) starts airflow-init again, as Compose does: nothing may change."""
        [init] = self.deployment.containers("airflow-init")
        steps = [line.split("Bootstrap", 1)[1].strip() for line in self.deployment.logs("airflow-init").splitlines()
                 if "Bootstrap " in line]
        runs = [i for i, step in enumerate(steps) if step == "airflow database migrated"]
        later = [steps[i:j] for i, j in zip(runs[1:], [*runs[2:], len(steps)], strict=True)]
        expect(init["State"]["ExitCode"] == 0, f"airflow-init exit code {init['State']['ExitCode']}")
        expect("FAB users created: admin, box_webhook" in steps[:runs[1] if len(runs) > 1 else None], f"{steps}")
        for rerun in later:
            expect("tracking database: up to date" in rerun and "FAB users created: none missing" in rerun,
                   f"a re-run of the bootstrap changed something: {rerun}")
        return f"bootstrap applied once, then {len(later)} re-run(s) by later `up`s, each changing nothing"

    def healthy(self, timeout: float) -> str:
        states = self.deployment.wait_healthy(LONG_RUNNING, timeout)
        return f"{len(states)} long-running containers healthy: {', '.join(sorted(states))}"

    def ui_login(self) -> str:
        answer = requests.get(f"{self.api.url}/", timeout=180)
        login = requests.get(f"{self.api.url}/auth/login/", timeout=180)
        expect(login.status_code == 200 and 'name="password"' in login.text and 'name="username"' in login.text,
               f"FAB login form at /auth/login/ (HTTP {login.status_code})")
        return f"UI / answers HTTP {answer.status_code}; /auth/login/ is FAB's sign-in form (username, password)"

    def rest_api(self) -> str:
        wrong = requests.post(f"{self.api.url}/auth/token", json={"username": "admin", "password": "wrong"},
                              timeout=180)
        expect(wrong.status_code in (401, 403), f"a wrong password is refused (HTTP {wrong.status_code})")
        health = self.api.call("GET", "monitor/health")
        self.api.wait_for_dags(DAGS)
        me = requests.get(f"{self.api.url}/api/v2/dags", timeout=180)
        expect(me.status_code in (401, 403), f"no token, no DAGs (HTTP {me.status_code})")
        return (f"admin token accepted, wrong password HTTP {wrong.status_code}, no token HTTP {me.status_code}; "
                f"{len(DAGS)} DAGs listed; scheduler {health['scheduler']['status']}")

    # --- A1 -> A2 on the Celery workers ----------------------------------------------------------------
    def to_a2(self, number: str, timeout: float = 900) -> tuple[str, list[dict[str, Any]]]:
        campaign = self.campaign(number)
        run_id = self.api.trigger("a1_to_a2", {"campaign": number})
        state = self.api.wait_for_run("a1_to_a2", run_id, timeout=timeout)
        tis = self.api.task_instances("a1_to_a2", run_id)
        expect(state == "success", f"{number}: a1_to_a2 {state}: {[(t['task_id'], t['state']) for t in tis]}")
        transfers = [ti for ti in tis if ti["task_id"] == "transfer_master"]
        expect(len(transfers) == len(campaign["masters"]) and {t["state"] for t in transfers} == {"success"},
               f"{number}: one successful transfer per master")
        expect(dam_status(campaign) == "A2", f"{number}: DAM status A2")
        names = masters_in_box(self.seed["box_root_folder_id"], campaign)
        expect(len(names) == len(campaign["masters"]) == len({n[:6] for n in names}),
               f"{number}: one Box master per DAM master, each its own tracking ID: {names}")
        expect(self.sandbox.flips(campaign, "A2") == (1, 1), f"{number}: one A2 webhook and one A2 email "
               f"(got {self.sandbox.flips(campaign, 'A2')})")
        return run_id, transfers

    def a2_on_one_worker(self) -> str:
        hosts = self.worker_hosts()
        lines = []
        for number in ("CMP-2026-001", "CMP-2026-002"):
            _, transfers = self.to_a2(number)
            used = {t["hostname"] for t in transfers}
            expect(used <= set(hosts), f"{number}: transfers ran on {used}, workers are {hosts}")
            lines.append(f"{number} A2 ({len(transfers)} transfers on {', '.join(hosts[h] for h in used)})")
        return "; ".join(lines)

    def scale_to_two(self, timeout: float) -> str:
        self.deployment.compose("up", "-d", "--no-recreate", "--scale", "airflow-worker=2")
        self.deployment.wait_healthy(["airflow-worker"], timeout)
        hosts = self.worker_hosts()
        expect(len(hosts) == 2, f"two workers after --scale airflow-worker=2: {hosts}")
        campaign = self.campaign("CMP-2026-101")
        self.sandbox.slow_downloads(campaign, 4)
        try:
            _, transfers = self.to_a2(campaign["number"])
        finally:
            self.sandbox.clear_faults()
        used = {t["hostname"] for t in transfers}
        expect(used == set(hosts), f"transfers on both workers: {used} vs {sorted(hosts)}")
        per = {hosts[h]: sum(t["hostname"] == h for t in transfers) for h in used}
        return f"{campaign['number']} A2, its {len(transfers)} transfers on two workers: {per}"

    def worker_killed(self) -> str:
        campaign = self.campaign("CMP-2026-102")
        self.sandbox.slow_downloads(campaign, 10)
        run_id = self.api.trigger("a1_to_a2", {"campaign": campaign["number"]})
        victim: str | None = None
        deadline = time.monotonic() + 600
        while victim is None and time.monotonic() < deadline:
            running = [ti for ti in self.api.task_instances("a1_to_a2", run_id)
                       if ti["task_id"] == "transfer_master" and ti["state"] == "running" and ti["hostname"]]
            victim = running[0]["hostname"] if running else None
            time.sleep(1)
        if victim is None:
            raise SystemExit("compose-test: FAILED: no transfer was running to kill its worker")
        container = self.worker_hosts()[victim]
        docker("kill", "--signal", "KILL", container)
        try:
            state = self.api.wait_for_run("a1_to_a2", run_id, timeout=900)
        finally:
            self.sandbox.clear_faults()
        transfers = [ti for ti in self.api.task_instances("a1_to_a2", run_id) if ti["task_id"] == "transfer_master"]
        expect(state == "success", f"{campaign['number']}: a1_to_a2 {state} after the kill")
        expect({t["state"] for t in transfers} == {"success"} and len(transfers) == len(campaign["masters"]),
               "every transfer succeeded")
        again = [t for t in transfers if t["try_number"] > 1]
        expect(bool(again), "the killed worker's task instance ran again")
        expect(dam_status(campaign) == "A2", f"{campaign['number']}: DAM status A2")
        names = masters_in_box(self.seed["box_root_folder_id"], campaign)
        expect(len(names) == len(campaign["masters"]) == len({n[:6] for n in names}),
               f"{campaign['number']}: Box holds each master once: {names}")
        expect(self.sandbox.flips(campaign, "A2") == (1, 1), f"{campaign['number']}: one A2 webhook and email")
        self.deployment.compose("up", "-d", "--no-recreate", "--scale", "airflow-worker=2")
        return (f"{container} killed (SIGKILL) mid-transfer; {len(again)} task instance(s) ran again; "
                f"{campaign['number']} A2 with {len(names)} masters in Box, one webhook, one email")

    # --- A2 -> A3 through the published receiver port ---------------------------------------------------
    def agency_to_a3(self, timeout: float = 1200) -> str:
        address = f"http://host.docker.internal:{self.receiver_port}/box/webhook"
        register = self.deployment.compose("exec", "-T", "receiver", "python", "-m", "receiver",
                                           "register-webhook", "--address", address)
        lines = [f"webhook -> {address} ({register.stdout.strip().splitlines()[-1][:80]})"]
        campaigns = [self.campaign("CMP-2026-001"), self.campaign("CMP-2026-002")]
        for campaign in campaigns:
            agency = subprocess.run([sys.executable, "-m", "sandbox", "agency", "--campaign", campaign["number"],
                                     "--data-dir", str(self.sandbox_data_dir)], cwd=ROOT, capture_output=True,
                                    text=True, timeout=300)
            expect(agency.returncode == 0, f"agency {campaign['number']}: {agency.stderr.strip()[-300:]}")
        uploads = sum(len(c["masters"]) + 1 for c in campaigns)
        deadline = time.monotonic() + timeout
        while True:
            runs = [r for r in self.api.call("GET", "dags/a2_to_a3/dagRuns", params={"limit": 200})["dag_runs"]
                    if r["dag_run_id"].startswith("box_")]  # started by the receiver (not the hourly sweep)
            if len(runs) >= uploads and all(r["state"] in ("success", "failed") for r in runs):
                break
            expect(time.monotonic() < deadline, f"a2_to_a3: {len(runs)} of {uploads} runs, "
                   f"{sorted(r['state'] for r in runs)} after {timeout:.0f} s")
            time.sleep(5)
        states = sorted(r["state"] for r in runs)
        expect(states == ["failed"] * 2 + ["success"] * (uploads - 2), f"one refused file per campaign: {states}")
        for campaign in campaigns:
            expect(dam_status(campaign) == "A3", f"{campaign['number']}: DAM status A3")
        expect(self.sandbox.refusals() == len(campaigns), f"one refusal email per badly named file: "
               f"{self.sandbox.refusals()}")
        received = self.deployment.logs("receiver")
        forwarded = len(re.findall(r"box_", received))
        lines.append(f"{uploads} uploads -> {len(runs)} receiver-started runs ({states.count('success')} success, "
                     f"{states.count('failed')} refused); both campaigns A3; receiver log mentions {forwarded} runs")
        return "; ".join(lines)

    def one_message_per_flip(self) -> str:
        counts = {}
        for number, statuses in (("CMP-2026-001", ("A2", "A3")), ("CMP-2026-002", ("A2", "A3")),
                                 ("CMP-2026-101", ("A2",)), ("CMP-2026-102", ("A2",))):
            campaign = self.campaign(number)
            for status in statuses:
                got = self.sandbox.flips(campaign, status)
                expect(got == (1, 1), f"{number} -> {status}: {got[0]} webhook(s), {got[1]} email(s)")
                counts[f"{number}->{status}"] = got
        total_hooks = len(self.sandbox.received("status-webhooks"))
        expect(total_hooks == len(counts), f"{total_hooks} status webhooks for {len(counts)} flips")
        return f"{len(counts)} flips, each 1 status webhook + 1 email; {total_hooks} webhooks in all"
