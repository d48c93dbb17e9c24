"""
### Derivatives sweep

Hourly safety net for A2 → A3: lists the `Derivatives` folders of the campaigns in A2 and
starts an [`a2_to_a3`](/dags/a2_to_a3) run for every file that has no derivative record, so an
upload whose webhook never arrived is not lost. The run id is the one the webhook would
have used (`box_<file id>_v<version id>`): a file that already has a run, pending or
finished, is skipped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import dag, task


@dag(
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["content-scaling", "A2->A3"],
    default_args={"owner": "content-scaling", "retries": 2, "retry_delay": timedelta(minutes=2)},
)
def derivatives_sweep():
    @task(pool="box_api")
    def find_unprocessed_uploads() -> list[dict]:
        """Files in A2 campaigns' Derivatives folders with no derivative record."""
        from include.ferrero.steps.a2_to_a3 import sweep_derivatives
        from workflow_services import Services

        with Services() as services:
            runs = sweep_derivatives(services.box, services.db, services.config)
        print(f"{len(runs)} upload(s) without a derivative record")
        return runs

    TriggerDagRunOperator.partial(
        task_id="start_derivative_runs",
        trigger_dag_id="a2_to_a3",
        skip_when_already_exists=True,
        map_index_template="{{ task.trigger_run_id }}",
        doc_md="Starts the file's `a2_to_a3` run; skipped when that run already exists.",
    ).expand_kwargs(find_unprocessed_uploads())


derivatives_sweep()
