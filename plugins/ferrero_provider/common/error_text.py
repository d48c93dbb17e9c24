"""Operator-facing error text: one line, trimmed, without secrets."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

MAX_SERVER_MESSAGE = 200


def one_line(text: Any, limit: int = MAX_SERVER_MESSAGE) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks a cut)."""
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every known secret (of 4+ characters) replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def server_message(body: Any) -> str:
    """The human part of an error body: OTMM ``exception_body.message``, Box/OAuth ``message``/``error_description``,
    or the raw text."""
    data = body
    if isinstance(body, (bytes, str)):
        raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            data = json.loads(raw)
        except ValueError:
            return one_line(raw)
    if isinstance(data, dict):
        nested = data.get("exception_body")
        inner = nested if isinstance(nested, dict) else data
        for key in ("message", "error_description", "error", "detail"):
            if inner.get(key):
                return one_line(inner[key])
    return one_line(data if data not in (None, {}, []) else "")


def failed_test(exc: BaseException, secrets: Callable[[], tuple[str | None, ...]]) -> tuple[bool, str]:
    """What a hook's ``test_connection`` answers for ``exc``: (False, the reason in one scrubbed line), even when
    the connection's secrets cannot be read."""
    known: tuple[str | None, ...] = ()
    try:
        known = secrets()
    except Exception:  # noqa: BLE001, S110 - the connection itself may be what failed
        pass
    return False, scrub(one_line(str(exc), 500), known)
