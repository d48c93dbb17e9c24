"""Local OTMM (OpenText Media Management) REST server, ``/otmmapi/v6`` (issue 3 §1)."""

from __future__ import annotations
