"""The product's Airflow connections (``AIRFLOW_CONN_*``) and receiver settings that point at a sandbox.

``make up`` and the test fixtures use this; against a real DAM and Box, the same variables come from ``.env``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

MAILGUN_DOMAIN = "sandbox.content-scaling.local"


def product_connections(data_dir: Path) -> dict[str, str]:
    """Environment variables for a running, seeded sandbox whose state lives in ``data_dir``."""
    creds = json.loads((data_dir / "credentials.json").read_text())
    endpoints = json.loads((data_dir / "endpoints.json").read_text())
    seed_file = data_dir / "seed.json"
    seed = json.loads(seed_file.read_text()) if seed_file.is_file() else {}
    env = {
        "AIRFLOW_CONN_OTMM_DEFAULT": json.dumps({
            "conn_type": "otmm",
            "host": endpoints["otmm_base_url"],
            "login": creds["otmm_username"],
            "password": creds["otmm_password"],
            "extra": {"auth_mode": "session"},
        }),
        "AIRFLOW_CONN_BOX_DEFAULT": json.dumps({
            "conn_type": "box",
            "login": creds["box_client_id"],
            "password": creds["box_client_secret"],
            "extra": {
                "auth_mode": "ccg",
                "enterprise_id": creds["box_enterprise_id"],
                "base_url": endpoints["box_base_url"],
                "upload_url": endpoints["box_upload_url"],
                "oauth_url": endpoints["box_base_url"] + "/oauth2",
            },
        }),
        "AIRFLOW_CONN_MAILGUN_DEFAULT": json.dumps({
            "conn_type": "mailgun",
            "host": endpoints["mailgun_base_url"],
            "login": "api",
            "password": creds["mailgun_api_key"],
            "extra": {"domain": MAILGUN_DOMAIN},
        }),
        "AIRFLOW_CONN_CAMPAIGN_STATUS_WEBHOOK": json.dumps({
            "conn_type": "status_webhook",
            "host": endpoints["status_webhook_url"],
            "password": creds["status_webhook_token"],
        }),
        "AIRFLOW_CONN_ASSET_UPLOAD_WEBHOOK": json.dumps({
            "conn_type": "status_webhook",
            "host": endpoints.get("asset_webhook_url") or endpoints["sinks_url"] + "/asset-webhook",
            "password": creds["status_webhook_token"],
        }),
        "BOX_WEB_URL": endpoints.get("box_web_url") or endpoints["box_base_url"] + "/app",  # config box.web_url
        "BOX_WEBHOOK_PRIMARY_KEY": creds["box_webhook_primary_key"],
        "BOX_WEBHOOK_SECONDARY_KEY": creds["box_webhook_secondary_key"],
        "BOX_SERVICE_ACCOUNT_USER_ID": creds["box_service_account_user_id"],
    }
    if seed.get("box_root_folder_id") or seed.get("root_folder_id"):
        env["BOX_ROOT_FOLDER_ID"] = str(seed.get("box_root_folder_id") or seed.get("root_folder_id"))
    return env
