"""Where a run's CPU goes: the CPU seconds of each component of a stack (its whole process tree: the process, its
live descendants and the children they have reaped), between two readings. On a 2-core machine that every
component shares, this says what a benchmark's wall time is made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def tree_cpu(pid: int) -> tuple[float, float]:
    """(the process's own CPU seconds, its descendants'): live descendants plus every reaped child's total."""
    import psutil

    try:
        root = psutil.Process(pid)
        own = root.cpu_times()
        descendants = own.children_user + own.children_system
        for child in root.children(recursive=True):
            try:
                t = child.cpu_times()
            except psutil.NoSuchProcess:
                continue  # reaped meanwhile: counted in its parent's children times from now on
            descendants += t.user + t.system + t.children_user + t.children_system
    except psutil.NoSuchProcess:
        return 0.0, 0.0
    return own.user + own.system, descendants


@dataclass
class StackCpu:
    """CPU seconds per component (``name -> pid``) between ``start()`` and ``stop()``; a component's children
    (the LocalExecutor's task processes under the scheduler, a Celery worker's pool) are a line of their own."""

    pids: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)

    def _read(self) -> dict[str, float]:
        reading: dict[str, float] = {}
        for name, pid in self.pids.items():
            own, children = tree_cpu(pid)
            reading[name] = own
            reading[f"{name} (children)"] = children
        return reading

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> dict[str, float]:
        end = self._read()
        self.seconds = {name: end[name] - self._start.get(name, 0.0) for name in end}
        return self.seconds


def stack_pids(run_dir: Path, pgdata: Path) -> dict[str, int]:
    """The components ``tools.stack up`` started (their PID files) and the stack's PostgreSQL."""
    pids = {path.stem: int(path.read_text()) for path in sorted(run_dir.glob("*.pid"))}
    postmaster = pgdata / "postmaster.pid"
    if postmaster.exists():
        pids["postgres"] = int(postmaster.read_text().splitlines()[0])
    return pids
