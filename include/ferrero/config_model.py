"""The configuration model: what ``config/*.yaml`` may hold, as typed, frozen sections (pydantic, the one check).

Every value carries what an admin must write there (:class:`Expect`), so :mod:`include.ferrero.config` can turn a
validation error into one sentence (``config/config.yaml: polling.interval_seconds must be an integer >= 60, got
'five'``). Values are strict (``"300"`` is not an integer, ``yes`` is not ``true``), unknown keys are refused.

``naming`` (:class:`NamingRules`, compiled by ``naming.py``) and ``field_mappings`` (:class:`FieldMappings`, read
by ``representation.py``) are typed sections like the others: a convention or a mapping that cannot work (two
optional segments, a field named twice, a regular expression that does not compile) is refused here, at load.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from jinja2 import Environment, TemplateSyntaxError, meta
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
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


def _empty_when_null(value: object) -> object:
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


# ---- config.yaml (with its environment overlay) ----------------------------------------------------------------

class DamCampaign(Section):
    status_field: DamFieldId
    number_field: DamFieldId
    final_assets_folder_name: FolderName


class DamConfig(Section):
    timeout_seconds: Positive
    job_timeout_seconds: Positive
    campaign: DamCampaign
    page_size: Annotated[StrictInt, Field(ge=1, le=1000), Expect("an integer between 1 and 1000")]


class BoxConfig(Section):
    root_folder_id: FolderId
    masters_folder_name: FolderName
    derivatives_folder_name: FolderName
    chunked_upload_threshold_mb: Annotated[StrictInt, Field(ge=20, le=50), Expect("an integer between 20 and 50")]
    #: The Box web app: links to files and folders in emails and the cockpit.
    web_url: Annotated[StrictStr, Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*[^\s?#/])?$"),
                       Expect("an http(s) address without a trailing slash, e.g. https://app.box.com")
                       ] = "https://app.box.com"


class PollingConfig(Section):
    enabled: Flag
    interval_seconds: Annotated[StrictInt, Field(ge=60), Expect("an integer >= 60")]
    max_campaigns_per_run: Positive


class WebhookReceiverConfig(Section):
    """``webhook``: the Box webhook receiver."""

    enabled: Flag
    host: Annotated[StrictStr, Field(min_length=1), Expect("a host name or address")]
    port: Annotated[StrictInt, Field(ge=1, le=65535), Expect("a TCP port (1-65535)")]
    validate_signatures: Flag
    max_age_seconds: Positive
    max_body_bytes: Annotated[StrictInt, Field(ge=1024), Expect("an integer >= 1024")]
    airflow_api_url: Annotated[StrictStr, Field(pattern=r"^https?://"), Expect("an http(s) URL")]
    dag_id: Annotated[StrictStr, Field(min_length=1), Expect("a DAG id")]
    #: The receiver's public address of ``POST /box/webhook`` (Box delivers there); empty: ``http://host:port``.
    public_url: Annotated[StrictStr, Field(pattern=r"^(https?://\S+)?$"),
                          Expect("an http(s) URL of the receiver's POST /box/webhook, or empty")] = ""

    @property
    def address(self) -> str:
        """Where the Box webhook must deliver: ``public_url``, else the receiver's own host and port."""
        return self.public_url or f"http://{self.host}:{self.port}/box/webhook"


class RetryConfig(Section):
    max_attempts: Annotated[StrictInt, Field(ge=1, le=10), Expect("an integer between 1 and 10")]
    backoff: Annotated[Literal["exponential", "constant"], Expect("exponential or constant")]
    initial_delay_seconds: Seconds
    max_delay_seconds: Seconds
    retryable_http_codes: Annotated[tuple[Annotated[StrictInt, Field(ge=400, le=599),
                                                    Expect("an HTTP status code between 400 and 599")], ...],
                                    Expect("a list of HTTP status codes")]
    request_timeout_seconds: Positive


class Recipients(Section):
    success: EmailAddresses
    errors: EmailAddresses
    critical: EmailAddresses


class NotificationsConfig(Section):
    enabled: Flag
    from_address: Annotated[StrictStr, Field(min_length=1), Expect("a sender address")]
    recipients: Recipients


class PoolsConfig(Section):
    dam_api: Positive
    box_api: Positive


class LoggingConfig(Section):
    level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], Expect("one of DEBUG, INFO, WARNING, ERROR")]


