"""Streamed transfers with flat memory: a response body to a file (size and SHA-1 checked while writing) and a
multipart request body read from disk part by part."""

from __future__ import annotations

import hashlib
import io
import os
import queue
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from requests.adapters import HTTPAdapter

if TYPE_CHECKING:
    from collections.abc import Iterator

    import requests

CHUNK_SIZE = 1024 * 1024
#: Chunks read but not yet written during a download.
QUEUE_DEPTH = 8


class IncompleteTransferError(ValueError):
    """The bytes received do not add up to the size announced (a truncated or overlong body)."""

    def __init__(self, received: int, expected: int, source: str) -> None:
        super().__init__(f"received {received} bytes where {source} announced {expected}")
        self.received = received
        self.expected = expected
        self.source = source


@dataclass(frozen=True)
class DownloadedFile:
    """A file written to disk: where, how many bytes, and their SHA-1 (hex)."""

    path: str
    size: int
    sha1: str

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "size": self.size, "sha1": self.sha1}


def response_to_file(
    response: requests.Response, target: str | os.PathLike[str], *, expected_size: int | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> DownloadedFile:
    """Write a streamed response body to ``target`` (through a temp file renamed at the end).

    The byte count is checked against ``Content-Length`` and ``expected_size``; a mismatch raises
    :class:`IncompleteTransferError` and leaves nothing at ``target``. Transport errors propagate.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    announced = response.headers.get("Content-Length")
    digest = hashlib.sha1()  # noqa: S324 - Box and the DAM identify content by SHA-1
    size = 0
    # Writing and hashing run in a second thread (both release the GIL), overlapping the socket reads;
    # at most QUEUE_DEPTH chunks wait in between, so memory stays flat.
    pending: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUE_DEPTH)
    failure: list[BaseException] = []

    def writer(out: BinaryIO) -> None:
        try:
            while (chunk := pending.get()) is not None:
                out.write(chunk)
                digest.update(chunk)
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            failure.append(exc)
            while pending.get() is not None:  # drain so the reader never blocks
                pass

    try:
        with partial.open("wb") as out:
            thread = threading.Thread(target=writer, args=(out,), name="download-writer", daemon=True)
            thread.start()
            try:
                for chunk in response.iter_content(chunk_size=chunk_size):
                    if chunk:
                        pending.put(chunk)
                        size += len(chunk)
            finally:
                pending.put(None)
                thread.join()
        if failure:
            raise failure[0]
        if announced is not None and announced.isdigit() and int(announced) != size:
            raise IncompleteTransferError(size, int(announced), "Content-Length")
        if expected_size is not None and expected_size != size:
            raise IncompleteTransferError(size, expected_size, "the server's metadata")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return DownloadedFile(str(target), size, digest.hexdigest())


def file_sha1(path: str | os.PathLike[str], chunk_size: int = CHUNK_SIZE) -> str:
    digest = hashlib.sha1()  # noqa: S324
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


class MultipartFileBody:
    """A ``multipart/form-data`` body of text fields plus one file part, read lazily from disk.

    It has a length (``requests`` sends ``Content-Length``, not chunked) and yields the file chunk by chunk,
    so memory stays flat whatever the file size. Iterating again starts over (one object per attempt is fine).
    """

    def __init__(
        self, fields: list[tuple[str, str, str | None]], file_field: str, path: str | os.PathLike[str],
        file_name: str, file_type: str, chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.boundary = uuid.uuid4().hex
        head = b""
        for name, value, content_type in fields:
            head += f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'.encode()
            if content_type:
                head += f"Content-Type: {content_type}\r\n".encode()
            head += b"\r\n" + value.encode("utf-8") + b"\r\n"
        quoted = file_name.replace("\\", "\\\\").replace('"', "%22")
        head += (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{quoted}"\r\n'
            f"Content-Type: {file_type}\r\n\r\n"
        ).encode()
        self._head = head
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._path = Path(path)
        self._chunk_size = chunk_size
        self._length = len(head) + self._path.stat().st_size + len(self._tail)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        with self._path.open("rb") as fh:
            while chunk := fh.read(self._chunk_size):
                yield chunk
        yield self._tail


class MemoryStream(io.RawIOBase):
    """A read-only, seekable stream over bytes already in memory that hands out slices, never copies.

    For request bodies: ``requests`` learns the length from ``len()``, ``urllib3`` sends what ``read`` returns,
    and a retry seeks back to where it started.
    """

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        super().__init__()
        self._view = memoryview(data).cast("B")
        self._position = 0

    def __len__(self) -> int:
        return len(self._view)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}[whence]
        self._position = max(0, base + offset)
        return self._position

    def read(self, size: int | None = -1) -> memoryview:
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._position + size)
        chunk = self._view[self._position:end]
        self._position = max(self._position, end)
        return chunk

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(memoryview(buffer).cast("B")))
        memoryview(buffer).cast("B")[: len(chunk)] = chunk
        return len(chunk)


class TransferAdapter(HTTPAdapter):
    """``requests`` adapter that sends request bodies in 1 MiB writes (urllib3's default is 16 KiB, which costs
    throughput on large uploads) and never retries by itself (the hooks' policy does)."""

    def __init__(self, pool_maxsize: int = 8) -> None:
        super().__init__(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        pool_kwargs.setdefault("blocksize", CHUNK_SIZE)
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
