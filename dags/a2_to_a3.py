"""
### A2 → A3: one agency derivative into the DAM

One run per Box file version, started by the Box webhook receiver through the REST API
(run id `box_<file id>_v<version id>__<file name>`: search the runs by file name), by the hourly [`derivatives_sweep`](/dags/derivatives_sweep),
or by hand with a Box file id.

1. **check_derivative**: the file is in a campaign's `Derivatives` folder, its name follows the
   V2 convention, its tracking ID belongs to a master. A bad file fails here, with one sentence,
   and the error email goes out; nothing is downloaded or uploaded.
2. **upload_to_dam**: streams the run's Box version from Box, reads its media metadata, builds the
   asset representation (master's MVP fields, file-name values, forced and default values,
   lookup-domain checks) and uploads it under its clean name into the campaign's Final Assets
   folder — a new asset for the file's first version, a new DAM version for each later one. Runs of
   the same target take turns; an older Box version not yet in the DAM goes in first, so versions
   land in upload order whichever run starts first. → **send_upload_webhook** (`asset_upload_complete`).
3. **complete_campaign**: when every master has at least one derivative, A2 → A3, exactly once
   → **send_status_webhook** and **send_completion_email**.

Messages are recorded with their fact in the tracking database's outbox and delivered once; one that
waits for a retry is also sent by [`outbox_dispatch`](/dags/outbox_dispatch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from include.ferrero.runtime import Services, dag_settings, deliver_or_raise, fail_clearly, run_url

if TYPE_CHECKING:
    from airflow.sdk import Context

    from include.ferrero.steps.payloads import (
        CampaignCompletion,
        Derivative,
        DerivativeUpload,
        FailedDerivative,
    )

DAG_ID = "a2_to_a3"


def _email_failure(context: Context) -> None:
    """Record the failed derivative with its error email (once per Box version, when the task gives up)."""
    from include.ferrero.steps.a2_to_a3 import record_upload_failure

    params = context["params"]
    known = context["ti"].xcom_pull(task_ids="check_derivative") or context["ti"].xcom_pull(
        task_ids="check_derivative", key="refused") or {}
    derivative: FailedDerivative = {
        "box_file_id": params["box_file_id"], "box_file_version_id": params.get("box_file_version_id"),
        "file_name": params.get("file_name"), **known}
    with Services() as services:
        key = record_upload_failure(services.db, services.config, derivative,
                                    str(context.get("exception") or "unknown error"), context["run_id"],
                                    run_url(DAG_ID, context["run_id"]))
        if key:
            print(deliver_or_raise(services, [key]))


def _deliver(outcome: CampaignCompletion, what: str) -> None:
    if not outcome["flipped"]:
        raise AirflowSkipException("the campaign did not move to A3 in this run")
    with Services() as services:
        print(deliver_or_raise(services, [outcome["message_keys"][what]]))


@dag(
    dag_id=DAG_ID,
    **dag_settings(__doc__, "One agency upload (a Box file version): checked, enriched and into the DAM; A2 -> A3 "
                   "when complete.", tag="A2->A3", max_active_runs=8),
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
    @task(pool="box_api", on_failure_callback=_email_failure)
    def check_derivative(params: dict[str, Any] | None = None) -> Derivative:
        """Folder, V2 name and tracking ID of the uploaded file."""
        from include.ferrero.steps.a2_to_a3 import check_derivative as check

        assert params is not None, "Airflow passes the run's params"
        with Services() as services:
            try:
                derivative = check(services.box.client, services.db, services.config, params["box_file_id"],
                                   params.get("box_file_version_id"))
            except Exception as exc:
                fail_clearly(exc)
        print(f"{derivative['file_name']}: tracking ID {derivative['tracking_id']} (master {derivative['master_name']})")
        return derivative

    @task(pool="dam_api", on_failure_callback=_email_failure)
    def upload_to_dam(derivative: Derivative) -> DerivativeUpload:
        """Box → media metadata → asset representation → DAM Final Assets, recorded."""
        from include.ferrero.steps.a2_to_a3 import upload_derivative

        with Services() as services:
            try:
                result = upload_derivative(services.otmm.client, services.box.client, services.db, services.config, derivative)
            except Exception as exc:
                fail_clearly(exc)
        for warning in result["warnings"]:
            print(f"warning: {warning}")
        versions = ", ".join(result["versions"])
        print(f"{derivative['clean_name']} is DAM asset {result['dam_asset_id']}"
              + (" (already uploaded)" if result["already_done"] else f" (Box versions {versions})"))
        return result

    @task(pool="dam_api")
    def complete_campaign(derivative: Derivative) -> CampaignCompletion:
        """A2 → A3 when every master has a derivative, once."""
        from include.ferrero.steps.a2_to_a3 import complete_campaign as complete

        with Services() as services:
            outcome = complete(services.otmm.client, services.db, services.config, derivative,
                               get_current_context()["run_id"])
        if outcome["flipped"]:
            print(("moved" if outcome["created"] else "already moved") + " to A3")
        else:
            print(f"campaign stays in A2; masters without a derivative: {', '.join(outcome.get('missing', [])) or '-'}")
        return outcome

    @task(pool="dam_api")
    def send_upload_webhook(uploaded: DerivativeUpload) -> None:
        """The ``asset_upload_complete`` webhook of each Box version brought into the DAM: delivered once."""
        if not uploaded["message_keys"]:
            raise AirflowSkipException("no new DAM version in this run, or the webhook is disabled")
        with Services() as services:
            print(deliver_or_raise(services, uploaded["message_keys"]))

    @task(pool="dam_api")
    def send_status_webhook(outcome: CampaignCompletion) -> None:
        """The status webhook of the A3 flip: delivered once from the outbox."""
        _deliver(outcome, "status-webhook")

    @task(pool="dam_api")
    def send_completion_email(outcome: CampaignCompletion) -> None:
        """The completion email of the A3 flip: delivered once from the outbox."""
        _deliver(outcome, "email")

    # The wiring passes XComArgs where the tasks take their values (Airflow resolves them at run time), which the
    # task decorator's types do not express: hence the arg-type ignores below.
    derivative = check_derivative()
    uploaded = upload_to_dam(derivative)  # type: ignore[arg-type]
    outcome = complete_campaign(derivative)  # type: ignore[arg-type]
    uploaded >> outcome
    send_upload_webhook(uploaded)  # type: ignore[arg-type]
    send_status_webhook(outcome)  # type: ignore[arg-type]
    send_completion_email(outcome)  # type: ignore[arg-type]


a2_to_a3()
