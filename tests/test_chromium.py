"""The browser tests' own prerequisites: every shared library Playwright's node driver links against comes from a
Debian package that ``tests/chromium.py`` installs (or the base system), and the driver starts."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.chromium import PACKAGES, driver_error, ensure_chromium

pytestmark = pytest.mark.skipif(not shutil.which("dpkg"), reason="needs Debian's dpkg to name packages")


def test_driver_libraries_come_from_the_installed_packages() -> None:
    from playwright._impl._driver import compute_driver_executable

    ensure_chromium()  # on a fresh machine this test may run first: what it checks is what this installs
    node, _ = compute_driver_executable()
    libraries = dict(re.findall(r"^\s*(\S+) => (\S+)", subprocess.run(["ldd", node], capture_output=True,
                                                                      text=True, check=True).stdout, re.M))
    assert "libatomic.so.1" in libraries, libraries  # what a minimal Debian 12 lacks
    assert libraries["libatomic.so.1"].startswith("/"), f"libatomic.so.1 => {libraries['libatomic.so.1']}"
    owner = subprocess.run(["dpkg", "-S", libraries["libatomic.so.1"]], capture_output=True, text=True)
    if owner.returncode != 0:  # merged /usr: dpkg knows the /usr/lib path
        owner = subprocess.run(["dpkg", "-S", "/usr" + libraries["libatomic.so.1"]], capture_output=True, text=True)
    assert owner.stdout.split(":")[0] in PACKAGES, owner.stdout


def test_chromium_and_driver_start() -> None:
    assert ensure_chromium().exists()
    assert driver_error() is None
