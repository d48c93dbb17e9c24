"""What the tasks pass each other through XCom, and the runs the steps ask to start: one TypedDict each.

TypedDicts are plain dicts at run time, so XCom stores them as JSON unchanged; these say which fields they hold.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

# -- runs to start, and the params each DAG's tasks are given (a run's conf, with its defaults) ---------------------


class CampaignRunConf(TypedDict):
    """The params of an ``a1_to_a2`` run."""

    campaign: str
    force: bool
    cycle: int | None  # None: started by hand in the UI (the plan finds the cycle)


class CampaignRun(TypedDict):
    """An ``a1_to_a2`` run to start (discovery, or an operator)."""

    trigger_run_id: str
    conf: CampaignRunConf


class DerivativeRunConf(TypedDict):
    """The params of an ``a2_to_a3`` run."""

    box_file_id: str
    box_file_version_id: str | None
    file_name: str | None  # for the UI (the name is read from Box)
    event_id: str | None


class DerivativeRun(TypedDict):
    """An ``a2_to_a3`` run to start (the sweep)."""

    trigger_run_id: str
    conf: DerivativeRunConf


class DiscoveryConf(TypedDict):
    """The params of an ``a1_discovery`` run: a campaign to start by hand (None: the search for A1 campaigns)."""

    campaign: str | None
    force: bool


class SweepConf(TypedDict):
    """The params of a ``derivatives_sweep`` run."""

    full: bool
    why: str | None  # set by the receiver (e.g. Box deleted the webhook)


class ResendConf(TypedDict):
    """The params of an ``outbox_dispatch`` run: failed messages to re-send (none asked for: both empty)."""

    campaign: str | None
    message_keys: list[str]


# -- A1 -> A2 ----------------------------------------------------------------------------------------------------


class CampaignSummary(TypedDict):
    """``plan_campaign``'s XCom ``campaign``: what every later task of the run reads."""

    campaign_id: str
    name: str
    number: str | None
    status: str
    cycle: int
    force: bool
    master_count: int
    final_assets_folder_id: str
    box_folder_id: str
    masters_folder_id: str


class CampaignPlan(TypedDict):
    campaign: CampaignSummary
    #: the map positions of the run's masters (recorded in the tracking database, ``TrackingDb.run_masters``)
    positions: list[int]


class MasterTransfer(TypedDict):
    """One master in Box with its tracking ID."""

    asset_id: str
    asset_name: str
    tracking_id: str
    box_file_id: str


class StatusChange(TypedDict):
    """A recorded A1 -> A2 change and the outbox keys of its messages (``status-webhook``, ``email``)."""

    change_id: int
    changed_at: str
    created: bool
    message_keys: dict[str, str]


# -- A2 -> A3 ----------------------------------------------------------------------------------------------------


class Derivative(TypedDict):
    """``check_derivative``'s result: the Box file, its parsed V2 name, its master and campaign."""

    box_file_id: str
    box_file_version_id: str | None
    file_name: str
    clean_name: str
    parsed: dict[str, Any]  # ParsedName.to_dict()
    tracking_id: str
    master_name: str
    campaign_id: str
    campaign_name: str | None
    campaign_number: str | None
    final_assets_folder_id: str
    box_created_at: NotRequired[str | None]  # when the file was created in Box: a later file supersedes failures


class FailedDerivative(TypedDict):
    """What is known of a derivative that failed: its Box file at least (all of :class:`Derivative` when its
    check passed)."""

    box_file_id: str
    box_file_version_id: NotRequired[str | None]
    file_name: NotRequired[str | None]
    tracking_id: NotRequired[str]
    campaign_id: NotRequired[str]
    box_created_at: NotRequired[str | None]


class VersionUpload(TypedDict):
    """One Box version in the DAM."""

    dam_asset_id: str
    dam_version: int
    dam_version_asset_id: str
    warnings: list[str]
    media: dict[str, Any]  # read_media_metadata()


class DerivativeUpload(TypedDict):
    """``upload_derivative``'s result: the last version's upload (absent when nothing was due) and what was done."""

    dam_asset_id: str | None
    dam_version: NotRequired[int]
    dam_version_asset_id: NotRequired[str]
    warnings: list[str]
    media: NotRequired[dict[str, Any]]
    already_done: bool
    versions: list[str]
    message_keys: list[str]


class CampaignCompletion(TypedDict):
    """``complete_campaign``'s result: whether A2 -> A3 happened, and why not when it did not."""

    flipped: bool
    missing: NotRequired[list[str]]
    dam_status: NotRequired[str | None]
    change_id: NotRequired[int]
    created: NotRequired[bool]
    changed_at: NotRequired[str]
    message_keys: NotRequired[dict[str, str]]
