"""The rule files of the configuration: ``naming.yaml`` (:class:`NamingRules`, compiled by ``naming.py``) and
``field_mappings.yaml`` (:class:`FieldMappings`, read by ``representation.py``), typed sections of
:class:`~include.ferrero.config_model.Config`.

A convention or a mapping that cannot work (two optional segments, a field named twice, a regular expression that
does not compile, a domain check without a domain) is refused here, when the configuration loads, in one sentence.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from include.ferrero.config_values import (
    NAME_FIELDS,
    Expect,
    FieldId,
    Flag,
    NameField,
    NotNull,
    Positive,
    Scalar,
    Section,
    broken_rule,
    empty_when_null,
)

# ---- naming.yaml -------------------------------------------------------------------------------------------------

def _compiles(wrap: str) -> AfterValidator:
    """The text is a regular expression once written into ``wrap`` (``[{}]`` for a character class)."""
    def check(text: str) -> str:
        try:
            re.compile(wrap.format(text))
        except re.error:
            raise PydanticCustomError("regex", "a regular expression") from None
        return text

    return AfterValidator(check)


class NamingSegment(Section):
    EXPECT: ClassVar[str] = "a segment with at least a field"
    field: NameField
    label: Annotated[Annotated[StrictStr, Field(min_length=1), Expect("a short name such as TRACKING")] | None,
                     NotNull] = None
    expect: Annotated[Annotated[StrictStr, Field(min_length=1), Expect("a text describing what is expected")] | None,
                      NotNull] = None
    optional: Flag = False
    length: Annotated[Positive | None, NotNull] = None
    min_length: Annotated[Annotated[StrictInt, Field(ge=0), Expect("an integer >= 0")] | None, NotNull] = None
    max_length: Annotated[Positive | None, NotNull] = None
    charset: Annotated[Annotated[StrictStr, Field(min_length=1), _compiles("[{}]"),
                                 Expect("the inside of a regex character class, such as A-Za-z0-9-")] | None,
                       NotNull] = None
    pattern: Annotated[Annotated[StrictStr, Field(min_length=1), _compiles("{}"),
                                 Expect("a regular expression")] | None, NotNull] = None
    value: Annotated[Literal["text", "hyphens_to_spaces", "integer"],
                     Expect("text, hyphens_to_spaces or integer")] = "text"


def _separator(value: str) -> str:
    if value in ("/", "\\", "."):
        raise PydanticCustomError("separator", "not a path or extension separator")
    return value


class NamingRules(Section):
    """``naming.yaml``: the V2 naming convention (compiled by ``naming.compile_convention``)."""

    EXPECT: ClassVar[str] = "a mapping of naming-convention settings"
    separator: Annotated[StrictStr, Field(min_length=1, max_length=1), AfterValidator(_separator),
                         Expect("one character other than /, \\ or .")] = "_"
    max_name_bytes: Annotated[StrictInt, Field(ge=1, le=4096), Expect("an integer between 1 and 4096")] = 255
    allowed_extensions: Annotated[tuple[Annotated[StrictStr, Field(pattern=r"^\.?[A-Za-z0-9]+$"),
                                                  Expect("a file extension such as mp4")], ...],
                                  Field(min_length=1), Expect("a non-empty list of file extensions")]
    upload_components: Annotated[tuple[NameField, ...], Expect("a list of segment fields")] = ()
    segments: Annotated[tuple[NamingSegment, ...], Field(min_length=1),
                        Expect("a list of segments (field, label, checks)")]

    @field_validator("segments")
    @classmethod
    def _readable_one_way(cls, segments: tuple[NamingSegment, ...]) -> tuple[NamingSegment, ...]:
        """Each field fills one segment, the tracking ID among them, and at most one segment may be left out."""
        seen: set[str] = set()
        optional = False
        for index, segment in enumerate(segments):
            if segment.field in seen:
                raise broken_rule(f"{index}.field", f"{segment.field!r} appears twice (a field fills one segment)")
            if segment.optional and optional:
                raise broken_rule(f"{index}.optional", "is true on a second segment; at most one segment may be "
                                                       "optional, or a name could be read two ways")
            seen.add(segment.field)
            optional = optional or segment.optional
        if "tracking_id" not in seen:
            raise broken_rule("", "must include the tracking_id field")
        return segments


# ---- field_mappings.yaml ---------------------------------------------------------------------------------------

FILENAME_SOURCES = ("clean_filename", "clean_name", "original_name", *NAME_FIELDS, "extension")
MEDIA_SOURCES = ("duration_ms", "duration_seconds", "width", "height", "resolution", "frame_rate", "video_codec",
                 "audio_codec", "bitrate", "audio_channels")


class FilenameFieldUpdate(Section):
    EXPECT: ClassVar[str] = "a field update with field_id and source"
    field_id: FieldId
    source: Annotated[Literal["clean_filename", "clean_name", "original_name", "tracking_id", "brand",
                              "subject_title", "asset_type", "language_code", "market_code", "version", "extension"],
                      Expect("one of " + ", ".join(FILENAME_SOURCES))]
    transform: Annotated[Literal["uppercase", "lowercase", "none"], Expect("uppercase, lowercase or none")] = "none"
    required: Flag = False
    #: Left out: checked exactly when ``field_domains`` gives the field a lookup domain.
    validate_domain: Annotated[Flag | None, NotNull] = None
    default: Annotated[Scalar | None, NotNull] = None
    fallback: Annotated[Scalar | None, NotNull] = None


class MediaFieldMapping(Section):
    EXPECT: ClassVar[str] = "a media mapping with field_id and source"
    field_id: FieldId
    source: Annotated[Literal["duration_ms", "duration_seconds", "width", "height", "resolution", "frame_rate",
                              "video_codec", "audio_codec", "bitrate", "audio_channels"],
                      Expect("one of " + ", ".join(MEDIA_SOURCES))]
    type: Annotated[Literal["string", "decimal"], Expect("string or decimal")] = "string"


class DomainValidation(Section):
    EXPECT: ClassVar[str] = "a mapping with enabled, cache_ttl_hours and strict_mode"
    enabled: Flag = True
    cache_file: Annotated[Annotated[StrictStr, Field(min_length=1), Expect("a file path")] | None, NotNull] = None
    cache_ttl_hours: Annotated[StrictInt | StrictFloat, Field(ge=0), Expect("a number of hours >= 0")] = 24
    strict_mode: Flag = False


def _unique(fields: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(fields)) != len(fields):
        raise PydanticCustomError("unique", "a list of field ids without repeats")
    return fields


FieldValues = Annotated[dict[str, Scalar], BeforeValidator(empty_when_null), Expect("a mapping of field id to value")]


class FieldMappings(Section):
    """``field_mappings.yaml``: the derivative's DAM representation (read by ``representation.py``)."""

    EXPECT: ClassVar[str] = "a mapping of field-mapping settings"
    metadata_model_id: Annotated[StrictStr, Expect("a DAM metadata model id, or null for the master's model")
                                 ] | None = None
    security_policy_ids: Annotated[tuple[Annotated[StrictInt | StrictStr, Expect("a security policy id")], ...],
                                   Expect("a list of DAM security policy ids")] = ()
    mvp_fields: Annotated[tuple[FieldId, ...], AfterValidator(_unique), Expect("a list of field ids")]
    filename_field_updates: Annotated[tuple[FilenameFieldUpdate, ...],
                                      Expect("a list of field updates (field_id, source, ...)")]
    forced_field_values: FieldValues = Field(default_factory=dict)
    default_field_values: FieldValues = Field(default_factory=dict)
    media_field_mappings: Annotated[tuple[MediaFieldMapping, ...],
                                    Expect("a list of media mappings (field_id, source, type)")] = ()
    table_fields: Annotated[tuple[FieldId, ...], Expect("a list of field ids")] = ()
    field_domains: Annotated[dict[str, Annotated[StrictStr, Field(min_length=1), Expect("a lookup domain id")]],
                             Expect("a mapping of field id to lookup domain id")] = Field(default_factory=dict)
    validate_domain_values: DomainValidation = DomainValidation()

    @model_validator(mode="after")
    def _domains_to_check(self) -> FieldMappings:
        for index, rule in enumerate(self.filename_field_updates):
            if rule.validate_domain and rule.field_id not in self.field_domains:
                raise broken_rule(f"filename_field_updates.{index}.validate_domain",
                                  f"is true but field_domains gives {rule.field_id} no lookup domain")
        return self

    def checks_domain(self, rule: FilenameFieldUpdate) -> bool:
        """Whether the value a file-name update writes is checked against its field's lookup domain."""
        return rule.field_id in self.field_domains if rule.validate_domain is None else rule.validate_domain


#: Where ``field_mappings.yaml`` is absent: nothing copied, nothing updated, domains checked.
NO_FIELD_MAPPINGS = FieldMappings.model_construct(mvp_fields=(), filename_field_updates=())
