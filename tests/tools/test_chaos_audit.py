"""The chaos audit's counting, over sample records: lost, duplicated (by fact and by key) and unexpected."""

from __future__ import annotations

from collections import Counter

from tools.chaos import audit
from tools.chaos.agency import Ledger, Upload

GOOD = "K7M2QX_Nutella_Jar-Hero_image_IT_v01.png"
GOOD_2 = "A1B2C3_Nutella_Key-Visual_image_DE_CH_v01.jpg"
BAD = "K7M2QX_Nutella_Jar-Hero_image_IT.png"


def _upload(name: str, version: str, *, bad: bool = False, master: str = "Nutella_Jar-Hero_image.png",
            campaign: str = "CMP-1", file_id: str = "f1") -> Upload:
    return Upload(campaign, master, name, file_id, version, f"sha-{version}", bad, 0.0)


def _ledger() -> Ledger:
    """Two campaigns; CMP-1's two masters get derivatives (one in two versions) and one bad file in two versions;
    CMP-2 gets nothing, so only CMP-1 must reach A3."""
    return Ledger(
        {"CMP-1": ["Nutella_Jar-Hero_image.png", "Nutella_Key-Visual_image.jpg"], "CMP-2": ["Kinder_Bar_image.png"]},
        [
            _upload(GOOD, "1"),
            _upload(GOOD, "2"),
            _upload(GOOD_2, "3", master="Nutella_Key-Visual_image.jpg", file_id="f2"),
            _upload(BAD, "4", bad=True, file_id="f3"),
            _upload(BAD, "5", bad=True, file_id="f3"),
        ],
    )


def _row(rows: list[audit.Row], name: str) -> audit.Row:
    return next(r for r in rows if r.name == name)


def test_compare_counts_lost_duplicated_and_unexpected() -> None:
    row = audit.compare("x", Counter({"a": 1, "b": 2, "c": 1}), Counter({"a": 3, "b": 1, "z": 2}))
    assert (row.expected, row.present, row.lost, row.duplicated, row.unexpected) == (4, 2, 2, 2, 2)
    assert row.lost_keys == ["b", "c"] and row.duplicated_keys == ["a x3"] and row.unexpected_keys == ["z x2"]


def test_expectations_come_from_the_ledger() -> None:
    ledger = _ledger()
    assert audit.campaigns_reaching_a3(ledger) == {"CMP-1"}
    assert audit.expected_flips(ledger) == Counter(
        {("CMP-1", "A1", "A2"): 1, ("CMP-2", "A1", "A2"): 1, ("CMP-1", "A2", "A3"): 1})
    assert audit.expected_emails(ledger)[("upload failed", BAD)] == 2  # one per bad file version


def test_messages_by_fact_and_by_key() -> None:
    def hook(number: str, old: str, new: str, key: str | None) -> dict:
        return {"body": {"campaign_number": number, "old_status": old, "new_status": new},
                "headers": {"Idempotency-Key": key} if key else {}}

    # the A1->A2 flip of CMP-1 sent twice with one key (a retry an idempotent receiver drops), its A2->A3 flip
    # sent twice under two keys (a real second message), CMP-2's A1->A2 missing
    webhooks = [hook("CMP-1", "A1", "A2", "k1"), hook("CMP-1", "A1", "A2", "k1"), hook("CMP-1", "A2", "A3", "k2"),
                hook("CMP-1", "A2", "A3", "k3")]
    mails = [
        {"subject": "Campaign CMP-1 Nutella: all 2 masters are in Box (A2)", "message_id_header": "<m1>"},
        {"subject": "Campaign CMP-2 Kinder: all 1 masters are in Box (A2)", "message_id_header": "<m2>"},
        {"subject": "Campaign CMP-1 Nutella: every master has its derivative (A3)", "message_id_header": "<m3>"},
        {"subject": f"Derivative {BAD} was not uploaded to the DAM", "message_id_header": "<m4>"},
        {"subject": f"Derivative {BAD} was not uploaded to the DAM", "message_id_header": "<m5>"},
        {"subject": f"Derivative {BAD} was not uploaded to the DAM", "message_id_header": "<m5>"},
        {"subject": "Campaign CMP-2 Kinder: 1 of 1 masters failed, status stays A1"},
        {"subject": "Campaign CMP-1 Nutella: all 2 masters are in Box (A2)", "message_id_header": "<m6>"},
    ]
    hooks, emails = audit.message_rows(_ledger(), webhooks, mails)
    assert (hooks.expected, hooks.present, hooks.lost, hooks.duplicated) == (3, 2, 1, 1)
    assert (hooks.raw, hooks.dup_by_key) == (4, 1)
    assert (emails.expected, emails.present, emails.lost, emails.duplicated, emails.unexpected) == (5, 5, 0, 1, 1)
    assert (emails.raw, emails.dup_by_key) == (8, 1)
    assert audit.duplicates_by_key([None, None]) == "no keys"


