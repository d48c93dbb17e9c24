"""Mailgun-compatible sink and status-webhook receiver, driven over HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from sandbox.testing import RunningSandbox


def test_mailgun_refuses_wrong_key_and_queues_with_right_one(sandbox: RunningSandbox) -> None:
    base = sandbox.endpoints["mailgun_base_url"]
    requests.delete(f"{sandbox.endpoints['sinks_url']}/__sandbox__/mail", timeout=5)
    form = {"from": "Content Scaling <noreply@ferrero.test>", "to": ["a@x.test", "b@x.test"],
            "subject": "Campaign CMP-2026-001 is in A2", "html": "<p>done</p>", "text": "done"}
    refused = requests.post(f"{base}/mg.ferrero.test/messages", auth=("api", "wrong"), data=form, timeout=5)
    assert refused.status_code == 401
    assert requests.post(f"{base}/mg.ferrero.test/messages", data=form, timeout=5).status_code == 401

    resp = requests.post(f"{base}/mg.ferrero.test/messages", auth=("api", sandbox.settings.mailgun_api_key),
                         data=form, timeout=5)
    assert resp.status_code == 200
    body = resp.json()
    assert body["message"] == "Queued. Thank you."
    assert body["id"].startswith("<") and body["id"].endswith("@mg.ferrero.test>")

    items = requests.get(f"{sandbox.endpoints['sinks_url']}/__sandbox__/mail", timeout=5).json()["items"]
    assert len(items) == 1
    assert items[0]["to"] == ["a@x.test", "b@x.test"]
    assert items[0]["subject"] == "Campaign CMP-2026-001 is in A2"
    assert items[0]["id"] == body["id"]


def test_mailgun_multipart_and_missing_fields(sandbox: RunningSandbox) -> None:
    base = sandbox.endpoints["mailgun_base_url"]
    auth = ("api", sandbox.settings.mailgun_api_key)
    files = {"from": (None, "x@y.test"), "to": (None, "ops@y.test, dev@y.test"), "subject": (None, "multi")}
    assert requests.post(f"{base}/d.test/messages", auth=auth, files=files, timeout=5).status_code == 200
    items = requests.get(f"{sandbox.endpoints['sinks_url']}/__sandbox__/mail", timeout=5).json()["items"]
    assert items[-1]["to"] == ["ops@y.test", "dev@y.test"]
    assert requests.post(f"{base}/d.test/messages", auth=auth, data={"subject": "x"}, timeout=5).status_code == 400


def test_status_webhook_auth_and_listing(sandbox: RunningSandbox) -> None:
    url = sandbox.endpoints["status_webhook_url"]
    listing = f"{sandbox.endpoints['sinks_url']}/__sandbox__/status-webhooks"
    requests.delete(listing, timeout=5)
    event = {"campaign_id": "abc", "old_status": "A1", "new_status": "A2", "asset_count": 3}
    assert requests.post(url, json=event, timeout=5).status_code == 401
    assert requests.post(url, json=event, headers={"Authorization": "Bearer nope"}, timeout=5).status_code == 401
    ok = requests.post(url, json=event, headers={"Authorization": f"Bearer {sandbox.settings.status_webhook_token}"},
                       timeout=5)
    assert ok.status_code == 200
    items = requests.get(listing, timeout=5).json()["items"]
    assert [i["body"] for i in items] == [event]
    assert "authorization" not in items[0]["headers"]
    assert requests.delete(listing, timeout=5).json() == {"items": []}
    assert requests.get(listing, timeout=5).json()["items"] == []


def test_sinks_keep_state_on_disk(sandbox: RunningSandbox) -> None:
    url = sandbox.endpoints["status_webhook_url"]
    requests.post(url, json={"n": 1}, headers={"Authorization": f"Bearer {sandbox.settings.status_webhook_token}"},
                  timeout=5)
    stored = (sandbox.data_dir / "sinks" / "status-webhooks.jsonl").read_text()
    assert '"n": 1' in stored
