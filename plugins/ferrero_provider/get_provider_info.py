"""Provider registration: makes ``otmm`` and ``box`` connection types, with their own form fields and the Test
button, appear in the Airflow UI (a hook in ``plugins/`` alone does not register a type)."""

from __future__ import annotations

from typing import Any

_SECRET = {"type": ["string", "null"], "format": "password"}
_TEXT = {"type": ["string", "null"]}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "ferrero-content-scaling",
        "name": "Ferrero content scaling",
        "description": "OpenText Media Management (DAM), Box, Mailgun and status-webhook connections of the "
        "content-scaling workflow.",
        "versions": ["0.1.0"],
        "connection-types": [
            {
                "connection-type": "otmm",
                "hook-class-name": "ferrero_provider.otmm.hooks.OtmmHook",
                "hook-name": "OpenText Media Management",
                "conn-fields": {
                    "auth_mode": {
                        "label": "Authentication",
                        "description": "session (user/password login), oauth (OTMM token endpoint, password "
                        "grant) or otds (OTDS client credentials)",
                        "schema": {"type": ["string", "null"], "enum": ["session", "oauth", "otds", None]},
                    },
                    "client_id": {"label": "OAuth client id", "schema": _TEXT},
                    "client_secret": {"label": "OAuth client secret", "schema": _SECRET},
                    "otds_token_url": {
                        "label": "OTDS token URL",
                        "description": "e.g. https://otds.example.com/otdsws/oauth2/token (auth otds only)",
                        "schema": _TEXT,
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"host": "OTMM API base URL", "login": "User name", "password": "Password"},
                    "placeholders": {"host": "https://dam.example.com/otmmapi/v6", "auth_mode": "session"},
                },
            },
            {
                "connection-type": "box",
                "hook-class-name": "ferrero_provider.box.hooks.BoxHook",
                "hook-name": "Box",
                "conn-fields": {
                    "auth_mode": {
                        "label": "Authentication",
                        "description": "jwt (server authentication with a key pair) or ccg (client credentials)",
                        "schema": {"type": ["string", "null"], "enum": ["jwt", "ccg", None]},
                    },
                    "enterprise_id": {"label": "Enterprise ID", "schema": _TEXT},
                    "user_id": {"label": "User ID (instead of the enterprise)", "schema": _TEXT},
                    "jwt_config_json": {
                        "label": "JWT app config JSON",
                        "description": "the config.json downloaded from the Box Developer Console (replaces the "
                        "fields below)",
                        "schema": _SECRET,
                    },
                    "jwt_key_id": {"label": "JWT public key id", "schema": _TEXT},
                    "jwt_private_key": {"label": "JWT private key (PEM)", "schema": _SECRET},
                    "jwt_private_key_passphrase": {"label": "JWT private key passphrase", "schema": _SECRET},
                    "base_url": {"label": "API base URL", "description": "default https://api.box.com",
                                 "schema": _TEXT},
                    "upload_url": {"label": "Upload base URL", "description": "default https://upload.box.com/api",
                                   "schema": _TEXT},
                    "oauth_url": {"label": "OAuth base URL",
                                  "description": "default https://account.box.com/api/oauth2", "schema": _TEXT},
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "port"],
                    "relabeling": {"login": "Client ID", "password": "Client secret"},
                    "placeholders": {"auth_mode": "jwt"},
                },
            },
            {
                "connection-type": "mailgun",
                "hook-class-name": "ferrero_provider.notifications.hooks.MailgunHook",
                "hook-name": "Mailgun",
                "conn-fields": {
                    "domain": {"label": "Sending domain", "description": "e.g. mg.ferrero.com", "schema": _TEXT},
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"host": "API base URL", "login": "User (api)", "password": "API key"},
                    "placeholders": {"host": "https://api.mailgun.net/v3", "login": "api"},
                },
            },
            {
                "connection-type": "status_webhook",
                "hook-class-name": "ferrero_provider.notifications.hooks.StatusWebhookHook",
                "hook-name": "Status webhook",
                "conn-fields": {},
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"host": "Webhook URL", "password": "Token (bearer) or password (basic)"},
                    "placeholders": {"host": "https://your-system.com/api/campaign-status"},
                },
            },
        ],
    }
