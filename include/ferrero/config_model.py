"""The configuration as typed, frozen sections: what ``config/*.yaml`` hold once ``config.load_settings`` has
checked them against their JSON schemas (whose one-sentence errors stay the admin's message; these models add
the types readers see, and never fail on a configuration the schemas accepted).

``naming`` and ``field_mappings`` stay mappings: ``naming.py`` and ``representation.py`` read them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

#: A rule file (naming, field_mappings) as YAML gives it, read by its own module.
RuleFile = dict[str, JsonValue]


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DamCampaign(Section):
    status_field: str
    number_field: str
    final_assets_folder_name: str


class DamConfig(Section):
    timeout_seconds: int
    job_timeout_seconds: int
    campaign: DamCampaign
    page_size: int


class BoxConfig(Section):
    root_folder_id: str | int
    masters_folder_name: str
    derivatives_folder_name: str
    chunked_upload_threshold_mb: int
    web_url: str = "https://app.box.com"  # the Box web app: links to files and folders


class PollingConfig(Section):
    enabled: bool
    interval_seconds: int
    max_campaigns_per_run: int = 10


class WebhookReceiverConfig(Section):
    """``webhook``: the Box webhook receiver."""

    enabled: bool
    host: str
    port: int
    validate_signatures: bool
    max_age_seconds: int
    max_body_bytes: int
    airflow_api_url: str
    dag_id: str
    #: The receiver's public address of ``POST /box/webhook`` (Box delivers there); empty: ``http://host:port``.
    public_url: str = ""

    @property
    def address(self) -> str:
        """Where the Box webhook must deliver: ``public_url``, else the receiver's own host and port."""
        return self.public_url or f"http://{self.host}:{self.port}/box/webhook"


class RetryConfig(Section):
    max_attempts: int
    backoff: Literal["exponential", "constant"]
    initial_delay_seconds: float
    max_delay_seconds: float
    retryable_http_codes: tuple[int, ...]
    request_timeout_seconds: int


class Recipients(Section):
    success: tuple[str, ...]
    errors: tuple[str, ...]
    critical: tuple[str, ...]


class NotificationsConfig(Section):
    enabled: bool
    from_address: str
    recipients: Recipients


class PoolsConfig(Section):
    dam_api: int
    box_api: int


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class TempConfig(Section):
    directory: str
    cleanup_after_hours: int
    max_size_mb: int


class OutgoingWebhook(Section):
    """One entry of ``webhooks.yaml``."""

    description: str = ""
    enabled: bool
    conn_id: str
    method: Literal["POST", "PUT"]
    auth_type: Literal["bearer", "basic", "none"]
    timeout_seconds: int
    retry_on_failure: bool = True
    max_retries: int = 3
    payload_template: dict[str, str]


class EmailTemplate(Section):
    recipients: Literal["success", "errors", "critical"]
    variables: tuple[str, ...] = ()
    subject: str
    html: str
    text: str | None = None


class EmailTemplates(Section):
    templates: dict[str, EmailTemplate]


class Config(Section):
    """The whole configuration: ``config.yaml`` (with its environment overlay) and the section files."""

    environment: Literal["staging", "production"]
    dam: DamConfig
    box: BoxConfig
    polling: PollingConfig
    webhook: WebhookReceiverConfig
    retry: RetryConfig
    notifications: NotificationsConfig
    pools: PoolsConfig
    logging: LoggingConfig
    temp: TempConfig
    webhooks: dict[str, OutgoingWebhook] = Field(default_factory=dict)
    email_templates: EmailTemplates = EmailTemplates(templates={})
    naming: RuleFile | None = None
    field_mappings: RuleFile = Field(default_factory=dict)
