"""One number of seconds from the environment, with one sentence for a bad value: the receiver's tuning knobs
and the stack's outage settings read them alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


def seconds_setting(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0,
                    strict: bool = False, error: type[ValueError] = ValueError) -> float:
    """``env[name]`` as seconds (``default`` when unset or blank), at least ``minimum`` (above it when ``strict``).

    :raises error: the value is no number or too small; the message names the variable and the value.
    """
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise error(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < minimum or (strict and value == minimum):
        raise error(f"{name} must be {'>' if strict else '>='} {minimum:g}, got {raw!r}")
    return value
