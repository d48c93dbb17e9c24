"""Settings every stack shares (``make up``, the stack tests; docker-compose.yaml carries the same values): the
ones that make an api-server outage cost no task try, and the TCP ports each component binds.

**Outages.** While a task runs, only its worker needs the api-server: the task supervisor (a LocalExecutor
worker) starts the task, heartbeats, reads connections and XComs and reports the end through the Execution API.
The scheduler talks to the database; the dag-processor and the triggerer use an in-process Execution API.
Airflow's defaults give up after 5 attempts (about 30 s) and the attempt is lost: every task that starts or
ends during an outage burns a try. With ``AIRFLOW_OUTAGE_TOLERANCE_SECONDS`` (T, default 900) a worker waits
instead, trying again every ``AIRFLOW_OUTAGE_RETRY_SECONDS`` (W, default 5):

* ``[workers] execution_api_retries`` = T / W + 1, ``execution_api_retry_wait_min`` = ``_max`` = W: a fixed
  wait, so the total is T for sure (Airflow's wait is random between the two).
* ``[scheduler] task_instance_heartbeat_timeout`` = T + 300: no heartbeat reaches the database during the
  outage, and the scheduler must not fail a waiting task as a zombie. The price: a worker that really died is
  noticed T seconds later than with Airflow's 300 s.
* ``[scheduler] task_queued_timeout`` = T + 600: a task whose start waits out the outage stays queued meanwhile;
  it is also the lifetime of the token the task starts with.
* ``[execution_api] jwt_expiration_time`` = 5 (T + 60): a running task's token is renewed only once less than a
  fifth of its life is left, so a fifth must outlast the outage (Airflow's 600 s runs out in the middle).

T = 0 keeps Airflow's defaults. A setting given explicitly in the environment (``AIRFLOW__…``) wins.
"""

from __future__ import annotations

import math
import socket
from typing import TYPE_CHECKING

from include.ferrero.env_numbers import seconds_setting

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_TOLERANCE_SECONDS = 900.0
DEFAULT_RETRY_SECONDS = 5.0

#: The TCP ports of each component ``make up`` starts: (environment variable, default). Set them in .env to run
#: a second stack beside the first (PostgreSQL listens on a Unix socket inside the stack's folder).
COMPONENT_PORTS: dict[str, tuple[tuple[str, int], ...]] = {
    "api-server": (("AIRFLOW__API__PORT", 8080),),
    "scheduler": (("AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT", 8793),
                  ("AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT", 8974)),
    "triggerer": (("AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT", 8794),),
    "receiver": (("RECEIVER_PORT", 8095),),
    "sandbox": (("SANDBOX_OTMM_PORT", 8091), ("SANDBOX_BOX_API_PORT", 8092), ("SANDBOX_BOX_UPLOAD_PORT", 8093),
                ("SANDBOX_SINKS_PORT", 8094)),
}


def outage_settings(env: Mapping[str, str]) -> dict[str, str]:
    """The ``AIRFLOW__*`` variables that let tasks wait out an api-server outage (see the module docstring),
    leaving out those ``env`` sets already."""
    tolerance = seconds_setting(env, "AIRFLOW_OUTAGE_TOLERANCE_SECONDS", DEFAULT_TOLERANCE_SECONDS, minimum=0)
    if tolerance == 0:
        return {}
    wait = seconds_setting(env, "AIRFLOW_OUTAGE_RETRY_SECONDS", DEFAULT_RETRY_SECONDS, minimum=0.1)
    settings = {
        "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": str(math.ceil(tolerance / wait) + 1),
        "AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MIN": str(wait),
        "AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MAX": str(wait),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(math.ceil(tolerance) + 300),
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": str(math.ceil(tolerance) + 600),
        "AIRFLOW__EXECUTION_API__JWT_EXPIRATION_TIME": str(5 * (math.ceil(tolerance) + 60)),
    }
    return {key: value for key, value in settings.items() if not env.get(key)}


def ports_in_use(component: str, env: Mapping[str, str], host: str = "127.0.0.1") -> list[str]:
    """``VARIABLE=port`` for each port of ``component`` that another process holds already."""
    busy = []
    for variable, default in COMPONENT_PORTS.get(component, ()):
        port = int(env.get(variable) or default)
        if port == 0:  # a free one, chosen by the component
            continue
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no clash
            try:
                sock.bind((host, port))
            except OSError:
                busy.append(f"{variable}={port}")
    return busy
