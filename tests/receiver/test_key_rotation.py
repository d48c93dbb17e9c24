"""Rotating Box's webhook signature keys (README, "Rotating the signature keys"): at every step of the switch the
receiver accepts what Box sends, because Box signs with both keys and one of them is always the receiver's; a key
retired from both sides is refused."""

from __future__ import annotations

from receiver import signature
from receiver.webhook_body import classify, parse_body
from tests.receiver.conftest import box_timestamp, signed_headers, upload_event

OLD_PRIMARY, OLD_SECONDARY = "old-primary-key-0000", "old-secondary-key-0000"
NEW_PRIMARY, NEW_SECONDARY = "new-primary-key-1111", "new-secondary-key-1111"

#: (what Box signs with: primary, secondary), (what the receiver holds: BOX_WEBHOOK_PRIMARY_KEY, ..._SECONDARY_KEY)
ROTATION = [
    ("before", (OLD_PRIMARY, OLD_SECONDARY), (OLD_PRIMARY, OLD_SECONDARY)),
    ("1. secondary regenerated in Box", (OLD_PRIMARY, NEW_SECONDARY), (OLD_PRIMARY, OLD_SECONDARY)),
    ("2. receiver given the new secondary", (OLD_PRIMARY, NEW_SECONDARY), (OLD_PRIMARY, NEW_SECONDARY)),
    ("3. primary regenerated in Box", (NEW_PRIMARY, NEW_SECONDARY), (OLD_PRIMARY, NEW_SECONDARY)),
    ("4. receiver given the new primary", (NEW_PRIMARY, NEW_SECONDARY), (NEW_PRIMARY, NEW_SECONDARY)),
]


def _headers(body: bytes, primary: str | None, secondary: str | None) -> dict[str, str]:
    return {k.lower(): v for k, v in signed_headers(body, primary=primary, secondary=secondary,
                                                     timestamp=box_timestamp(-2)).items()}


def test_every_step_of_a_key_rotation_accepts_boxs_deliveries() -> None:
    body = b'{"id": "e-1", "trigger": "FILE.UPLOADED"}'
    for step, (box_primary, box_secondary), (ours_primary, ours_secondary) in ROTATION:
        headers = _headers(body, box_primary, box_secondary)
        assert signature.check(body, headers, ours_primary, ours_secondary) is None, step


def test_a_retired_key_is_refused_and_either_key_alone_is_enough() -> None:
    body = b'{"id": "e-2"}'
    assert signature.check(body, _headers(body, OLD_PRIMARY, OLD_SECONDARY), NEW_PRIMARY, NEW_SECONDARY) == \
        "signature does not match"
    assert signature.check(body, _headers(body, NEW_PRIMARY, None), NEW_PRIMARY, None) is None
    assert signature.check(body, _headers(body, None, NEW_SECONDARY), None, NEW_SECONDARY) is None
    # A signature is checked against its own slot's key: the new primary in the secondary slot does not count.
    assert signature.check(body, _headers(body, None, NEW_PRIMARY), NEW_PRIMARY, None) is not None


def test_webhook_deleted_and_file_triggers_are_not_ignored() -> None:
    def classified(trigger: str):
        return classify(parse_body(__import__("json").dumps(upload_event(trigger=trigger)).encode()),
                        delivery_id="d", derivatives_folder_name="Derivatives", service_account_user_id="11111")

    for trigger in ("FILE.UPLOADED", "FILE.COPIED", "FILE.MOVED", "FILE.RESTORED", "WEBHOOK.DELETED"):
        assert classified(trigger).ignore_reason is None, trigger
    assert "is not a file trigger we watch" in classified("FILE.TRASHED").ignore_reason
