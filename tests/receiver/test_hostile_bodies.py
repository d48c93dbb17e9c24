"""Hostile bodies: whatever a signed delivery holds, the receiver stores it, ignores it with a reason (200) or
refuses it with 400 and one sentence, never 5xx. Explicit regressions, then property-based tests (hypothesis)
of the parser, the classifier, the storage and the real endpoint."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from typing import TYPE_CHECKING, Any

import httpx
import psycopg2
import psycopg2.extras
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from include.ferrero.box_webhooks import FILE_TRIGGERS
from include.ferrero.config_model import WebhookReceiverConfig
from include.ferrero.db import webhook_events
from include.ferrero.db.webhook_events import IGNORED, PENDING, WebhookEvent, WebhookEvents, storable
from receiver import webhook_body
from receiver.app import create_app
from receiver.settings import ReceiverSettings
from receiver.webhook_body import MAX_DEPTH, MAX_ID_LENGTH, PayloadError, classify, parse_body
from tests.airflow_api import free_port
from tests.receiver.conftest import SERVICE_ACCOUNT, upload_event

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.receiver.conftest import RunningReceiver

pytestmark = pytest.mark.timeout(180)

# -- strategies ----------------------------------------------------------------------------------------------

_NASTY = ["\x00", "\ud800", "\udfff", "\ud83d\ude00", "\\", '"', "[", "{", "\u2028", "\ufeff", "é", "FILE.UPLOADED",
          "Derivatives", "file", SERVICE_ACCOUNT]
texts = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=20),  # any code point, lone surrogates included
    st.lists(st.sampled_from(_NASTY), max_size=5).map("".join),
    st.sampled_from(["", " ", "x" * 300, *_NASTY]),
)
scalars = st.one_of(
    st.none(), st.booleans(), texts, st.floats(), st.integers(),
    st.integers(min_value=-(10**1100), max_value=10**1100),
)
json_values = st.recursive(
    scalars, lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=25,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside a JSON value (dict keys and list indexes)."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    found = []
    for key, child in items:
        found += [(*prefix, key), *_paths(child, (*prefix, key))]
    return found


@st.composite
def mutated_uploads(draw: st.DrawFn) -> dict[str, Any]:
    """A valid FILE.UPLOADED body with one to three fields replaced by arbitrary JSON (or removed)."""
    payload = upload_event(event_id=str(draw(st.uuids())))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(payload)
        if not paths:
            break
        *parents, last = draw(st.sampled_from(paths))
        holder = payload
        for key in parents:
            holder = holder[key]
        if isinstance(holder, dict) and draw(st.booleans()) and draw(st.booleans()):
            del holder[last]
        else:
            holder[last] = draw(json_values)
    return payload


payloads = st.one_of(json_values, mutated_uploads(), st.builds(upload_event))


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """Raw delivery bodies: JSON texts of the payloads above (ASCII-escaped or raw UTF-8, lone surrogates as
    invalid UTF-8), deep nesting, number literals and plain bytes."""
    kind = draw(st.sampled_from(["json", "json", "json", "deep", "number", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "number":  # long or huge number literals, as JSON text
        number = draw(st.from_regex(r"\A-?[1-9][0-9]{0,1100}(\.[0-9]{1,5})?([eE][+-]?[0-9]{1,4})?\Z"))
        return b'{"id": "n", "x": ' + number.encode() + b"}"
    payload = draw(payloads)
    if kind == "deep":
        depth = draw(st.integers(MAX_DEPTH - 3, 20_000))
        inner = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        return b'{"id": "deep", "x": ' + inner[0].encode() * depth + b"1" + inner[1].encode() * depth + b"}"
    ascii_only = draw(st.booleans())
    return json.dumps(payload, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def _classify(payload: Any) -> WebhookEvent:
    return classify(payload, delivery_id="d-1", derivatives_folder_name="Derivatives",
                    service_account_user_id=SERVICE_ACCOUNT)


def _check_event(event: WebhookEvent) -> None:
    assert isinstance(event.event_id, str) and event.event_id.strip() and len(event.event_id) <= MAX_ID_LENGTH
    assert event.status in (PENDING, IGNORED) and isinstance(event.trigger, str)
    if event.status == PENDING:
        assert event.trigger in FILE_TRIGGERS and event.box_file_id and event.box_file_version_id
    else:
        assert isinstance(event.ignore_reason, str) and "\n" not in event.ignore_reason


# -- explicit cases ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "reason"), [
    (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 64 levels"),
    (b'{"id": "1", "x": ' + b'{"a":' * 100_000, "nested deeper"),
    (b'["a", "list"]', "is an array, not a JSON object"),
    (b"42", "is a number"),
    (b'"text"', "is a string"),
    (b"null", "is null"),
    (b'{"id": 1e400}', "a number too large to store"),
    (b'{"id": "1", "x": NaN}', "NaN, which is not a JSON number"),
    (b'{"id": "1", "x": -Infinity}', "-Infinity"),
    (b'{"id": ' + b"9" * 1001 + b"}", "a number of more than 1000 digits"),
    (b'{"id": "1", "x": 1' + b"0" * 400 + b'.5}', "a number too large to store"),
    (b'{"id": "1", "x": 1' + b"0" * 300 + b'e10}', "a number too large to store"),
    (b'{"id": 2.5}', "no id (its id is a non-integer number)"),
    (b'{"id": "caf\xe9"}', "not valid UTF-8"),
    (b'{"id": "\xed\xa0\x80"}', "not valid UTF-8"),  # an encoded surrogate
    (b'{"id": true}', "no id (its id is a boolean)"),
    (b'{"id": {"nested": 1}}', "no id (its id is an object)"),
    (b'{"id": "  "}', "the event has no id"),
    (b'{"id": "' + b"x" * 101 + b'"}', "longer than 100 characters"),
    (b'{"id": "1"', "not JSON"),
    (b'"\\', "not JSON"),
])
def test_refused_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=re.escape(reason)):
        _classify(parse_body(body))


def test_values_json_cannot_carry_are_refused_too() -> None:
    for payload in ({"id": 10**5000}, {"id": float("nan")}, {"id": b"bytes"}, ("id", "tuple")):
        with pytest.raises(PayloadError):
            _classify(payload)
    event = upload_event()
    event["source"]["id"] = 10**5000
    assert _classify(event).ignore_reason == "the file has no id"


def test_accepted_oddities() -> None:
    nul = _classify(parse_body(b'{"id": "a\\u0000b", "trigger": "FILE.UPLOADED\\ud800"}'))
    assert (nul.event_id, nul.trigger) == ("a\ufffdb", "FILE.UPLOADED\ufffd")
    assert _classify(parse_body(b'{"id": 7, "id": "last wins"}')).event_id == "last wins"
    assert _classify(parse_body(b'\xef\xbb\xbf{"id": 12}')).event_id == "12"
    event = upload_event()
    event["source"]["path_collection"] = "All Files/Derivatives"
    assert _classify(event).status == PENDING  # the parent still names Derivatives
    event["source"]["parent"] = ["Derivatives"]
    assert _classify(event).ignore_reason == "not inside a Derivatives folder (uploaded to unknown folder)"
    event = upload_event(trigger="T" * 5000)
    assert len(_classify(event).ignore_reason) < 150
    event = upload_event(file_id="9" * 101)
    assert _classify(event).ignore_reason == "the file or version id is longer than 100 characters"


# -- properties ----------------------------------------------------------------------------------------------

@settings(max_examples=200, deadline=None, database=None)
@given(payloads)
def test_classify_takes_any_json(payload: Any) -> None:
    try:
        event = _classify(copy.deepcopy(payload))
    except PayloadError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    _check_event(event)


@settings(max_examples=200, deadline=None, database=None)
@given(bodies())
def test_parse_body_takes_any_bytes(body: bytes) -> None:
    try:
        value = parse_body(body)
    except PayloadError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    stored_text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    stored_text.encode("utf-8")  # no lone surrogate left
    assert "\x00" not in stored_text and "\\u0000" not in stored_text
    assert storable(value) == value


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(payloads)
def test_any_classified_event_can_be_stored(tracking_db: Any, payload: Any) -> None:
    try:
        event = _classify(parse_body(json.dumps(payload).encode()))
    except (PayloadError, ValueError):  # ValueError: json.dumps of an int over 4300 digits
        return
    row, _created = WebhookEvents(tracking_db).record(event)
    assert row["event_id"] == event.event_id


# -- the real endpoint ---------------------------------------------------------------------------------------

def _row(dsn: str, event_id: str) -> dict[str, Any] | None:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute("SELECT * FROM box_webhook_events WHERE event_id = %s", (event_id,))
            row = cur.fetchone()
            return dict(row) if row else None
    finally:
        conn.close()


def _post_and_check(receiver: RunningReceiver, dsn: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """POST a signed body; 200 means its row is there, anything else is a 400 with one sentence."""
    answer = receiver.post(body)
    assert answer.status_code in (200, 400), f"{answer.status_code} {answer.text[:300]}"
    result = answer.json()
    if answer.status_code == 400:
        assert isinstance(result["detail"], str) and result["detail"] and "\n" not in result["detail"]
        return 400, result
    row = _row(dsn, result["event_id"])
    assert row is not None and row["status"] == result["status"]
    assert result["outcome"] in ("stored", "ignored", "duplicate")
    if row["status"] == IGNORED:
        assert row["ignore_reason"]
    return 200, result


def _refusals(receiver: RunningReceiver) -> int:
    """The 400s logged so far, after checking that the log has no stack trace and each has a reason."""
    log_text = receiver.log_path.read_text(errors="replace")
    assert "Traceback" not in log_text and '"exception"' not in log_text
    refusals = [line for line in receiver.logs() if line.get("outcome") == "bad-request"]
    assert all(line["reason"] for line in refusals)
    return len(refusals)


@pytest.fixture
def receiver(receiver_factory: Callable[..., RunningReceiver]) -> RunningReceiver:
    """One receiver, shared by all examples of a property test."""
    return receiver_factory()


def test_the_three_crashes_and_other_hostile_bodies(receiver: RunningReceiver, tracking_dsn: str) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    status, answer = _post_and_check(receiver, tracking_dsn, deep)
    assert (status, answer["detail"]) == (400, f"the body is nested deeper than {MAX_DEPTH} levels")

    path_as_string = upload_event()
    path_as_string["source"]["path_collection"] = "All Files/Ferrero/Derivatives"
    assert _post_and_check(receiver, tracking_dsn, json.dumps(path_as_string).encode())[1]["outcome"] == "stored"

    nul = upload_event(name="K7M2QX_\u0000_v01.mp4")
    nul["additional_info"] = ["\u0000", {"\u0000key": "\ud800"}]
    assert _post_and_check(receiver, tracking_dsn, json.dumps(nul).encode())[1]["outcome"] == "stored"
    row = _row(tracking_dsn, nul["id"])
    assert row["file_name"] == "K7M2QX_\ufffd_v01.mp4"
    assert row["payload"]["additional_info"] == ["\ufffd", {"\ufffdkey": "\ufffd"}]

    for body in (b"null", b'{"id": 1e400}', b'{"id": "\xed\xa0\x80"}', b'{"id": ["x"]}', b'{"id": NaN}'):
        assert _post_and_check(receiver, tracking_dsn, body)[0] == 400
    for body in (b'{"id": 5}', b'{"id": "dup", "id": "dup2"}', b'{"id": "s", "source": 1, "trigger": []}'):
        assert _post_and_check(receiver, tracking_dsn, body)[1]["outcome"] == "ignored"
    assert _refusals(receiver) == 6


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies())
def test_endpoint_never_answers_5xx(receiver: RunningReceiver, tracking_dsn: str, body: bytes) -> None:
    before = _refusals(receiver)
    status, _answer = _post_and_check(receiver, tracking_dsn, body)
    assert _refusals(receiver) == before + (status == 400)  # each refusal logged once, with its reason


# -- in process: what the database refuses, and a database outage --------------------------------------------

def _post_in_process(tracking_db: dict[str, Any], tmp_path: Path, *payloads: dict[str, Any]) -> list[httpx.Response]:
    """POST unsigned bodies to an app of our own (no forwarder) over ASGI."""
    webhook = WebhookReceiverConfig(
        enabled=True, host="127.0.0.1", port=8095, validate_signatures=False, max_age_seconds=600,
        max_body_bytes=1 << 20, airflow_api_url=f"http://127.0.0.1:{free_port()}", dag_id="a2_to_a3")
    settings = ReceiverSettings(
        webhook=webhook, derivatives_folder_name="Derivatives",
        primary_key=None, secondary_key=None, service_account_user_id=SERVICE_ACCOUNT, airflow_user="u",
        airflow_password="p", tracking_db=tracking_db,
    )
    app = create_app(settings, start_forwarder=False)

    async def post_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver") as client:
            return [await client.post("/box/webhook", content=json.dumps(payload)) for payload in payloads]

    return asyncio.run(post_all())


def test_data_the_database_refuses_is_a_422(
    tracking_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in (webhook_body, webhook_events):  # as if NUL were let through
        monkeypatch.setattr(module, "storable", lambda value: value)
    payload = upload_event()
    payload["additional_info"] = ["\u0000"]
    refused, fine = _post_in_process({"dsn": tracking_dsn}, tmp_path, payload, upload_event())
    assert (refused.status_code, refused.json()) == (
        422, {"detail": "the tracking database refuses this event's data (22P05 UntranslatableCharacter)"})
    assert fine.status_code == 200, fine.text


def test_an_unreachable_database_is_a_503(tmp_path: Path) -> None:
    unreachable = {"host": "127.0.0.1", "port": free_port(), "dbname": "tracking", "connect_timeout": 2}
    [answer] = _post_in_process(unreachable, tmp_path, upload_event())
    assert (answer.status_code, answer.json()) == (503, {"detail": "storage unavailable, deliver again later"})
