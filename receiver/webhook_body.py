"""What a Box webhook body means for us: its JSON, the fields we keep, and whether (and why) it is ignored.

Only file events (``FILE_TRIGGERS``: an upload, a copy, a move, a restore, a rename) for a file inside a folder named like
``box.derivatives_folder_name`` (the file's parent or any folder above it, compared case-insensitively), made by
someone other than the service account, go to the A2->A3 DAG; a ``WEBHOOK.DELETED`` (Box dropped our webhook)
goes to the reconciliation (``derivatives_sweep``), which re-creates it at once. Everything else is acknowledged
and kept as ``ignored`` with the reason.

Any signed body gets an answer, never a crash. :func:`parse_body` refuses (:class:`PayloadError`, one sentence)
a body that is not UTF-8 JSON, is nested deeper than ``MAX_DEPTH`` (checked before parsing, so the recursive
parser never runs out of stack), or holds a number we would not store (NaN, Infinity, ``1e400``, more than
``MAX_DIGITS`` digits); NUL and lone surrogates become U+FFFD (see :func:`include.ferrero.db.webhook_events.storable`).
Duplicate keys: the last one wins, as in :mod:`json`. The costly checks run only when a cheap scan of the text
says they may be needed, so a 1 MiB body is read in tens of milliseconds.
:func:`classify` takes any JSON value: a field of an unexpected type counts as missing.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from include.ferrero.box_webhooks import FILE_TRIGGERS, WEBHOOK_DELETED
from include.ferrero.db.webhook_events import WebhookEvent, storable
from include.ferrero.derivatives import derivatives_folder_of

FILE_UPLOADED = "FILE.UPLOADED"
MAX_DEPTH = 64  # Box's events nest about 5 levels
MAX_DIGITS = 1000
MAX_ID_LENGTH = 100  # Box ids are a few dozen characters; a run id (file + version id) must stay short
_QUOTED = 80  # characters of a payload value quoted in a reason

# A JSON string, or an unterminated one up to the end (never fails, so the scan stays linear).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_LONG_NUMBER = re.compile(rf"[0-9]{{{MAX_DIGITS + 1},}}")
_MAY_OVERFLOW = re.compile(r"[0-9]{300,}|[0-9][eE]")  # without either, a float is below 1e300
_NUL_OR_SURROGATE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")  # the only way JSON text can hold them
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class PayloadError(ValueError):
    """The body is not a usable Box webhook event; the message says why in one sentence."""


def parse_body(body: bytes) -> Any:
    """The body's JSON value, ready to store (NUL and lone surrogates replaced)."""
    try:
        text = body.decode(json.detect_encoding(body))
    except UnicodeDecodeError:
        raise PayloadError("the body is not valid UTF-8 text") from None
    bare = _STRING.sub('""', text)  # strings emptied: what is left is structure, numbers and literals
    if _depth(bare) > MAX_DEPTH:
        raise PayloadError(f"the body is nested deeper than {MAX_DEPTH} levels")
    if _LONG_NUMBER.search(bare):
        raise PayloadError(f"the body has a number of more than {MAX_DIGITS} digits")
    try:
        value = json.loads(text, parse_float=_finite if _MAY_OVERFLOW.search(bare) else float,
                           parse_constant=_constant)
    except PayloadError:
        raise
    except (ValueError, RecursionError):
        raise PayloadError("the body is not JSON") from None
    return storable(value) if _NUL_OR_SURROGATE.search(text) else value


def _depth(bare: str) -> int:
    """How deep ``[`` and ``{`` nest in JSON text whose strings are emptied."""
    brackets = _NOT_BRACKET.sub("", bare)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def classify(
    payload: Any,
    *,
    delivery_id: str | None,
    derivatives_folder_name: str,
    service_account_user_id: str | None,
) -> WebhookEvent:
    if not isinstance(payload, dict):
        raise PayloadError(f"the body is {_kind(payload)}, not a JSON object")
    raw_id = payload.get("id")
    event_id = _id(raw_id)
    if event_id is None:
        detail = "" if raw_id is None or isinstance(raw_id, str) else f" (its id is {_kind(raw_id)})"
        raise PayloadError(f"the event has no id{detail}")
    if len(event_id) > MAX_ID_LENGTH:
        raise PayloadError(f"the event id is longer than {MAX_ID_LENGTH} characters")
    source = _object(payload.get("source"))
    parent = _object(source.get("parent"))
    event = WebhookEvent(
        event_id=event_id,
        trigger=_text(payload.get("trigger")) or "(none)",
        payload=payload,
        delivery_id=delivery_id,
        box_file_id=_id(source.get("id")) if source.get("type") == "file" else None,
        box_file_version_id=_id(_object(source.get("file_version")).get("id")),
        file_name=_text(source.get("name")),
        parent_folder_id=_id(parent.get("id")),
        created_by_id=_id(_object(payload.get("created_by")).get("id")),
    )
    event.ignore_reason = _ignore_reason(event, source, parent, derivatives_folder_name, service_account_user_id)
    return event


def _ignore_reason(
    event: WebhookEvent,
    source: dict[str, Any],
    parent: dict[str, Any],
    derivatives_folder_name: str,
    service_account_user_id: str | None,
) -> str | None:
    if event.trigger == WEBHOOK_DELETED:
        return None
    if event.trigger not in FILE_TRIGGERS:
        return f"trigger {_clip(event.trigger)} is not a file trigger we watch"
    if source.get("type") != "file":
        return f"the source is a {_clip(_text(source.get('type')) or 'missing item')}, not a file"
    if event.box_file_id is None:
        return "the file has no id"
    if service_account_user_id and event.created_by_id == str(service_account_user_id):
        return "uploaded by the service account"
    entries = _object(source.get("path_collection")).get("entries")
    path = [e["name"] for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)] \
        if isinstance(entries, list) else []
    parent_name = _text(parent.get("name"))
    if not derivatives_folder_of(path, parent_name, derivatives_folder_name):
        where = _clip(parent_name or event.parent_folder_id or "unknown folder")
        return f"not inside a {derivatives_folder_name} folder (uploaded to {where})"
    if event.box_file_version_id is None:
        return "the event has no file version id"
    if max(len(event.box_file_id), len(event.box_file_version_id)) > MAX_ID_LENGTH:
        return f"the file or version id is longer than {MAX_ID_LENGTH} characters"
    return None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    """A non-blank string, else None."""
    return value if isinstance(value, str) and value.strip() else None


def _id(value: Any) -> str | None:
    """A Box id: a non-blank string or an integer (not a bool), as a string; else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if value.bit_length() < 10_000 else None  # str() refuses over 4300 digits
    return _text(value)


def _kind(value: Any) -> str:
    """The JSON type of ``value`` with its article, e.g. ``an array``."""
    kinds = ((bool, "a boolean"), (int, "a number"), (float, "a non-integer number"), (str, "a string"),
             (list, "an array"), (dict, "an object"))
    return next((name for types, name in kinds if isinstance(value, types)), "null" if value is None else "no JSON")


def _clip(text: str) -> str:
    return text if len(text) <= _QUOTED else text[:_QUOTED - 1] + "…"


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise PayloadError("the body has a number too large to store")
    return value


def _constant(name: str) -> float:
    raise PayloadError(f"the body has {name}, which is not a JSON number")
