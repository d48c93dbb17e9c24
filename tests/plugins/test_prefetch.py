"""A prefetched read starts at once, in the background, and hands over its value or its very exception."""

from __future__ import annotations

import threading

import pytest

from ferrero_provider.common.prefetch import Prefetched


def test_the_read_runs_before_it_is_asked_for_and_its_value_is_handed_over() -> None:
    started, release = threading.Event(), threading.Event()

    def read() -> str:
        started.set()
        release.wait(5)
        return "the connection"

    prefetched = Prefetched(read)
    assert started.wait(5), "reading began without being asked"
    release.set()
    assert prefetched() == "the connection"
    assert prefetched() == "the connection"


def test_a_failed_read_raises_its_exception_where_the_value_is_asked_for() -> None:
    def read() -> str:
        raise LookupError("The conn_id `box_default` isn't defined")

    prefetched = Prefetched(read)
    with pytest.raises(LookupError, match="box_default"):
        prefetched()
