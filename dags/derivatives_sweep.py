"""
### Derivatives sweep

Hourly safety net for A2 → A3: lists the `Derivatives` folder of every campaign (whatever its
status) and starts an [`a2_to_a3`](/dags/a2_to_a3) run for every file that has no derivative
record and no run yet, so an upload whose webhook never arrived is not lost. The run id is the
one the webhook would have used (`box_<file id>_v<version id>__<file name>`): a run that succeeded is done,
one queued or running is under way, and a failed one is named in the log but not started again
(clear it once the cause is fixed).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import dag, get_current_context, task

from include.ferrero.runtime import Services, dag_settings

if TYPE_CHECKING:

    from include.ferrero.steps.payloads import DerivativeRun

A2_TO_A3 = "a2_to_a3"


@dag(**dag_settings(__doc__, "Safety net: starts a2_to_a3 for Box uploads whose webhook never arrived.",
                    tag="A2->A3", schedule="@hourly", retry_delay=timedelta(minutes=2)))
def derivatives_sweep():
    @task(pool="box_api")
    def find_unprocessed_uploads() -> list[DerivativeRun]:
        """Files in campaigns' Derivatives folders with no derivative record and no a2_to_a3 run."""
        from include.ferrero.steps.a2_to_a3 import sweep_derivatives

        ti = get_current_context()["ti"]

        def run_state(run_id: str) -> str | None:
            return ti.get_dagrun_state(A2_TO_A3, run_id) if ti.get_dr_count(A2_TO_A3, run_ids=[run_id]) else None

        with Services() as services:
            runs = sweep_derivatives(services.box.client, services.db, services.config, run_state)
        print(f"{len(runs)} upload(s) without a derivative record or a run")
        return runs

    TriggerDagRunOperator.partial(
        task_id="start_derivative_runs",
        trigger_dag_id=A2_TO_A3,
        skip_when_already_exists=True,
        map_index_template="{{ task.trigger_run_id }}",
        doc_md="Starts the file's `a2_to_a3` run; skipped when that run already exists.",
    ).expand_kwargs(find_unprocessed_uploads())


derivatives_sweep()