class TempConfig(Section):
    directory: Annotated[StrictStr, Field(min_length=1), Expect("a folder path")]
    cleanup_after_hours: Positive
    max_size_mb: Positive


# ---- webhooks.yaml, email_templates.yaml ----------------------------------------------------------------------

class OutgoingWebhook(Section):
    """One entry of ``webhooks.yaml``."""

    EXPECT: ClassVar[str] = "a webhook definition"
    description: Text = ""
    enabled: Flag
    conn_id: Annotated[StrictStr, Field(min_length=1), Expect("an Airflow connection id")]
    method: Annotated[Literal["POST", "PUT"], Expect("POST or PUT")]
    auth_type: Annotated[Literal["bearer", "basic", "none"], Expect("bearer, basic or none")]
    timeout_seconds: Positive
    retry_on_failure: Flag = True
    max_retries: Annotated[StrictInt, Field(ge=0, le=10), Expect("an integer between 0 and 10")] = 3
    payload_template: Annotated[dict[str, Annotated[StrictStr, Expect("a string")]],
                                Expect("a mapping of JSON keys to {placeholder} strings")]


#: The webhook every status change is posted to (``webhooks.yaml`` must define it).
STATUS_WEBHOOK = "campaign_status_update"


def _with_status_webhook(webhooks: dict[str, OutgoingWebhook]) -> dict[str, OutgoingWebhook]:
    if STATUS_WEBHOOK not in webhooks:
        raise missing_key(STATUS_WEBHOOK)
    return webhooks


_JINJA = Environment(autoescape=True)  # parses templates (rendering is messages.py's)


class EmailTemplate(Section):
    EXPECT: ClassVar[str] = "an email template"
    recipients: Annotated[Literal["success", "errors", "critical"], Expect("success, errors or critical")]
    variables: Annotated[tuple[Annotated[StrictStr, Expect("a variable name")], ...],
                         Expect("a list of variable names")] = ()
    subject: Template
    html: Template
    text: Annotated[Annotated[StrictStr, Expect("a Jinja2 template")] | None, NotNull] = None

    @model_validator(mode="after")
    def _uses_its_variables(self) -> EmailTemplate:
        """Each part is Jinja2 and uses only the variables the template lists (they are what it is given)."""
        for part, source in (("subject", self.subject), ("html", self.html), ("text", self.text)):
            if source is None:
                continue
            try:
                used = meta.find_undeclared_variables(_JINJA.parse(source))
            except TemplateSyntaxError as exc:
                raise broken_rule(part, f"is not a valid Jinja2 template ({exc.message}, line {exc.lineno})"
                                  ) from None
            if unlisted := sorted(used - set(self.variables)):
                raise broken_rule(part, f"uses {', '.join(unlisted)}, which variables does not list")
        return self


#: The emails the workflow sends (``email_templates.yaml`` must define each).
EMAIL_TEMPLATES = ("a1_to_a2_complete", "a1_to_a2_partial", "a2_to_a3_complete", "upload_failed",
                   "campaign_processing_failed")


class EmailTemplates(Section):
    templates: Annotated[dict[str, EmailTemplate], Expect("a mapping of template names")]

    @field_validator("templates")
    @classmethod
    def _every_email(cls, templates: dict[str, EmailTemplate]) -> dict[str, EmailTemplate]:
        for name in EMAIL_TEMPLATES:
            if name not in templates:
                raise missing_key(name)
        return templates


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


FieldValues = Annotated[dict[str, Scalar], BeforeValidator(_empty_when_null), Expect("a mapping of field id to value")]


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


class Config(Section):
    """The whole configuration: ``config.yaml`` (with its environment overlay) and the section files."""

    EXPECT: ClassVar[str] = "a mapping of settings"
    dam: DamConfig
    box: BoxConfig
    polling: PollingConfig
    webhook: WebhookReceiverConfig
    retry: RetryConfig
    notifications: NotificationsConfig
    pools: PoolsConfig
    logging: LoggingConfig
    temp: TempConfig
    webhooks: Annotated[dict[str, OutgoingWebhook], AfterValidator(_with_status_webhook),
                        Expect("a mapping of webhook names")] = Field(default_factory=dict)
    email_templates: EmailTemplates = EmailTemplates.model_construct(templates={})
    #: Absent (no ``naming.yaml``): the spec's convention (``naming.DEFAULT_CONVENTION``).
    naming: NamingRules | None = None
    field_mappings: FieldMappings = NO_FIELD_MAPPINGS
