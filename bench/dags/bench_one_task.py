"""
### The floor of the A2 → A3 benchmark

One task that does nothing, with the limits of `a2_to_a3` (pool `dam_api`, the same `max_active_runs`):
what Airflow itself costs per run triggered through the REST API, on the same stack and executor.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from include.ferrero.runtime import sized


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False, doc_md=__doc__, tags=["bench"],
     max_active_runs=sized("A2A3_MAX_ACTIVE_RUNS", 16))
def bench_one_task():
    @task(pool="dam_api")
    def noop() -> None:
        """Nothing but the task's own start and finish."""

    noop()


bench_one_task()
