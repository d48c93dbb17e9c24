"""Demo data (issue 3 §7) and reset.

``seed(settings)`` builds the demo DAM by writing the OTMM store directly (a running server sees it on its next
request) and calls ``sandbox.box.seed.seed_box``; it writes ``<data_dir>/seed.json``. It is idempotent: folders
and assets are found by name, so a second run changes nothing. ``reset(settings)`` wipes the data folder except
``credentials.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.otmm.metadata import (
    ASSET_TYPE_DOMAIN,
    ASSET_TYPE_DOMAIN_ALIAS,
    DEFAULT_ASSET_MODEL,
    DEFAULT_FOLDER_MODEL,
    LANGUAGE_DOMAIN,
)
from sandbox.otmm.store import PUBLIC_ROOT_ID, OtmmStore

if TYPE_CHECKING:
    from sandbox.settings import SandboxSettings

CAMPAIGNS_FOLDER = "Campaigns"
FINAL_ASSETS_FOLDER = "Final Assets"

ASSET_TYPES = [
    ("video", "Video"),
    ("image", "Image"),
    ("audio", "Audio"),
    ("document", "Document"),
    ("banner", "Banner"),
    ("keyvisual", "Key Visual"),
    ("packshot", "Pack Shot"),
]
LANGUAGES = [
    ("EN", "English"),
    ("IT", "Italian"),
    ("DE", "German"),
    ("FR", "French"),
    ("ES", "Spanish"),
    ("NL", "Dutch"),
    ("PL", "Polish"),
    ("PT", "Portuguese"),
]


@dataclass(frozen=True)
class Master:
    file_name: str  # <Brand>_<Subject>_<type>.<ext>: the agency command derives V2 names from it
    kind: str  # video | png | jpg | pdf
    description: str
    languages: tuple[str, ...] = ("EN",)


@dataclass(frozen=True)
class Campaign:
    number: str
    name: str
    brand: str
    sub_brand: str
    agency: str
    director: str
    masters: tuple[Master, ...]


CAMPAIGNS = (
    Campaign(
        "CMP-2026-001",
        "Nutella Breakfast Moments",
        "Nutella",
        "Nutella Classic",
        "Armando Testa",
        "Giulia Rossi",
        (
            Master("Nutella_Breakfast-Moments_video.mp4", "video", "Family breakfast spot, 15s cut", ("EN", "IT")),
            Master("Nutella_Jar-Hero_image.png", "png", "Jar hero shot on white"),
            Master("Nutella_Key-Visual_image.jpg", "jpg", "Campaign key visual", ("EN", "IT", "DE")),
            Master("Nutella_Brand-Guidelines_document.pdf", "pdf", "Brand guidelines for local adaptations"),
        ),
    ),
    Campaign(
        "CMP-2026-002",
        "Kinder Bueno Summer Crunch",
        "Kinder-Bueno",
        "Kinder Bueno White",
        "Publicis Italy",
        "Marco Bianchi",
        (
            Master("Kinder-Bueno_Summer-Crunch_video.mp4", "video", "Beach spot, 6s bumper", ("EN", "FR")),
            Master("Kinder-Bueno_Pack-Shot_image.png", "png", "Twin-bar pack shot"),
            Master("Kinder-Bueno_Beach-Banner_image.jpg", "jpg", "Summer beach banner", ("EN", "ES")),
        ),
    ),
)

#: Brands of generated campaigns (``SANDBOX_SEED_EXTRA_CAMPAIGNS``), in turn.
_EXTRA_BRANDS = ("Ferrero-Rocher", "Raffaello", "Tic-Tac", "Kinder-Joy", "Pocket-Coffee", "Duplo")
_EXTRA_KINDS = (("png", "image"), ("jpg", "image"), ("pdf", "document"))


def extra_campaigns(count: int, masters: int) -> tuple[Campaign, ...]:
    """``count`` generated campaigns ``CMP-2026-1NN`` of ``masters`` images and PDFs each (cheap to make)."""
    result = []
    for number in range(1, count + 1):
        brand = _EXTRA_BRANDS[(number - 1) % len(_EXTRA_BRANDS)]
        result.append(Campaign(
            f"CMP-2026-{100 + number}", f"{brand.replace('-', ' ')} Wave {number}", brand, brand.replace("-", " "),
            "Agency Studio", "Anna Verdi",
            tuple(
                Master(f"{brand}_Wave{number}-Visual-{m:02d}_{asset_type}.{kind}", kind, f"Wave {number} visual {m}")
                for m in range(1, masters + 1)
                for kind, asset_type in [_EXTRA_KINDS[m % len(_EXTRA_KINDS)]]
            ),
        ))
    return tuple(result)


_MIME = {"video": "video/mp4", "png": "image/png", "jpg": "image/jpeg", "pdf": "application/pdf"}
_PATTERN = {0: "testsrc2", 1: "smptebars", 2: "rgbtestsrc", 3: "mandelbrot"}


def _ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run([exe, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)  # noqa: S603


def _pdf(title: str, lines: list[str]) -> bytes:
    """A small valid one-page PDF with text, built by hand (correct xref offsets)."""
    text = [f"BT /F1 20 Tf 72 760 Td ({title}) Tj ET"]
    for i, line in enumerate(lines):
        text.append(f"BT /F1 12 Tf 72 {720 - 18 * i} Td ({line}) Tj ET")
    stream = "\n".join(text).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_media(master: Master, index: int, target: Path) -> None:
    """Generate the master file locally: H.264/AAC mp4 with sound, PNG/JPEG images, or a PDF."""
    pattern = _PATTERN[index % len(_PATTERN)]
    if master.kind == "video":
        _ffmpeg(
            "-f", "lavfi", "-i", f"{pattern}=size=320x180:rate=25",
            "-f", "lavfi", "-i", f"sine=frequency={440 + 110 * index}:sample_rate=44100",
            "-t", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast",
            "-c:a", "aac", "-b:a", "64k", "-shortest", "-movflags", "+faststart", "-f", "mp4", str(target),
        )
    elif master.kind in ("png", "jpg"):
        codec = ["-c:v", "png", "-f", "image2"] if master.kind == "png" else ["-c:v", "mjpeg", "-f", "image2"]
        _ffmpeg("-f", "lavfi", "-i", f"{pattern}=size=640x360", "-frames:v", "1", *codec, str(target))
    else:
        title = master.file_name.rsplit(".", 1)[0].replace("_", " ")
        target.write_bytes(_pdf(title, [master.description, "Demo document generated by the sandbox seed."]))


def _field(value: Any, kind: str = "scalar", vtype: str = "string") -> dict[str, Any]:
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    return {"kind": kind, "type": vtype, "values": values}


def _master_metadata(campaign: Campaign, master: Master) -> dict[str, Any]:
    _brand, subject, asset_type = master.file_name.rsplit(".", 1)[0].split("_")
    return {
        "ARTESIA.FIELD.ASSET NAME": _field(master.file_name.rsplit(".", 1)[0]),
        "ARTESIA.FIELD.ASSET DESCRIPTION": _field(master.description),
        "FERRERO.FIELD.MKTG.ASSET TYPE": _field(asset_type if master.kind != "pdf" else "document", "domain"),
        "FERRERO.FIELD.FISCAL YEAR": _field("2025/2026"),
        "MAIN_LANGUAGES": _field(master.languages, "table"),
        "FERRERO.FIELD.STATE": _field("Global"),
        "FERRERO.FIELD.BRAND": _field(campaign.brand),
        "FERRERO.FIELD.SUB BRAND": _field(campaign.sub_brand),
        "FERRERO.FIELD.CAMPAIGN NAME": _field(campaign.name),
        "FERRERO.MARKETING.FIELD.AGENCY NAME": _field(campaign.agency),
        "FERRERO.MARKETING.FIELD.SPOT_VERSION": _field("v1" if master.kind == "video" else ""),
        "FERRERO.MARKETING.FIELD.DIRECTOR_NAME": _field(campaign.director if master.kind == "video" else ""),
        "FERRERO.MARKETING.FIELD.CHANNEL": _field("TV" if master.kind == "video" else "Digital"),
        "FERRERO.MARKET.FIELD.IPRIGHT": _field("Worldwide, 24 months"),
        "FERRERO.MARKET.FIELD.BUYOUT": _field("Yes" if master.kind == "video" else "No"),
        "FERRERO.MARKET.FIELD.REGION": _field("EMEA"),
        "FERRERO.MARKET.FIELD.RIGHTS_START_DATE": _field("2026-01-01T00:00:00Z", vtype="dateTime"),
        "FERRERO.MARKET.FIELD.RIGHTS_END_DATE": _field("2027-12-31T00:00:00Z", vtype="dateTime"),
        "FERRERO.FIELD.ASSETCOMPLIANCE": _field("Approved"),
        "MARKETING_TAG": _field(subject.replace("-", " ")),
    }


def _child(store: OtmmStore, parent_id: str, name: str) -> dict[str, Any] | None:
    return next((c for c in store.children(parent_id) if c["name"] == name), None)


def _domain_values(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "active_from": "",
            "active_to": "",
            "description": label,
            "display_value": label,
            "expired_value": False,
            "field_value": {"type": "string", "value": code},
        }
        for code, label in pairs
    ]


def seed_otmm(settings: SandboxSettings) -> dict[str, Any]:
    """The demo DAM: lookup domains, ``Campaigns`` with two A1 campaigns (plus the generated extra ones), their
    masters and Final Assets."""
    store = OtmmStore(settings.otmm_dir)
    for domain_id, pairs in (
        (ASSET_TYPE_DOMAIN, ASSET_TYPES),
        (ASSET_TYPE_DOMAIN_ALIAS, ASSET_TYPES),
        (LANGUAGE_DOMAIN, LANGUAGES),
    ):
        existing = store.domain(domain_id)
        if existing is None or existing["domain_values"] != _domain_values(pairs):
            store.put_domain(domain_id, _domain_values(pairs))

    user = settings.otmm_username
    campaigns_folder = _child(store, PUBLIC_ROOT_ID, CAMPAIGNS_FOLDER) or store.create_folder(
        PUBLIC_ROOT_ID, CAMPAIGNS_FOLDER, model_id=DEFAULT_FOLDER_MODEL, user=user
    )
    result: dict[str, Any] = {"campaigns_folder_id": campaigns_folder["asset_id"], "campaigns": []}
    work = settings.data_dir / "tmp"
    work.mkdir(parents=True, exist_ok=True)
    media_index = 0
    for campaign in CAMPAIGNS + extra_campaigns(settings.seed_extra_campaigns, settings.seed_extra_masters):
        folder = _child(store, campaigns_folder["asset_id"], campaign.name) or store.create_folder(
            campaigns_folder["asset_id"],
            campaign.name,
            metadata={
                "FERRERO.CAMPAIGN.FIELD.STATUS": _field("A1"),
                "FERRERO.CAMPAIGN.FIELD.NUMBER": _field(campaign.number),
            },
            model_id=DEFAULT_FOLDER_MODEL,
            user=user,
        )
        final = _child(store, folder["asset_id"], FINAL_ASSETS_FOLDER) or store.create_folder(
            folder["asset_id"], FINAL_ASSETS_FOLDER, model_id=DEFAULT_FOLDER_MODEL, user=user
        )
        masters = []
        for master in campaign.masters:
            media_index += 1
            asset = _child(store, folder["asset_id"], master.file_name)
            if asset is None:
                with tempfile.TemporaryDirectory(dir=work) as tmp:
                    path = Path(tmp) / master.file_name
                    make_media(master, media_index, path)
                    content_id, size = store.store_blob(path)
                asset = store.create_asset(
                    folder["asset_id"],
                    master.file_name,
                    _MIME[master.kind],
                    content_id,
                    size,
                    metadata=_master_metadata(campaign, master),
                    model_id=DEFAULT_ASSET_MODEL,
                    user=user,
                )
            masters.append({"asset_id": asset["asset_id"], "name": master.file_name})
        result["campaigns"].append(
            {
                "id": folder["asset_id"],
                "number": campaign.number,
                "name": campaign.name,
                "brand": campaign.brand,
                "status": folder["metadata"].get("FERRERO.CAMPAIGN.FIELD.STATUS", {}).get("values", [None])[0],
                "final_assets_folder_id": final["asset_id"],
                "masters": masters,
            }
        )
    return result


def seed(settings: SandboxSettings) -> dict[str, Any]:
    """Seed the DAM and Box; write and return ``seed.json``."""
    result = seed_otmm(settings)
    from sandbox.box.seed import seed_box

    box = seed_box(settings)
    result.update(box)  # root_folder_id
    result["box_root_folder_id"] = box["root_folder_id"]
    tmp = settings.data_dir / "seed.json.tmp"
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, settings.data_dir / "seed.json")
    return result


def reset(settings: SandboxSettings) -> None:
    """Wipe ``<data_dir>`` except ``credentials.json``. Stop the sandbox first."""
    if not settings.data_dir.exists():
        return
    for entry in settings.data_dir.iterdir():
        if entry.name == settings.credentials_path.name:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def running_pid(settings: SandboxSettings) -> int | None:
    """The pid of a sandbox serving this data folder, if one is alive."""
    try:
        pid = int(json.loads(settings.endpoints_path.read_text())["pid"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError):
        return None
    return pid
