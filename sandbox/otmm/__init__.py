"""Local OTMM (OpenText Media Management) REST server, ``/otmmapi/v6`` (issue 3 §1).

Where public evidence is thin (spec §17), named behaviour variants selected by ``SANDBOX_OTMM_VARIANTS``
(comma-separated) switch the server between the ways a real OTMM may behave: ``search-without-folder-metadata``,
``folder-metadata-via-assets-only``, ``no-job-resource``, ``page-cap-50``, ``subfolders-unpaged``,
``checkin-keeps-lock``, ``folder-edit-via-assets``, ``bearer-writes-need-requested-by``. Each is described in :mod:`sandbox.otmm.variants`.
"""

from __future__ import annotations
