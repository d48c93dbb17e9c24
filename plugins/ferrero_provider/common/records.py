"""What the hooks answer: frozen dataclasses, given to XCom and logs as plain dicts."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


class Record:
    """Mix into a frozen dataclass of a hook's answer."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(cast("DataclassInstance", self))  # every Record is a frozen dataclass
