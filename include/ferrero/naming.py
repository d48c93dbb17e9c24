"""The V2 file naming convention: parse and validate the names agencies give their derivatives.

The convention is data (`config/naming.yaml`, the typed `naming` section, :class:`NamingRules`, checked when the
configuration loads); `DEFAULT_CONVENTION` is the spec's (`v2-filenames.md`). `parse_filename` never raises on a
bad name: it returns a `ParsedName` whose `errors` lists every problem, each one plain sentence naming the
segment, the value seen and what was expected.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from include.ferrero.config_rules import NamingRules, NamingSegment

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_CONVENTION",
    "Convention",
    "ParsedName",
    "compile_convention",
    "parse_filename",
    "safe_local_name",
    "tracking_id_in",
]

#: The spec's convention (``config/naming.yaml`` as shipped), used where no ``naming`` section is configured.
DEFAULT_CONVENTION = NamingRules(
    allowed_extensions=("mp4", "mov", "mxf", "m4v", "jpg", "jpeg", "png", "tif", "tiff", "psd", "pdf", "wav", "mp3"),
    upload_components=("tracking_id",),
    segments=(
        NamingSegment(field="tracking_id", label="TRACKING", length=6, charset="0-9A-HJKMNP-TV-Z",
                      expect="exactly 6 characters of Crockford base32 in upper case "
                             "(0-9, A-H, J, K, M, N, P-T, V-Z; no I, L, O, U)"),
        NamingSegment(field="brand", label="BRAND", min_length=1, max_length=40, charset="A-Za-z0-9-",
                      expect="1 to 40 letters, digits or hyphens"),
        NamingSegment(field="subject_title", label="SUBJECT", min_length=1, max_length=80, charset="A-Za-z0-9-",
                      value="hyphens_to_spaces",
                      expect="1 to 80 letters, digits or hyphens (a hyphen stands for a space)"),
        NamingSegment(field="asset_type", label="TYPE", min_length=1, charset="A-Za-z",
                      expect="one or more letters, such as video or image"),
        NamingSegment(field="language_code", label="LANG", length=2, charset="A-Za-z",
                      expect="a 2-letter ISO 639-1 language code, such as IT or de"),
        NamingSegment(field="market_code", label="MARKET", optional=True, length=2, charset="A-Za-z",
                      expect="a 2-letter ISO 3166-1 country code, such as CH, right after LANG"),
        NamingSegment(field="version", label="VERSION", pattern="[vV](0[1-9]|[1-9][0-9])", value="integer",
                      expect="v or V followed by 2 digits from 01 to 99, such as v02"),
    ),
)

_SHOW_MAX = 60  # longest value quoted in an error message
_BOX_DUPLICATE_SUFFIX = re.compile(r" \(\d+\)$")


@dataclass(frozen=True)
class Segment:
    """A segment of the compiled convention: its label and expectation resolved, its regular expressions compiled."""

    field: str
    label: str
    expect: str
    optional: bool = False
    length: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    charset: re.Pattern[str] | None = None
    pattern: re.Pattern[str] | None = None
    value: Literal["text", "hyphens_to_spaces", "integer"] = "text"


@dataclass(frozen=True)
class Convention:
    """The naming rules compiled for parsing (see :func:`compile_convention`)."""

    separator: str
    max_name_bytes: int
    allowed_extensions: tuple[str, ...]
    upload_components: frozenset[str]
    segments: tuple[Segment, ...]

    @property
    def grammar(self) -> str:
        """Human form of the convention, e.g. `TRACKING_BRAND_..._LANG[_MARKET]_VERSION.ext`."""
        out = ""
        for index, seg in enumerate(self.segments):
            sep = self.separator if index else ""
            out += f"[{sep}{seg.label}]" if seg.optional else f"{sep}{seg.label}"
        return out + ".ext"


@dataclass(frozen=True)
class ParsedName:
    """The parse of one upload name. On an invalid name every value is None and `errors` says why."""

    original_name: str
    is_valid: bool
    errors: list[str] = field(default_factory=list)
    tracking_id: str | None = None
    brand: str | None = None
    subject_title: str | None = None
    asset_type: str | None = None
    language_code: str | None = None
    market_code: str | None = None
    version: int | None = None
    extension: str | None = None
    clean_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def error_summary(self) -> str:
        """Every problem as ONE sentence, for an error email subject or a failed task (empty when valid)."""
        if self.is_valid:
            return ""
        problems = "; ".join(e[:1].lower() + e[1:].rstrip(".") for e in self.errors) or "no reason given"
        return f"The file name {self.original_name!r} is not valid: {problems}."

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ParsedName:
        known = {f: data[f] for f in cls.__dataclass_fields__ if f in data}
        known["errors"] = list(known.get("errors") or [])
        return cls(**known)


@functools.lru_cache(maxsize=8)
def compile_convention(rules: NamingRules | None = None) -> Convention:
    """The convention ``rules`` give (None: the spec's), compiled for parsing. The rules were checked when the
    configuration loaded (one field per segment, the tracking ID among them, at most one optional segment,
    regular expressions that compile), so compiling cannot fail."""
    rules = rules or DEFAULT_CONVENTION
    return Convention(
        separator=rules.separator,
        max_name_bytes=rules.max_name_bytes,
        allowed_extensions=tuple(extension.lower().lstrip(".") for extension in rules.allowed_extensions),
        upload_components=frozenset(rules.upload_components),
        segments=tuple(_compiled(segment) for segment in rules.segments),
    )


def _compiled(segment: NamingSegment) -> Segment:
    return Segment(
        field=segment.field,
        label=segment.label or segment.field.upper(),
        expect=segment.expect or "a value matching the convention",
        optional=segment.optional,
        length=segment.length,
        min_length=segment.min_length,
        max_length=segment.max_length,
        charset=re.compile(f"[{segment.charset}]") if segment.charset else None,
        pattern=re.compile(segment.pattern) if segment.pattern else None,
        value=segment.value,
    )


def _show(value: str) -> str:
    """Quote an untrusted value for a message: control characters escaped, long values cut."""
    text = "".join(
        ch if unicodedata.category(ch)[0] != "C" else ch.encode("unicode_escape").decode("ascii") for ch in value
    )
    if len(text) > _SHOW_MAX:
        text = text[: _SHOW_MAX - 1] + "…"
    return f'"{text}"'


def _untrusted_problems(name: str, convention: Convention) -> list[str]:
    problems = []
    separators = sorted({ch for ch in name if ch in "/\\"})
    if separators:
        found = " and ".join(f'"{ch}"' for ch in separators)
        problems.append(f"The name contains a path separator ({found}); a file name must not contain / or \\.")
    controls = [ch for ch in name if unicodedata.category(ch) == "Cc"]
    if controls:
        shown = ", ".join(sorted({ch.encode("unicode_escape").decode("ascii") for ch in controls}))
        problems.append(f"The name contains control characters ({shown}); a file name must contain only printable text.")
    size = len(name.encode("utf-8", errors="surrogatepass"))
    if size > convention.max_name_bytes:
        problems.append(
            f"The name is {size} bytes long in UTF-8; expected at most {convention.max_name_bytes} bytes."
        )
    return problems


def _segment_problems(seg: Segment, value: str) -> list[str]:
    """Every way `value` breaks the segment's rules, one sentence each."""
    head = f"The {seg.label} segment {_show(value)}"
    tail = f"expected {seg.expect}."
    if value == "":
        return [f"The {seg.label} segment is empty; {tail}"]
    problems = []
    size = len(value)
    if seg.length is not None and size != seg.length:
        problems.append(f"{head} has {size} character{'s' if size != 1 else ''}; {tail}")
    elif (seg.min_length is not None and size < seg.min_length) or (
        seg.max_length is not None and size > seg.max_length
    ):
        problems.append(f"{head} has {size} character{'s' if size != 1 else ''}; {tail}")
    if seg.charset is not None:
        bad = []
        for ch in value:
            if not seg.charset.fullmatch(ch) and ch not in bad:
                bad.append(ch)
        if bad:
            shown = ", ".join(_show(ch) for ch in bad)
            chars = "the character" if len(bad) == 1 else "the characters"
            problems.append(f"{head} contains {chars} {shown}, not allowed here; {tail}")
    if seg.pattern is not None and not seg.pattern.fullmatch(value):
        hint = " (it looks like a duplicate suffix added by Box)" if _BOX_DUPLICATE_SUFFIX.search(value) else ""
        problems.append(f"{head} is not in the expected form{hint}; {tail}")
    return problems


def _segment_value(seg: Segment, raw: str) -> str | int:
    if seg.value == "hyphens_to_spaces":
        return raw.replace("-", " ")
    if seg.value == "integer":
        return int("".join(ch for ch in raw if ch.isdigit()))
    return raw


_Pairs = list[tuple[Segment, str]]


def _align(parts: list[str], convention: Convention, optional: bool | None = None) -> tuple[_Pairs, list[Segment], list[str]]:
    """Assign name parts to segments by counting only: the optional segment is present exactly when there are
    more parts than required segments (or as ``optional`` says). Returns the assigned pairs, the segments left
    without a part, and the parts left without a segment."""
    with_optional = len(parts) > sum(not s.optional for s in convention.segments) if optional is None else optional
    pairs: _Pairs = []
    missing: list[Segment] = []
    remaining = list(parts)
    for seg in convention.segments:
        if seg.optional and not with_optional:
            continue
        if remaining:
            pairs.append((seg, remaining.pop(0)))
        else:
            missing.append(seg)
    return pairs, missing, remaining


def _missing_reading(parts: list[str], conv: Convention, pairs: _Pairs) -> _Pairs:
    """The parts read with the optional segment present and the last one missing, when only that reading fits
    (``…_EN_GB.jpg``: VERSION is missing after MARKET "GB", rather than a bad VERSION "GB"); else empty."""
    at = next((i for i, s in enumerate(conv.segments) if s.optional), None)
    if at is None or len(parts) != len(conv.segments) - 1:
        return []
    other = _align(parts, conv, optional=True)[0]
    fits = not any(_segment_problems(seg, raw) for seg, raw in other[at:])
    return other if fits and any(_segment_problems(seg, raw) for seg, raw in pairs[at:]) else []


def parse_filename(name: str, convention: NamingRules | None = None) -> ParsedName:
    """Parse and validate an upload name against the convention (default: the spec's V2 convention); never
    raises on a bad name."""
    conv = compile_convention(convention)
    if not isinstance(name, str):
        return ParsedName(str(name), False, [f"The name must be text, got {type(name).__name__}."])
    errors = _untrusted_problems(name, conv)

    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
        errors.append(
            f"The name {_show(name)} has no extension; expected one of {', '.join(conv.allowed_extensions)}."
        )
    elif ext.lower() not in conv.allowed_extensions:
        errors.append(
            f"The extension {_show(ext)} is not allowed; expected one of {', '.join(conv.allowed_extensions)}."
        )

    parts = stem.split(conv.separator)
    counts = sorted({sum(not s.optional for s in conv.segments), len(conv.segments)})
    if len(parts) not in counts:
        expected = " or ".join(str(c) for c in counts)
        errors.append(
            f"The name has {len(parts)} segment{'s' if len(parts) != 1 else ''} separated by {_show(conv.separator)}; expected {expected}, "
            f"in the form {conv.grammar}."
        )
    pairs, missing, extra = _align(parts, conv)
    if other := _missing_reading(parts, conv, pairs):
        pairs, missing = other, [conv.segments[-1]]
    for seg, raw in pairs:
        errors.extend(_segment_problems(seg, raw))
    if missing:
        where = f" after {pairs[-1][0].label} {_show(pairs[-1][1])}" if pairs else ""
        if len(missing) == 1:
            errors.append(f"The {missing[0].label} segment is missing{where}; expected {missing[0].expect}.")
        else:
            labels = [seg.label for seg in missing]
            errors.append(f"The {', '.join(labels[:-1])} and {labels[-1]} segments are missing{where}.")
    if extra:
        shown = ", ".join(_show(p) for p in extra)
        errors.append(
            f"The name has extra segments after {conv.segments[-1].label}: {shown}; "
            f"expected nothing between {conv.segments[-1].label} and the extension."
        )

    if errors:
        return ParsedName(original_name=name, is_valid=False, errors=errors)

    values: dict[str, Any] = {seg.field: _segment_value(seg, raw) for seg, raw in pairs}
    kept = [raw for seg, raw in pairs if seg.field not in conv.upload_components]
    clean_name = f"{conv.separator.join(kept)}.{ext.lower()}"
    return ParsedName(original_name=name, is_valid=True, extension=ext.lower(), clean_name=clean_name, **values)


def tracking_id_in(name: str, convention: NamingRules | None = None) -> str | None:
    """The valid tracking ID a name leads with, even when the rest of the name is invalid (best effort, for
    messages about a name that did not parse); None otherwise."""
    conv = compile_convention(convention)
    index = next(i for i, s in enumerate(conv.segments) if s.field == "tracking_id")
    if not isinstance(name, str) or any(s.optional for s in conv.segments[:index]):
        return None
    parts = name.split(conv.separator) if conv.separator in name else [name.rpartition(".")[0] or name]
    valid = len(parts) > index and not _segment_problems(conv.segments[index], parts[index])
    return parts[index] if valid else None


_UNSAFE_LOCAL = re.compile(r"[^A-Za-z0-9._-]+")


def safe_local_name(name: str, max_length: int = 120) -> str:
    """A name safe to use for a local temporary file, whatever the (untrusted) input.

    Keeps only ASCII letters, digits, dot, hyphen and underscore (everything else becomes `_`), never starts
    with a dot, keeps the extension when it has to shorten, and is never empty.
    """
    base = re.split(r"[/\\]", str(name))[-1]
    safe = _UNSAFE_LOCAL.sub("_", base).lstrip(".")
    if len(safe) > max_length:
        stem, dot, ext = safe.rpartition(".")
        ext = ext[:16] if dot else ""
        keep = max_length - (len(ext) + 1 if ext else 0)
        safe = f"{(stem if dot else safe)[:keep]}{'.' + ext if ext else ''}"
    safe = safe.strip(".")
    return safe or "file"
