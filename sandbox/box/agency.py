"""The agency command: what an agency does for a campaign in A2 (issue 3 §7).

    python -m sandbox agency --campaign CMP-2026-001 [--data-dir DIR]

It reads ``<data_dir>/endpoints.json`` and the credentials, signs in as the agency user (client credentials with
``box_subject_type=user``, not the service account), lists the campaign's ``Masters/`` folder through the SDK
and, for each master ``<TRACKING>_<Brand>_<Subject>_<type>.<ext>``, uploads one derivative named by the V2
convention (``<TRACKING>_<Brand>_<Subject>_<type>_<LANG>[_<MARKET>]_v01.<ext>``) into ``Derivatives/``. The
content is a modified copy of the master that stays a valid file of its kind. One extra derivative of the first
master is badly named on purpose (its version segment is missing), so the campaign can still reach A3 while the
bad file is refused. Re-running is harmless: an identical file already in place is left
alone, a different one becomes a new version.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import struct
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from box_sdk_gen import (
    BoxAPIError,
    CreateFolderParent,
    UploadFileAttributes,
    UploadFileAttributesParentField,
    UploadFileVersionAttributes,
)

from sandbox.box.client import ccg_client
from sandbox.box.seed import ROOT_FOLDER_NAME
from sandbox.settings import SandboxSettings

if TYPE_CHECKING:
    from collections.abc import Callable

    from box_sdk_gen import BoxClient

AGENCY_NAME = "Agency Studio"
#: (language, market) per derivative, in master order.
LOCALES = [("IT", None), ("DE", "CH"), ("FR", None), ("ES", None), ("EN", "GB"), ("NL", None)]
TRACKING = re.compile(r"^[0-9A-HJKMNP-TV-Z]{6}$")
TYPE_BY_EXTENSION = {
    "mp4": "video", "mov": "video", "mxf": "video", "m4v": "video",
    "jpg": "image", "jpeg": "image", "png": "image", "tif": "image", "tiff": "image", "psd": "image",
    "pdf": "document", "wav": "audio", "mp3": "audio",
}
CHUNKED_THRESHOLD = 20_000_000


class AgencyError(Exception):
    """Something the operator must fix (sandbox not running, campaign unknown, ...)."""


@dataclass
class Derivative:
    master_name: str
    name: str
    badly_named: bool


def v2_name(master_name: str, index: int, *, bad: bool = False) -> str:
    """The V2 name of the ``index``-th derivative of a Box master (``bad`` drops the version segment)."""
    stem, _, ext = master_name.rpartition(".")
    if not stem:
        stem, ext = master_name, "bin"
    segments = [s for s in re.split(r"_+", stem) if s]
    tracking = segments.pop(0) if segments and TRACKING.match(segments[0]) else "000000"
    cleaned = [re.sub(r"[^A-Za-z0-9-]+", "-", s).strip("-") or "X" for s in segments] or ["Ferrero"]
    asset_type = TYPE_BY_EXTENSION.get(ext.lower(), "document")
    if len(cleaned) >= 3 and cleaned[-1].isalpha():
        asset_type = cleaned.pop()
    brand = cleaned[0][:40]
    subject = "-".join(cleaned[1:])[:80] or "Master"
    language, market = LOCALES[index % len(LOCALES)]
    parts = [tracking, brand, subject, asset_type, language, *([market] if market else [])]
    if not bad:
        parts.append("v01")
    return "_".join(parts) + f".{ext.lower()}"


def localize(path: Path, note: str) -> None:
    """Change a media file in place so it differs from the master yet stays valid (same bytes on every run)."""
    payload = note.encode("utf-8")
    data_kind = path.suffix.lower().lstrip(".")
    if data_kind in ("mp4", "mov", "m4v"):
        with path.open("ab") as fh:  # a top-level 'free' box is ignored by every MP4 reader
            fh.write(struct.pack(">I", 8 + len(payload)) + b"free" + payload)
        return
    data = path.read_bytes()
    if data_kind == "png" and data.endswith(b"IEND\xaeB`\x82"):
        chunk = b"tEXt" + b"Comment\x00" + payload
        text = struct.pack(">I", len(chunk) - 4) + chunk + struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
        path.write_bytes(data[:-12] + text + data[-12:])
    elif data_kind in ("jpg", "jpeg") and data.startswith(b"\xff\xd8"):
        at = 2  # a COM segment after SOI, or after the JFIF APP0 segment when there is one
        if data[2:4] == b"\xff\xe0":
            at = 4 + struct.unpack(">H", data[4:6])[0]
        comment = b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload
        path.write_bytes(data[:at] + comment + data[at:])
    else:  # PDF (a trailing comment line) and anything else
        path.write_bytes(data + b"\n%" + payload + b"\n")


def _folder_entries(client: BoxClient, folder_id: str) -> list[Any]:
    entries: list[Any] = []
    marker = None
    while True:
        page = client.folders.get_folder_items(folder_id, usemarker=True, marker=marker, limit=1000)
        entries += page.entries or []
        marker = page.next_marker
        if not marker:
            return entries


def _child(client: BoxClient, folder_id: str, predicate: Callable[[str], bool], kind: str = "folder") -> Any | None:
    for entry in _folder_entries(client, folder_id):
        if entry.type.value == kind and predicate(entry.name):
            return entry
    return None


def _root_folder_id(client: BoxClient, data_dir: Path) -> str:
    seed_path = data_dir / "seed.json"
    if seed_path.exists():
        seed = json.loads(seed_path.read_text())
        root = seed.get("box_root_folder_id") or seed.get("root_folder_id")
        if root:
            return str(root)
    entry = _child(client, "0", lambda name: name.casefold() == ROOT_FOLDER_NAME.casefold())
    if entry is None:
        raise AgencyError(f"no '{ROOT_FOLDER_NAME}' folder in Box: run `python -m sandbox seed` first")
    return entry.id


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Put:
    """What :func:`put_file` did: the Box file, its new version (None when nothing was uploaded), in words."""

    file_id: str
    version_id: str | None
    outcome: str


def put_file(client: BoxClient, folder_id: str, name: str, path: Path, *, file_id: str | None = None,
             keep_same: bool = True) -> Put:
    """Upload ``path`` as ``name`` into the folder, or as a new version of the file of that name (``file_id``
    when known already). With ``keep_same``, a file of that name with the same content is left alone."""
    sha1 = _sha1(path)
    if file_id is None:
        size = path.stat().st_size
        try:
            with path.open("rb") as fh:
                if size >= CHUNKED_THRESHOLD:
                    entry = client.chunked_uploads.upload_big_file(fh, name, size, folder_id)
                else:
                    attributes = UploadFileAttributes(name=name, parent=UploadFileAttributesParentField(id=folder_id))
                    entry = client.uploads.upload_file(attributes, fh, content_md_5=sha1).entries[0]
            return Put(entry.id, _version_id(entry), "uploaded")
        except BoxAPIError as exc:
            if exc.response_info.code != "item_name_in_use":
                raise
            existing = exc.response_info.context_info["conflicts"]
        if keep_same and existing.get("sha1") == sha1:
            return Put(existing["id"], None, "already there")
        file_id = existing["id"]
    with path.open("rb") as fh:
        entry = client.uploads.upload_file_version(
            file_id, UploadFileVersionAttributes(name=name), fh, content_md_5=sha1).entries[0]
    return Put(entry.id, _version_id(entry), "uploaded as a new version")


def _version_id(entry: object) -> str | None:
    return getattr(getattr(entry, "file_version", None), "id", None)


def derivatives_folder_id(client: BoxClient, campaign_folder_id: str) -> str:
    """The campaign's ``Derivatives`` folder, created when missing."""
    derivatives = _child(client, campaign_folder_id, lambda name: name.casefold() == "derivatives")
    if derivatives is not None:
        return derivatives.id
    return client.folders.create_folder("Derivatives", CreateFolderParent(id=campaign_folder_id)).id


