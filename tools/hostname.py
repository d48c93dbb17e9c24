"""``[core] hostname_callable`` of the laptop's Celery workers: each reports its own name (as if on its own
machine) from ``CONTENT_SCALING_HOSTNAME``; without it, the machine's FQDN as Airflow's default does."""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("CONTENT_SCALING_HOSTNAME") or socket.getfqdn()
