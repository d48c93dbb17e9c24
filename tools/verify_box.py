"""The Box half of ``make verify``: token, root folder, service account, the webhook (its address and triggers
against what the product needs) and the event stream (readable with this authentication?); with ``write``, an
upload, a download and a delete in the operator's test folder, and which events a new version's upload
produces in the stream."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from ferrero_provider.box.hooks import BoxHook
from include.ferrero.box_webhooks import WEBHOOK_TRIGGERS
from include.ferrero.config import load_settings
from include.ferrero.runtime import box_settings, retry_policy
from tools.verify_report import Finding

if TYPE_CHECKING:
    from collections.abc import Callable


class BoxVerifier:
    """Runs the Box checks with the connection ``box_default``."""

    def __init__(self, conn_id: str = BoxHook.default_conn_name) -> None:
        config = self.config = load_settings()
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
        self.findings.append(self._our_webhook(root_folder_id))
        self.findings.append(self._event_stream())
        return self.findings

    def _our_webhook(self, root_folder_id: str) -> Finding:
        """The webhook on the root folder against ``webhook.public_url`` and ``WEBHOOK_TRIGGERS``."""
        assumption = (f"a webhook on the root folder delivers to {self.config.webhook.address} (webhook.public_url) "
                      f"with the triggers {', '.join(WEBHOOK_TRIGGERS)}")
        fix = ("run `python -m receiver register-webhook` (every reconciliation also re-creates it, with a critical "
               "email)")
        try:
            hooks = [h for h in self.hook.client.watch.list_webhooks() if h.folder_id == str(root_folder_id)]
        except Exception as exc:  # noqa: BLE001 - a row of the report
            return Finding("box.webhook", assumption, f"failed: {exc}", False)
        if not hooks:
            return Finding("box.webhook", assumption, "no webhook on the root folder", False, setting=fix)
        hook = hooks[0]
        missing = sorted(set(WEBHOOK_TRIGGERS) - set(hook.triggers))
        seen = f"webhook {hook.webhook_id} -> {hook.address}; triggers {', '.join(hook.triggers) or 'none'}"
        if hook.address != self.config.webhook.address or missing:
            wrong = [*(["another address"] if hook.address != self.config.webhook.address else []),
                     *([f"missing {', '.join(missing)}"] if missing else [])]
            return Finding("box.webhook", assumption, f"{seen} ({'; '.join(wrong)})", False, setting=fix)
        return Finding("box.webhook", assumption, seen, True)

    def _event_stream(self) -> Finding:
        assumption = "the event stream (GET /events, stream_type=changes) is readable with this authentication"
        try:
            position = self.hook.client.watch.stream_position_now()
            page = self.hook.client.watch.events_since(position)
        except Exception as exc:  # noqa: BLE001 - a row of the report
            return Finding("box.events", assumption, f"refused: {exc}", False,
                           setting="the reconciliation falls back to listing every Derivatives folder each cycle "
                                   "(its cost grows with the files); give the app the read scope of the account's "
                                   "content")
        return Finding("box.events", assumption, f"position {position}; {len(page.entries)} event(s) after it", True)

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
        self.findings.append(self._new_version_events(folder_id, work_dir))
        return self.findings

    def _new_version_events(self, folder_id: str, work_dir: Path, wait_seconds: float = 60) -> Finding:
        """Upload a file and a new version of it; report the stream events about it (Box's lag: polled)."""
        assumption = "a new version's upload appears in the event stream as ITEM_UPLOAD (the reconciliation finds it)"
        try:
            position = self.hook.client.watch.stream_position_now()
            path = work_dir / f"verify-version-{uuid.uuid4().hex[:8]}.txt"
            path.write_bytes(b"make verify: version 1\n")
            first = self.hook.client.uploads.upload_file(folder_id, path)
            path.write_bytes(b"make verify: version 2\n")
            second = self.hook.client.uploads.upload_file(folder_id, path)
            seen: list[str] = []
            deadline = time.monotonic() + wait_seconds
            while len(seen) < 2 and time.monotonic() < deadline:
                page = self.hook.client.watch.events_since(position)
                position = page.next_position if page.entries else position
                seen += [e.event_type for e in page.entries if str(e.source.get("id")) == first.file_id]
                if len(seen) < 2:
                    time.sleep(2)
            self.hook.get_conn().files.delete_file_by_id(first.file_id)
        except Exception as exc:  # noqa: BLE001 - a row of the report
            return Finding("box.events", assumption, f"failed: {exc}", False)
        observed = (f"file {first.file_id}, versions {first.version_id} and {second.version_id} "
                    f"({second.outcome}): events {', '.join(seen) or 'none within 60 s'}")
        return Finding("box.events", assumption, observed, seen.count("ITEM_UPLOAD") >= 2,
                       note="whether Box's FILE.UPLOADED webhook fires for a new version shows in the receiver's "
                            f"box_webhook_events for file {first.file_id}")
