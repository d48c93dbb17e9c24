"""The chaos audit: what the scenario's ledger says must exist, beside what the outside world observed.

Expected values come from the ledger (campaigns and masters, every upload with its Box file and version id,
which names are bad). Present values come from the sandbox (Box files, the DAM's assets and versions, the mail
and status-webhook sinks) and from Airflow's REST API (runs). Everything is counted by *fact*: one status webhook
per campaign flip, one success or completion email per flip, one upload-failed email per bad file version, one
run per Box file version. Messages are also counted raw and by their sender's dedup key (``Idempotency-Key``,
``h:Message-Id``), when they carry one. The counting functions are pure; :func:`observe` does the reading.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterable
    from pathlib import Path

    from tools.chaos.agency import Ledger, Upload
    from tools.chaos.rest import AirflowRest, Sandbox

STATUS_FIELD = "FERRERO.CAMPAIGN.FIELD.STATUS"
NUMBER_FIELD = "FERRERO.CAMPAIGN.FIELD.NUMBER"
_A2_MAIL = re.compile(r"^Campaign (\S+) .*\(A2\)$")
_A3_MAIL = re.compile(r"^Campaign (\S+) .*\(A3\)$")
_FAILED_MAIL = re.compile(r"^Derivative (.+) was not uploaded to the DAM$")

K = TypeVar("K", bound="Hashable")


@dataclass
class Row:
    """One line of the audit table; ``raw`` and ``dup_by_key`` only for messages."""

    name: str
    expected: int
    present: int
    lost: int
    duplicated: int
    unexpected: int = 0
    raw: int | None = None
    dup_by_key: int | str | None = None  # "no keys" when no message carried one
    lost_keys: list[str] = field(default_factory=list)
    duplicated_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)


def compare(name: str, expected: Counter[K], observed: Counter[K]) -> Row:
    """Facts expected n times against facts observed m times: present min(n, m), lost n-m, duplicated m-n;
    observed facts that were never expected are ``unexpected``."""
    row = Row(name, sum(expected.values()), 0, 0, 0)
    for key, want in expected.items():
        got = observed.get(key, 0)
        row.present += min(want, got)
        if got < want:
            row.lost += want - got
            row.lost_keys.append(str(key))
        elif got > want:
            row.duplicated += got - want
            row.duplicated_keys.append(f"{key} x{got}")
    for key, got in observed.items():
        if key not in expected:
            row.unexpected += got
            row.unexpected_keys.append(f"{key} x{got}")
    return row


def duplicates_by_key(keys: Iterable[str | None]) -> int | str:
    """Records that repeat a dedup key already seen; "no keys" when no record carries one."""
    given = [k for k in keys if k]
    return len(given) - len(set(given)) if given else "no keys"


# -- expectations (from the ledger) ----------------------------------------------------------------------


def campaigns_reaching_a3(ledger: Ledger) -> set[str]:
    """Campaigns in which every master got at least one well-named derivative."""
    covered = {(u.campaign, u.master) for u in ledger.uploads if not u.bad}
    return {c for c, masters in ledger.campaigns.items() if all((c, m) in covered for m in masters)}


def clean_name(upload: Upload) -> str:
    from include.ferrero.naming import parse_filename

    return parse_filename(upload.name).clean_name or upload.name


def expected_flips(ledger: Ledger) -> Counter[tuple[str, str, str]]:
    facts = Counter({(c, "A1", "A2"): 1 for c in ledger.campaigns})
    facts.update({(c, "A2", "A3"): 1 for c in campaigns_reaching_a3(ledger)})
    return facts


def expected_emails(ledger: Ledger) -> Counter[tuple[str, str]]:
    facts: Counter[tuple[str, str]] = Counter({("A2", c): 1 for c in ledger.campaigns})
    facts.update({("A3", c): 1 for c in campaigns_reaching_a3(ledger)})
    facts.update(("upload failed", u.name) for u in ledger.uploads if u.bad)
    return facts


# -- facts (from what was observed) -----------------------------------------------------------------------


def webhook_fact(record: dict[str, Any]) -> tuple[str, str, str]:
    body = record.get("body")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            body = {}
    body = body if isinstance(body, dict) else {}
    return (str(body.get("campaign_number")), str(body.get("old_status")), str(body.get("new_status")))


def webhook_key(record: dict[str, Any]) -> str | None:
    headers = {k.lower(): v for k, v in (record.get("headers") or {}).items()}
    return record.get("idempotency_key") or headers.get("idempotency-key")


def email_fact(record: dict[str, Any]) -> tuple[str, str]:
    subject = str(record.get("subject", "")).strip()
    for kind, pattern in (("A2", _A2_MAIL), ("A3", _A3_MAIL), ("upload failed", _FAILED_MAIL)):
        match = pattern.match(subject)
        if match:
            return kind, match.group(1)
    return "other", subject


def as_received(records: list[dict[str, Any]], key: Callable[[dict[str, Any]], str | None]) -> list[dict[str, Any]]:
    """What an idempotent receiver keeps: the first record of each dedup key (records without a key all count).
    The README's promise is one message per fact at such a receiver; ``raw`` shows what reached the wire."""
    seen: set[str] = set()
    kept = []
    for record in records:
        k = key(record)
        if k and k in seen:
            continue
        if k:
            seen.add(k)
        kept.append(record)
    return kept


