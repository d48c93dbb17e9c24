"""A2 -> A3 benchmark (issue 20): agency uploads to the DAM through the whole product, beside a one-task DAG.

    .venv/bin/python bench/a2a3_bench.py [--burst 200] [--singles 20] [--gap 5] [--executors local,celery2]
                                         [--pool-slots 4] [--parallelism 4] [--max-active-runs 16]

Each executor gets a stack of its own (tests/stack/conftest.py ``running_stack``: api-server, scheduler,
dag-processor, sandbox, receiver; Redis and Celery workers of 2 slots each for Celery) on an embedded PostgreSQL
in a temporary folder. A campaign (CMP-2026-001) is brought to A2 and Box's webhook points at the receiver; then:

1. singles: ``--singles`` derivatives uploaded to Box as the agency, ``--gap`` s apart; each is timed from the
   upload's start to its asset being listed in the campaign's Final Assets folder in the DAM (the sandbox DAM's
   own listing, read every 0.2 s). Beside it, as many runs of ``bench_one_task`` (bench/dags: one no-op task,
   pool ``dam_api``, the same ``max_active_runs``) triggered through the REST API the same distance apart, each
   timed from the trigger to the run's end.
2. burst: ``--burst`` derivatives uploaded together (16 threads): the time from the first upload's start until
   all are listed in the DAM, and derivatives per minute; beside it, as many one-task runs triggered together
   (16 threads), from the first trigger to the last run's end.

Then the audit: every a2_to_a3 and one-task run succeeded; the DAM holds each derivative once (one asset, one
version); the asset webhook sink one webhook per derivative; one A3 status webhook and one A3 email; and the
peak of concurrent calls the DAM and Box saw (the sandbox's gauge, ``/__sandbox__/concurrency``; the agency's
own uploads are not counted) beside the pool sizes. Prints the table with the ratios to the floor.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]
CAMPAIGN = "CMP-2026-001"
UNCOUNTED = {"X-Sandbox-Uncounted": "1"}  # the agency's uploads are not the product's calls


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class DamWatch:
    """When each derivative is first listed in the campaign's Final Assets folder (the sandbox DAM's store)."""

    def __init__(self, sandbox: Any, folder_id: str) -> None:
        from sandbox.otmm.store import OtmmStore

        self.store, self.folder_id = OtmmStore(sandbox.settings.otmm_dir), folder_id
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            for asset in self.store.children(self.folder_id):
                self.seen.setdefault(asset["name"], now)
            self._stop.wait(0.2)

    def wait_for(self, names: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(name in self.seen for name in names):
                return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class Agency:
    """Uploads derivatives of the campaign's masters (V2 names, a subject of their own each) as the agency."""

    def __init__(self, sandbox: Any, seed: dict[str, Any]) -> None:
        from sandbox.box.agency import localize, v2_name
        from sandbox.box.client import ccg_client

        self.sandbox, self._localize, self._v2_name = sandbox, localize, v2_name
        self.local = threading.local()
        client = self.client()
        campaign = next(c for c in seed["campaigns"] if c["number"] == CAMPAIGN)
        folder = next(i for i in client.folders.get_folder_items(seed["box_root_folder_id"]).entries
                      if i.name.startswith(CAMPAIGN))
        children = {i.name: i.id for i in client.folders.get_folder_items(folder.id).entries}
        self.derivatives_folder = children["Derivatives"]
        masters = client.folders.get_folder_items(children["Masters"]).entries
        self.masters = [(m.name, client.downloads.download_file(m.id, extra_headers=UNCOUNTED).read())
                        for m in masters]
        self.final_assets_folder_id = campaign["final_assets_folder_id"]
        self._ccg = ccg_client

    def client(self) -> Any:
        from sandbox.box.client import ccg_client

        if getattr(self.local, "client", None) is None:
            self.local.client = ccg_client(self.sandbox.settings, self.sandbox.endpoints,
                                           user_id=self.sandbox.settings.box_agency_user_id)
            self.local.client.users.get_user_me(extra_headers=UNCOUNTED)  # its token, before the timing
        return self.local.client

    def file(self, index: int) -> tuple[str, str, bytes]:
        """(V2 name, clean name in the DAM, content) of the ``index``-th derivative."""
        master, content = self.masters[index % len(self.masters)]
        name = self._v2_name(master, 0)
        tracking, brand, subject, rest = name.split("_", 3)
        name = "_".join([tracking, brand, f"{subject}-B{index:04d}", rest])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(content)
            self._localize(path, f"bench derivative {index}")
            return name, name.split("_", 1)[1], path.read_bytes()

    def upload(self, index: int) -> tuple[str, float]:
        """Upload the ``index``-th derivative; (its clean name, the time the upload started)."""
        from box_sdk_gen import UploadFileAttributes, UploadFileAttributesParentField

        name, clean, content = self.file(index)
        client = self.client()
        started = time.time()
        client.uploads.upload_file(UploadFileAttributes(name=name, parent=UploadFileAttributesParentField(
            id=self.derivatives_folder)), io.BytesIO(content), extra_headers=UNCOUNTED)
        return clean, started


