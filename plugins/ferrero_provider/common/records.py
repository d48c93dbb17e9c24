"""What the hooks answer: frozen dataclasses, given to XCom and logs as plain dicts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any


class Record:
    """Mix into a frozen dataclass of a hook's answer."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]  # every Record is a dataclass
