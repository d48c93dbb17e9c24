"""
### The floor of the campaign benchmark

One mapped task of `n` instances that do nothing, with the concurrency limits of `a1_to_a2`'s
`transfer_master` (pool `box_api`, 4 per run): what Airflow itself costs per mapped instance on an executor.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, task


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False, doc_md=__doc__, tags=["bench"],
     params={"n": Param(10, type="integer", minimum=1, description="Mapped instances")})
def bench_trivial_map():
    @task
    def items(params: dict | None = None) -> list[int]:
        """The map indexes."""
        return list(range(params["n"]))

    @task(pool="box_api", max_active_tis_per_dagrun=4)
    def noop(item: int) -> int:
        """Nothing but the task's own start and finish."""
        return item

    noop.expand(item=items())


bench_trivial_map()
