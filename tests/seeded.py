"""The sandbox's demo data, seeded once per test run: a sandbox that needs it gets a copy of the seeded folder
(``python -m sandbox seed`` renders the media with ffmpeg, seconds each time on a busy machine). Seeded by one
process of the run, copied by all (``tests/run_dir.py``).

The copy is what ``sandbox seed`` leaves in a folder of its own: the DAM's SQLite and blobs, the Box store,
``credentials.json`` and ``seed.json``; nothing in it names a port or a path, so every copy serves on its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.run_dir import built_once

ROOT = Path(__file__).resolve().parents[1]


def _seed(folder: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    env.update(SANDBOX_DATA_DIR=str(folder), PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    subprocess.run([sys.executable, "-m", "sandbox", "seed"], env=env, cwd=ROOT, check=True, capture_output=True)


def seeded_copy(target: Path) -> Path:
    """``target`` (absent or empty) filled with the seeded demo data; returns ``target``."""
    shutil.copytree(built_once("seeded-sandbox", _seed), target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("tmp"))
    return target