def deliver(settings: SandboxSettings, endpoints: dict, campaign_number: str) -> list[Derivative]:
    """Upload one derivative per master of the campaign, plus one badly named extra, into its Derivatives folder,
    as the agency user."""
    client = ccg_client(settings, endpoints, user_id=settings.box_agency_user_id)
    root_id = _root_folder_id(client, settings.data_dir)
    campaign = _child(
        client, root_id, lambda name: name == campaign_number or name.startswith(f"{campaign_number} ")
    )
    if campaign is None:
        raise AgencyError(f"campaign {campaign_number} has no folder in Box yet (is it in A2?)")
    masters_folder = _child(client, campaign.id, lambda name: name.casefold() == "masters")
    if masters_folder is None:
        raise AgencyError(f"campaign folder '{campaign.name}' has no Masters folder")
    masters = sorted(
        (e for e in _folder_entries(client, masters_folder.id) if e.type.value == "file"), key=lambda e: e.name
    )
    if not masters:
        raise AgencyError(f"'{campaign.name}/Masters' is empty")
    derivatives_id = derivatives_folder_id(client, campaign.id)
    delivered = []
    with tempfile.TemporaryDirectory(prefix="agency-") as tmp:
        uploads = [(index, master, False) for index, master in enumerate(masters)]
        uploads.append((len(masters), masters[0], True))
        for index, master, bad in uploads:
            name = v2_name(master.name, index, bad=bad)
            local = Path(tmp) / f"{index}{Path(master.name).suffix.lower()}"
            with local.open("wb") as fh:
                client.downloads.download_file_to_output_stream(master.id, fh)
            language, market = LOCALES[index % len(LOCALES)]
            localize(local, f"{AGENCY_NAME} localization {language}{'-' + market if market else ''} of {master.name}")
            put = put_file(client, derivatives_id, name, local)
            flag = " (badly named on purpose)" if bad else ""
            print(f"{put.outcome}: Derivatives/{name} (file {put.file_id}) from master {master.name}{flag}")
            delivered.append(Derivative(master.name, name, bad))
    return delivered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox agency", description="Upload V2-named derivatives of a campaign's masters to Box."
    )
    parser.add_argument("--campaign", required=True, help="campaign number, e.g. CMP-2026-001")
    parser.add_argument("--data-dir", help="sandbox data folder (default: SANDBOX_DATA_DIR or .local/sandbox)")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.data_dir:
        env["SANDBOX_DATA_DIR"] = args.data_dir
    settings = SandboxSettings.from_env(env, persist=False)
    try:
        if not settings.endpoints_path.exists():
            raise AgencyError(f"the sandbox is not running (no {settings.endpoints_path}): `python -m sandbox serve`")
        endpoints = json.loads(settings.endpoints_path.read_text())
        deliver(settings, endpoints, args.campaign)
    except (AgencyError, BoxAPIError) as exc:
        print(f"agency: {exc}", file=sys.stderr)
        return 1
    return 0
