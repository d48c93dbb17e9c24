"""The product's task modules, imported once into Airflow's long-lived processes (an Airflow plugin).

Airflow runs every task in a process forked from a long-lived one: the LocalExecutor's workers are forked from
the scheduler, a Celery worker's pool processes from the worker. A module imported before that fork is there in
every task for free; one imported by the task itself costs its import (the Box SDK, the hooks, the steps: about
0.9 s of CPU) in every task, which on a shared 2-core machine is most of a derivative's run. So the scheduler
(at its start, through Airflow's ``on_starting`` listener) and each Celery worker (Celery's ``imports``, see
``CELERY_CONFIG``) import them first. A module that fails to import is left to the task, which then fails with
its own error as before.

The project configuration is loaded there too (about 0.1 s of YAML and validation per task otherwise): a task
finds it loaded, and reads it again only if a file or a variable it uses changed since
(``include.ferrero.config.load_settings``).
"""

from __future__ import annotations

import importlib
import logging

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)

#: What the pipelines' tasks import (DAG files, steps, hooks and their clients).
TASK_MODULES = (
    "include.ferrero.runtime",
    "include.ferrero.steps.a1_to_a2",
    "include.ferrero.steps.a2_to_a3",
    "ferrero_provider.box.hooks",
    "ferrero_provider.otmm.hooks",
    "ferrero_provider.notifications.hooks",
    "airflow.providers.postgres.hooks.postgres",
    "airflow.sdk",
    # what parsing any DAG file with @dag/@task imports (airflow.sdk's names are loaded lazily): ~50 ms a task
    "airflow.sdk.definitions.decorators",
    "airflow.providers.standard.decorators.python",
)


def preload() -> list[str]:
    """Import ``TASK_MODULES`` and load the configuration; the names of the modules that could not be imported."""
    missing = []
    for name in TASK_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - the task imports it again and fails with its own error
            log.warning("preload: %s not imported: %s", name, exc)
            missing.append(name)
    try:
        from include.ferrero.config import load_settings

        load_settings()
    except Exception as exc:  # noqa: BLE001 - an invalid config fails each task with its own sentence, as before
        log.warning("preload: the configuration was not loaded: %s", exc)
    return missing


class _Preloader:
    """Airflow listener: the scheduler (and every other Airflow job) imports the task modules as it starts."""

    @hookimpl
    def on_starting(self, component: object) -> None:
        if type(component).__name__ == "Job":  # a job process (scheduler...), not a task process
            preload()


class PreloadPlugin(AirflowPlugin):
    name = "ferrero_task_preload"
    listeners = [_Preloader()]
