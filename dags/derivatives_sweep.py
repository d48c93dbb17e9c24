"""
### Derivatives sweep (the reconciliation with Box)

Every discovery interval (`polling.interval_seconds`, five minutes by default, whether or not A1 polling is
enabled), two checks that need no webhook:

- **check_box_webhook**: the Box webhook on the root folder exists, delivers to the receiver
  (`webhook.public_url`) and has the product's triggers; when Box deleted it (`auto_cleanup`) or it differs, it
  is re-created at once, with one critical email per loss (and one when it is seen back). The receiver starts
  this DAG at once when Box sends `WEBHOOK.DELETED`.
- **find_unprocessed_uploads**: reads Box's event stream from the position kept in the tracking database and
  starts an [`a2_to_a3`](/dags/a2_to_a3) run for every upload, new version, copy, move, restore or rename in a
  `Derivatives` folder that has no derivative record and no run, so nothing waits for a webhook that never
  comes. A few Box calls whatever the number of files. When the stream cannot be used (no position yet, one
  older than Box keeps, a refusal), every campaign's `Derivatives` folder is listed instead; trigger with
  *full listing* to force that. The run id is the one the webhook would have used
  (`box_<file id>_v<version id>__<file name>`): a run that succeeded is done, one queued or running is under
  way, and a failed one is named in the log but not started again (clear it once the cause is fixed) —
  unless a later upload or rename for the same master superseded its failure.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Param, dag, get_current_context, task

from include.ferrero.campaigns import discovery_schedule
from include.ferrero.config import load_settings
from include.ferrero.runtime import dag_settings, dag_url, task_services

if TYPE_CHECKING:
    from include.ferrero.steps.payloads import DerivativeRun, SweepConf

A2_TO_A3 = "a2_to_a3"


@dag(**dag_settings(__doc__, "Checks the Box webhook (re-creates it) and starts a2_to_a3 for uploads no webhook "
                    "brought, from Box's event stream.", tag="A2->A3",
                    schedule=discovery_schedule(load_settings().polling.model_copy(update={"enabled": True})),
                    retry_delay=timedelta(minutes=1)),
     params={"full": Param(False, type="boolean", title="Full listing",
                           description="List every campaign's Derivatives folder instead of reading the event "
                           "stream (slow on large accounts)."),
             "why": Param(None, type=["null", "string"], title="Why (set by the receiver)")})
def derivatives_sweep():
    @task(pool="box_api")
    def check_box_webhook(params: SweepConf | None = None) -> dict[str, object] | None:
        """The Box webhook exists with our address and triggers; re-created when not (critical email once)."""
        from include.ferrero.steps.box_watch import check_webhook

        with task_services() as services:
            check, keys = check_webhook(services.ports, dag_url("derivatives_sweep"), params.get("why") if params else None)
            for state in services.deliver(keys).values():
                print(f"{state.message.label}: {state.status}")
        if check is not None:
            print(f"Box webhook {check.webhook.webhook_id}: {check.outcome} ({check.webhook.address}; "
                  f"{', '.join(check.webhook.triggers)})")
        return check.as_dict() if check is not None else None

    @task(pool="box_api")
    def find_unprocessed_uploads(params: SweepConf | None = None) -> list[DerivativeRun]:
        """Derivative uploads in Box with no derivative record and no a2_to_a3 run."""
        from include.ferrero.steps.box_watch import reconcile_derivatives

        ti = get_current_context()["ti"]

        def run_state(run_id: str) -> str | None:
            return ti.get_dagrun_state(A2_TO_A3, run_id) if ti.get_dr_count(A2_TO_A3, run_ids=[run_id]) else None

        with task_services() as services:
            found = reconcile_derivatives(services.ports, run_state, full=bool(params and params.get("full")))
        how = f"event stream ({found.events} events, {found.duplicates} duplicates)" if found.source == "events" \
            else f"folder listings ({found.why})"
        print(f"{len(found.runs)} upload(s) without a derivative record or a run, from the {how}")
        return found.runs

    check_box_webhook()
    TriggerDagRunOperator.partial(
        task_id="start_derivative_runs",
        trigger_dag_id=A2_TO_A3,
        skip_when_already_exists=True,
        map_index_template="{{ task.trigger_run_id }}",
        doc_md="Starts the file's `a2_to_a3` run; skipped when that run already exists.",
    ).expand_kwargs(find_unprocessed_uploads())


derivatives_sweep()
