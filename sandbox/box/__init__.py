"""Box sandbox: the API host, the upload host and the webhook delivery worker (issue 3 §2–3, §7 agency part).

Modules: ``app`` (the two ASGI apps ``sandbox.server`` mounts), ``api`` (API host routes), ``upload`` (upload
host routes and download targets), ``auth`` (``/oauth2/token``), ``metadata`` (file metadata instances),
``webhooks`` (events, signing, delivery worker), ``store`` (SQLite + blob files under ``<data_dir>/box/``),
``objects`` (Box JSON shapes), ``client`` (SDK clients pointed at the sandbox), ``recorder`` (a local webhook
endpoint for tests and demos), ``seed`` (``seed_box``), ``agency`` (``python -m sandbox agency --campaign N``).

Admin routes on the API host (no token): ``POST /__sandbox__/box/expire-tokens`` (every issued token now gets
401), ``GET /__sandbox__/box/deliveries`` (webhook events with status ``pending|delivered|failed|dropped`` and
their attempts), ``POST /__sandbox__/box/webhooks/drop-next {"count": N}`` (the next N events are never sent).

Contract with ``sandbox/server.py`` (helper A), as implemented there: ``sandbox.box.app.create_api_app(settings)``
and ``create_upload_app(settings)``; the webhook worker runs in the API app's lifespan (``lifespan="auto"``). The
upload host's port is read from ``settings.box_upload_port`` after the server has bound it (or from
``endpoints.json``).
"""

from __future__ import annotations
