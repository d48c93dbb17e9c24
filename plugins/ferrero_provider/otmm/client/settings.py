"""Settings of the DAM client: the ``dam`` section of the config (the connection is read by ``otmm/dam_connection.py``).
Airflow-free."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

@dataclass(frozen=True)
class DamSettings:
    """What the client needs of the ``dam`` section and of ``validate_domain_values``; the defaults are
    config.yaml's (a hook built with a connection id only, as the UI's Test button does, uses them)."""

    timeout_seconds: float = 120  #: read timeout of each request
    job_timeout_seconds: float = 300  #: how long to wait for an import job
    job_poll_seconds: float = 1.0
    page_size: int = 100  #: listings and searches
    status_field: str = "FERRERO.CAMPAIGN.FIELD.STATUS"
    number_field: str = "FERRERO.CAMPAIGN.FIELD.NUMBER"
    final_assets_folder_name: str = "Final Assets"
    domain_cache_ttl_seconds: float = 24 * 3600
    domain_cache_file: Path | None = None  #: shared by task processes; None keeps the cache in memory

