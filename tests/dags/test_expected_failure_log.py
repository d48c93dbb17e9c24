"""A task failing for an expected reason: the processor turns Airflow's "Task failed with exception" record
into the failure's sentence without a traceback; any other failure keeps its traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from include.ferrero.runtime import ExpectedFailure, expected_failure, fail_clearly

if TYPE_CHECKING:
    from collections.abc import Callable


def _log_failure(make_error: Callable[[], Exception]) -> list[dict]:
    """What structlog's chain receives when the task runner logs the task's error with ``log.exception`` (the
    task process's logging is configured before the task runs)."""
    seen: list[dict] = []
    structlog.configure(processors=[lambda _l, _m, event: seen.append(dict(event)) or event,
                                    structlog.processors.KeyValueRenderer()])
    log = structlog.get_logger("task")
    log.info("starting")  # the task runner's logger is bound before the task fails
    try:
        raise make_error()
    except Exception:
        log.exception("Task failed with exception")
    return seen


def test_expected_failure_logs_its_sentence_only() -> None:
    last = _log_failure(lambda: expected_failure("The VERSION segment is missing after LANG in 'x.mp4'."))[-1]
    assert last == {"event": "Task failed: The VERSION segment is missing after LANG in 'x.mp4'."}
    structlog.reset_defaults()


def test_other_failures_keep_their_traceback() -> None:
    def boom() -> Exception:
        expected_failure("installs the processor")
        return RuntimeError("boom")

    last = _log_failure(boom)[-1]
    assert last["event"] == "Task failed with exception" and last["exc_info"] is True
    structlog.reset_defaults()


def test_permanent_service_errors_and_refused_input_fail_clearly() -> None:
    from ferrero_provider.common.errors import ServiceError
    from include.ferrero.campaigns import CampaignError

    permanent = ServiceError("Box request failed: HTTP 404 Not Found")
    permanent.permanent = True
    for error in (CampaignError("campaign CMP-1 is not in status A1"), permanent):
        try:
            fail_clearly(error)
        except ExpectedFailure as failure:
            assert str(failure) == str(error)
    transient = ServiceError("HTTP 503")
    try:
        fail_clearly(transient)
    except ExpectedFailure:
        raise AssertionError("a transient error is left to Airflow's retries") from None
    except ServiceError as raised:
        assert raised is transient


def test_every_task_fails_by_one_policy() -> None:
    """``task_services``, the one place the tasks' failure policy lives: a refused campaign ends the task with its
    sentence; anything else leaves the block as it is, for Airflow's retries."""
    from include.ferrero.campaigns import CampaignError
    from include.ferrero.runtime import task_services

    try:
        with task_services():
            raise CampaignError("campaign CMP-1 is not in status A1")
    except ExpectedFailure as failure:
        assert str(failure) == "campaign CMP-1 is not in status A1"
    else:
        raise AssertionError("an expected failure ends the task")
    transient = ConnectionError("the DAM cannot be reached")
    try:
        with task_services():
            raise transient
    except ExpectedFailure:
        raise AssertionError("a transient error is left to Airflow's retries") from None
    except ConnectionError as raised:
        assert raised is transient
