"""A real browser for the UI tests: Debian's chromium driven by Playwright (which cannot download its own here).

``ensure_chromium()`` makes sure both halves work: Debian's ``chromium`` and Playwright's bundled ``node`` driver,
which needs ``libatomic.so.1`` (Debian ``libatomic1``; a minimal Debian has none). What is missing is installed
with apt-get (idempotent: nothing happens when both start; concurrent test sessions take turns on a lock); then
the driver is started once (``--version``) to prove it runs. Returns chromium's path, or raises
``ChromiumUnavailable`` saying why it could not be had.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
#: What the browser tests need from Debian: the browser, and the library Playwright's node driver links against.
PACKAGES = ("chromium", "libatomic1")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


class ChromiumUnavailable(RuntimeError):
    """Chromium or Playwright's driver is missing and could not be installed."""


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    return subprocess.run([*prefix, "apt-get", *args], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def driver_error() -> str | None:
    """None when Playwright's node driver starts (``--version``), else what it said."""
    from playwright._impl._driver import compute_driver_executable, get_driver_env

    node, cli = compute_driver_executable()
    try:
        result = subprocess.run([node, cli, "--version"], capture_output=True, text=True, timeout=60,
                                env=get_driver_env())
    except OSError as exc:
        return f"Playwright's driver {node} does not start: {exc}"
    if result.returncode != 0:
        return (f"Playwright's driver {node} does not start (exit {result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-400:]}")
    return None


def _ready() -> bool:
    return CHROMIUM.exists() and driver_error() is None


def ensure_chromium() -> Path:
    if _ready():
        return CHROMIUM
    if not shutil.which("apt-get"):
        raise ChromiumUnavailable(f"{driver_error() or f'{CHROMIUM} is missing'}; this machine has no apt-get to "
                                  f"install {' '.join(PACKAGES)}")
    if os.geteuid() != 0 and not shutil.which("sudo"):
        raise ChromiumUnavailable(f"{driver_error() or f'{CHROMIUM} is missing'}; installing {' '.join(PACKAGES)} "
                                  "needs root (or sudo), and neither is available")
    with open(Path(tempfile.gettempdir()) / "content-scaling-chromium.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time; the next one finds it installed
        if _ready():
            return CHROMIUM
        install = ("install", "-y", "--no-install-recommends", *PACKAGES)
        result = _apt(*install)
        if result.returncode != 0:  # stale package lists on a fresh machine
            _apt("update")
            result = _apt(*install)
        if result.returncode != 0 or not CHROMIUM.exists():
            raise ChromiumUnavailable(f"`apt-get install {' '.join(PACKAGES)}` failed (exit {result.returncode}): "
                                      f"{(result.stderr or result.stdout).strip()[-600:]}")
    error = driver_error()
    if error:
        raise ChromiumUnavailable(f"{error} (after installing {' '.join(PACKAGES)})")
    return CHROMIUM


def sign_in(page: Page, airflow_url: str, password: str) -> None:
    """Sign ``page`` in as ``admin`` through Airflow's own login form."""
    page.goto(f"{airflow_url}/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/" not in url)


def screenshot(page: Page, folder: Path, name: str) -> None:
    """The whole page as ``folder/name.png`` (folders under .local/screenshots/, looked at after a run)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot {path}")

