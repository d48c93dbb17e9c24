"""Box sandbox: the API host, the upload host and the webhook delivery worker (issue 3 §2–3).

Modules: ``app`` (the two ASGI apps ``sandbox.server`` mounts), ``api`` (API host routes), ``upload`` (upload
host routes and download targets), ``auth`` (``/oauth2/token``), ``webhooks`` (events, signing, delivery worker),
``store`` (SQLite + blob files under ``<data_dir>/box/``), ``objects`` (Box JSON shapes), ``seed``, ``agency``.

Contract with ``sandbox/server.py`` (helper A), as implemented there: ``sandbox.box.app.create_api_app(settings)``
and ``create_upload_app(settings)``; the webhook worker runs in the API app's lifespan (``lifespan="auto"``). The
upload host's port is read from ``settings.box_upload_port`` after the server has bound it (or from
``endpoints.json``).
"""

from __future__ import annotations
