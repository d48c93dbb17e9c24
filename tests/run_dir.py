"""What a test run builds once for all its pytest processes (``make test`` runs the suite in xdist workers): a
folder of the run's own, and ``built_once`` to fill a part of it in exactly one process while the others wait.

The first process that imports ``tests/conftest.py`` (the xdist controller, or the only process) makes the folder
and names it in ``CONTENT_SCALING_TEST_RUN_DIR``; the workers it starts inherit the variable and use the same
folder. The process that made the folder removes it when it exits.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

RUN_DIR_VARIABLE = "CONTENT_SCALING_TEST_RUN_DIR"


def run_dir() -> Path:
    """The run's folder, made (and named in the environment, for the workers) by the first process that asks."""
    named = os.environ.get(RUN_DIR_VARIABLE)
    if named and Path(named).is_dir():
        return Path(named)
    folder = Path(tempfile.mkdtemp(prefix="content-scaling-run-"))
    os.environ[RUN_DIR_VARIABLE] = str(folder)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def built_once(name: str, build: Callable[[Path], None]) -> Path:
    """``run_dir()/name``, made by ``build(path)`` in the first process that asks; the others wait for it and
    get the same path. A build that fails leaves nothing behind, and the next caller tries again."""
    folder = run_dir()
    target, done = folder / name, folder / f"{name}.done"
    with (folder / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(target, ignore_errors=True)
            build(target)
            done.touch()
    return target
