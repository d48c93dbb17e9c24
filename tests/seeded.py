"""The sandbox's demo data, seeded once per test session: a sandbox that needs it gets a copy of the seeded folder
(``python -m sandbox seed`` renders the media with ffmpeg, seconds each time on a busy machine).

The copy is what ``sandbox seed`` leaves in a folder of its own: the DAM's SQLite and blobs, the Box store,
``credentials.json`` and ``seed.json``; nothing in it names a port or a path, so every copy serves on its own.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_lock = threading.Lock()
_template: Path | None = None


def _seed_template() -> Path:
    global _template
    with _lock:
        if _template is None:
            folder = Path(tempfile.mkdtemp(prefix="content-scaling-seed-")) / "sandbox"
            env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
            env.update(SANDBOX_DATA_DIR=str(folder),
                       PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
            subprocess.run([sys.executable, "-m", "sandbox", "seed"], env=env, cwd=ROOT, check=True,
                           capture_output=True)
            atexit.register(shutil.rmtree, folder.parent, ignore_errors=True)
            _template = folder
        return _template


def seeded_copy(target: Path) -> Path:
    """``target`` (absent or empty) filled with the seeded demo data; returns ``target``."""
    shutil.copytree(_seed_template(), target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("tmp"))
    return target
