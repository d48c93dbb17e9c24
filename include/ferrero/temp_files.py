"""The transfers' temporary folder (``temp`` in config.yaml): leftovers of killed tasks are removed once older
than ``cleanup_after_hours``, and a file larger than ``max_size_mb`` is refused before any byte is downloaded."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from include.ferrero.config_model import TempConfig


def prepare_temp_root(temp: TempConfig) -> Path:
    """The temp folder, created, with entries older than ``cleanup_after_hours`` removed (a task's own folder is
    removed when it ends; what is left was abandoned by a killed process)."""
    root = Path(temp.directory)
    root.mkdir(parents=True, exist_ok=True)
    remove_stale(root, float(temp.cleanup_after_hours))
    return root


def remove_stale(root: Path, older_than_hours: float, now: float | None = None) -> list[Path]:
    """Remove the entries directly under ``root`` last modified more than ``older_than_hours`` ago."""
    cutoff = (now or time.time()) - older_than_hours * 3600
    removed = []
    for entry in root.iterdir():
        try:
            if entry.lstat().st_mtime >= cutoff:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
        except FileNotFoundError:  # removed meanwhile by its own task or another cleaner
            continue
    return removed


def size_problem(size: int | None, max_size_mb: int, what: str) -> str | None:
    """The sentence refusing ``what`` when it is larger than ``max_size_mb`` (``temp.max_size_mb``); None when it fits (or is unknown)."""
    limit = int(max_size_mb)
    if size is None or size <= limit * 1024 * 1024:
        return None
    return (f"{what} is {size / 1024 / 1024:,.1f} MB, larger than the {limit:,} MB allowed (temp.max_size_mb), "
            "so it was not downloaded")
