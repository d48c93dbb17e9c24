"""Campaign benchmark (issue 11 §6): one A1 -> A2 campaign of N masters of 1 MiB through the real scheduler,
beside a trivial mapped DAG of the same size (bench/dags/bench_trivial_map.py, same pool and per-run limit)
on the same executor: the LocalExecutor and the CeleryExecutor with 1 and 2 workers.

    .venv/bin/python bench/campaign_bench.py [--masters 1500] [--size-mib 1] [--executors local,celery1,celery2]
        [--bracket]

Each executor gets a stack of its own (tests/stack/conftest.py ``running_stack``: api-server, scheduler,
dag-processor, sandbox, receiver; Redis and Celery workers for Celery) on an embedded PostgreSQL in a temporary
folder. Prints per executor: wall time of each run (the run's start to end), seconds per master, the campaign's
ratio to the trivial floor (with ``--bracket``, to the mean of the floor run before and after it), and the
scheduler's own CPU seconds and peak RSS during each run; then the CPU seconds of each component of the stack
during each run (``bench/stack_cpu.py``: the api-server, the scheduler and its task processes, PostgreSQL, the
sandbox...), with the campaign's difference per master: where the product's cost over the floor goes.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]
MIB = 1024 * 1024


class SchedulerProbe:
    """Samples the scheduler process (itself, not its children) every 0.5 s: its peak RSS (its CPU seconds are the
    ``scheduler`` line of ``StackCpu``)."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)
            self._stop.wait(0.5)

    def __enter__(self) -> SchedulerProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _campaign(sandbox: Any, masters: int, size_mib: int) -> str:
    """A campaign in A1 with ``masters`` masters of ``size_mib`` MiB, written into the sandbox DAM's store."""
    from sandbox.otmm.metadata import DEFAULT_ASSET_MODEL, DEFAULT_FOLDER_MODEL
    from sandbox.otmm.store import OtmmStore

    seed = json.loads((sandbox.data_dir / "seed.json").read_text())
    store = OtmmStore(sandbox.settings.otmm_dir)
    field = lambda value: {"kind": "scalar", "type": "string", "values": [value]}  # noqa: E731
    folder = store.create_folder(seed["campaigns_folder_id"], "Bench Campaign", model_id=DEFAULT_FOLDER_MODEL,
                                 metadata={"FERRERO.CAMPAIGN.FIELD.STATUS": field("A1"),
                                           "FERRERO.CAMPAIGN.FIELD.NUMBER": field("CMP-2026-777")})
    store.create_folder(folder["asset_id"], "Final Assets", model_id=DEFAULT_FOLDER_MODEL)
    content_id, size = store.store_blob(io.BytesIO(b"%PDF-1.4\n" + bytes(size_mib * MIB - 9)))
    for i in range(masters):
        store.create_asset(folder["asset_id"], f"Bench_Master-{i:05d}_document.pdf", "application/pdf", content_id,
                           size, model_id=DEFAULT_ASSET_MODEL)
    return "CMP-2026-777"


#: The mapped task of each benchmarked DAG, and how many of its instances run at a time (pool and per-run limit).
MAPPED = {"bench_trivial_map": "noop", "a1_to_a2": "transfer_master"}
SLOTS = 4
#: How often the benchmark asks for the run's state. Each answer for a run of N instances costs the api-server the
#: run's every task instance (``DagRun.dag_versions``, ~0.3 s of CPU at 1,500): polled every second, the observer
#: took a third of a core from the stack it measured. The wall time is the run's own start and end dates, whatever
#: the polling.
POLL_SECONDS = 15


def _timed_run(stack: Any, dag_id: str, conf: dict[str, Any], scheduler_pid: int, timeout: float) -> dict[str, Any]:
    from bench.slot_timing import slot_timing
    from bench.stack_cpu import StackCpu, stack_pids

    components = StackCpu(stack_pids(stack.workdir / "run", stack.workdir / "pgdata"))
    with SchedulerProbe(scheduler_pid) as probe:
        components.start()
        run_id = stack.trigger(dag_id, conf)
        state = stack.wait_for_run(dag_id, run_id, timeout=timeout, interval=POLL_SECONDS)
        components.stop()
    run = stack.call("GET", f"dags/{dag_id}/dagRuns/{run_id}")
    wall = (datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])).total_seconds()
    mapped = stack.task_instances(dag_id, run_id, MAPPED[dag_id])
    return {"state": state, "wall": wall, "cpu": components.seconds["scheduler"], "rss_mb": probe.peak_rss / MIB,
            "components": components.seconds, "slots": slot_timing(mapped, SLOTS)}


