"""Box webhook signature check, the way Box and its SDK's ``WebhooksManager.validate_message`` do it.

A delivery is genuine when ``BOX-SIGNATURE-VERSION`` is ``1``, ``BOX-SIGNATURE-ALGORITHM`` is ``HmacSHA256``,
``BOX-DELIVERY-TIMESTAMP`` (RFC 3339) is at most ``max_age`` seconds old, and the primary signature matches the
primary key or the secondary signature matches the secondary key (two keys, so either can be rotated). A
signature is base64(HMAC-SHA256(key, raw body bytes + timestamp)); like the SDK we also accept it over the body
with non-ASCII characters \\u-escaped.

One difference from the SDK: a timestamp up to ``FUTURE_SKEW_SECONDS`` (30 s) in our future is accepted, so a
sender clock slightly ahead of ours does not lose deliveries (the SDK refuses even 1 s). Anything later is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

FUTURE_SKEW_SECONDS = 30
REQUIRED_HEADERS = ("box-delivery-timestamp", "box-signature-version", "box-signature-algorithm")


def compute(body: bytes, timestamp: str, key: str) -> str:
    """base64(HMAC-SHA256(key, body + timestamp))."""
    return base64.b64encode(hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).digest()).decode()


def check(
    body: bytes,
    headers: Mapping[str, str],
    primary_key: str | None,
    secondary_key: str | None,
    *,
    max_age: int = 600,
    now: datetime | None = None,
) -> str | None:
    """None when the delivery is genuine, else the reason it is refused (one short phrase, no secrets).

    ``headers`` must have lower-case names (Starlette's ``request.headers`` is case-insensitive already).
    """
    missing = [name for name in REQUIRED_HEADERS if not headers.get(name)]
    if missing:
        return f"missing header(s) {', '.join(missing)}"
    if headers["box-signature-version"] != "1":
        return f"unsupported signature version {headers['box-signature-version'][:20]!r}"
    if headers["box-signature-algorithm"] != "HmacSHA256":
        return f"unsupported signature algorithm {headers['box-signature-algorithm'][:20]!r}"
    timestamp = headers["box-delivery-timestamp"]
    try:
        sent = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "unreadable delivery timestamp"
    if sent.tzinfo is None:
        return "delivery timestamp has no time zone"
    age = ((now or datetime.now(timezone.utc)) - sent).total_seconds()
    if age > max_age:
        return f"delivery timestamp is {int(age)} s old (limit {max_age} s)"
    if age < -FUTURE_SKEW_SECONDS:
        return f"delivery timestamp is {int(-age)} s in the future (tolerance {FUTURE_SKEW_SECONDS} s)"
    primary, secondary = headers.get("box-signature-primary"), headers.get("box-signature-secondary")
    if not primary and not secondary:
        return "missing header(s) box-signature-primary, box-signature-secondary"
    for key, received in ((primary_key, primary), (secondary_key, secondary)):
        if key and received and _matches(body, timestamp, key, received):
            return None
    return "signature does not match"


def _matches(body: bytes, timestamp: str, key: str, received: str) -> bool:
    if _same(compute(body, timestamp, key), received):
        return True
    try:
        escaped = _escape_unicode(body.decode("utf-8")).encode("utf-8")
    except UnicodeDecodeError:
        return False
    return escaped != body and _same(compute(escaped, timestamp, key), received)


def _same(expected: str, received: str) -> bool:
    return hmac.compare_digest(expected.encode(), received.encode("utf-8", "replace"))


def _escape_unicode(text: str) -> str:
    """The SDK's ``escape_unicode``: backslashes doubled (except before /), control and non-ASCII as \\uXXXX."""

    def replace(match: re.Match[str]) -> str:
        char = match.group(0)
        if char in "\n\r\t":
            return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char]
        code = ord(char)
        if code <= 0xFFFF:
            return f"\\u{code:04x}"
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"

    return re.sub(r"[^\x20-\x7e]|[\n\r\t]", replace, re.sub(r"\\(?!/)", r"\\\\", text))
