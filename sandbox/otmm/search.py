"""Evaluate ``search/text`` conditions (spec §3) against stored assets and folders.

Supported condition types: ``SearchScalarCondition``, ``SearchTabularCondition`` (its ``tabular_field_list``),
``SearchFulltextCondition``. Operators: ``ARTESIA.OPERATOR.CHAR.CONTAINS`` (case-insensitive substring, H),
``ARTESIA.OPERATOR.CHAR.IS`` / ``...NUMBER.IS`` (exact, A), ``...CHAR.STARTS_WITH`` (A), ``...CHAR.IS_NOT`` (A).
Conditions combine left to right with each condition's ``relational_operator`` (``and``/``or``); parentheses
are accepted and ignored (A).
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.otmm.metadata import text_values


class SearchError(ValueError):
    """A search request OTMM would refuse."""


def _matches(op: str, wanted: str, values: list[str]) -> bool:
    wanted_l = wanted.lower()
    if op.endswith("CONTAINS"):
        return any(wanted_l in v.lower() for v in values)
    if op.endswith("IS_NOT"):
        return all(v.lower() != wanted_l for v in values)
    if op.endswith((".IS", ".EQUALS")):
        return any(v.lower() == wanted_l for v in values)
    if op.endswith("STARTS_WITH"):
        return any(v.lower().startswith(wanted_l) for v in values)
    raise SearchError(f"unsupported relational_operator_id {op!r}")


def parse_conditions(raw: str | None) -> list[dict[str, Any]]:
    if not raw:
        return []
    try:
        data = json.loads(raw)
        conditions = data["search_condition_list"]["search_condition"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SearchError("search_condition_list must be {'search_condition_list': {'search_condition': [...]}}") from exc
    if isinstance(conditions, dict):
        conditions = [conditions]
    if not isinstance(conditions, list):
        raise SearchError("search_condition must be a list")
    return conditions


def _item_text(item: dict[str, Any]) -> list[str]:
    out = [item["name"]]
    for stored in item["metadata"].values():
        out.extend(text_values(stored))
    return out


def _condition(cond: dict[str, Any], item: dict[str, Any]) -> bool:
    ctype = str(cond.get("type", "com.artesia.search.SearchScalarCondition"))
    metadata = item["metadata"]
    if ctype.endswith("SearchTabularCondition"):
        fields = cond.get("tabular_field_list") or []
        return all(_condition({**f, "type": "com.artesia.search.SearchScalarCondition"}, item) for f in fields)
    if ctype.endswith("SearchFulltextCondition"):
        keyword = str(cond.get("keyword", cond.get("value", "")))
        fid = cond.get("metadata_field_id")
        values = text_values(metadata.get(fid, {})) if fid else _item_text(item)
        return keyword in ("", "*") or _matches("CONTAINS", keyword, values)
    if not ctype.endswith("SearchScalarCondition"):
        raise SearchError(f"unsupported condition type {ctype!r}")
    fid = cond.get("metadata_field_id")
    if not fid:
        raise SearchError("a search condition needs metadata_field_id")
    op = str(cond.get("relational_operator_id", "ARTESIA.OPERATOR.CHAR.CONTAINS"))
    value = cond.get("value")
    if fid == "ARTESIA.FIELD.ASSET NAME" and fid not in metadata:
        values = [item["name"]]
    else:
        values = text_values(metadata.get(fid, {}))
    return _matches(op, "" if value is None else str(value), values)


def matches(conditions: list[dict[str, Any]], item: dict[str, Any]) -> bool:
    result: bool | None = None
    for cond in conditions:
        ok = _condition(cond, item)
        joiner = str(cond.get("relational_operator", "and")).lower()
        if result is None:
            result = ok
        elif joiner == "or":
            result = result or ok
        else:
            result = result and ok
    return True if result is None else result


def keyword_matches(keyword: str | None, item: dict[str, Any]) -> bool:
    if not keyword or keyword.strip() in ("*", ""):
        return True
    return _matches("CONTAINS", keyword.strip().strip("*"), _item_text(item))
