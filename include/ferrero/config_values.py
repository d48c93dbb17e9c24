"""The vocabulary of the configuration model: what a value must be, in words, and the frozen, strict section.

Every value type carries what an admin must write there (:class:`Expect`), so :mod:`include.ferrero.config` can
turn a validation error into one sentence (``config/config.yaml: polling.interval_seconds must be an integer >= 60,
got 'five'``). Values are strict (``"300"`` is not an integer, ``yes`` is not ``true``), unknown keys are refused.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)
from pydantic_core import PydanticCustomError


class Expect:
    """What a value must be, in words: the end of the sentence an invalid value gets."""

    def __init__(self, text: str) -> None:
        self.text = text


def _not_null(value: object) -> object:
    if value is None:
        raise PydanticCustomError("null", "a value")
    return value


#: On ``X | None = None``: the key may be left out, but not set to null.
NotNull = BeforeValidator(_not_null)


def missing_key(key: str) -> PydanticCustomError:
    """A mapping lacks a key it must have (reported as ``<path>.<key> is missing``)."""
    return PydanticCustomError("missing_key", "{key} is missing", {"key": key})


def broken_rule(key: str, text: str) -> PydanticCustomError:
    """Values that are each valid but do not work together (reported as ``<path>.<key> <text>``)."""
    return PydanticCustomError("broken_rule", "{key} {text}", {"key": key, "text": text})


def empty_when_null(value: object) -> object:
    """A mapping whose every entry is commented out (YAML gives null) is an empty mapping."""
    return {} if value is None else value


# ---- value types (each says what it expects) -------------------------------------------------------------------

Flag = Annotated[StrictBool, Expect("true or false")]
Positive = Annotated[StrictInt, Field(ge=1), Expect("an integer >= 1")]
Seconds = Annotated[StrictInt | StrictFloat, Field(ge=0), Expect("a number >= 0")]
Text = Annotated[StrictStr, Expect("a text")]
FolderName = Annotated[StrictStr, Field(min_length=1), Expect("a folder name")]
DamFieldId = Annotated[StrictStr, Field(min_length=1), Expect("a DAM field id")]
FieldId = Annotated[StrictStr, Field(min_length=1), Expect("a DAM field id (text)")]
EmailAddress = Annotated[StrictStr, Field(pattern=r"^[^@\s]+@[^@\s]+$"), Expect("an email address")]
EmailAddresses = Annotated[tuple[EmailAddress, ...], Expect("a list of email addresses")]
Template = Annotated[StrictStr, Field(min_length=1), Expect("a Jinja2 template")]
Scalar = Annotated[StrictStr | StrictInt | StrictFloat | StrictBool, Expect("a text or a number")]
NAME_FIELDS = ("tracking_id", "brand", "subject_title", "asset_type", "language_code", "market_code", "version")
NameField = Annotated[Literal["tracking_id", "brand", "subject_title", "asset_type", "language_code", "market_code",
                              "version"], Expect("one of " + ", ".join(NAME_FIELDS))]


def _folder_id(value: object) -> object:
    """A Box folder id as YAML gives it (``0``, ``"348304357505"``), as text; anything else is left to fail."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else value


FolderId = Annotated[StrictStr, BeforeValidator(_folder_id), Field(pattern=r"^[0-9]+$"),
                     Expect("a Box folder id (digits)")]


class Section(BaseModel):
    """A mapping of settings: frozen, strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    EXPECT: ClassVar[str] = "a mapping"

