"""The product's Box webhook in domain terms: the triggers it asks Box for, and the one A2->A3 run per Box file
version every path (webhook, replay, reconciliation) starts (:func:`dag_run_id_for`)."""

from __future__ import annotations

import re

#: The triggers of the product's Box webhook, in one place: what ``register-webhook`` and every reconciliation's
#: check (steps/box_watch.py) ask Box for, and the file triggers the receiver sends to A2->A3.
#: A rename is a run of its own: its run id names the file, so a bad name fixed in Box comes into the DAM.
FILE_TRIGGERS = ("FILE.UPLOADED", "FILE.COPIED", "FILE.MOVED", "FILE.RESTORED", "FILE.RENAMED")
WEBHOOK_DELETED = "WEBHOOK.DELETED"
WEBHOOK_TRIGGERS = (*FILE_TRIGGERS, WEBHOOK_DELETED)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.~:+-]")


def dag_run_id_for(box_file_id: str, box_file_version_id: str | None, file_name: str | None = None) -> str:
    """The A2->A3 run of one Box file version: ``box_<file id>_v<version id>__<file name>``. The name (characters
    Airflow refuses in a run id replaced) shows in the grid and the run list, and the run list's search finds it."""
    run_id = f"box_{_UNSAFE.sub('-', str(box_file_id))}_v{_UNSAFE.sub('-', str(box_file_version_id))}"
    return f"{run_id}__{_UNSAFE.sub('-', file_name)[:150]}" if file_name else run_id
