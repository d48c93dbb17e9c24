"""Healthchecks of docker-compose.yaml's triggerer, dag-processor and Celery workers, without importing Airflow.

``airflow jobs check`` and ``celery --app airflow... inspect ping`` (the official compose file's checks) import
all of Airflow: 10-60 s of CPU on a busy host, past the check's timeout, and Docker does not end a timed-out
check, so they pile up. These ask the same questions directly:

    python -m tools.healthcheck job TriggererJob   # a running job of this type on this host, heartbeat recent
    python -m tools.healthcheck celery             # this host's Celery worker answers a ping through the broker
"""

from __future__ import annotations

import os
import socket
import sys

STALE_AFTER_SECONDS = 60


def job_alive(job_type: str) -> bool:
    import psycopg2

    url = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://", 1)
    with psycopg2.connect(url, connect_timeout=5) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM job WHERE job_type = %s AND hostname = %s AND state = 'running'"
                    " AND latest_heartbeat > now() - make_interval(secs => %s)",
                    (job_type, socket.getfqdn(), STALE_AFTER_SECONDS))
        return cur.fetchone()[0] > 0


def worker_answers() -> bool:
    from celery import Celery

    app = Celery(broker=os.environ["AIRFLOW__CELERY__BROKER_URL"])
    return bool(app.control.ping([f"celery@{socket.gethostname()}"], timeout=5))


def main(argv: list[str]) -> int:
    alive = job_alive(argv[1]) if argv[:1] == ["job"] and len(argv) == 2 else worker_answers()
    print("alive" if alive else "not alive")
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
