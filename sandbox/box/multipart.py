"""Streaming parser for Box's upload multipart body: ``attributes`` (JSON) first, then ``file``.

The file part goes straight to a temp file while its SHA-1 and size are computed, so memory stays constant
whatever the upload size. A ``file`` part before the ``attributes`` part is Box's 400
``metadata_after_file_contents``; the rest of the body is still drained so the client can read the answer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from python_multipart.multipart import MultipartParser, parse_options_header

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.requests import Request

_MAX_ATTRIBUTES = 64 * 1024


class UploadBodyError(Exception):
    """The body is not a valid Box upload; ``code`` is Box's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ParsedUpload:
    attributes: dict[str, Any] | None = None
    file_path: Path | None = None
    sha1: str = ""
    size: int = 0
    error: UploadBodyError | None = None
    _hash: Any = field(default_factory=hashlib.sha1)


async def parse_upload(request: Request, tmp_path: Path) -> ParsedUpload:
    """Read the whole multipart body; the file part lands in ``tmp_path``. Raises UploadBodyError."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UploadBodyError("bad_request", "Expected a multipart/form-data body")
    result = ParsedUpload()
    current: dict[str, Any] = {}
    header_field = bytearray()
    header_value = bytearray()
    sink = tmp_path.open("wb")

    def on_part_begin() -> None:
        current.clear()
        current.update(headers={}, name=None, buffer=bytearray(), is_file=False)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        current["headers"][bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(current["headers"].get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode()
        current["name"] = name
        current["is_file"] = name == "file" or b"filename" in disposition
        if current["is_file"]:
            if result.attributes is None and result.error is None:
                result.error = UploadBodyError(
                    "metadata_after_file_contents", "Metadata must be sent before file contents"
                )
            result.file_path = tmp_path

    def on_part_data(data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if current.get("is_file"):
            if result.error is None:
                sink.write(chunk)
                result._hash.update(chunk)
                result.size += len(chunk)
        elif current.get("name") == "attributes":
            if len(current["buffer"]) + len(chunk) > _MAX_ATTRIBUTES:
                result.error = result.error or UploadBodyError("bad_request", "attributes part too large")
            else:
                current["buffer"].extend(chunk)

    def on_part_end() -> None:
        if current.get("name") == "attributes" and result.error is None:
            try:
                attributes = json.loads(bytes(current["buffer"]).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                result.error = UploadBodyError("bad_request", "attributes is not valid JSON")
                return
            if not isinstance(attributes, dict):
                result.error = UploadBodyError("bad_request", "attributes must be a JSON object")
                return
            result.attributes = attributes

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            if chunk:
                parser.write(chunk)
        parser.finalize()
    except UploadBodyError:
        raise
    except Exception as exc:  # python-multipart raises its own errors on malformed bodies
        raise UploadBodyError("bad_request", f"Malformed multipart body: {exc}") from exc
    finally:
        sink.close()
    if result.error is not None:
        raise result.error
    if result.attributes is None:
        raise UploadBodyError("bad_request", "Missing the attributes part")
    if result.file_path is None:
        raise UploadBodyError("bad_request", "Missing the file part")
    result.sha1 = result._hash.hexdigest()
    return result
