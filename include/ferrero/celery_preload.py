"""Imported by each Celery worker at its start (``celery_config.CELERY_CONFIG`` ``imports``): the task modules."""
from __future__ import annotations

from include.ferrero.preload import preload

preload()