def message_rows(ledger: Ledger, webhooks: list[dict[str, Any]], mails: list[dict[str, Any]]) -> list[Row]:
    kept_hooks = as_received(webhooks, webhook_key)
    hooks = compare("status webhooks", expected_flips(ledger), Counter(webhook_fact(r) for r in kept_hooks))
    hooks.raw, hooks.dup_by_key = len(webhooks), duplicates_by_key(webhook_key(r) for r in webhooks)
    kept_mails = as_received(mails, lambda r: r.get("message_id_header"))
    emails = compare("emails", expected_emails(ledger), Counter(email_fact(r) for r in kept_mails))
    emails.raw, emails.dup_by_key = len(mails), duplicates_by_key(r.get("message_id_header") for r in mails)
    return [hooks, emails]


def master_rows(ledger: Ledger, master_files: list[tuple[str, str, int]]) -> list[Row]:
    """``master_files``: (campaign, Box file name, its version count) of each file in a ``Masters/`` folder.
    A master must have one file of one version, under one tracking ID that no other master has."""
    expected = Counter({(c, m): 1 for c, masters in ledger.campaigns.items() for m in masters})
    files: Counter[tuple[str, str]] = Counter()
    trackings: dict[tuple[str, str], set[str]] = {}
    owners: dict[str, set[tuple[str, str]]] = {}
    for campaign, name, versions in master_files:
        tracking, _, seed_name = name.partition("_")
        key = (campaign, seed_name)
        files[key] += versions  # a second version of a master is a second write, too
        trackings.setdefault(key, set()).add(tracking)
        owners.setdefault(tracking, set()).add(key)
    tracking_count = Counter({key: len(ids) for key, ids in trackings.items()})
    for keys in owners.values():  # one ID on two masters: a duplicate of that ID
        for key in keys if len(keys) > 1 else ():
            tracking_count[key] += 1
    return [compare("tracking IDs", expected, tracking_count), compare("Box master files", expected, files)]


def dam_rows(ledger: Ledger, final_assets: list[tuple[str, str, int, str]]) -> list[Row]:
    """``final_assets``: (campaign, asset name, version, SHA-1 of its content) of each asset in a campaign's Final
    Assets folder. One version per Box version; and whatever happened in between, the asset must end up with
    the bytes of the file's last Box version ("DAM latest content")."""
    good = [u for u in ledger.uploads if not u.bad]
    assets = compare("DAM derivative assets", Counter({(u.campaign, clean_name(u)) for u in good}),
                     Counter((c, name) for c, name, _, _ in final_assets))
    versions: Counter[tuple[str, str]] = Counter()
    for campaign, name, version, _ in final_assets:
        versions[(campaign, name)] += version
    last = {(u.campaign, clean_name(u)): u.sha1 for u in sorted(good, key=lambda u: int(u.version_id))}
    return [assets, compare("DAM versions", Counter((u.campaign, clean_name(u)) for u in good), versions),
            compare("DAM latest content", Counter({(c, n, sha1) for (c, n), sha1 in last.items()}),
                    Counter((c, n, sha1) for c, n, _, sha1 in final_assets))]


def flip_rows(ledger: Ledger, statuses: dict[str, str]) -> list[Row]:
    """From the DAM's final campaign statuses (a flip repeated in between shows in webhooks and emails)."""
    flips = expected_flips(ledger)
    reached = {"A2": ("A2", "A3"), "A3": ("A3",)}
    rows = []
    for old, new in (("A1", "A2"), ("A2", "A3")):
        want = Counter({k: n for k, n in flips.items() if k[1:] == (old, new)})
        got = Counter({(c, old, new): 1 for c, s in statuses.items() if s in reached[new]})
        rows.append(compare(f"status flips {old}->{new}", want, got))
    return rows


def run_rows(ledger: Ledger, a2_runs: list[dict[str, Any]], a1_runs: list[dict[str, Any]]) -> list[Row]:
    """One ``a2_to_a3`` run per Box file version; one ``a1_to_a2`` run per campaign (its first cycle)."""
    versions = compare("Box events -> runs", Counter((u.file_id, u.version_id) for u in ledger.uploads),
                       Counter((str((r.get("conf") or {}).get("box_file_id")),
                                str((r.get("conf") or {}).get("box_file_version_id"))) for r in a2_runs))
    versions.raw = len(a2_runs)
    campaigns = compare("campaigns -> A1 runs", Counter({c: 1 for c in ledger.campaigns}),
                        Counter(str(r["dag_run_id"]).split("__")[0] for r in a1_runs))
    campaigns.raw = len(a1_runs)
    return [versions, campaigns]


# -- observing the outside world --------------------------------------------------------------------------


