"""The campaign benchmark's split of a mapped task's slot time: the instances' own durations against the turnaround
between them."""

from __future__ import annotations

import pytest

from bench.slot_timing import slot_timing


def _ti(start: float | None, end: float | None) -> dict[str, str | None]:
    at = lambda s: None if s is None else f"2026-12-07T00:00:{s:06.3f}+00:00"  # noqa: E731
    return {"start_date": at(start), "end_date": at(end)}


def test_two_slots_each_running_two_instances_with_a_gap_between() -> None:
    # slot 1: 0-1 s, then 2-3 s; slot 2: 0.5-1.5 s, then 2.5-3.5 s; a mapped phase of 3.5 s
    timing = slot_timing([_ti(0, 1), _ti(0.5, 1.5), _ti(2, 3), _ti(2.5, 3.5)], slots=2)

    assert timing is not None
    assert timing.instances == 4
    assert timing.phase_s == pytest.approx(3.5)
    assert timing.duration_mean_s == pytest.approx(1.0)
    assert timing.cycle_s == pytest.approx(3.5 * 2 / 4)
    assert timing.turnaround_s == pytest.approx(0.75)


def test_instances_that_never_ran_are_left_out_and_none_is_no_figure() -> None:
    timing = slot_timing([_ti(0, 2), _ti(None, None), _ti(1, None)], slots=1)

    assert timing is not None and timing.instances == 1 and timing.duration_p95_s == pytest.approx(2)
    assert slot_timing([_ti(None, None)], slots=4) is None
