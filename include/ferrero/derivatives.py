"""Decisions of the A2 -> A3 pipeline about an agency's upload: whether it is ours to process, and whether its
campaign is complete. Pure Python: no Airflow, no I/O. (The run of a Box file version is named by
``include.ferrero.db.webhook_events.dag_run_id_for``.)"""

from __future__ import annotations


class DerivativeError(ValueError):
    """An uploaded file cannot become a DAM asset; the message is one sentence for the agency and operators."""

    def __init__(self, message: str, *, file_name: str | None = None, tracking_id: str | None = None,
                 campaign_id: str | None = None, box_created_at: str | None = None) -> None:
        super().__init__(message)
        self.file_name = file_name
        self.tracking_id = tracking_id
        self.campaign_id = campaign_id  # the campaign the file belongs to, when anything says so
        self.box_created_at = box_created_at  # when the file was created in Box, when read


def derivatives_folder_of(path_names: list[str], parent_name: str | None, folder_name: str) -> bool:
    """True when the file sits in a folder named ``folder_name`` (case-insensitive) at any depth below it.

    ``path_names`` are the names of the folders from the root down to the parent (Box's path_collection)."""
    names = [n.lower() for n in [*path_names, parent_name or ""] if n]
    return folder_name.lower() in names


def campaign_complete(master_tracking_ids: list[str], derivative_tracking_ids: list[str]) -> bool:
    """Every master of the campaign has at least one derivative."""
    masters = set(master_tracking_ids)
    return bool(masters) and masters <= set(derivative_tracking_ids)


def versions_to_process(history: list[str], wanted: str | None, processed: set[str]) -> list[str] | None:
    """The Box versions (ids, oldest first) a run started for version ``wanted`` must bring into the DAM, in order.

    ``history`` is the file's versions as Box lists them now, oldest first; ``processed`` those already in the DAM.
    Every version up to ``wanted`` that follows the newest processed one is due, so two versions become two DAM
    versions in upload order whichever run starts first. Empty when ``wanted`` is already in the DAM, or when a
    newer version already is (the DAM never goes back to older content). None when Box no longer has ``wanted``.
    """
    if wanted not in history:
        return None
    index = history.index(wanted)
    if wanted in processed or any(v in processed for v in history[index + 1:]):
        return []
    last_done = max((i for i, v in enumerate(history[:index]) if v in processed), default=-1)
    return history[last_done + 1:index + 1]
