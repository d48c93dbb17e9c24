"""Box downloads: the SDK's download URL, the bytes streamed with the client's session, size and SHA-1 checked;
the whole download (URL and bytes) is one attempt of the retry layer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from ferrero_provider.box.client.calls import log
from ferrero_provider.box.exceptions import BoxIntegrityError, BoxTransportError, download_error
from ferrero_provider.common.streams import DownloadedFile, IncompleteTransferError, response_to_file

if TYPE_CHECKING:
    import os

    from ferrero_provider.box.client.calls import BoxCalls
    from ferrero_provider.box.client.files import FilesManager


class DownloadsManager:
    """Streamed, checked downloads."""

    def __init__(self, calls: BoxCalls, files: FilesManager) -> None:
        self.calls = calls
        self.files = files

    def download_file(self, file_id: str, target: str | os.PathLike[str], *, version_id: str | None = None,
                      sha1: str | None = None, size: int | None = None) -> DownloadedFile:
        """Stream a file (its current version, or ``version_id`` whose ``sha1`` and ``size`` are then checked) to
        ``target``; size checked against ``Content-Length`` and Box's size, SHA-1 against Box's.

        The download URL comes from the SDK (the API answers with a redirect to a self-authorizing URL); the bytes
        are then streamed with the client's own session. A body cut short is downloaded again, whole.
        """
        if version_id is not None and sha1 is not None and size is not None:
            expected: tuple[str | None, int | None] = (sha1, size)  # the caller read the version's facts (its listing): no second read of the file
            operation = f"downloading file {file_id} (version {version_id})"
        else:
            info = self.files.get_file_info(file_id)
            if version_id is not None and version_id != info.version_id:
                info = replace(info, version_id=version_id, sha1=sha1, size=size)
            expected = (info.sha1, info.size)
            operation = f"downloading file {file_id} ({info.name!r}" + (f", version {version_id})" if version_id else ")")
        policy = self.calls.policy
        http = self.calls.http()

        def attempt() -> DownloadedFile:
            url = self.calls.translated(operation, lambda c: c.downloads.get_download_file_url(
                str(file_id), version=version_id))
            try:
                with http.get(url, stream=True, timeout=policy.timeout,
                              headers={"Accept-Encoding": "identity"}) as response:
                    if response.status_code >= 400:
                        raise download_error(operation, response, policy)
                    result = response_to_file(response, target, expected_size=expected[1])
            except IncompleteTransferError as exc:
                raise BoxIntegrityError(f"Box request failed while {operation}: the body was cut short ({exc})") from None
            except requests.Timeout:
                raise BoxTransportError(f"Box request failed while {operation}: no answer in time") from None
            except requests.RequestException as exc:
                raise BoxTransportError(f"Box request failed while {operation}: the download broke off "
                                        f"({type(exc).__name__})") from None
            if expected[0] and result.sha1 != expected[0].lower():
                Path(result.path).unlink(missing_ok=True)
                raise BoxIntegrityError(f"Box request failed while {operation}: the SHA-1 of the bytes received "
                                        f"({result.sha1}) differs from Box's ({expected[0]})")
            return result

        result = self.calls.retried(attempt)
        log.info("Box: downloaded file %s (%d bytes) to %s", file_id, result.size, result.path)
        return result
