"""Box uploads: direct up to the threshold, chunked (an upload session, parts in parallel, each part's SHA-1
checked, the commit with the whole file's) above; idempotent by name and SHA-1."""

from __future__ import annotations

import base64
import hashlib
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from box_sdk_gen import (
    UploadFileAttributes,
    UploadFileAttributesParentField,
    UploadFileVersionAttributes,
    UploadPart,
)

from ferrero_provider.box.client.calls import log
from ferrero_provider.box.client.folders import box_item_name
from ferrero_provider.box.exceptions import BoxConflictError, BoxError, BoxIntegrityError, BoxServerError
from ferrero_provider.box.models import BoxFile, UploadedFile
from ferrero_provider.common.streams import MemoryStream, file_sha1

if TYPE_CHECKING:
    import os

    from box_sdk_gen import BoxClient, FileFull, Files

    from ferrero_provider.box.client.calls import BoxCalls
    from ferrero_provider.box.client.files import FilesManager

#: Memory a chunked upload may hold in part buffers (the parts in flight plus the one being read).
UPLOAD_BUFFER_BUDGET = 48 * 1024 * 1024
#: Extra polls of a chunked-upload commit that Box keeps answering 202 (still assembling the file).
COMMIT_POLLS = 30


class UploadsManager:
    """Uploads, direct or chunked, idempotent by name and SHA-1."""

    def __init__(self, calls: BoxCalls, files: FilesManager) -> None:
        self.calls = calls
        self.files = files
        self.settings = calls.settings

    @property
    def upload_workers(self) -> int:
        return max(1, int(self.settings.upload_workers))

    @property
    def chunked_threshold_bytes(self) -> int:
        """Files larger than this go through an upload session; up to it, one direct upload."""
        return int(float(self.settings.chunked_upload_threshold_mb) * 1024 * 1024)

    def upload_file(self, folder_id: str, path: str | os.PathLike[str], *, file_name: str | None = None) -> UploadedFile:
        """Upload a file into ``folder_id``: direct up to the threshold, chunked above; SHA-1 sent and checked.

        When a file of that name is already there: returned as is if its SHA-1 matches (``outcome='existing'``),
        otherwise the content is uploaded as a new version of it (``outcome='new_version'``).
        """
        path = Path(path)
        name = box_item_name(file_name or path.name)
        size = path.stat().st_size
        chunked = size > self.chunked_threshold_bytes
        operation = f"uploading {name!r} ({size} bytes) to folder {folder_id}"
        local_sha1: str | None = None
        try:
            if chunked:
                file, local_sha1 = self._upload_chunked(path, size, name, operation, folder_id=str(folder_id))
            else:
                local_sha1 = file_sha1(path)
                file = self._upload_direct(path, name, local_sha1, operation, folder_id=str(folder_id))
            outcome = "created"
        except BoxConflictError as exc:
            existing = exc.context_info.get("conflicts")
            existing = existing[0] if isinstance(existing, list) and existing else existing
            if not isinstance(existing, dict) or not existing.get("id") or existing.get("type") == "folder":
                raise
            local_sha1 = local_sha1 or file_sha1(path)
            if str(existing.get("sha1") or "").lower() == local_sha1:
                log.info("Box: %r already in folder %s with the same SHA-1 (file %s); not uploading again",
                         name, folder_id, existing["id"])
                return UploadedFile.of(self.files.get_file_info(str(existing["id"])), "existing", "none")
            log.info("Box: %r exists in folder %s with other content; uploading a new version of file %s",
                     name, folder_id, existing["id"])
            operation = f"uploading a new version of file {existing['id']} ({name!r}, {size} bytes)"
            if chunked:
                file, local_sha1 = self._upload_chunked(path, size, name, operation, file_id=str(existing["id"]))
            else:
                file = self._upload_direct(path, name, local_sha1, operation, file_id=str(existing["id"]))
            outcome = "new_version"
        result = BoxFile.from_sdk(file)
        if result.sha1 and result.sha1.lower() != local_sha1:
            raise BoxIntegrityError(f"Box stored {name!r} (file {result.file_id}) with SHA-1 {result.sha1}, but the "
                                    f"local file has {local_sha1}; the upload is corrupt.")
        if result.size is not None and result.size != size:
            raise BoxIntegrityError(f"Box stored {name!r} (file {result.file_id}) with {result.size} bytes, but the "
                                    f"local file has {size}; the upload is incomplete.")
        log.info("Box: %s %r as file %s (%d bytes, %s upload)", outcome.replace("_", " "), name,
                 result.file_id, size, "chunked" if chunked else "direct")
        return UploadedFile.of(result, outcome, "chunked" if chunked else "direct")

    def _upload_direct(self, path: Path, name: str, sha1: str, operation: str, *, folder_id: str | None = None,
                       file_id: str | None = None) -> FileFull:
        def send(client: BoxClient) -> FileFull:
            with path.open("rb") as stream:
                if file_id is not None:
                    return _first(client.uploads.upload_file_version(
                        file_id, UploadFileVersionAttributes(name=name), stream, content_md_5=sha1), operation)
                attributes = UploadFileAttributes(name=name, parent=UploadFileAttributesParentField(id=str(folder_id)))
                return _first(client.uploads.upload_file(attributes, stream, file_file_name=name,
                                                         content_md_5=sha1), operation)

        return self.calls.call(operation, send)

    def parts_in_flight(self, part_size: int) -> int:
        """Parts a chunked upload sends at once, for the part size Box dictates: ``upload_workers`` while their
        buffers (plus the one being read) fit in ``UPLOAD_BUFFER_BUDGET``; one at a time for very large parts."""
        return max(1, min(self.upload_workers, UPLOAD_BUFFER_BUDGET // max(1, part_size) - 1))

    def _upload_chunked(self, path: Path, size: int, name: str, operation: str, *, folder_id: str | None = None,
                        file_id: str | None = None) -> tuple[FileFull, str]:
        """Upload session → parts (each with its SHA-1 digest, checked) → commit with the whole file's SHA-1,
        computed while reading. Memory: the parts in flight, in reused buffers. The session is aborted when anything
        fails."""
        if file_id is not None:
            session = self.calls.call(operation, lambda c: c.chunked_uploads.create_file_upload_session_for_existing_file(
                file_id, size, file_name=name))
        else:
            session = self.calls.call(operation, lambda c: c.chunked_uploads.create_file_upload_session(
                str(folder_id), size, name))
        endpoints = session.session_endpoints
        if endpoints is None or not (endpoints.upload_part and endpoints.commit and endpoints.abort) \
                or not session.part_size:
            raise BoxServerError(f"Box request failed while {operation}: the upload session names no part size or "
                                 "endpoints.")
        upload_url, commit_url, abort_url = endpoints.upload_part, endpoints.commit, endpoints.abort
        part_size = int(session.part_size)
        workers = self.parts_in_flight(part_size)
        whole = hashlib.sha1()  # noqa: S324 - Box's content digest
        parts: list[UploadPart] = []
        in_flight: list[tuple[Future[UploadPart], bytearray]] = []
        free: list[bytearray] = []  # part buffers, reused: no allocation per part

        def send_part(data: memoryview, start: int) -> UploadPart:
            digest = hashlib.sha1(data).digest()  # noqa: S324
            end = start + len(data) - 1
            uploaded = self.calls.call(
                f"{operation}: part at byte {start}",
                lambda c: c.chunked_uploads.upload_file_part_by_url(
                    # the SDK streams any binary file object; its annotation names only BufferedIOBase
                    upload_url, MemoryStream(data),  # type: ignore[arg-type]
                    "sha=" + base64.b64encode(digest).decode(),
                    f"bytes {start}-{end}/{size}"),
            )
            part = uploaded.part
            if part is None or (part.sha_1 and part.sha_1.lower() != digest.hex()) or part.size != len(data):
                raise BoxIntegrityError(f"Box acknowledged the part at byte {start} of {name!r} with another size "
                                        "or SHA-1 than was sent.")
            return UploadPart(part_id=part.part_id, offset=part.offset, size=part.size, sha_1=part.sha_1)

        def collect_oldest() -> None:
            future, buffer = in_flight.pop(0)
            parts.append(future.result())
            free.append(buffer)

        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="box-part")
        try:
            # The whole file's SHA-1 is computed here, in order, while reading; each part's own SHA-1 in the
            # thread that sends it.
            with path.open("rb", buffering=0) as stream:
                offset = 0
                while offset < size:
                    if len(in_flight) >= workers:
                        collect_oldest()
                    buffer = free.pop() if free else bytearray(part_size)
                    view = memoryview(buffer)[: min(part_size, size - offset)]
                    filled = 0
                    while filled < len(view):
                        n = stream.readinto(view[filled:])
                        if not n:
                            raise BoxIntegrityError(f"{path} became shorter while uploading it to Box "
                                                    f"({offset + filled} of {size} bytes read).")
                        filled += n
                    whole.update(view)
                    in_flight.append((pool.submit(send_part, view, offset), buffer))
                    offset += len(view)
            while in_flight:
                collect_oldest()
            parts.sort(key=lambda p: p.offset or 0)
            sha1 = whole.hexdigest()
            digest_header = "sha=" + base64.b64encode(whole.digest()).decode()
            for poll in range(COMMIT_POLLS + 1):
                files = self.calls.call(f"{operation}: commit", lambda c: (
                    c.chunked_uploads.create_file_upload_session_commit_by_url(commit_url, parts, digest_header)))
                if files is not None and files.entries:
                    return files.entries[0], sha1
                time.sleep(min(self.calls.policy.backoff(poll + 1) or 0.2, 5.0))
            raise BoxServerError(f"Box request failed while {operation}: the upload session was not committed "
                                 "(Box kept answering 202).")
        except BaseException:
            for future, _buffer in in_flight:
                future.cancel()
            pool.shutdown(wait=True)
            try:
                self.calls.call(f"aborting the upload session of {name!r}",
                                lambda c: c.chunked_uploads.delete_file_upload_session_by_url(abort_url),
                                retry=False)
            except BoxError as exc:
                log.warning("Box: could not abort the upload session of %r: %s", name, exc)
            raise
        finally:
            pool.shutdown(wait=True)


def _first(files: Files, operation: str) -> FileFull:
    """The one file of an upload's answer."""
    if not files.entries:
        raise BoxServerError(f"Box request failed while {operation}: the answer lists no file.")
    return files.entries[0]