def test_masters_tracking_ids_dam_and_runs() -> None:
    ledger = _ledger()
    masters = [
        ("CMP-1", "K7M2QX_Nutella_Jar-Hero_image.png", 1),
        ("CMP-1", "ZZZZZZ_Nutella_Jar-Hero_image.png", 1),  # a second file, under a second tracking ID
        ("CMP-2", "A1B2C3_Kinder_Bar_image.png", 2),  # one file, two versions; its ID also on another master
        ("CMP-1", "A1B2C3_Nutella_Key-Visual_image.jpg", 1),
    ]
    tracking, files = audit.master_rows(ledger, masters)
    assert (tracking.present, tracking.lost, tracking.duplicated) == (3, 0, 3)
    assert (files.present, files.lost, files.duplicated) == (3, 0, 2)

    final_assets = [("CMP-1", "Nutella_Jar-Hero_image_IT_v01.png", 2, "sha-1"),  # holds an older version
                    ("CMP-1", "Nutella_Key-Visual_image_DE_CH_v01.jpg", 1, "sha-3"),
                    ("CMP-1", "Nutella_Key-Visual_image_DE_CH_v01.jpg", 1, "sha-3")]
    assets, versions, latest = audit.dam_rows(ledger, final_assets)
    assert (assets.expected, assets.present, assets.lost, assets.duplicated) == (2, 2, 0, 1)
    assert (versions.expected, versions.present, versions.lost, versions.duplicated) == (3, 3, 0, 1)
    assert (latest.expected, latest.present, latest.lost, latest.duplicated, latest.unexpected) == (2, 1, 1, 1, 1)

    a1_to_a2, a2_to_a3 = audit.flip_rows(ledger, {"CMP-1": "A3", "CMP-2": "A1"})
    assert (a1_to_a2.expected, a1_to_a2.present, a1_to_a2.lost) == (2, 1, 1)
    assert (a2_to_a3.expected, a2_to_a3.present, a2_to_a3.lost) == (1, 1, 0)

    runs = [{"dag_run_id": f"box_{f}_v{v}", "conf": {"box_file_id": f, "box_file_version_id": v}}
            for f, v in (("f1", "1"), ("f1", "2"), ("f1", "2"), ("f2", "3"), ("f3", "4"))]
    a1_runs = [{"dag_run_id": "CMP-1__Nutella__a1-cycle1"}, {"dag_run_id": "CMP-2__Kinder__a1-cycle1"}]
    box_runs, campaign_runs = audit.run_rows(ledger, runs, a1_runs)
    assert (box_runs.expected, box_runs.present, box_runs.lost, box_runs.duplicated) == (5, 4, 1, 1)
    assert (campaign_runs.present, campaign_runs.lost, campaign_runs.duplicated) == (2, 0, 0)
    assert audit.passed([campaign_runs]) and not audit.passed([box_runs])
    assert "Box events -> runs" in audit.table([box_runs, campaign_runs])
