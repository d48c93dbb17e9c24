"""``python -m receiver [serve]`` runs the service; ``python -m receiver replay EVENT_ID...`` re-sends stored events;
``python -m receiver register-webhook [--address URL]`` points Box's webhook on the root folder at the receiver.

A replayed event gets the same DAG run id as before (one per Box file version), so it starts a run only if none
exists yet. Exit codes: 0 done, 1 an event could not be sent (unknown, ignored, refused, Airflow unreachable: it
stays pending and the running receiver sends it later), 2 bad settings.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from include.ferrero.config import ConfigError, load_settings
from receiver import logs
from receiver.settings import ReceiverSettings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m receiver", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the webhook receiver (the default)")
    replay = commands.add_parser("replay", help="send stored events to Airflow again")
    replay.add_argument("event_ids", nargs="+", metavar="EVENT_ID", help="Box event id (the body's `id`)")
    register = commands.add_parser("register-webhook", help="create (or repair) Box's webhook on the root folder")
    register.add_argument("--address", help="public URL of POST /box/webhook (default: RECEIVER_PUBLIC_URL, "
                                            "else http://<webhook.host>:<webhook.port>/box/webhook)")
    register.add_argument("--folder-id", help="the watched folder (default: box.root_folder_id)")
    args = parser.parse_args(argv)

    try:
        level = load_settings().logging.level.upper()
        logs.setup(level, sys.stdout if args.command in (None, "serve") else sys.stderr)
        settings = ReceiverSettings.from_environment()
    except (ConfigError, SettingsError) as exc:
        print(f"receiver: {exc}", file=sys.stderr)
        return 2
    if args.command == "replay":
        return _replay(settings, args.event_ids)
    if args.command == "register-webhook":
        return _register(settings, args.address, args.folder_id)
    return _serve(settings, level)


def _serve(settings: ReceiverSettings, level: str) -> int:
    import uvicorn

    from receiver.app import create_app

    if not load_settings().webhook.enabled:
        logging.getLogger("receiver").warning("webhook.enabled is false: the receiver does not start")
        return 0
    uvicorn.run(create_app(settings), host=settings.webhook.host, port=settings.webhook.port, log_config=None,
                log_level=level.lower(), access_log=False, timeout_graceful_shutdown=10)
    return 0


def _replay(settings: ReceiverSettings, event_ids: list[str]) -> int:
    from include.ferrero.db.webhook_events import IGNORED, WebhookEvents
    from receiver.airflow_api import AirflowClient, AirflowUnavailable
    from receiver.app import tracking_db
    from receiver.forwarder import send

    events = WebhookEvents(tracking_db(settings))
    airflow = AirflowClient(settings.webhook.airflow_api_url, settings.airflow_user or "", settings.airflow_password or "")
    failures = 0
    try:
        for event_id in event_ids:
            stored = events.get(event_id)
            report: dict[str, object] = {"event_id": event_id}
            if stored is None:
                report.update(outcome="unknown", error="no such event in the tracking database")
            elif stored["status"] == IGNORED:
                report.update(outcome="ignored", error=f"the event was ignored: {stored['ignore_reason']}")
            else:
                events.requeue(event_id)
                try:
                    result = send(events, airflow, settings.webhook.dag_id, events.get(event_id) or stored)
                except AirflowUnavailable as exc:
                    report.update(outcome="pending", error=str(exc))
                else:
                    if result is None:
                        report.update(outcome="failed", error=(events.get(event_id) or {}).get("last_error"))
                    else:
                        report.update(outcome="triggered" if result.created else "already-triggered",
                                      dag_run_id=result.dag_run_id)
            failures += "error" in report
            print(json.dumps(report))
    finally:
        airflow.close()
        events.db.close()
    return 1 if failures else 0


def _register(settings: ReceiverSettings, address: str | None, folder_id: str | None) -> int:
    import os

    from ferrero_provider.box.exceptions import BoxError
    from receiver.registration import BOX_VARIABLE, box_api, ensure_webhook

    logs.setup(logging.getLevelName(logging.getLogger().level), sys.stderr)  # the import set up Airflow's logging

    address = address or settings.webhook.address
    folder_id = folder_id or str(load_settings().box.root_folder_id)
    if folder_id == "0":
        print("receiver: Box has no webhooks on the root folder 0; set box.root_folder_id (BOX_ROOT_FOLDER_ID)",
              file=sys.stderr)
        return 2
    try:
        print(json.dumps(ensure_webhook(box_api(os.environ.get(BOX_VARIABLE, "")), folder_id, address)))
    except SettingsError as exc:
        print(f"receiver: {exc}", file=sys.stderr)
        return 2
    except BoxError as exc:
        print(f"receiver: Box refused the webhook on folder {folder_id}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
