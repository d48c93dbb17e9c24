"""
### A1 → A2: every master of one campaign to Box, with its tracking ID

One run per campaign (started by [`a1_discovery`](/dags/a1_discovery), or by hand with the
campaign's DAM id or number).

1. **plan_campaign**: checks the campaign is in A1, creates its Box folders
   (`<number> <name>/Masters` and `Derivatives`) and records its masters as the run's plan.
2. **transfer_master**: one task instance per master (mapped over the masters' positions in the
   plan, which it reads from the tracking database), named after it: DAM original →
   tracking ID → Box `Masters/<TRACKING>_<name>` → tracking database. (Up to 5,000 masters
   a campaign: the bootstrap raises Airflow's `[core] max_map_length` to that.)
3. **report_partial_result**: when some masters failed, one email lists what succeeded and
   what failed, with the reasons. The status stays A1.
4. **flip_to_a2** (only when every master succeeded) → **send_status_webhook** and
   **send_success_email**, each exactly once.

**To retry failed masters**: clear the failed task instances *with Downstream*; when
they succeed, the flip and its notifications follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from airflow.sdk import Param, TriggerRule, dag, get_current_context, task

from include.ferrero.runtime import Services, dag_settings, deliver_or_raise, run_url, task_services

if TYPE_CHECKING:
    from airflow.sdk import Context

    from include.ferrero.steps.payloads import CampaignRunConf, CampaignSummary, StatusChange

DAG_ID = "a1_to_a2"


def _notify_plan_failure(context: Context) -> None:
    """Email the error recipients when a campaign cannot even be planned (bad id, not in A1, no masters...)."""
    from include.ferrero.steps.a1_to_a2 import plan_failure_message

    with Services() as services:
        message = plan_failure_message(services.ports, context["params"].get("campaign"),
                                       str(context.get("exception") or "unknown error"), context["run_id"],
                                       run_url(DAG_ID, context["run_id"]))
        if message is not None:
            services.outbox.add([message])
            print(deliver_or_raise(services, [message.key]))


@dag(
    dag_id=DAG_ID,
    **dag_settings(__doc__, "One campaign: every master DAM -> Box with its tracking ID, then A1 -> A2 with a "
                   "webhook and an email.", tag="A1->A2", max_active_runs=4),
    params={
        "campaign": Param(
            type="string",
            minLength=1,
            title="Campaign",
            description="The campaign's DAM folder id (40 hexadecimal characters) or its campaign number, "
            "e.g. CMP-2026-001.",
        ),
        "force": Param(
            False,
            type="boolean",
            title="Force",
            description="Send the masters to Box even when the campaign is not in status A1.",
        ),
        "cycle": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            title="A1 cycle",
            description="Set by the discovery; leave empty when triggering by hand.",
            section="Advanced",
        ),
    },
)
def a1_to_a2() -> None:
    @task(pool="dam_api", on_failure_callback=_notify_plan_failure)
    def plan_campaign(params: CampaignRunConf | None = None) -> list[int]:
        """Check the campaign, make its Box folders and record its masters as the run's plan (one transfer each).
        Returns their positions (what `transfer_master` maps over: a small list, whatever the masters' names)
        and pushes the campaign's summary as XCom `campaign`."""
        from include.ferrero.steps.a1_to_a2 import plan_campaign as plan

        assert params is not None, "Airflow passes the run's params"
        context = get_current_context()
        with task_services() as services:
            planned = plan(services.ports, params["campaign"], context["run_id"], force=params["force"],
                           cycle=params.get("cycle"))
        context["ti"].xcom_push(key="campaign", value=planned["campaign"])
        return planned["positions"]

    @task(map_index_template="{{ master_name }}", pool="box_api", max_active_tis_per_dagrun=4)
    def transfer_master(position: int) -> None:
        """Stream the run's master at `position` DAM → Box as `<TRACKING>_<name>` and record it. The master and its
        campaign come from the run's plan in the tracking database (no XCom: each would be an Execution API round
        trip per master), and what it did is in its log and the tracking database."""
        from include.ferrero.steps.a1_to_a2 import planned_transfer
        from include.ferrero.steps.a1_to_a2 import transfer_master as transfer

        context = get_current_context()
        context["master_name"] = f"position {position}"  # type: ignore[typeddict-unknown-key]  # until it is read
        with task_services() as services:
            services.prefetch_connections()
            planned = planned_transfer(services.ports, context["run_id"], position)
            master = planned["master"]
            context["master_name"] = master["name"]  # type: ignore[typeddict-unknown-key]  # for map_index_template
            result = transfer(services.ports, cast("CampaignSummary", planned["campaign"]), master,
                              context["run_id"], read_dam=context["ti"].try_number > 1)
        print(f"{master['name']} is in Box as file {result['box_file_id']} with tracking ID {result['tracking_id']}")

    # Runs once every transfer is done, however it ended, but only after a successful plan: when planning
    # failed, its own failure email said why, and this task ends upstream_failed instead of missing the XCom.
    @task(trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS, pool="dam_api")
    def report_partial_result(campaign: CampaignSummary) -> None:
        """When some masters failed: one email with every success and failure; the status stays A1. Otherwise
        it succeeds with nothing to send (no skip: a normal run's grid stays green)."""
        from include.ferrero.steps.a1_to_a2 import partial_result_message

        run_id = get_current_context()["run_id"]
        with task_services() as services:
            message = partial_result_message(services.ports, campaign, run_id, run_url(DAG_ID, run_id))
            if message is None:
                print("every master reached Box (or emails are off): nothing to report")
                return
            services.outbox.add([message])
            print(deliver_or_raise(services, [message.key]))

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS, pool="dam_api")
    def flip_to_a2(campaign: CampaignSummary) -> StatusChange:
        """Move the campaign A1 → A2 in the DAM, once per cycle, when every master is in Box; its status webhook
        and success email are recorded with the change (the outbox)."""
        from include.ferrero.steps.a1_to_a2 import flip_to_a2 as flip

        with task_services() as services:
            folder_url = services.box.client.folders.get_folder_shared_link(campaign["box_folder_id"])
            change = flip(services.ports, campaign, get_current_context()["run_id"], folder_url)
        print(("moved" if change["created"] else "already moved") + f" to A2 (status change {change['change_id']})")
        return change

    @task(pool="dam_api")
    def send_status_webhook(change: StatusChange) -> None:
        """The status webhook of the flip: delivered once from the outbox."""
        with task_services() as services:
            print(deliver_or_raise(services, [change["message_keys"]["status-webhook"]]))

    @task(pool="dam_api")
    def send_success_email(change: StatusChange) -> None:
        """The success email of the flip, with the link to the campaign's Box folder: delivered once."""
        with task_services() as services:
            print(deliver_or_raise(services, [change["message_keys"]["email"]]))

    # The wiring passes XComArgs where the tasks take their values (Airflow resolves them at run time), which the
    # task decorator's types do not express: hence the arg-type and index ignores below.
    positions = plan_campaign()
    campaign = positions["campaign"]  # type: ignore[index]  # the XCom `campaign` of plan_campaign
    transfers = transfer_master.expand(position=positions)
    report = report_partial_result(campaign)
    change = flip_to_a2(campaign)
    transfers >> report
    transfers >> change
    send_status_webhook(change)  # type: ignore[arg-type]
    send_success_email(change)  # type: ignore[arg-type]


a1_to_a2()
