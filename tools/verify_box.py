"""The Box half of ``make verify``: token, root folder, service account, webhooks; with ``write``, an upload, a
download and a delete in the operator's test folder."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from ferrero_provider.box.hooks import BoxHook
from include.ferrero.config import load_settings
from include.ferrero.runtime import box_settings, retry_policy
from tools.verify_report import Finding

if TYPE_CHECKING:
    from collections.abc import Callable


class BoxVerifier:
    """Runs the Box checks with the connection ``box_default``."""

    def __init__(self, conn_id: str = "box_default") -> None:
        config = load_settings()
        self.hook = BoxHook(conn_id, retry=retry_policy(config), settings=box_settings(config))
        self.findings: list[Finding] = []

    def check(self, assumption: str, probe: Callable[[], str]) -> None:
        try:
            self.findings.append(Finding("box", assumption, probe(), True))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a row of the report
            self.findings.append(Finding("box", assumption, f"failed: {exc}", False))

    def run_read_only(self, root_folder_id: str) -> list[Finding]:
        client = self.hook.get_conn()
        self.check("a token is issued for the connection", lambda: f"token for {self.hook.conn_settings.subject}")

        def me() -> str:
            user = client.users.get_user_me()
            return f"service account {user.login or user.name} (id {user.id})"

        def root() -> str:
            folder = client.folders.get_folder_by_id(root_folder_id)
            return f"root folder {folder.id} {folder.name!r}"

        def webhooks() -> str:
            hooks = client.webhooks.get_webhooks().entries or []
            targets = ", ".join(f"{h.id} on {h.target.id}" for h in hooks if h.target)
            return f"{len(hooks)} webhook(s)" + (f": {targets}" if targets else "")

        self.check("the service account is readable", me)
        self.check("the configured root folder (box.root_folder_id) is reachable", root)
        self.check("the webhook list is readable", webhooks)
        return self.findings

    def run_writes(self, folder_id: str, work_dir: Path) -> list[Finding]:
        def round_trip() -> str:
            name = f"verify-{uuid.uuid4().hex[:8]}.txt"
            source = work_dir / name
            source.write_bytes(b"make verify: Box round trip\n")
            uploaded = self.hook.client.uploads.upload_file(folder_id, source)
            copy = self.hook.client.downloads.download_file(uploaded.file_id, work_dir / f"{name}.back")
            self.hook.get_conn().files.delete_file_by_id(uploaded.file_id)
            same = Path(copy.path).read_bytes() == source.read_bytes()
            if not same:
                raise ValueError("the downloaded bytes differ from the uploaded ones")
            return f"uploaded, downloaded (same bytes) and deleted {name} (file {uploaded.file_id})"

        self.check("a file can be uploaded, downloaded and deleted in the test folder", round_trip)
        return self.findings
