"""
### A1 discovery

On the schedule of `polling` in `config.yaml` (every five minutes by default; none when
`polling.enabled` is false), checks that the DAM and Box can be reached — one critical email
when an outage starts and one when it ends — then finds the DAM campaigns in status **A1** and starts one
[`a1_to_a2`](/dags/a1_to_a2) run per campaign. The run id names the campaign
(`<number>__<name>__a1-cycle<n>`), so an operator finds it by name, and a campaign
already being processed is never started twice (its run id already exists). A campaign
that comes back to A1 after reaching A2 starts a new cycle, hence a new run.

**To start one campaign by hand**, trigger this DAG with the campaign's number or DAM id (and
*force* to re-send one that is past A1): its `a1_to_a2` run starts under the same kind of name.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Param, dag, task

from include.ferrero.campaigns import discovery_schedule
from include.ferrero.config import load_settings
from include.ferrero.runtime import dag_settings, dag_url, task_services

if TYPE_CHECKING:
    from include.ferrero.steps.payloads import CampaignRun, DiscoveryConf


@dag(
    **dag_settings(__doc__, "Finds DAM campaigns in A1 (and watches the DAM and Box) and starts one a1_to_a2 run "
                   "per campaign.", tag="A1->A2", schedule=discovery_schedule(load_settings().polling),
                   retry_delay=timedelta(seconds=30)),
    params={
        "campaign": Param(None, type=["null", "string"], title="Campaign (to start one by hand)",
                          description="Leave empty for the usual search for A1 campaigns. Or enter one campaign's "
                          "number (e.g. CMP-2026-001) or DAM id: its a1_to_a2 run starts, named after it."),
        "force": Param(False, type="boolean", title="Force",
                       description="With a campaign: send its masters to Box even when it is not in status A1."),
    },
)
def a1_discovery():
    @task(pool="dam_api")
    def find_a1_campaigns(params: DiscoveryConf | None = None) -> list[CampaignRun]:
        """Check the DAM and Box can be reached (critical email once per outage), then search the DAM for
        campaigns in A1; return the run id and conf of each campaign's run."""
        from airflow.sdk import get_current_context
        from airflow.sdk.exceptions import AirflowException

        from include.ferrero.steps.a1_to_a2 import discover_campaigns, run_by_hand
        from include.ferrero.steps.discovery import watch_services

        with task_services() as services:
            down, keys = watch_services(services.ports, {"DAM": services.otmm, "Box": services.box},
                                        dag_url("a1_discovery"))
            for state in services.deliver(keys).values():
                print(f"{state.message.label}: {state.status}")
            if down:
                raise AirflowException("; ".join(f"the {name} cannot be reached: {why}" for name, why in down.items()))
            if params and (campaign := params.get("campaign")):  # a wrong number fails with its sentence
                now = get_current_context()["dag_run"].run_after
                run, said = run_by_hand(services.ports, campaign, params["force"], now)
                print(said)
                return [run]
            runs = discover_campaigns(services.ports)
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
