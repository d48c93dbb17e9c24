"""Airflow's Celery configuration, plus the product's task modules imported by each Celery worker before it
forks its pool (``include/ferrero/preload.py``): ``[celery] celery_config_options`` names ``CELERY_CONFIG``."""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

CELERY_CONFIG = {**DEFAULT_CELERY_CONFIG, "imports": [*DEFAULT_CELERY_CONFIG.get("imports", ()),
                                                      "include.ferrero.celery_preload"]}
