"""The chaos scenario's agency: uploads derivatives into Box as the agency user and writes every upload, with
its Box file and version id, into the scenario's ledger (what the audit expects)."""

from __future__ import annotations

import functools
import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.box.agency import (
    _child,
    _folder_entries,
    _root_folder_id,
    _sha1,
    derivatives_folder_id,
    localize,
    put_file,
    v2_name,
)
from sandbox.box.client import ccg_client
from sandbox.settings import SandboxSettings

if TYPE_CHECKING:
    from box_sdk_gen import BoxClient


def _is_campaign_folder(number: str, name: str) -> bool:
    return name == number or name.startswith(f"{number} ")


@dataclass
class Upload:
    """One file version the agency put into a campaign's ``Derivatives/`` folder."""

    campaign: str
    master: str  # the seed's master name (without tracking ID)
    name: str
    file_id: str
    version_id: str
    sha1: str
    bad: bool
    at: float


@dataclass
class Ledger:
    """What the scenario did: campaigns and their masters (from seed.json), uploads, faults, kills."""

    campaigns: dict[str, list[str]]
    uploads: list[Upload] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.actions.append(f"{stamp} {text}")
        print(f"chaos {stamp}  {text}", flush=True)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> Ledger:
        data = json.loads(path.read_text())
        return cls(data["campaigns"], [Upload(**u) for u in data["uploads"]], data["actions"])


def bad_tracking(name: str) -> str:
    """A name whose tracking ID is in lower case: refused by the V2 convention."""
    return name[:6].lower() + name[6:]


@dataclass
class MasterCopy:
    campaign: str
    seed_name: str  # as seeded in the DAM
    box_name: str  # <TRACKING>_<seed name>, as in Box
    index: int
    path: Path


class Agency:
    """Signed in as the sandbox's agency user; keeps a local copy of every master to derive files from."""

    def __init__(self, data_dir: Path, ledger: Ledger, work: Path) -> None:
        self.settings = SandboxSettings.from_env({"SANDBOX_DATA_DIR": str(data_dir)}, persist=False)
        endpoints = json.loads((data_dir / "endpoints.json").read_text())
        self.client: BoxClient = ccg_client(self.settings, endpoints, user_id=self.settings.box_agency_user_id)
        self.ledger, self.work = ledger, work
        self.masters: list[MasterCopy] = []
        self.derivatives_folder: dict[str, str] = {}
        self.file_ids: dict[tuple[str, str], str] = {}  # (campaign, name) -> Box file id
        self._serial = 0

    def fetch_masters(self) -> None:
        """Download every campaign's masters once (before faults are armed) and find its Derivatives folder."""
        root_id = _root_folder_id(self.client, self.settings.data_dir)
        for number, seed_names in self.ledger.campaigns.items():
            campaign = _child(self.client, root_id, functools.partial(_is_campaign_folder, number))
            if campaign is None:
                raise RuntimeError(f"chaos: campaign {number} has no Box folder (not in A2?)")
            masters_folder = _child(self.client, campaign.id, lambda n: n.casefold() == "masters")
            if masters_folder is None:
                raise RuntimeError(f"chaos: campaign {number} has no Masters folder in Box")
            files = sorted((e for e in _folder_entries(self.client, masters_folder.id) if e.type.value == "file"),
                           key=lambda e: e.name)
            for index, entry in enumerate(files):
                seed_name = next((s for s in seed_names if entry.name.endswith(f"_{s}")), None)
                if seed_name is None or any(m.seed_name == seed_name and m.campaign == number for m in self.masters):
                    continue  # a file that is no master, or a second copy of one (the audit counts those)
                local = self.work / f"{number}-{index}{Path(entry.name).suffix.lower()}"
                with local.open("wb") as fh:
                    self.client.downloads.download_file_to_output_stream(entry.id, fh)
                self.masters.append(MasterCopy(number, seed_name, entry.name, index, local))
            self.derivatives_folder[number] = derivatives_folder_id(self.client, campaign.id)

    def upload(self, master: MasterCopy, name: str, *, bad: bool) -> Upload:
        """Upload ``name`` (new content every time) into the master's campaign: a new file or a new version."""
        self._serial += 1
        local = self.work / f"upload-{self._serial}{master.path.suffix}"
        shutil.copyfile(master.path, local)
        localize(local, f"chaos agency upload {self._serial} of {name}")
        sha1, key = _sha1(local), (master.campaign, name)
        put = put_file(self.client, self.derivatives_folder[master.campaign], name, local,
                       file_id=self.file_ids.get(key), keep_same=False)
        local.unlink()
        self.file_ids[key] = put.file_id
        record = Upload(master.campaign, master.seed_name, name, put.file_id, str(put.version_id), sha1, bad,
                        time.time())
        self.ledger.uploads.append(record)
        return record

    def good_name(self, master: MasterCopy, locale_shift: int = 0) -> str:
        return v2_name(master.box_name, master.index + locale_shift)

    def bad_names(self, master: MasterCopy) -> list[str]:
        """Two ways to get a name wrong: no version segment; a tracking ID in lower case."""
        return [v2_name(master.box_name, master.index + 1, bad=True),
                bad_tracking(v2_name(master.box_name, master.index + 2))]

    def summary(self) -> dict[str, Any]:
        return {"uploads": len(self.ledger.uploads), "bad": sum(u.bad for u in self.ledger.uploads),
                "files": len({(u.campaign, u.name) for u in self.ledger.uploads})}