@dataclass
class Observed:
    master_files: list[tuple[str, str, int]]
    final_assets: list[tuple[str, str, int, str]]
    statuses: dict[str, str]
    webhooks: list[dict[str, Any]]
    mails: list[dict[str, Any]]
    a2_runs: list[dict[str, Any]]
    a1_runs: list[dict[str, Any]]


def _read_only(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    db.row_factory = sqlite3.Row
    return db


def dam_campaigns(otmm_db: Path) -> tuple[dict[str, str], list[tuple[str, str, int, str]]]:
    """The DAM's campaign statuses by number, and (campaign, name, version, content SHA-1) of every Final Assets
    asset: its latest version's row (each version is a row of its own, linked by ``original_asset_id``)."""
    db = _read_only(otmm_db)
    try:
        statuses, assets = {}, []
        for folder in db.execute("SELECT asset_id, metadata FROM assets WHERE is_container = 1"):
            metadata = json.loads(folder["metadata"])
            number = (metadata.get(NUMBER_FIELD) or {}).get("values", [None])[0]
            if not number:
                continue
            statuses[number] = (metadata.get(STATUS_FIELD) or {}).get("values", [None])[0]
            for final in db.execute("SELECT asset_id FROM assets WHERE parent_id = ? AND is_container = 1 "
                                    "AND lower(name) = 'final assets'", (folder["asset_id"],)):
                assets += [(number, a["name"], a["version"], _sha1(otmm_db.parent / "blobs" / a["content_id"]))
                           for a in db.execute("SELECT name, version, content_id FROM assets WHERE parent_id = ? "
                                               "AND is_container = 0 AND latest_version = 1", (final["asset_id"],))]
        return statuses, assets
    finally:
        db.close()


def _sha1(path: Path) -> str:
    try:
        return hashlib.sha1(path.read_bytes()).hexdigest()  # noqa: S324 - Box's content hash
    except OSError:
        return "missing"


def box_master_files(box_db: Path, root_folder_id: str, numbers: Iterable[str]) -> list[tuple[str, str, int]]:
    db = _read_only(box_db)
    try:
        found = []
        for folder in db.execute("SELECT id, name FROM items WHERE parent_id = ? AND type = 'folder'",
                                 (int(root_folder_id),)):
            number = next((n for n in numbers if folder["name"] == n or folder["name"].startswith(f"{n} ")), None)
            if number is None:
                continue
            for sub in db.execute("SELECT id FROM items WHERE parent_id = ? AND type = 'folder' "
                                  "AND lower(name) = 'masters'", (folder["id"],)):
                found += [(number, f["name"], f["versions"]) for f in db.execute(
                    "SELECT i.name, (SELECT count(*) FROM versions v WHERE v.file_id = i.id) AS versions "
                    "FROM items i WHERE i.parent_id = ? AND i.type = 'file'", (sub["id"],))]
        return found
    finally:
        db.close()


def observe(data_dir: Path, rest: AirflowRest, sandbox: Sandbox, ledger: Ledger) -> Observed:
    """``data_dir``: the sandbox's data folder."""
    seed = json.loads((data_dir / "seed.json").read_text())
    statuses, final_assets = dam_campaigns(data_dir / "otmm" / "otmm.sqlite")
    return Observed(
        master_files=box_master_files(data_dir / "box" / "box.sqlite3", str(seed["box_root_folder_id"]),
                                      list(ledger.campaigns)),
        final_assets=final_assets,
        statuses={c: statuses.get(c) or "?" for c in ledger.campaigns},
        webhooks=sandbox.sink("status-webhooks"),
        mails=sandbox.sink("mail"),
        a2_runs=rest.dag_runs("a2_to_a3"),
        a1_runs=rest.dag_runs("a1_to_a2"),
    )


def audit(ledger: Ledger, seen: Observed) -> list[Row]:
    return [*master_rows(ledger, seen.master_files), *dam_rows(ledger, seen.final_assets),
            *flip_rows(ledger, seen.statuses), *message_rows(ledger, seen.webhooks, seen.mails),
            *run_rows(ledger, seen.a2_runs, seen.a1_runs)]


def passed(rows: list[Row]) -> bool:
    return all(r.lost == 0 and r.duplicated == 0 for r in rows)


def table(rows: list[Row]) -> str:
    heads = ("", "expected", "present", "lost", "duplicated", "unexpected", "raw", "dup by key")
    lines = [(r.name, r.expected, r.present, r.lost, r.duplicated, r.unexpected,
              "" if r.raw is None else r.raw, "" if r.dup_by_key is None else r.dup_by_key) for r in rows]
    widths = [max(len(str(x)) for x in column) for column in zip(heads, *lines, strict=False)]
    fmt = "  ".join([f"{{:<{widths[0]}}}", *(f"{{:>{w}}}" for w in widths[1:])])
    out = [fmt.format(*heads), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*(str(x) for x in line)) for line in lines]
    return "\n".join(out)


def write_json(rows: list[Row], path: Path, extra: dict[str, Any]) -> None:
    path.write_text(json.dumps({"passed": passed(rows), "rows": [asdict(r) for r in rows], **extra}, indent=2))