def _end_time(stack: Any, dag_id: str, run_id: str) -> tuple[str, float]:
    run = stack.call("GET", f"dags/{dag_id}/dagRuns/{run_id}")
    return run["state"], datetime.fromisoformat(run["end_date"]).timestamp()


def _floor_singles(stack: Any, count: int, gap: float) -> list[float]:
    started = []
    for _ in range(count):
        at = time.time()
        started.append((stack.trigger("bench_one_task", {}), at))
        time.sleep(gap)
    took = []
    for run_id, at in started:
        assert stack.wait_for_run("bench_one_task", run_id, timeout=600) == "success", run_id
        took.append(_end_time(stack, "bench_one_task", run_id)[1] - at)
    return took


def _floor_burst(stack: Any, count: int) -> float:
    first = time.time()
    with ThreadPoolExecutor(16) as pool:
        run_ids = list(pool.map(lambda _: stack.trigger("bench_one_task", {}), range(count)))
    ends = []
    for run_id in run_ids:
        assert stack.wait_for_run("bench_one_task", run_id, timeout=1800) == "success", run_id
        ends.append(_end_time(stack, "bench_one_task", run_id)[1])
    return max(ends) - first


def _upload_singles(agency: Agency, watch: DamWatch, first: int, count: int, gap: float) -> dict[str, float]:
    started = []
    for index in range(first, first + count):
        started.append(agency.upload(index))
        time.sleep(gap)
    assert watch.wait_for([name for name, _ in started], timeout=600), "singles not all in the DAM"
    return {name: watch.seen[name] - at for name, at in started} | {f"{name}@": at for name, at in started}


def _stages(stack: Any, started: dict[str, float]) -> dict[str, float]:
    """Where a single upload's time goes, means over the singles' runs: upload → run created (Box webhook,
    receiver, REST API), → task started (scheduler, executor, task process), → task ended, → run ended."""
    spans: dict[str, list[float]] = {"upload → run queued": [], "run queued → task started": [],
                                     "task started → ended": [], "task ended → run ended": []}
    ts = lambda value: datetime.fromisoformat(value).timestamp()  # noqa: E731
    for run in _wait_settled(stack, "a2_to_a3", len(started), 600):
        clean = (run["conf"].get("file_name") or "").split("_", 1)[-1]
        if clean not in started:
            continue
        [ti] = stack.task_instances("a2_to_a3", run["dag_run_id"])
        for key, (a, b) in {"upload → run queued": (started[clean], ts(run["queued_at"])),
                            "run queued → task started": (ts(run["queued_at"]), ts(ti["start_date"])),
                            "task started → ended": (ts(ti["start_date"]), ts(ti["end_date"])),
                            "task ended → run ended": (ts(ti["end_date"]), ts(run["end_date"]))}.items():
            spans[key].append(b - a)
    return {key: statistics.mean(values) for key, values in spans.items() if values}


def _upload_burst(agency: Agency, watch: DamWatch, first: int, count: int) -> float:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda _: agency.client(), range(64)))  # every thread's client and token, untimed
        start = time.time()
        started = list(pool.map(agency.upload, range(first, first + count)))
    arrived = max(at for _, at in started) - start
    print(f"  burst: {count} uploads arrived within {arrived:.1f} s", flush=True)
    assert watch.wait_for([name for name, _ in started], timeout=3600), "burst not all in the DAM"
    return max(watch.seen[name] for name, _ in started) - start


