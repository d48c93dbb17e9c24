"""Named behaviour variants of the sandbox Box, one per point Box's documentation leaves open or describes as a
hole (``shared/spec/box-api.md`` §3): like the DAM's (``sandbox/otmm/variants.py``).

Select them with ``SANDBOX_BOX_VARIANTS`` (comma-separated; empty = the default behaviour), or at run time with
``POST /__sandbox__/box/variants {"variants": [...]}`` (kept in the store, so one running sandbox serves every
variant in turn; ``{"variants": null}`` goes back to the environment's).

- ``new-version-without-webhook``: uploading a new version of an existing file fires no ``FILE.UPLOADED`` (the
  docs do not say it does). Default: every upload, new file or new version, fires it. The event stream still
  has its ``ITEM_UPLOAD``.
- ``webhook-auto-deleted``: after ``AUTO_DELETE_AFTER`` events a webhook is deleted, as Box's ``auto_cleanup``
  does, and Box sends ``WEBHOOK.DELETED`` (``additional_info.reason = auto_cleanup``) to its address; the
  upload that found it gone fires nothing. Default: webhooks live until deleted.
- ``events-duplicated-out-of-order``: ``GET /events`` answers each chunk newest first with every event twice,
  and the next chunk starts one event back (so the last event comes again). Default: each event once, in order.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.box.state import BoxState

NEW_VERSION_WITHOUT_WEBHOOK = "new-version-without-webhook"
WEBHOOK_AUTO_DELETED = "webhook-auto-deleted"
EVENTS_DUPLICATED_OUT_OF_ORDER = "events-duplicated-out-of-order"

VARIANTS: tuple[str, ...] = (NEW_VERSION_WITHOUT_WEBHOOK, WEBHOOK_AUTO_DELETED, EVENTS_DUPLICATED_OUT_OF_ORDER)
#: ``webhook-auto-deleted``: events a webhook fires before Box deletes it.
AUTO_DELETE_AFTER = 2
_META_KEY = "box.variants"


def parse_variants(raw: str | list[str] | None) -> frozenset[str]:
    """The names of a ``SANDBOX_BOX_VARIANTS`` value (or list); an unknown name is an error naming the known ones."""
    parts = raw.split(",") if isinstance(raw, str) else (raw or [])
    names = frozenset(n.strip().lower() for n in parts if n.strip())
    unknown = sorted(names - set(VARIANTS))
    if unknown:
        raise ValueError(f"SANDBOX_BOX_VARIANTS: unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    return names


def active(state: BoxState) -> frozenset[str]:
    """The variants in force: those set at run time, else the environment's."""
    stored = state.store.meta(_META_KEY)
    return frozenset(json.loads(stored)) if stored else state.settings.box_variants


def set_active(state: BoxState, names: list[str] | None) -> frozenset[str]:
    """Set the variants at run time (None: back to the environment's)."""
    if names is None:
        state.store.set_meta(_META_KEY, "")
        return state.settings.box_variants
    chosen = parse_variants(names)
    state.store.set_meta(_META_KEY, json.dumps(sorted(chosen)))
    return chosen


def on(state: BoxState, name: str) -> bool:
    return name in active(state)
