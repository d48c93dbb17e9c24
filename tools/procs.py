"""The processes of ``make up``: each in its own session, its PID in ``.local/run/<name>.pid``, its output in
``.local/logs/<name>.log``; stopped by process group, never by name."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / ".local" / "run"
LOGS = ROOT / ".local" / "logs"


def spawn(name: str, cmd: list[str], env: dict[str, str]) -> None:
    if alive(name):
        print(f"{name:<15} already running (pid {pid_of(name)})")
        return
    log = open(LOGS / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    (RUN / f"{name}.pid").write_text(str(proc.pid))
    print(f"{name:<15} started (pid {proc.pid}, log .local/logs/{name}.log)")


def wait_http(url: str, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=3).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise SystemExit(f"make up: {what} did not answer at {url} within {timeout:.0f} s; see make logs")


def pid_of(name: str) -> int | None:
    try:
        return int((RUN / f"{name}.pid").read_text())
    except (FileNotFoundError, ValueError):
        return None


def alive(name: str) -> bool:
    pid = pid_of(name)
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


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
