"""Settings of the DAM client: the ``dam`` section of the config (the connection is ``otmm.connection``).
Airflow-free."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

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

