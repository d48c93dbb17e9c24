"""Discovery's watch over the services it depends on: the DAM and Box are probed every run, and an outage
sends one critical email when it starts and one when it ends (not one every five minutes).

No Airflow import: the DAG builds the ports and the probes (the hooks) and calls :func:`watch_services`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

from include.ferrero.db.outages import DOWN, OutageStore
from include.ferrero.messages import render_email
from include.ferrero.outbox import email_message

if TYPE_CHECKING:
    from include.ferrero.config_model import Config
    from include.ferrero.outbox import OutboxMessage
    from include.ferrero.steps.ports import Ports


class Probe(Protocol):
    def test_connection(self) -> tuple[bool, str]: ...


@dataclass(frozen=True)
class OutageWording:
    """The sentences of an outage's two critical emails (``service_unreachable`` / ``service_recovered``)."""

    problem: str = "cannot be reached; no campaign is picked up"
    impact: str = "No campaign moves from A1 until it can."
    back: str = "can be reached again"
    after: str = "Campaigns in A1 are picked up as usual."


UNREACHABLE = OutageWording()


def outage_messages(config: Config, service: str, state: str, outage: dict[str, Any],
                    airflow_url: str | None, wording: OutageWording = UNREACHABLE) -> list[OutboxMessage]:
    """The critical email of an outage's start (``DOWN``) or end, keyed by the outage."""
    if not config.notifications.enabled:
        return []
    template = "service_unreachable" if state == DOWN else "service_recovered"
    email = render_email(template, config, {
        "service": service, "error": outage["error"], "airflow_url": airflow_url,
        "since": f"{outage['started_at']:%Y-%m-%d %H:%M UTC}",
        "until": f"{outage['ended_at']:%Y-%m-%d %H:%M UTC}" if outage.get("ended_at") else "",
        **asdict(wording),
    })
    return [email_message(f"outage/{service}/{outage['id']}/{state}", template, email)]


def watch_services(ports: Ports, probes: dict[str, Probe],
                   airflow_url: str | None) -> tuple[dict[str, str], list[str]]:
    """Probe each service; return (service -> why it cannot be reached, outbox keys of critical emails due)."""
    config, store, down, keys = ports.config, OutageStore(ports.db), {}, []
    for service, probe in probes.items():
        ok, detail = probe.test_connection()
        if not ok:
            down[service] = detail

        def messages(state: str, outage: dict[str, Any], s: str = service) -> list[OutboxMessage]:
            return outage_messages(config, s, state, outage, airflow_url)

        keys += store.observe(service, None if ok else detail, messages)
    return down, keys
