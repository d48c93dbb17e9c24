"""Settings of the DAM client: the connection (checked) and the ``dam`` section of the config. Airflow-free."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

AUTH_MODES = ("session", "oauth", "otds")


@dataclass(frozen=True)
class ConnSettings:
    base_url: str
    auth_mode: str
    login: str | None
    password: str | None
    client_id: str | None
    client_secret: str | None
    otds_token_url: str | None

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return (self.password, self.client_secret)


@dataclass(frozen=True)
class DamSettings:
    timeout_seconds: float
    job_timeout_seconds: float
    job_poll_seconds: float
    page_size: int
    status_field: str
    number_field: str
    final_assets_folder_name: str
    domain_cache_ttl_seconds: float
    domain_cache_file: Path | None

