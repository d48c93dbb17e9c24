"""How a mapped task's slots were used in one run: each instance's time in its task process (Airflow's start to end
date) against the time its slot was held between instances (the scheduler noticing the end, queueing the next
instance, the executor starting it). With ``slots`` instances at a time, a run of ``n`` instances whose mapped
phase lasted ``phase`` seconds had each slot turn over every ``phase * slots / n`` seconds; what is not the
instance's own duration is Airflow's turnaround. Comparing the floor's and the campaign's figures says whether a
master's extra cost is its own work (duration) or waiting around it (turnaround)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SlotTiming:
    instances: int
    phase_s: float  #: first instance's start to last instance's end
    duration_p50_s: float
    duration_p95_s: float
    duration_mean_s: float
    cycle_s: float  #: a slot's turnover: phase * slots / instances
    turnaround_s: float  #: cycle - mean duration: a slot's time between two instances


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def slot_timing(task_instances: list[dict[str, Any]], slots: int) -> SlotTiming | None:
    """The figures of the instances (the REST API's task instance records) that ran; None when none did."""
    spans = [(start, end) for ti in task_instances
             if (start := _when(ti.get("start_date"))) and (end := _when(ti.get("end_date")))]
    if not spans:
        return None
    durations = sorted((end - start).total_seconds() for start, end in spans)
    phase = (max(end for _, end in spans) - min(start for start, _ in spans)).total_seconds()
    mean = statistics.fmean(durations)
    cycle = phase * slots / len(spans)
    return SlotTiming(instances=len(spans), phase_s=phase, duration_p50_s=durations[len(durations) // 2],
                      duration_p95_s=durations[min(len(durations) - 1, int(len(durations) * 0.95))],
                      duration_mean_s=mean, cycle_s=cycle, turnaround_s=cycle - mean)
