"""The reconciliation of A2 -> A3 with Box, every discovery interval: the webhook is checked (and re-created when
Box deleted it), and every derivative upload the webhook did not bring is found from Box's event stream.

- :func:`check_webhook`: the webhook on ``box.root_folder_id`` must deliver to ``webhook.public_url`` (or the
  receiver's own address) with :data:`WEBHOOK_TRIGGERS`. Missing or different, it is re-created at once and the
  loss is an outage of the "Box webhook": one critical email when found, one when the next check sees it back
  (``service_unreachable`` / ``service_recovered``, as for the DAM and Box, :mod:`steps.discovery`).
- :func:`reconcile_derivatives`: reads the ``changes`` stream from the position kept in the tracking database
  (``db.box_stream``) to its end; each upload, copy, move, restore or rename of a file in a ``Derivatives``
  folder becomes the ``a2_to_a3`` run of that file version, named as the webhook names it
  (:func:`dag_run_id_for`), so a run is never doubled. Duplicate events (same event id) count once, order does
  not matter (each version has its own run; ``derivative_to_dam`` brings versions in upload order). A few calls
  per cycle, whatever the number of files. The stream cannot be used when no position is kept yet, when the
  kept one is older than the stream keeps (:data:`STREAM_TRUSTED_DAYS`) or when Box refuses it (any permanent
  error): then every campaign's ``Derivatives`` folder is listed (:func:`sweep_derivatives`) and the stream
  is read from the position taken just before, next time.

No Airflow import: ``dags/derivatives_sweep.py`` builds the ports and starts the runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from include.ferrero.box_webhooks import WEBHOOK_TRIGGERS, dag_run_id_for
from include.ferrero.db.box_stream import StreamStore
from include.ferrero.db.outages import OutageStore
from include.ferrero.derivatives import derivatives_folder_of
from include.ferrero.steps.a2_to_a3 import sweep_derivatives
from include.ferrero.steps.discovery import OutageWording, outage_messages

if TYPE_CHECKING:
    from collections.abc import Callable

    from ferrero_provider.box.models import BoxEvent, WebhookCheck
    from include.ferrero.config_model import Config
    from include.ferrero.db.box_stream import StreamPosition
    from include.ferrero.steps.payloads import DerivativeRun
    from include.ferrero.steps.ports import BoxWatch, Ports

log = logging.getLogger(__name__)

STREAM = "changes"
#: Box keeps the ``changes`` stream about 21 days; a position read longer ago than this is not trusted.
STREAM_TRUSTED_DAYS = 20
#: Chunks of 500 events read per reconciliation at most; the rest waits for the next one.
MAX_CHUNKS = 200
#: What a derivative can come from in the stream: an upload (a new file or a new version), a copy, a move, a
#: restore from the trash, a rename (the name is part of the run id, so a renamed file gets its own run).
DERIVATIVE_EVENTS = frozenset({"ITEM_UPLOAD", "ITEM_COPY", "ITEM_MOVE", "ITEM_UNDELETE_VIA_TRASH", "ITEM_RENAME"})
RENAME = "ITEM_RENAME"
TRASH = "ITEM_TRASH"

WEBHOOK_SERVICE = "Box webhook"
WEBHOOK_LOST = OutageWording(
    problem="was missing or no longer delivered to the receiver",
    impact="It has been re-created. Uploads made meanwhile reach the DAM through the reconciliation of every "
           "discovery interval (the Box event stream), not at once.",
    back="delivers to the receiver again",
    after="Uploads reach the DAM at once again.",
)


def check_webhook(ports: Ports, airflow_url: str | None,
                  why: str | None = None) -> tuple[WebhookCheck | None, list[str]]:
    """Make sure the webhook is there; return what was found and done (None: no webhook possible on folder 0)
    and the outbox keys of the critical emails due. ``why``: what prompted the check (a ``WEBHOOK.DELETED``)."""
    config = ports.config
    root = config.box.root_folder_id  # digits, validated
    if root == "0":
        log.warning("box.root_folder_id is 0: Box allows no webhook on the root folder; uploads are found by the "
                    "reconciliation alone")
        return None, []
    check = ports.box.watch.ensure_webhook(root, config.webhook.address, WEBHOOK_TRIGGERS)
    lost = None if check.outcome == "exists" else _loss(check, config.webhook.address, why)
    if lost:
        log.warning("%s", lost)
    keys = OutageStore(ports.db).observe(WEBHOOK_SERVICE, lost, lambda state, outage: outage_messages(
        config, WEBHOOK_SERVICE, state, outage, airflow_url, WEBHOOK_LOST))
    return check, keys


def _loss(check: WebhookCheck, address: str, why: str | None) -> str:
    before = check.before
    if before is None:
        found = "Box had no webhook on the root folder"
    elif before.address != address:
        found = f"the webhook on the root folder delivered to {before.address}, not to {address}"
    else:
        found = f"the webhook on the root folder lacked the trigger(s) " \
                f"{', '.join(sorted(set(WEBHOOK_TRIGGERS) - set(before.triggers)))}"
    cause = f" ({why})" if why else ""
    return f"{found}{cause}; re-created as webhook {check.webhook.webhook_id} to {address}"


@dataclass
class _Change:
    """A file version the stream changed (its run's conf), and whether a rename was among its events."""

    file_id: str
    version: str | None
    name: str | None
    rename: bool = False


@dataclass
class Reconciliation:
    """What one reconciliation found: the runs to start, from ``events`` or ``folders`` (then ``why``)."""

    runs: list[DerivativeRun]
    source: str
    why: str | None = None
    events: int = 0
    duplicates: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


def reconcile_derivatives(ports: Ports, run_state: Callable[[str], str | None], *, now: datetime | None = None,
                          full: bool = False) -> Reconciliation:
    """The ``a2_to_a3`` runs to start for derivative uploads that have none: from the event stream, or from the
    folder listings when it cannot be used (or ``full``)."""
    box, store = ports.box, StreamStore(ports.db)
    kept = store.position(STREAM)
    now = now or datetime.now(timezone.utc)
    why = "asked for a full listing" if full else _unusable(kept, now)
    if why is None and kept is not None:
        try:
            events, end = _read_stream(box, kept.position)
        except Exception as exc:
            if not getattr(exc, "permanent", False):  # 5xx, 429, network: the task's retries
                raise
            why = f"Box refused the event stream: {exc}"
    if why is not None:
        start = _position_now(box)  # taken before the listing, so nothing between the two is missed
        runs = sweep_derivatives(ports, run_state)
        if start is None:
            store.forget_position(STREAM)
        else:
            store.advance(STREAM, start, [], STREAM_TRUSTED_DAYS + 2)
        log.info("folder listings (%s): %d run(s) to start; %s", why, len(runs),
                 f"the stream is read from position {start} next time" if start else "the stream cannot be read")
        return Reconciliation(runs, "folders", why)
    result = _runs_of(ports, run_state, events)
    store.advance(STREAM, end, [(e.event_id, e.event_type, str(e.source.get("id") or "") or None) for e in events],
                  STREAM_TRUSTED_DAYS + 2)
    return result


def _position_now(box: BoxWatch) -> str | None:
    """The stream's end, or None when Box refuses the stream for good (the next cycle lists folders again)."""
    try:
        return box.watch.stream_position_now()
    except Exception as exc:
        if not getattr(exc, "permanent", False):
            raise
        log.warning("Box refuses the event stream (%s): every reconciliation lists the folders", exc)
        return None


def _unusable(kept: StreamPosition | None, now: datetime) -> str | None:
    if kept is None:
        return "no stream position kept yet"
    if now - kept.read_at > timedelta(days=STREAM_TRUSTED_DAYS):
        return (f"the kept stream position was read on {kept.read_at:%Y-%m-%d}, longer ago than the "
                f"{STREAM_TRUSTED_DAYS} days Box keeps the stream")
    return None


def _read_stream(box: BoxWatch, position: str) -> tuple[list[BoxEvent], str]:
    """Every event from ``position`` to the stream's end (at most ``MAX_CHUNKS`` chunks), and the end."""
    events: list[BoxEvent] = []
    for _ in range(MAX_CHUNKS):
        page = box.watch.events_since(position)
        if not page.entries:
            break
        events += page.entries
        position = page.next_position
    return events, position


def _runs_of(ports: Ports, run_state: Callable[[str], str | None], events: list[BoxEvent]) -> Reconciliation:
    box, db, config = ports.box, ports.db, ports.config
    unique = list({e.event_id: e for e in events if e.event_id}.values())
    fresh = StreamStore(db).unseen(e.event_id for e in unique)
    result = Reconciliation([], "events", events=len(events), duplicates=len(events) - len(unique))
    wanted: dict[str, _Change] = {}
    # Files trashed in these events: read once more before their run (the others cost no call).
    trashed = {str(e.source.get("id")) for e in unique if e.event_type == TRASH}
    for event in unique:
        reason = _not_a_derivative(event, config) if event.event_id in fresh else "seen before"
        if reason:
            result.skipped[reason] = result.skipped.get(reason, 0) + 1
            continue
        source = event.source
        file_id = str(source["id"])
        version = str((source.get("file_version") or {}).get("id") or "") or \
            box.files.get_file_info(file_id).version_id
        run_id = dag_run_id_for(file_id, version, source.get("name"))
        wanted.setdefault(run_id, _Change(file_id, version, source.get("name"))).rename |= event.event_type == RENAME
    recorded = db.recorded_box_files(sorted({w.file_id for w in wanted.values()}))
    for run_id, w in sorted(wanted.items()):
        if (w.file_id, w.version) in recorded and not w.rename:
            continue  # already in the DAM (its webhook came); a rename goes to its run, which decides
        state = run_state(run_id)
        if state == "failed":
            log.warning("%s (Box file %s): run %s failed; not started again, clear it once the cause is fixed",
                        w.name, w.file_id, run_id)
        if state is not None:
            continue
        if w.file_id in trashed and _gone(box, w.file_id):  # its restore is an event (and a run) of its own
            result.skipped["no longer in Box"] = result.skipped.get("no longer in Box", 0) + 1
            continue
        result.runs.append({"trigger_run_id": run_id, "conf": {
            "box_file_id": w.file_id, "box_file_version_id": w.version, "file_name": w.name, "event_id": None}})
    return result


def _gone(box: BoxWatch, file_id: str) -> bool:
    """Whether the file is trashed or deleted now (a run for it would fail, and block its restore's run)."""
    try:
        box.files.get_file_info(file_id)
    except Exception as exc:
        if getattr(exc, "kind", None) != "not_found":
            raise
        log.info("Box file %s is no longer there (trashed or deleted): no run until it comes back", file_id)
        return True
    return False


def _not_a_derivative(event: BoxEvent, config: Config) -> str | None:
    if event.event_type not in DERIVATIVE_EVENTS:
        return "not a file change"
    source = event.source
    if source.get("type") != "file" or not source.get("id"):
        return "not a file"
    entries = (source.get("path_collection") or {}).get("entries") or []
    path = [str(e["name"]) for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)]
    parent = (source.get("parent") or {}).get("name")
    if not derivatives_folder_of(path, parent, config.box.derivatives_folder_name):
        return "outside a Derivatives folder"
    return None
