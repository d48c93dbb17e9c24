"""Notification content: emails from ``email_templates.yaml`` and status-webhook payloads from ``webhooks.yaml``.

Pure Python (Jinja2 for the templates, autoescaped HTML); sending is the notifications hooks' job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, StrictUndefined, select_autoescape

_PLACEHOLDER = re.compile(r"^\{(\w+)\}$")
_JINJA_HTML = Environment(autoescape=select_autoescape(default=True), undefined=StrictUndefined)
_JINJA_TEXT = Environment(autoescape=False, undefined=StrictUndefined)


@dataclass(frozen=True)
class Email:
    recipients: list[str]
    subject: str
    html: str


def render_email(name: str, config: dict[str, Any], variables: dict[str, Any]) -> Email:
    """Render template ``name`` for its recipient list (``notifications.recipients.<list>`` of config)."""
    template = config["email_templates"]["templates"][name]
    recipients = config["notifications"]["recipients"][template["recipients"]]
    subject = _JINJA_TEXT.from_string(template["subject"]).render(**variables)
    html = _JINJA_HTML.from_string(template["html"]).render(**variables)
    return Email(recipients=list(recipients), subject=" ".join(subject.split()), html=html)


def status_payload(template: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
    """Fill a webhook ``payload_template``: a value that is exactly ``{name}`` keeps its JSON type (numbers,
    lists); other strings are formatted."""
    payload: dict[str, Any] = {}
    for key, pattern in template.items():
        whole = _PLACEHOLDER.match(pattern)
        payload[key] = values.get(whole.group(1)) if whole else pattern.format(**values)
    return payload