def _to_a2_with_webhook(stack: Any) -> None:
    run_id = stack.trigger("a1_to_a2", {"campaign": CAMPAIGN})
    assert stack.wait_for_run("a1_to_a2", run_id, timeout=600) == "success", "campaign not in A2"
    register = subprocess.run([sys.executable, "-m", "receiver", "register-webhook", "--address",
                               stack.receiver.webhook_url], env=stack.receiver.env, cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
    assert register.returncode == 0, register.stderr


def _enable_asset_webhook(workdir: Path) -> None:
    import yaml

    path = workdir / "config" / "webhooks.yaml"
    hooks = yaml.safe_load(path.read_text())
    hooks["asset_upload_complete"]["enabled"] = True
    path.write_text(yaml.safe_dump(hooks, sort_keys=False))


def _all_runs(stack: Any, dag_id: str) -> list[dict[str, Any]]:
    runs, offset = [], 0
    while True:
        page = stack.call("GET", f"dags/{dag_id}/dagRuns", params={"limit": 100, "offset": offset})["dag_runs"]
        runs += page
        offset += len(page)
        if len(page) < 100:
            return runs


def _wait_settled(stack: Any, dag_id: str, expected: int, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        runs = _all_runs(stack, dag_id)
        if (len(runs) >= expected and all(r["state"] in ("success", "failed") for r in runs)) \
                or time.monotonic() > deadline:
            return runs
        time.sleep(2)


def _audit(stack: Any, agency: Agency, uploads: int, pool_slots: int) -> dict[str, Any]:
    from sandbox.otmm.store import OtmmStore

    runs = _wait_settled(stack, "a2_to_a3", uploads, 600)
    floor_runs = _all_runs(stack, "bench_one_task")
    store = OtmmStore(stack.sandbox.settings.otmm_dir)
    assets = store.children(agency.final_assets_folder_id)
    names = [a["name"] for a in assets]
    webhooks = stack.received("asset-webhooks")
    versions = [w["headers"].get("idempotency-key") for w in webhooks]
    a3_hooks = [h for h in stack.received("status-webhooks") if h["body"].get("new_status") == "A3"]
    a3_mails = [m for m in stack.received("mail") if "(A3)" in m["subject"]]
    failure_mails = [m for m in stack.received("mail") if "was not uploaded" in m["subject"]]
    peaks = {service: requests.get(f"{url}/__sandbox__/concurrency", timeout=5).json()["peak"]
             for service, url in (("dam", stack.sandbox.endpoints["otmm_url"]),
                                  ("box", stack.sandbox.endpoints["box_base_url"]))}
    return {
        "a2_to_a3 runs": f"{sum(r['state'] == 'success' for r in runs)}/{uploads} success, "
                         f"{sum(r['state'] == 'failed' for r in runs)} failed, {len(runs)} in all",
        "one-task runs": f"{sum(r['state'] == 'success' for r in floor_runs)}/{len(floor_runs)} success",
        "DAM assets": f"{len(names)} for {uploads} uploads, {len(names) - len(set(names))} duplicate names, "
                      f"{sum(len(store.versions(a['asset_id'])) > 1 for a in assets)} with a second version",
        "asset webhooks": f"{len(webhooks)} ({len(webhooks) - len(set(versions))} duplicates)",
        "A3 webhooks / emails": f"{len(a3_hooks)} / {len(a3_mails)}; failure emails {len(failure_mails)}",
        "peak concurrent calls (pool slots)": f"DAM {peaks['dam']}, Box {peaks['box']} ({pool_slots} each)",
        "ok": (len(runs) == uploads and all(r["state"] == "success" for r in runs)
               and all(r["state"] == "success" for r in floor_runs) and len(names) == uploads == len(set(names))
               and len(webhooks) == uploads == len(set(versions)) and len(a3_hooks) == 1 and len(a3_mails) == 1
               and not failure_mails and peaks["dam"] <= pool_slots and peaks["box"] <= pool_slots),
    }


def bench_executor(name: str, workdir: Path, pg_socket: str, args: argparse.Namespace) -> dict[str, Any]:
    from bench.executor_runs import EXECUTORS
    from tests.stack.conftest import running_stack

    dags = workdir / "dags"
    shutil.copytree(ROOT / "dags", dags, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "bench" / "dags" / "bench_one_task.py", dags)
    settings = {"AIRFLOW__CORE__DAGS_FOLDER": str(dags), "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "CONTENT_SCALING_TASK_RETRIES": "2", "AIRFLOW__CORE__PARALLELISM": str(args.parallelism),
                "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(max(args.parallelism, args.pool_slots)),
                # Celery: the workers' slots are the pool's (2 workers)
                "WORKER_CONCURRENCY": str(max(2, args.pool_slots // 2)),
                "A2A3_MAX_ACTIVE_RUNS": str(args.max_active_runs)}
    with running_stack(workdir, pg_socket, celery_workers=EXECUTORS[name], pool_slots=args.pool_slots,
                       **settings) as stack:
        seed = json.loads((stack.sandbox.data_dir / "seed.json").read_text())
        stack.set_paused("bench_one_task")
        _enable_asset_webhook(workdir)
        _to_a2_with_webhook(stack)
        agency = Agency(stack.sandbox, seed)
        watch = DamWatch(stack.sandbox, agency.final_assets_folder_id)
        for url in (stack.sandbox.endpoints["otmm_url"], stack.sandbox.endpoints["box_base_url"]):
            requests.delete(f"{url}/__sandbox__/concurrency", timeout=5)
        try:
            print(f"{name}: singles", flush=True)
            floor_singles = _floor_singles(stack, args.singles, args.gap)
            timed = _upload_singles(agency, watch, 0, args.singles, args.gap)
            singles = [v for k, v in timed.items() if not k.endswith("@")]
            stages = _stages(stack, {k[:-1]: v for k, v in timed.items() if k.endswith("@")})
            print(f"{name}: burst of {args.burst}", flush=True)
            floor_burst = _floor_burst(stack, args.burst)
            burst = _upload_burst(agency, watch, args.singles, args.burst)
            audit = _audit(stack, agency, args.singles + args.burst, args.pool_slots)
        finally:
            watch.stop()
    return {"executor": name, "floor_singles": floor_singles, "singles": singles, "floor_burst": floor_burst,
            "burst": burst, "audit": {"single upload's stages (means)": ", ".join(
                f"{k} {v:.2f} s" for k, v in stages.items()), **audit}}


def _report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\n{args.singles} single uploads {args.gap:g} s apart, then a burst of {args.burst}; pools "
          f"{args.pool_slots} slots, parallelism {args.parallelism}, a2_to_a3 max_active_runs {args.max_active_runs}"
          "; floor = bench_one_task on the same stack (pool dam_api, same max_active_runs)\n")
    print("| executor | measure | product | one-task floor | ratio | target |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        s, f = row["singles"], row["floor_singles"]
        ex = row["executor"]
        print(f"| {ex} | single upload → listed in the DAM, p50 / p95 | {_p(s, .5):.2f} s / {_p(s, .95):.2f} s | "
              f"{_p(f, .5):.2f} s / {_p(f, .95):.2f} s | {_p(s, .5) / _p(f, .5):.2f} / "
              f"{_p(s, .95) / _p(f, .95):.2f} | p95 ≤ 1.5 |")
        b, fb, n = row["burst"], row["floor_burst"], args.burst
        print(f"| {ex} | burst of {n} → all in the DAM | {b:.1f} s ({n / b * 60:.0f} per minute) | "
              f"{fb:.1f} s ({n / fb * 60:.0f} per minute) | {b / fb:.2f} | ≤ 1.5 |")
        print(f"| {ex} | single upload mean (floor mean) | {statistics.mean(s):.2f} s | {statistics.mean(f):.2f} s "
              "| | |")
    print()
    for row in rows:
        for key, value in row["audit"].items():
            print(f"{row['executor']}: {key}: {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--singles", type=int, default=20)
    parser.add_argument("--gap", type=float, default=5.0)
    parser.add_argument("--executors", default="local,celery2")
    parser.add_argument("--pool-slots", type=int, default=4)
    parser.add_argument("--parallelism", type=int, default=4)
    parser.add_argument("--max-active-runs", type=int, default=16)
    parser.add_argument("--keep", action="store_true", help="keep the stacks' folders (logs) under .local/")
    args = parser.parse_args(argv)
    from bench.executor_runs import run_per_executor

    rows = run_per_executor("a2a3-bench-", args.executors,
                            lambda name, workdir, socket: bench_executor(name, workdir, socket, args),
                            keep=args.keep, done=lambda row: _report([row], args))
    _report(rows, args)
    return 0 if all(row["audit"]["ok"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
