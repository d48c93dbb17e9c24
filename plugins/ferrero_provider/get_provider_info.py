"""Provider registration: makes ``otmm`` and ``box`` connection types, with their own form fields and the Test
button, appear in the Airflow UI (a hook in ``plugins/`` alone does not register a type)."""

from __future__ import annotations

import copy
from typing import Any

_SECRET = {"type": ["string", "null"], "format": "password"}
_TEXT = {"type": ["string", "null"]}


def _field(label: str, schema: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    """One extra field of a connection form."""
    return {"label": label, "schema": schema} | ({"description": description} if description else {})


def _connection_type(conn_type: str, hook_class: str, hook_name: str, fields: dict[str, dict[str, Any]], *,
                     hidden: list[str], relabeling: dict[str, str], placeholders: dict[str, str]) -> dict[str, Any]:
    """One connection type: its hook, its extra fields, and how the UI's form shows the standard ones."""
    return {
        "connection-type": conn_type,
        "hook-class-name": hook_class,
        "hook-name": hook_name,
        "conn-fields": fields,
        "ui-field-behaviour": {"hidden-fields": hidden, "relabeling": relabeling, "placeholders": placeholders},
    }


_OTMM = _connection_type(
    "otmm", "ferrero_provider.otmm.hooks.OtmmHook", "OpenText Media Management",
    {
        "auth_mode": _field("Authentication", {"type": ["string", "null"], "enum": ["session", "oauth", "otds", None]},
                            "session (user/password login), oauth (OTMM token endpoint, password grant) or otds "
                            "(OTDS client credentials)"),
        "client_id": _field("OAuth client id", _TEXT),
        "client_secret": _field("OAuth client secret", _SECRET),
        "otds_token_url": _field("OTDS token URL", _TEXT,
                                 "e.g. https://otds.example.com/otdsws/oauth2/token (auth otds only)"),
    },
    hidden=["schema", "port"],
    relabeling={"host": "OTMM API base URL", "login": "User name", "password": "Password"},
    placeholders={"host": "https://dam.example.com/otmmapi/v6", "auth_mode": "session"},
)

_BOX = _connection_type(
    "box", "ferrero_provider.box.hooks.BoxHook", "Box",
    {
        "auth_mode": _field("Authentication", {"type": ["string", "null"], "enum": ["jwt", "ccg", None]},
                            "jwt (server authentication with a key pair) or ccg (client credentials)"),
        "enterprise_id": _field("Enterprise ID", _TEXT),
        "user_id": _field("User ID (instead of the enterprise)", _TEXT),
        "jwt_config_json": _field("JWT app config JSON", _SECRET,
                                  "the config.json downloaded from the Box Developer Console (replaces the fields "
                                  "below)"),
        "jwt_key_id": _field("JWT public key id", _TEXT),
        "jwt_private_key": _field("JWT private key (PEM)", _SECRET),
        "jwt_private_key_passphrase": _field("JWT private key passphrase", _SECRET),
        "base_url": _field("API base URL", _TEXT, "default https://api.box.com"),
        "upload_url": _field("Upload base URL", _TEXT, "default https://upload.box.com/api"),
        "oauth_url": _field("OAuth base URL", _TEXT, "default https://account.box.com/api/oauth2"),
    },
    hidden=["host", "schema", "port"],
    relabeling={"login": "Client ID", "password": "Client secret"},
    placeholders={"auth_mode": "jwt"},
)

_MAILGUN = _connection_type(
    "mailgun", "ferrero_provider.notifications.hooks.MailgunHook", "Mailgun",
    {"domain": _field("Sending domain", _TEXT, "e.g. mg.ferrero.com")},
    hidden=["schema", "port"],
    relabeling={"host": "API base URL", "login": "User (api)", "password": "API key"},
    placeholders={"host": "https://api.mailgun.net/v3", "login": "api"},
)

_STATUS_WEBHOOK = _connection_type(
    "status_webhook", "ferrero_provider.notifications.hooks.StatusWebhookHook", "Status webhook", {},
    hidden=["schema", "port"],
    relabeling={"host": "Webhook URL", "password": "Token (bearer) or password (basic)"},
    placeholders={"host": "https://your-system.com/api/campaign-status"},
)


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "ferrero-content-scaling",
        "name": "Ferrero content scaling",
        "description": "OpenText Media Management (DAM), Box, Mailgun and status-webhook connections of the "
        "content-scaling workflow.",
        "versions": ["0.1.0"],
        "connection-types": copy.deepcopy([_OTMM, _BOX, _MAILGUN, _STATUS_WEBHOOK]),
    }
