"""The cockpit's read-only queries on a small tracking database: counts, latest transfer state, waiting
tracking IDs, failures resolved by a later version, messages."""

from __future__ import annotations

import psycopg2
import pytest

from cockpit.queries import CockpitDb

SEED = """
INSERT INTO campaigns (campaign_id, campaign_number, name, status) VALUES
    ('c1', 'CMP-1', 'One', 'A2'), ('c2', 'CMP-2', 'Two', 'A1');
INSERT INTO campaign_status_changes (campaign_id, old_status, new_status, dag_run_id)
    VALUES ('c1', 'A1', 'A2', 'run-a');
INSERT INTO master_assets (tracking_id, dam_asset_id, campaign_id, name, box_file_id) VALUES
    ('AAAAA1', 'm1', 'c1', 'one.mp4', 'b1'), ('AAAAA2', 'm2', 'c1', 'two.jpg', 'b2'),
    ('AAAAA3', 'm3', 'c2', 'three.pdf', NULL);
INSERT INTO master_transfers (dag_run_id, dam_asset_id, campaign_id, asset_name, status, error, updated_at) VALUES
    ('run-x', 'm2', 'c1', 'two.jpg', 'failed', 'The DAM answered 503.', now() - interval '1 hour'),
    ('run-a', 'm1', 'c1', 'one.mp4', 'succeeded', NULL, now()),
    ('run-a', 'm2', 'c1', 'two.jpg', 'succeeded', NULL, now()),
    ('run-b', 'm3', 'c2', 'three.pdf', 'failed', 'three.pdf is larger than 5 GB.', now());
INSERT INTO derivative_assets (tracking_id, master_asset_id, file_name, box_file_id, dam_asset_id)
    SELECT 'AAAAA1', id, 'AAAAA1_One_video_IT_v01.mp4', 'd1', 'dam-d1' FROM master_assets WHERE dam_asset_id = 'm1';
INSERT INTO derivative_versions (box_file_id, box_file_version_id, box_position, tracking_id, file_name,
                                 dam_asset_id, dam_version, processed_at) VALUES
    ('d1', 'v1', 1, 'AAAAA1', 'AAAAA1_One_video_IT_v01.mp4', 'dam-d1', 1, now() - interval '2 days'),
    ('d1', 'v2', 2, 'AAAAA1', 'AAAAA1_One_video_IT_v01.mp4', 'dam-d1', 2, now());
INSERT INTO derivative_failures (box_file_id, box_file_version_id, file_name, campaign_id, error, dag_run_id,
                                 failed_at) VALUES
    ('d1', 'v0', 'AAAAA1_One_video_IT_v01.mp4', 'c1', 'Unknown language XX.', 'box_d1_v0', now() - interval '3 days'),
    ('bad', 'v1', 'bad name.mp4', 'c1', 'bad name.mp4 does not start with a tracking ID.', 'box_bad_v1', now()),
    ('lost', 'v1', 'x.mp4', NULL, 'x.mp4 does not start with a tracking ID.', 'box_lost_v1', now());
INSERT INTO outbox_messages (message_key, channel, target, campaign_id, body, status) VALUES
    ('k1', 'webhook', 'campaign_status', 'c1', '{}', 'sent'), ('k2', 'email', 'success', 'c1', '{}', 'failed'),
    ('k3', 'webhook', 'asset_upload_complete', 'c1', '{}', 'pending'),
    ('k4', 'webhook', 'asset_upload_complete', 'c2', '{}', 'pending'),
    ('k5', 'email', 'campaign_processing_failed', NULL, '{"subject": "x"}', 'failed');
INSERT INTO outbox_messages (message_key, channel, target, campaign_id, body, status, sent_at, last_error) VALUES
    ('flip/c1/A1-A2/cycle-1/status-webhook', 'webhook', 'campaign_status_update', 'c1', '{}', 'sent',
     '2026-12-06 10:00:00+00', NULL),
    ('flip/c1/A1-A2/cycle-1/email', 'email', 'success', 'c1', '{"subject": "c1 in A2"}', 'failed', NULL,
     'Mailgun answered 400');
"""


@pytest.fixture
def cockpit(tracking_dsn: str) -> CockpitDb:
    with psycopg2.connect(tracking_dsn) as conn, conn.cursor() as cur:
        cur.execute(SEED)
    conn.close()
    return CockpitDb.from_dsn(tracking_dsn)


