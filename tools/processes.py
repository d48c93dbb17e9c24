"""Stopping what ``make up`` started: each component runs in a process group of its own."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def stop_groups(pids: list[int], timeout: float = 30) -> None:
    """SIGTERM each process group (a component and its children), wait, then SIGKILL what is left."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    remaining = list(pids)
    while remaining and time.monotonic() < deadline:
        remaining = [pid for pid in remaining if group_alive(pid)]
        time.sleep(0.3)
    for pid in remaining:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # A group whose only members are zombies counts as stopped.
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
