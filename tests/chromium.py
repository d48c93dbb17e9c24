"""A real browser for the UI tests: Debian's chromium driven by Playwright (which cannot download its own here).

``ensure_chromium()`` installs the ``chromium`` package with apt-get when it is missing (idempotent: nothing
happens when it is there; concurrent test sessions take turns on a lock), and returns its path, or raises
``ChromiumUnavailable`` saying why it could not be installed.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


class ChromiumUnavailable(RuntimeError):
    """Chromium is missing and could not be installed."""


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    return subprocess.run([*prefix, "apt-get", *args], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def ensure_chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if not shutil.which("apt-get"):
        raise ChromiumUnavailable("/usr/bin/chromium is missing and this machine has no apt-get to install it")
    if os.geteuid() != 0 and not shutil.which("sudo"):
        raise ChromiumUnavailable("/usr/bin/chromium is missing; installing it needs root (or sudo), and neither is "
                                  "available")
    with open(Path(tempfile.gettempdir()) / "content-scaling-chromium.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time; the next one finds it installed
        if CHROMIUM.exists():
            return CHROMIUM
        result = _apt("install", "-y", "--no-install-recommends", "chromium")
        if result.returncode != 0:  # stale package lists on a fresh machine
            _apt("update")
            result = _apt("install", "-y", "--no-install-recommends", "chromium")
        if result.returncode != 0 or not CHROMIUM.exists():
            raise ChromiumUnavailable(f"`apt-get install chromium` failed (exit {result.returncode}): "
                                      f"{(result.stderr or result.stdout).strip()[-600:]}")
    return CHROMIUM