def test_overview_counts(cockpit: CockpitDb) -> None:
    page = cockpit.overview()
    assert page["summary"] == {"masters": 3, "derivatives": 1, "pending_a1": 1, "pending_a2": 1,
                               "uploads_24h": 1, "failed_uploads": 2, "pending_messages": 2,
                               "failed_messages": 3}
    assert [(m["message_key"], m["status"]) for m in page["unattributed_messages"]] == [("k5", "failed")]
    assert [f["box_file_id"] for f in page["unattributed_failures"]] == ["lost"]
    one, two = page["campaigns"]
    assert (one["campaign_number"], one["masters"], one["in_box"], one["derivatives"], one["waiting"]) == (
        "CMP-1", 2, 2, 1, 1)
    assert (one["failed_masters"], one["failed_derivatives"], one["outbox_pending"], one["outbox_failed"]) == (
        0, 1, 1, 2)  # m2 failed, then succeeded; d1's failure was resolved by a later version
    assert [(h["old"], h["new"], h["run"]) for h in one["history"]] == [("A1", "A2", "run-a")]
    assert (two["masters"], two["in_box"], two["failed_masters"], two["history"]) == (1, 0, 1, [])


def test_campaign_page(cockpit: CockpitDb) -> None:
    page = cockpit.campaign("c1")
    assert [(m["name"], m["transfer_status"]) for m in page["masters"]] == [
        ("one.mp4", "succeeded"), ("two.jpg", "succeeded")]
    [derivative] = page["masters"][0]["derivatives"]
    assert (derivative["dam_asset_id"], derivative["dam_version"], derivative["versions"]) == ("dam-d1", 2, 2)
    assert [m["tracking_id"] for m in page["waiting"]] == ["AAAAA2"]
    assert [(f["box_file_id"], f["resolved"]) for f in page["failures"]] == [("bad", False), ("d1", True)]
    assert [o["status"] for o in page["outbox"]] == ["sent", "failed", "pending", "sent", "failed"]
    assert page["outbox"][-1]["subject"] == "c1 in A2"
    [change] = page["history"]  # when its messages went out, from the outbox
    assert change["webhook"]["sent_at"].isoformat() == "2026-12-06T10:00:00+00:00"
    assert (change["email"]["status"], change["email"]["last_error"]) == ("failed", "Mailgun answered 400")
    failed = cockpit.campaign("c2")["failed_masters"]
    assert [(m["name"], m["transfer_error"], m["transfer_run"]) for m in failed] == [
        ("three.pdf", "three.pdf is larger than 5 GB.", "run-b")]
    assert cockpit.campaign("nope") is None


def test_sessions_are_read_only(cockpit: CockpitDb) -> None:
    with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction), cockpit._cursor() as cur:
        cur.execute("DELETE FROM campaigns")


def test_campaign_page_renders_messages_with_resend_and_history_times(cockpit: CockpitDb) -> None:
    from cockpit.cockpit_app import TaskLinks, render_campaign, render_overview

    html = render_campaign(cockpit.campaign("c1"), TaskLinks("/base", {}), resend_run="resend__CMP-1__x")
    assert html.count('class="resend"') == 2  # one button per failed message (k2, the flip's email)
    assert 'action="/base/cockpit/campaigns/c1/resend"' in html and 'id="resend-all"' in html
    assert 'id="resend-notice"' in html and "/base/dags/outbox_dispatch/runs/resend__CMP-1__x" in html
    assert '<td data-field="webhook-sent">2026-12-06 10:00:00 UTC</td>' in html
    assert '<td data-field="email-sent"><span class="state failed">failed</span></td>' in html
    assert len(html) < 20_000
    overview = render_overview(cockpit.overview(), TaskLinks("", {}))
    assert '<span data-field="outbox_failed" class="state failed">2</span>' in overview
    assert 'action="/cockpit/messages/resend"' in overview  # k5, of no campaign


def test_a_later_file_for_the_same_master_supersedes_a_failure(cockpit: CockpitDb, tracking_dsn: str) -> None:
    """A valid file for the failed file's master, created in Box after it, resolves the failure; one created
    before it (e.g. the agency's other locale, whichever run ran first) does not."""
    with psycopg2.connect(tracking_dsn) as conn, conn.cursor() as cur:
        cur.execute("""
            INSERT INTO derivative_failures (box_file_id, box_file_version_id, file_name, tracking_id, campaign_id,
                                             error, box_created_at, failed_at) VALUES
                ('early', 'v1', 'AAAAA2_Two_image_IT.jpg', 'AAAAA2', 'c1', 'no version', now() - interval '1 hour',
                 now()),
                ('late', 'v1', 'AAAAA2_Two_image_FR.jpg', 'AAAAA2', 'c1', 'no version', now() + interval '1 hour',
                 now());
            INSERT INTO derivative_versions (box_file_id, box_file_version_id, box_position, tracking_id, file_name,
                                             dam_asset_id, box_created_at, processed_at)
                VALUES ('good', 'v1', 1, 'AAAAA2', 'AAAAA2_Two_image_DE_v01.jpg', 'dam-good', now(),
                        now() - interval '1 day');
        """)
    conn.close()
    failures = {f["box_file_id"]: f for f in cockpit.campaign("c1")["failures"]}
    assert (failures["early"]["resolved"], failures["early"]["superseded_by"]) == (True, "AAAAA2_Two_image_DE_v01.jpg")
    assert failures["early"]["master_name"] == "two.jpg"
    assert failures["late"]["resolved"] is False
