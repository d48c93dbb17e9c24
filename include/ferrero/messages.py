"""Notification content: emails from ``email_templates.yaml`` and status-webhook payloads from ``webhooks.yaml``.

Pure Python (Jinja2 for the templates, autoescaped HTML); sending is the notifications hooks' job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, StrictUndefined, select_autoescape

if TYPE_CHECKING:
    from include.ferrero.config_model import Config

_PLACEHOLDER = re.compile(r"^\{(\w+)\}$")
_JINJA_HTML = Environment(autoescape=select_autoescape(default=True), undefined=StrictUndefined)
_JINJA_TEXT = Environment(autoescape=False, undefined=StrictUndefined)


@dataclass(frozen=True)
class Email:
    recipients: list[str]
    subject: str
    html: str
    text: str = ""  # the plain-text part beside the HTML


def render_email(name: str, config: Config, variables: dict[str, Any]) -> Email:
    """Render template ``name`` for its recipient list (``notifications.recipients.<list>`` of config); the
    plain-text part is the template's ``text`` when it has one, else the HTML's text."""
    template = config.email_templates.templates[name]
    recipients = getattr(config.notifications.recipients, template.recipients)
    subject = _JINJA_TEXT.from_string(template.subject).render(**variables)
    html = _JINJA_HTML.from_string(template.html).render(**variables)
    text = _JINJA_TEXT.from_string(template.text).render(**variables) if template.text else html_to_text(html)
    return Email(recipients=list(recipients), subject=" ".join(subject.split()), html=html, text=text)


class _TextOf(HTMLParser):
    """Collects an HTML fragment's text: blocks and rows on their own lines, list items as "- ", links with
    their address."""

    _BREAKS = {"p", "br", "tr", "h1", "h2", "h3", "h4", "ul", "ol", "table", "div"}
    _BLOCKS = {"p", "h1", "h2", "h3", "h4", "ul", "ol", "table", "div"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._href: str | None = None
        self._link_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append("\t")
        elif tag == "a":
            self._href, self._link_text = dict(attrs).get("href"), ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href:
            if self._link_text.strip() != self._href:
                self.parts.append(f" <{self._href}>")
            self._href = None
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        text = re.sub(r"\s+", " ", data)
        if self._href:
            self._link_text += text
        self.parts.append(text)


def html_to_text(html: str) -> str:
    """A readable plain-text version of an email's HTML."""
    parser = _TextOf()
    parser.feed(html)
    lines = ["\t".join(" ".join(c.split()) for c in line.split("\t")).strip()
             for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def status_payload(template: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
    """Fill a webhook ``payload_template``: a value that is exactly ``{name}`` keeps its JSON type (numbers,
    lists); other strings are formatted."""
    payload: dict[str, Any] = {}
    for key, pattern in template.items():
        whole = _PLACEHOLDER.match(pattern)
        payload[key] = values.get(whole.group(1)) if whole else pattern.format(**values)
    return payload
