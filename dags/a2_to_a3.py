"""
### A2 → A3: one agency derivative into the DAM

One run per Box file version, started by the Box webhook receiver through the REST API
(run id `box_<file id>_v<version id>__<file name>`: search the runs by file name), by the reconciliation [`derivatives_sweep`](/dags/derivatives_sweep) (every five minutes),
or by hand with a Box file id. One task, **derivative_to_dam**, so a derivative costs what one
Airflow task costs:

1. **check**: the file is in a campaign's `Derivatives` folder, its name follows the V2
   convention, its tracking ID belongs to a master. A bad file fails here, with one sentence,
   and the error email goes out; nothing is downloaded or uploaded.
2. **upload**: streams the run's Box version from Box, reads its media metadata, builds the
   asset representation (master's MVP fields, file-name values, forced and default values,
   lookup-domain checks) and uploads it under its clean name into the campaign's Final Assets
   folder — a new asset for the file's first version, a new DAM version for each later one. Runs of
   the same target take turns; an older Box version not yet in the DAM goes in first, so versions
   land in upload order whichever run starts first. Each version is recorded with its
   `asset_upload_complete` webhook.
3. **complete**: when this file was the last one missing (every master has a derivative),
   A2 → A3, exactly once, recorded with its status webhook and completion email.
4. **notify**: the messages recorded above are sent right after their commit; one that meets a
   failing receiver waits in the outbox and [`outbox_dispatch`](/dags/outbox_dispatch) sends it
   (every minute, once: never a second copy).

**To retry a failed upload**: fix the cause, then clear the run's one task; everything already
done (DAM versions, the flip, sent messages) is found done, not done twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import Param, dag, get_current_context, task

from include.ferrero.runtime import (
    Services,
    dag_settings,
    deliver_now,
    run_url,
    sized,
    task_services,
    xcom_on_failure,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from include.ferrero.steps.payloads import DerivativeRunConf, FailedDerivative

DAG_ID = "a2_to_a3"
TASK_ID = "derivative_to_dam"


def _email_failure(context: Context) -> None:
    """Record the failed derivative with its error email (once per Box version, when the task gives up)."""
    from include.ferrero.steps.a2_to_a3 import record_upload_failure

    params = context["params"]
    pulled = [context["ti"].xcom_pull(task_ids=TASK_ID, key=key) or {} for key in ("refused", "derivative")]
    derivative: FailedDerivative = {
        "box_file_id": params["box_file_id"], "box_file_version_id": params.get("box_file_version_id"),
        "file_name": params.get("file_name"), **pulled[0], **pulled[1]}
    with Services() as services:
        key = record_upload_failure(services.ports, derivative, str(context.get("exception") or "unknown error"),
                                    context["run_id"], run_url(DAG_ID, context["run_id"]))
        if key:
            print(deliver_now(services, [key]))


@dag(
    dag_id=DAG_ID,
    **dag_settings(__doc__, "One agency upload (a Box file version): checked, enriched and into the DAM; A2 -> A3 "
                   "when complete.", tag="A2->A3", max_active_runs=sized("A2A3_MAX_ACTIVE_RUNS", 16)),
    params={
        "box_file_id": Param(type="string", pattern=r"^[0-9]+$", title="Box file id",
                             description="The id of the uploaded file in Box (digits), e.g. from its Box URL."),
        "box_file_version_id": Param(None, type=["null", "string"], title="Box file version id",
                                     description="Set by the webhook receiver; leave empty for the current version."),
        "file_name": Param(None, type=["null", "string"], title="File name",
                           description="Set by the webhook receiver, for the UI; the name is read from Box."),
        "event_id": Param(None, type=["null", "string"], title="Box event id",
                          description="Set by the webhook receiver.", section="Advanced"),
    },
)
def a2_to_a3() -> None:
    @task(task_id=TASK_ID, pool="dam_api", on_failure_callback=_email_failure)
    def derivative_to_dam(params: DerivativeRunConf | None = None) -> None:
        """Check (folder, V2 name, tracking ID) → Box → media metadata → asset representation → DAM Final
        Assets, recorded → A2 → A3 when this was the last missing derivative → its messages sent."""
        from include.ferrero.steps.a2_to_a3 import bring_to_dam, check_derivative

        assert params is not None, "Airflow passes the run's params"
        context = get_current_context()
        with task_services() as services:
            derivative = check_derivative(services.ports, params["box_file_id"], params.get("box_file_version_id"))
            print(f"{derivative['file_name']}: tracking ID {derivative['tracking_id']} "
                  f"(master {derivative['master_name']})")
            with xcom_on_failure("derivative", derivative):  # for the failure email
                brought = bring_to_dam(services.ports, derivative, context["run_id"])
            for line in brought.log:
                print(line)
            print(deliver_now(services, brought.message_keys))
        # no return value: an XCom push is one more Execution API call per derivative (its log says it all)

    derivative_to_dam()


a2_to_a3()
