"""Sandbox fixtures: one sandbox process per test session, plus a factory for tests that need their own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from sandbox.testing import RunningSandbox, start_sandbox

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

#: Box webhook redeliveries in tests: the real schedule compressed a thousandfold.
TEST_WEBHOOK_RETRY_SCALE = 0.001


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A running sandbox (all servers on free ports) shared by the whole test session."""
    running = start_sandbox(tmp_path_factory.mktemp("sandbox"), webhook_retry_scale=TEST_WEBHOOK_RETRY_SCALE)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def sandbox_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RunningSandbox]]:
    """Start extra sandboxes (own data dir unless ``data_dir`` is given); all are stopped after the test."""
    started: list[RunningSandbox] = []

    def factory(data_dir: Any = None, **env: Any) -> RunningSandbox:
        env.setdefault("webhook_retry_scale", TEST_WEBHOOK_RETRY_SCALE)
        running = start_sandbox(data_dir or tmp_path_factory.mktemp("sandbox"), **env)
        started.append(running)
        return running

    yield factory
    for running in started:
        running.stop()
