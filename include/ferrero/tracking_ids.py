"""Tracking IDs: 6 characters of Crockford base32, drawn from a cryptographic random source.

Uniqueness is the database's job (a unique constraint); callers retry on a collision. With 32**6 (about
1.07e9) possible IDs a collision is rare but must be handled, never assumed away.
"""

from __future__ import annotations

import re
import secrets

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TRACKING_ID_LENGTH = 6
TRACKING_ID_PATTERN = re.compile(rf"^[{CROCKFORD_ALPHABET}]{{{TRACKING_ID_LENGTH}}}$")


def new_tracking_id() -> str:
    """Return a fresh random tracking ID (not yet checked for uniqueness)."""
    return "".join(secrets.choice(CROCKFORD_ALPHABET) for _ in range(TRACKING_ID_LENGTH))


def is_tracking_id(value: str) -> bool:
    """True when ``value`` is exactly 6 upper-case Crockford base32 characters."""
    return bool(TRACKING_ID_PATTERN.match(value))
