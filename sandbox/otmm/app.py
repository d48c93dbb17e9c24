"""OTMM ASGI app (placeholder until the full server lands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette

if TYPE_CHECKING:
    from sandbox.settings import SandboxSettings


def create_app(settings: SandboxSettings) -> Starlette:
    return Starlette(routes=[])
