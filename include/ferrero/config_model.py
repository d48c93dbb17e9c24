"""The configuration model: what ``config/*.yaml`` may hold, as typed, frozen sections (pydantic, the one check).

The words of each value (what it must be) are :mod:`include.ferrero.config_values`'; the rule files ``naming`` and
``field_mappings`` are :mod:`include.ferrero.config_rules`'.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from jinja2 import Environment, TemplateSyntaxError, meta
from pydantic import AfterValidator, Field, StrictInt, StrictStr, field_validator, model_validator

from include.ferrero.config_rules import NO_FIELD_MAPPINGS, FieldMappings, NamingRules
from include.ferrero.config_values import (
    DamFieldId,
    EmailAddresses,
    Expect,
    Flag,
    FolderId,
    FolderName,
    NotNull,
    Positive,
    Seconds,
    Section,
    Template,
    Text,
    broken_rule,
    missing_key,
)

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
