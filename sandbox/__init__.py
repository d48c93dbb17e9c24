"""Local stand-ins for OTMM, Box and the notification sinks that speak the real HTTP protocols (issue 3)."""

from __future__ import annotations
