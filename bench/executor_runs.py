"""What the executor benchmarks (``campaign_bench.py``, ``a2a3_bench.py``) share: one embedded PostgreSQL in a
scratch folder under ``.local/``, and each executor's stack run in a subfolder of it, one after the other."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parents[1]
#: The executors a benchmark can run on: the LocalExecutor, or Celery with that many workers.
EXECUTORS = {"local": 0, "celery1": 1, "celery2": 2}

Row = TypeVar("Row")


def run_per_executor(prefix: str, executors: str, bench: Callable[[str, Path, str], Row], *, keep: bool = False,
                     done: Callable[[Row], None] | None = None) -> list[Row]:
    """``bench(name, workdir, pg_socket)`` for each executor named in ``executors`` (comma-separated), in order,
    on one PostgreSQL; ``done`` gets each row as it comes. The folders are removed afterwards unless ``keep``."""
    from tools import localpg

    (ROOT / ".local").mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=prefix, dir=ROOT / ".local"))
    rows: list[Row] = []
    try:
        socket = localpg.start(scratch / "pgdata")
        try:
            for name in executors.split(","):
                started = time.monotonic()
                rows.append(bench(name, scratch / name, socket))
                print(f"{name}: done in {time.monotonic() - started:.0f} s", flush=True)
                if done is not None:
                    done(rows[-1])
                if not keep:
                    shutil.rmtree(scratch / name, ignore_errors=True)
        finally:
            localpg.stop(scratch / "pgdata")
    finally:
        if keep:
            print(f"kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return rows
