"""``make chaos``: the whole product under faults, bounded to 25 minutes, then an audit of what came out.

On its own data folder (``.local-chaos/``, wiped at the start) and its own ports (``make up`` + 10000, or
``CHAOS_PORT_OFFSET``): 5 campaigns with 31 masters go A1 -> A2 through discovery while the DAM answers 503s,
Box answers 429s with Retry-After and connections are reset mid-body; then the agency uploads 100+ derivatives
(new versions of uploaded files, some a second apart, and badly named files) while the faults go on, the receiver
is killed (SIGKILL) three times and the Airflow api-server is down for over 2 minutes. Once quiescent, the audit
(``tools.chaos.audit``) prints its table and writes ``.local-chaos/audit.json``; the exit status is 0 only when
nothing was lost or duplicated.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any

from tools.chaos import audit
from tools.chaos.agency import Agency, Ledger
from tools.chaos.rest import AirflowRest, Sandbox
from tools.chaos.stack_env import CHAOS_LOCAL, ChaosPorts, ChaosStack

BUDGET_SECONDS = 25 * 60
API_DOWN_SECONDS = 130
#: Environment of every chaos process: more campaigns, faster Box redeliveries (task retries stay the product's).
CHAOS_ENV = {
    "SANDBOX_SEED_EXTRA_CAMPAIGNS": "3",
    "SANDBOX_SEED_EXTRA_MASTERS": "8",
    "SANDBOX_WEBHOOK_RETRY_SCALE": "0.1",
    "SANDBOX_OTMM_IMPORT_DELAY_SECONDS": "0.2",
    "CONTENT_SCALING_TEMP_DIR": str(CHAOS_LOCAL / "tmp"),
    "RECEIVER_RETRY_MAX_SECONDS": "10",
    "AIRFLOW__API__WORKERS": "1",
}
#: Fault rules per phase: (server, rule). Counted: each fires on the next ``count`` matching requests.
A1_FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("otmm", {"kind": "status", "status": 503, "method": "*", "path": "/otmmapi/v6/*", "count": 4}),
    ("otmm", {"kind": "reset", "method": "GET", "path": "/otmmapi/v6/assets/*/contents", "count": 2}),
    ("box_upload", {"kind": "429", "method": "POST", "path": "/api/2.0/files/content", "count": 3,
                    "retry_after": 2}),
    ("box_upload", {"kind": "reset", "method": "POST", "path": "/api/2.0/files/content", "count": 1}),
    ("box_api", {"kind": "429", "method": "GET", "path": "/2.0/folders/*", "count": 3, "retry_after": 2}),
    ("sinks", {"kind": "reset", "method": "POST", "path": "/v3/*/messages", "count": 1}),
    ("sinks", {"kind": "status", "status": 503, "method": "POST", "path": "/status-webhook", "count": 1}),
]
UPLOAD_FAULTS: list[tuple[str, dict[str, Any]]] = [  # a narrow rule before a catch-all, or it never fires
    ("otmm", {"kind": "reset", "method": "GET", "path": "/otmmapi/v6/assets/*", "count": 2}),
    ("otmm", {"kind": "status", "status": 503, "method": "*", "path": "/otmmapi/v6/*", "count": 6}),
    ("box_api", {"kind": "429", "method": "GET", "path": "/2.0/files/*", "count": 4, "retry_after": 2}),
    ("box_upload", {"kind": "429", "method": "POST", "path": "/api/2.0/files/*/content", "count": 3,
                    "retry_after": 1}),
    ("box_upload", {"kind": "reset", "method": "GET", "path": "/d/1/*/download", "count": 3}),
    ("sinks", {"kind": "reset", "method": "POST", "path": "/v3/*/messages", "count": 2}),
    ("sinks", {"kind": "reset", "method": "POST", "path": "/status-webhook", "count": 1}),
]


@dataclass
class Clock:
    started: float

    def left(self) -> float:
        return BUDGET_SECONDS - (time.monotonic() - self.started)


class Scenario:
    def __init__(self, chaos: ChaosStack, clock: Clock) -> None:
        self.chaos, self.clock = chaos, clock
        self.data_dir = chaos.local / "sandbox"
        self.started: tuple[AirflowRest, Sandbox, Ledger] | None = None  # set by start()
        self.fault_log: list[dict[str, Any]] = []

    @property
    def rest(self) -> AirflowRest:
        assert self.started is not None, "start() first"
        return self.started[0]

    @property
    def sandbox(self) -> Sandbox:
        assert self.started is not None, "start() first"
        return self.started[1]

    @property
    def ledger(self) -> Ledger:
        assert self.started is not None, "start() first"
        return self.started[2]

    # -- helpers --------------------------------------------------------------------------------------

    def arm(self, faults: list[tuple[str, dict[str, Any]]]) -> None:
        for role, rule in faults:
            self.sandbox.add_fault(role, **rule)
        self.ledger.note(f"armed {len(faults)} fault rules: " + ", ".join(
            f"{role} {r['kind']}{'/' + str(r['status']) if 'status' in r else ''} x{r['count']}" for role, r in faults))

    def disarm(self) -> None:
        fired = []
        for role in ("otmm", "box_api", "box_upload", "sinks"):
            rules = self.sandbox.faults(role)
            self.fault_log += [{"server": role, **rule} for rule in rules]
            fired += [f"{role} {r['method']} {r['path']} {r['kind']} {r['hits']}/{r['count']}" for r in rules]
        self.sandbox.clear_faults()
        self.ledger.note("faults fired: " + "; ".join(fired))

    def faults_left(self) -> int:
        return sum(r["remaining"] for role in ("otmm", "box_api", "box_upload", "sinks")
                   for r in self.sandbox.faults(role))

    def kill_receiver(self, nth: int) -> None:
        pid = self.chaos.kill("receiver")
        self.ledger.note(f"receiver killed with SIGKILL ({nth}/3, pid {pid})")
        time.sleep(3)
        self.chaos.restart("receiver")

    def statuses(self) -> dict[str, str]:
        statuses, _ = audit.dam_campaigns(self.data_dir / "otmm" / "otmm.sqlite")
        return statuses

    # -- phases ---------------------------------------------------------------------------------------

    def start(self) -> None:
        self.chaos.up()
        secrets = json.loads((self.chaos.local / "secrets.json").read_text())
        seed = json.loads((self.data_dir / "seed.json").read_text())
        self.started = (AirflowRest(self.chaos.api_url, secrets["airflow_passwords"]["admin"]),
                        Sandbox.load(self.data_dir),
                        Ledger({c["number"]: [m["name"] for m in c["masters"]] for c in seed["campaigns"]}))
        masters = sum(len(m) for m in self.ledger.campaigns.values())
        self.ledger.note(f"stack up: {len(self.ledger.campaigns)} campaigns, {masters} masters in A1")

    def a1_to_a2(self) -> None:
        for dag_id in ("a1_discovery", "a1_to_a2", "a2_to_a3"):
            self.rest.wait_for_dag(dag_id)
        self.arm(A1_FAULTS)
        self.ledger.note(f"discovery run {self.rest.trigger('a1_discovery')}")
        killed, last_trigger = False, time.monotonic()
        deadline = time.monotonic() + min(8 * 60, self.clock.left() - 12 * 60)
        while time.monotonic() < deadline:
            waiting = [c for c in self.ledger.campaigns if self.statuses().get(c) == "A1"]
            if not waiting:
                break
            if not killed and time.monotonic() - last_trigger > 20:
                self.kill_receiver(1)
                killed = True
            active = [r for r in self.rest.dag_runs("a1_to_a2") if r["state"] in ("queued", "running")]
            if not active and time.monotonic() - last_trigger > 90:  # what discovery's cron would do, sooner
                self.ledger.note(f"still in A1: {', '.join(waiting)}; discovery run {self.rest.trigger('a1_discovery')}")
                last_trigger = time.monotonic()
            time.sleep(5)
        if not killed:
            self.kill_receiver(1)
        self.ledger.note(f"campaign statuses: {self.statuses()}")
        self.disarm()

    def uploads(self) -> None:
        work = self.chaos.local / "agency"
        work.mkdir(exist_ok=True)
        agency = Agency(self.data_dir, self.ledger, work)
        agency.fetch_masters()
        masters = agency.masters
        self.ledger.note(f"agency has {len(masters)} masters; uploading")
        self.arm(UPLOAD_FAULTS)
        firsts = {}
        for n, master in enumerate(masters):  # round 1: one derivative per master, two bad names per campaign
            agency.upload(master, agency.good_name(master), bad=False)
            if master.campaign not in firsts:
                firsts[master.campaign] = master
                for name in agency.bad_names(master):
                    agency.upload(master, name, bad=True)
            if n == 15:
                self.kill_receiver(2)
            time.sleep(0.3)
        self.ledger.note(f"round 1 done: {agency.summary()}")

        down_at = time.monotonic()
        pid = self.chaos.kill("api-server", signal.SIGTERM)
        self.ledger.note(f"Airflow api-server stopped (pid {pid}); round 2 while it is down")
        for n, master in enumerate(masters[:16]):  # new versions of uploaded files, and of bad ones
            agency.upload(master, agency.good_name(master), bad=False)
            if n == 8:
                self.kill_receiver(3)
            time.sleep(1)
        for master in firsts.values():
            agency.upload(master, agency.bad_names(master)[0], bad=True)
        self.ledger.note(f"round 2 done: {agency.summary()}; waiting for {API_DOWN_SECONDS} s of api-server downtime")
        time.sleep(max(0.0, API_DOWN_SECONDS - (time.monotonic() - down_at)))
        self.chaos.restart("api-server")
        while not self.rest.healthy():
            time.sleep(2)
        self.ledger.note(f"Airflow api-server back after {time.monotonic() - down_at:.0f} s")

        self.arm(UPLOAD_FAULTS[:4])  # beside what is left of the earlier rules
        for master in masters[16:32]:  # round 3: a second derivative (another locale) per master
            agency.upload(master, agency.good_name(master, locale_shift=3), bad=False)
            time.sleep(0.3)
        for master in masters[:12]:  # and two new versions a second apart
            agency.upload(master, agency.good_name(master), bad=False)
            time.sleep(1)
            agency.upload(master, agency.good_name(master), bad=False)
        self.ledger.note(f"uploads done: {agency.summary()}")
        self.ledger.save(self.chaos.local / "ledger.json")

    def quiesce(self) -> None:
        """Faults stay armed until they all fired or no run is active; then wait until no run is queued or
        running, Box has nothing left to deliver and the sinks stay still for 60 s."""
        deadline = time.monotonic() + max(60.0, self.clock.left() - 90)
        last, still_since, armed = None, time.monotonic(), True
        while time.monotonic() < deadline:
            try:
                idle = last is not None and last[1] == 0
                if armed and (idle or not self.faults_left()):
                    self.disarm()
                    armed, last = False, None
                runs = self.rest.dag_runs("a2_to_a3") + self.rest.dag_runs("a1_to_a2")
                busy = sum(r["state"] in ("queued", "running") for r in runs)
                pending = sum(d.get("status") == "pending" for d in self.sandbox.deliveries())
                now = (len(runs), busy, pending, len(self.sandbox.sink("mail")),
                       len(self.sandbox.sink("status-webhooks")))
            except Exception as exc:  # noqa: BLE001 - a hiccup while waiting is no reason to stop
                print(f"chaos: while waiting: {exc}", file=sys.stderr)
                time.sleep(5)
                continue
            if now != last:
                last, still_since = now, time.monotonic()
                print(f"chaos {time.strftime('%H:%M:%S')}  runs {now[0]} (active {busy}), Box deliveries pending "
                      f"{pending}, mails {now[3]}, status webhooks {now[4]}", flush=True)
            elif not armed and busy == 0 and pending == 0 and time.monotonic() - still_since >= 60:
                self.ledger.note("quiescent")
                return
            time.sleep(5)
        if armed:
            self.disarm()
        self.ledger.note("not quiescent within the time budget; auditing what is there")

    def audit(self) -> bool:
        seen = audit.observe(self.data_dir, self.rest, self.sandbox, self.ledger)
        rows = audit.audit(self.ledger, seen)
        print()
        print(audit.table(rows))
        path = self.chaos.local / "audit.json"
        audit.write_json(rows, path, {"actions": self.ledger.actions, "faults": self.fault_log,
                                      "statuses": seen.statuses})
        self.ledger.save(self.chaos.local / "ledger.json")
        ok = audit.passed(rows)
        print("\nPASSED: nothing lost or duplicated" if ok else
              "\nFAILED: something was lost or duplicated (the keys of each are in the JSON)")
        print(f"audit {path}\nledger {self.chaos.local / 'ledger.json'}\nlogs {self.chaos.local / 'logs'}")
        return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the chaos stack running afterwards")
    args = parser.parse_args(argv)
    for key in [k for k in os.environ if k.startswith(("AIRFLOW", "SANDBOX_", "BOX_", "RECEIVER_"))]:
        del os.environ[key]  # nothing of another install (`eval $(make env)`) may leak in
    chaos = ChaosStack(ChaosPorts(int(os.environ.get("CHAOS_PORT_OFFSET", "10000"))))
    chaos.configure(CHAOS_ENV)
    if (CHAOS_LOCAL / "run").is_dir():
        chaos.down()  # what a previous, interrupted chaos run left
    shutil.rmtree(CHAOS_LOCAL, ignore_errors=True)
    chaos.configure(CHAOS_ENV)
    scenario = Scenario(chaos, Clock(time.monotonic()))
    try:
        scenario.start()
        scenario.a1_to_a2()
        scenario.uploads()
        scenario.quiesce()
        ok = scenario.audit()
    finally:
        if scenario.started is not None:
            scenario.ledger.save(CHAOS_LOCAL / "ledger.json")
        if not args.keep:
            chaos.down()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
