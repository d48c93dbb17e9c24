"""Sandbox settings: ports, data folder, credentials and timings, read from ``SANDBOX_*`` environment variables.

Credentials not given in the environment are generated once and kept in ``<data_dir>/credentials.json``, so they
survive restarts and ``python -m sandbox reset``.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.box.variants import parse_variants as parse_box_variants
from sandbox.otmm.variants import parse_variants

if TYPE_CHECKING:
    from collections.abc import Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Credential fields: generated when absent from the environment, persisted in credentials.json.
CREDENTIAL_FIELDS: tuple[str, ...] = (
    "otmm_username",
    "otmm_password",
    "otmm_client_id",
    "otmm_client_secret",
    "otds_client_id",
    "otds_client_secret",
    "box_client_id",
    "box_client_secret",
    "box_enterprise_id",
    "box_service_account_user_id",
    "box_agency_user_id",
    "box_webhook_primary_key",
    "box_webhook_secondary_key",
    "mailgun_api_key",
    "status_webhook_token",
)

#: Box webhook redelivery delays in seconds after each failed attempt. Box documents "up to 12 retries over
#: 2 hours" with exponential back-off (first retry after minutes); this schedule follows that shape
#: (12 delays, ~2 h in total). ``SANDBOX_WEBHOOK_RETRY_SCALE`` multiplies every delay.
BOX_WEBHOOK_RETRY_DELAYS: tuple[float, ...] = (30, 60, 120, 240, 480, 600, 900, 900, 900, 900, 900, 1200)


def _generated(name: str) -> str:
    """A believable generated value for a credential field."""
    if name == "otmm_username":
        return "tsuper"
    if name in ("box_enterprise_id", "box_service_account_user_id", "box_agency_user_id"):
        return str(secrets.randbelow(9 * 10**9) + 10**9)
    return secrets.token_urlsafe(24)


@dataclass
class SandboxSettings:
    """Everything the sandbox servers need; build it with :meth:`from_env`."""

    data_dir: Path
    host: str = "127.0.0.1"
    otmm_port: int = 8091
    box_api_port: int = 8092
    box_upload_port: int = 8093
    sinks_port: int = 8094
    otmm_username: str = ""
    otmm_password: str = ""
    otmm_client_id: str = ""
    otmm_client_secret: str = ""
    otds_client_id: str = ""
    otds_client_secret: str = ""
    box_client_id: str = ""
    box_client_secret: str = ""
    box_enterprise_id: str = ""
    box_service_account_user_id: str = ""
    box_agency_user_id: str = ""
    box_webhook_primary_key: str = ""
    box_webhook_secondary_key: str = ""
    mailgun_api_key: str = ""
    status_webhook_token: str = ""
    box_jwt_public_key_pem: str | None = None
    token_ttl_seconds: int = 3600
    webhook_retry_scale: float = 1.0
    #: Seconds between an OTMM create-asset request and its job completing (the asset becomes visible then).
    otmm_import_delay_seconds: float = 0.5
    #: Refuse (409) a metadata PATCH unless the caller holds the asset's lock (strict, the default).
    otmm_require_lock: bool = True
    #: Named DAM behaviour variants (``sandbox/otmm/variants.py``), from ``SANDBOX_OTMM_VARIANTS``.
    otmm_variants: frozenset[str] = frozenset()
    #: Named Box behaviour variants (``sandbox/box/variants.py``), from ``SANDBOX_BOX_VARIANTS``.
    box_variants: frozenset[str] = frozenset()
    #: Seconds the ``changes`` event stream keeps an event (Box: about 21 days).
    box_events_retention_seconds: float = 21 * 86400
    webhook_retry_delays: tuple[float, ...] = field(default=BOX_WEBHOOK_RETRY_DELAYS)
    #: ``seed`` adds this many generated A1 campaigns (images and PDFs) after the two demo campaigns ...
    seed_extra_campaigns: int = 0
    #: ... with this many masters each.
    seed_extra_masters: int = 8

    @property
    def otmm_dir(self) -> Path:
        return self.data_dir / "otmm"

    @property
    def box_dir(self) -> Path:
        return self.data_dir / "box"

    @property
    def sinks_dir(self) -> Path:
        return self.data_dir / "sinks"

    @property
    def credentials_path(self) -> Path:
        return self.data_dir / "credentials.json"

    @property
    def endpoints_path(self) -> Path:
        return self.data_dir / "endpoints.json"

    def webhook_retry_schedule(self) -> list[float]:
        """Box's redelivery delays, scaled by ``webhook_retry_scale``."""
        return [d * self.webhook_retry_scale for d in self.webhook_retry_delays]

    def credentials(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in CREDENTIAL_FIELDS}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, persist: bool = True) -> SandboxSettings:
        """Read ``SANDBOX_*`` variables; generate and persist any credential the environment lacks."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("SANDBOX_DATA_DIR") or PROJECT_ROOT / ".local" / "sandbox").resolve()
        settings = cls(
            data_dir=data_dir,
            host=env.get("SANDBOX_HOST", "127.0.0.1"),
            otmm_port=int(env.get("SANDBOX_OTMM_PORT", 8091)),
            box_api_port=int(env.get("SANDBOX_BOX_API_PORT", 8092)),
            box_upload_port=int(env.get("SANDBOX_BOX_UPLOAD_PORT", 8093)),
            sinks_port=int(env.get("SANDBOX_SINKS_PORT", 8094)),
            token_ttl_seconds=int(env.get("SANDBOX_TOKEN_TTL_SECONDS", 3600)),
            webhook_retry_scale=float(env.get("SANDBOX_WEBHOOK_RETRY_SCALE", 1.0)),
            box_jwt_public_key_pem=env.get("SANDBOX_BOX_JWT_PUBLIC_KEY_PEM") or None,
            otmm_import_delay_seconds=float(env.get("SANDBOX_OTMM_IMPORT_DELAY_SECONDS", 0.5)),
            otmm_require_lock=env.get("SANDBOX_OTMM_REQUIRE_LOCK", "true").lower() not in ("0", "false", "no"),
            seed_extra_campaigns=int(env.get("SANDBOX_SEED_EXTRA_CAMPAIGNS", 0)),
            seed_extra_masters=int(env.get("SANDBOX_SEED_EXTRA_MASTERS", 8)),
            otmm_variants=parse_variants(env.get("SANDBOX_OTMM_VARIANTS")),
            box_variants=parse_box_variants(env.get("SANDBOX_BOX_VARIANTS")),
            box_events_retention_seconds=float(env.get("SANDBOX_BOX_EVENTS_RETENTION_SECONDS", 21 * 86400)),
        )
        stored: dict[str, str] = {}
        if settings.credentials_path.exists():
            stored = json.loads(settings.credentials_path.read_text())
        changed = False
        for name in CREDENTIAL_FIELDS:
            from_env = env.get(f"SANDBOX_{name.upper()}")
            if from_env:
                value = from_env
            elif stored.get(name):
                value = stored[name]
            else:
                value = _generated(name)
                stored[name] = value
                changed = True
            setattr(settings, name, value)
        if persist and (changed or not settings.credentials_path.exists()):
            data_dir.mkdir(parents=True, exist_ok=True)
            tmp = settings.credentials_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(stored, indent=2, sort_keys=True))
            os.replace(tmp, settings.credentials_path)
        return settings

    def to_env(self) -> dict[str, str]:
        """The ``SANDBOX_*`` variables that reproduce these settings (ports, paths and credentials)."""
        env = {
            "SANDBOX_DATA_DIR": str(self.data_dir),
            "SANDBOX_HOST": self.host,
            "SANDBOX_OTMM_PORT": str(self.otmm_port),
            "SANDBOX_BOX_API_PORT": str(self.box_api_port),
            "SANDBOX_BOX_UPLOAD_PORT": str(self.box_upload_port),
            "SANDBOX_SINKS_PORT": str(self.sinks_port),
            "SANDBOX_TOKEN_TTL_SECONDS": str(self.token_ttl_seconds),
            "SANDBOX_WEBHOOK_RETRY_SCALE": str(self.webhook_retry_scale),
            "SANDBOX_OTMM_IMPORT_DELAY_SECONDS": str(self.otmm_import_delay_seconds),
            "SANDBOX_OTMM_REQUIRE_LOCK": str(self.otmm_require_lock).lower(),
            "SANDBOX_SEED_EXTRA_CAMPAIGNS": str(self.seed_extra_campaigns),
            "SANDBOX_SEED_EXTRA_MASTERS": str(self.seed_extra_masters),
            "SANDBOX_OTMM_VARIANTS": ",".join(sorted(self.otmm_variants)),
            "SANDBOX_BOX_VARIANTS": ",".join(sorted(self.box_variants)),
            "SANDBOX_BOX_EVENTS_RETENTION_SECONDS": str(self.box_events_retention_seconds),
        }
        env.update({f"SANDBOX_{k.upper()}": v for k, v in self.credentials().items()})
        if self.box_jwt_public_key_pem:
            env["SANDBOX_BOX_JWT_PUBLIC_KEY_PEM"] = self.box_jwt_public_key_pem
        return env


__all__ = ["BOX_WEBHOOK_RETRY_DELAYS", "CREDENTIAL_FIELDS", "SandboxSettings"]
