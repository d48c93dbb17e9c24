"""
### A1 discovery

On the schedule of `polling` in `config.yaml` (every five minutes by default; none when
`polling.enabled` is false), checks that the DAM and Box can be reached — one critical email
when an outage starts and one when it ends — then finds the DAM campaigns in status **A1** and starts one
[`a1_to_a2`](/dags/a1_to_a2) run per campaign. The run id names the campaign
(`<number>__<name>__a1-cycle<n>`), so an operator finds it by name, and a campaign
already being processed is never started twice (its run id already exists). A campaign
that comes back to A1 after reaching A2 starts a new cycle, hence a new run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import dag, task

from include.ferrero.campaigns import discovery_schedule
from include.ferrero.config import load_config


@dag(
    schedule=discovery_schedule(load_config()["polling"]),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["content-scaling", "A1->A2"],
    default_args={"owner": "content-scaling", "retries": 2, "retry_delay": timedelta(seconds=30)},
)
def a1_discovery():
    @task(pool="dam_api")
    def find_a1_campaigns() -> list[dict]:
        """Check the DAM and Box can be reached (critical email once per outage), then search the DAM for
        campaigns in A1; return the run id and conf of each campaign's run."""
        from airflow.sdk.exceptions import AirflowException

        from include.ferrero.steps.a1_to_a2 import discover_campaigns
        from include.ferrero.steps.discovery import watch_services
        from workflow_services import Services, dag_url

        with Services() as services:
            down, keys = watch_services({"DAM": services.otmm, "Box": services.box}, services.db, services.config,
                                        dag_url("a1_discovery"))
            for state in services.deliver(keys).values():
                print(f"{state.message.label}: {state.status}")
            if down:
                raise AirflowException("; ".join(f"the {name} cannot be reached: {why}" for name, why in down.items()))
            runs = discover_campaigns(services.otmm, services.db, services.config)
        print(f"{len(runs)} campaign(s) in A1: {', '.join(r['trigger_run_id'] for r in runs) or 'none'}")
        return runs

    TriggerDagRunOperator.partial(
        task_id="start_campaign_runs",
        trigger_dag_id="a1_to_a2",
        skip_when_already_exists=True,
        map_index_template="{{ task.trigger_run_id }}",
        doc_md="Starts the campaign's `a1_to_a2` run; skipped when that run already exists.",
    ).expand_kwargs(find_a1_campaigns())


a1_discovery()