def bench_executor(name: str, workdir: Path, pg_socket: str, masters: int, size_mib: int, *,
                   bracket: bool = False) -> dict[str, Any]:
    from bench.executor_runs import EXECUTORS
    from tests.stack.conftest import running_stack

    dags = workdir / "dags"
    shutil.copytree(ROOT / "dags", dags, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "bench" / "dags" / "bench_trivial_map.py", dags)
    settings = {"AIRFLOW__CORE__DAGS_FOLDER": str(dags), "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "CONTENT_SCALING_TASK_RETRIES": "2"}
    with running_stack(workdir, pg_socket, celery_workers=EXECUTORS[name], **settings) as stack:
        scheduler = next(p for p in stack.processes if p.name == "scheduler")
        stack.set_paused("bench_trivial_map")
        number = _campaign(stack.sandbox, masters, size_mib)
        timeout = 60 + masters * 10
        trivial = _timed_run(stack, "bench_trivial_map", {"n": masters}, scheduler.pid, timeout)
        campaign = _timed_run(stack, "a1_to_a2", {"campaign": number}, scheduler.pid, timeout)
        after = _timed_run(stack, "bench_trivial_map", {"n": masters}, scheduler.pid, timeout) if bracket else None
    return {"executor": name, "trivial": trivial, "campaign": campaign, "trivial after": after}


def _runs(row: dict[str, Any]) -> list[str]:
    """The runs of one executor, in the order they ran."""
    return [kind for kind in ("trivial", "campaign", "trivial after") if row.get(kind) is not None]


def _report(rows: list[dict[str, Any]], masters: int, size_mib: int) -> None:
    print(f"\n{masters} masters of {size_mib} MiB; floor = bench_trivial_map with n={masters} (same pool/limit);"
          " with --bracket the floor also runs after the campaign, and the ratio is to the mean of both floors\n")
    print("| executor | run | state | wall s | s/master | ratio to floor | scheduler CPU s | scheduler peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        floors = [row[kind]["wall"] for kind in _runs(row) if kind != "campaign"]
        floor = sum(floors) / len(floors) / masters
        for kind in _runs(row):
            r = row[kind]
            per = r["wall"] / masters
            print(f"| {row['executor']} | {kind} | {r['state']} | {r['wall']:.1f} | {per:.3f} | "
                  f"{per / floor:.2f} | {r['cpu']:.1f} | {r['rss_mb']:.0f} |")
    print("\nCPU seconds per component during each run (its process tree; \"(children)\": the processes it started,"
          " e.g. the LocalExecutor's tasks under the scheduler), per master:\n")
    print("| executor | component | trivial CPU s | campaign CPU s | campaign - trivial, ms per master |")
    print("|---|---|---|---|---|")
    for row in rows:
        trivial, campaign = row["trivial"]["components"], row["campaign"]["components"]
        for name in sorted(set(trivial) | set(campaign), key=lambda n: -campaign.get(n, 0.0)):
            a, b = trivial.get(name, 0.0), campaign.get(name, 0.0)
            if a >= 0.5 or b >= 0.5:
                print(f"| {row['executor']} | {name} | {a:.1f} | {b:.1f} | {(b - a) / masters * 1000:+.0f} |")
        a, b = sum(trivial.values()), sum(campaign.values())
        print(f"| {row['executor']} | **all** | {a:.1f} | {b:.1f} | {(b - a) / masters * 1000:+.0f} |")
    print(f"\nThe mapped task's slots ({SLOTS} at a time; bench/slot_timing.py): an instance's own duration (start to"
          " end) and a slot's turnaround between two instances, s:\n")
    print("| executor | run | mapped phase s | rest of the run s | duration p50 | p95 | mean | slot cycle | turnaround |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        for kind in _runs(row):
            r, t = row[kind], row[kind]["slots"]
            if t is not None:
                print(f"| {row['executor']} | {kind} | {t.phase_s:.1f} | {r['wall'] - t.phase_s:.1f} | "
                      f"{t.duration_p50_s:.3f} | {t.duration_p95_s:.3f} | {t.duration_mean_s:.3f} | {t.cycle_s:.3f} | "
                      f"{t.turnaround_s:.3f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--masters", type=int, default=1500)
    parser.add_argument("--size-mib", type=int, default=1)
    parser.add_argument("--executors", default="local,celery1,celery2")
    parser.add_argument("--bracket", action="store_true",
                        help="run the floor again after the campaign (drift within one stack shows as two floors)")
    args = parser.parse_args(argv)
    from bench.executor_runs import run_per_executor

    rows = run_per_executor("campaign-bench-", args.executors, lambda name, workdir, socket: bench_executor(
        name, workdir, socket, args.masters, args.size_mib, bracket=args.bracket))
    _report(rows, args.masters, args.size_mib)
    return 0


if __name__ == "__main__":
    sys.exit(main())
