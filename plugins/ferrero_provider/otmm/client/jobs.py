"""DAM jobs: poll ``/jobs/{id}`` until finished.

The job resource's shape is not public (spec §8, §17 L): the state is read from ``job_state``, ``status`` or
``state``. A DAM that has no job resource (404) is polled through the object instead: the caller's ``result``
looks for the created asset or the new version, and the manager stops asking ``/jobs`` for the rest of its life.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TypeVar

from ferrero_provider.common.error_text import one_line
from ferrero_provider.otmm.exceptions import OtmmJobError, OtmmNotFoundError

if TYPE_CHECKING:
    from collections.abc import Callable

    from ferrero_provider.otmm.client.transport import DamTransport, JsonObject

T = TypeVar("T")
JOB_DONE = {"COMPLETED", "COMPLETE", "SUCCESS", "SUCCEEDED", "FINISHED", "DONE"}
JOB_FAILED = {"FAILED", "ERROR", "CANCELLED", "CANCELED", "ABORTED"}


class JobsManager:
    """Job polling."""

    def __init__(self, transport: DamTransport) -> None:
        self.transport = transport
        self.no_job_resource = False  #: set once the DAM answered 404 for a job

    def wait_for_job(self, job_id: str, operation: str, result: Callable[[JsonObject], T | None], *,
                     kind: str = "job") -> T:
        """Poll ``/jobs/{id}`` until the job finished and ``result(job)`` gives a value, and return that value. A
        DAM without job resources (404) counts as a finished job with an empty resource."""
        t, s = self.transport, self.transport.settings
        deadline = time.monotonic() + s.job_timeout_seconds
        delay = min(0.2, s.job_poll_seconds)
        while True:
            job: JsonObject = {}
            if not self.no_job_resource:
                try:
                    data = t.request("GET", f"/jobs/{job_id}", f"checking {kind} {job_id}")
                    job = data.get("job_resource", {}).get("job", {})
                except OtmmNotFoundError:
                    self.no_job_resource = True
                    t.log.info("DAM: no job resource for %s %s; polling the result instead", kind, job_id)
            state = str(job.get("job_state") or job.get("status") or job.get("state") or "").upper()
            if state in JOB_FAILED:
                message = one_line(job.get("message") or job.get("error_message") or state)
                raise OtmmJobError(f"DAM {kind} {job_id} failed while {operation}: {message}.")
            if state in JOB_DONE or not job:
                value = result(job)
                if value is not None:
                    return value
            if time.monotonic() >= deadline:
                raise OtmmJobError(f"DAM {kind} {job_id} did not finish within {s.job_timeout_seconds:g} s "
                                   f"while {operation} (dam.job_timeout_seconds).")
            time.sleep(delay)
            delay = min(max(delay * 2, 0.05), max(s.job_poll_seconds, 0.05))
