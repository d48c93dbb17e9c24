"""An upload session's bytes on disk: parts written in large buffers off the event loop, and the whole file's
SHA-1 advanced over the parts, in offset order, as they arrive — so a commit rarely has to read the file again.

Parts are written in place into the session file (no assembly copy at commit). A :class:`WholeFileDigest` per
session hashes each part once it is stored and every part before it is hashed; it runs in a worker thread, so
the event loop keeps receiving. What it cannot vouch for (a range uploaded again after it was hashed, a sandbox
restarted mid-session) makes the commit hash the rest of the file from disk, in one pass.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

#: Bytes collected from the socket before one write (and hash) in a worker thread.
WRITE_BUFFER = 4 * 1024 * 1024
_READ_BLOCK = 4 * 1024 * 1024


def store_chunks(path: Path, chunks: Sequence[bytes], offset: int, digest: hashlib._Hash) -> None:
    """Write ``chunks`` at ``offset`` of ``path`` (one ``pwritev``) and feed them to ``digest``, in order."""
    total = sum(len(c) for c in chunks)
    with path.open("r+b", buffering=0) as fh:
        written = os.pwritev(fh.fileno(), chunks, offset)
        if written < total:  # a short write (rare on regular files): the rest one write at a time
            rest = memoryview(b"".join(chunks))[written:]
            position = offset + written
            while rest:
                n = os.pwrite(fh.fileno(), rest, position)
                rest, position = rest[n:], position + n
    for chunk in chunks:
        digest.update(chunk)


def hash_range(path: Path, digest: hashlib._Hash, start: int, end: int) -> None:
    """Feed bytes ``[start, end)`` of ``path`` to ``digest`` (read in large blocks into one reused buffer)."""
    buffer = bytearray(min(_READ_BLOCK, max(end - start, 1)))
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as fh:
        position = start
        while position < end:
            n = os.preadv(fh.fileno(), [view[: min(len(buffer), end - position)]], position)
            if n <= 0:
                raise OSError(f"{path} ends at byte {position}, before {end}")
            digest.update(view[:n])
            position += n


class WholeFileDigest:
    """The SHA-1 of an upload session's file, advanced over contiguous stored parts.

    ``part_starting`` (event loop) marks the digest unusable when a range it may already cover is written again;
    ``part_stored`` (worker thread) hashes every part that has become contiguous; ``finish`` (worker thread, at
    commit) waits for that and hashes whatever is still missing, from disk.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sha1 = hashlib.sha1()  # noqa: S324 - Box's content digest
        self._upto = 0  # bytes [0, upto) are in _sha1
        self._claimed = 0  # end of the range being hashed now (>= upto)
        self._stored: dict[int, int] = {}  # offset -> size of stored parts not hashed yet
        self._valid = True
        self._advancing = False
        self._idle = threading.Condition()

    def part_starting(self, offset: int) -> None:
        """A part is about to be written at ``offset``: if that range may be hashed already, stop trusting it."""
        with self._idle:
            if offset < self._claimed or offset in self._stored:
                self._valid = False
                self._stored.clear()

    def part_stored(self, offset: int, size: int) -> None:
        """A part is on disk and checked; hash it (and any parts after it) when everything before is hashed."""
        with self._idle:
            if not self._valid:
                return
            self._stored[offset] = size
            if self._advancing:  # the thread advancing now picks this part up
                return
            self._advancing = True
        try:
            while True:
                with self._idle:
                    size = self._stored.pop(self._upto, 0) if self._valid else 0
                    if not size:
                        return
                    start = self._upto
                    self._claimed = start + size
                hash_range(self.path, self._sha1, start, start + size)
                with self._idle:
                    self._upto = start + size
        except BaseException:
            with self._idle:
                self._valid = False
            raise
        finally:
            with self._idle:
                self._advancing = False
                self._idle.notify_all()

    def finish(self, file_size: int) -> str:
        """The whole file's SHA-1 (hex): what was hashed as parts arrived, plus the rest read from disk."""
        with self._idle:
            self._idle.wait_for(lambda: not self._advancing)
            if not self._valid:
                self._sha1, self._upto = hashlib.sha1(), 0  # noqa: S324
            self._valid = False  # from here on, this object no longer follows the parts
            start, digest = self._upto, self._sha1
        hash_range(self.path, digest, start, file_size)
        return digest.hexdigest()


class SessionDigests:
    """Whole-file digests of the open upload sessions (in memory; lost on restart, which only costs a re-read)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_session: dict[str, WholeFileDigest] = {}

    def get(self, session_id: str, path: Path) -> WholeFileDigest:
        with self._lock:
            digest = self._by_session.get(session_id)
            if digest is None:
                digest = self._by_session[session_id] = WholeFileDigest(path)
            return digest

    def pop(self, session_id: str, path: Path) -> WholeFileDigest:
        """The session's digest, forgotten here (commit and abort); a fresh one when none was kept."""
        with self._lock:
            return self._by_session.pop(session_id, None) or WholeFileDigest(path)
