"""OTMM metadata shapes: flat element lists on write, field groups on read (spec §5, §7, §10).

Stored form (one JSON object per asset): ``{field_id: {"kind": "scalar"|"domain"|"table", "type": "string",
"values": [...]}}``. The demo metadata model below decides groups, labels, table membership and domains; a field
the model does not know is kept with the kind its write shape implied, in the group ``ARTESIA.GROUP.OTHER``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

FIELD_TYPE = "com.artesia.metadata.MetadataField"
TABLE_TYPE = "com.artesia.metadata.MetadataTable"
TABLE_FIELD_TYPE = "com.artesia.metadata.MetadataTableField"
GROUP_TYPE = "com.artesia.metadata.MetadataFieldGroup"  # A: not shown publicly
MODEL_TYPE = "com.artesia.metadata.MetadataModel"

DEFAULT_ASSET_MODEL = "FERRERO.MODEL.ASSET"
DEFAULT_FOLDER_MODEL = "FERRERO.MODEL.CAMPAIGN"
ASSET_TYPE_DOMAIN = "FERRERO.DOMAIN.MKTG ASSET TYPE"
ASSET_TYPE_DOMAIN_ALIAS = "FERRERO.DOMAIN.ASSET TYPE"
LANGUAGE_DOMAIN = "FERRERO.DOMAIN.LANGUAGE"


class MetadataError(ValueError):
    """A metadata element in a request has a shape OTMM would refuse."""


@dataclass(frozen=True)
class FieldDef:
    name: str
    group: str
    domain: str | None = None
    table: str | None = None  # id of the MetadataTable the field is a column of


GROUPS = {
    "FERRERO.GROUP.ASSET INFO": "Asset Info",
    "FERRERO.GROUP.MARKETING": "Marketing",
    "FERRERO.GROUP.MARKET": "Market",
    "FERRERO.GROUP.TECHNICAL": "Technical",
    "FERRERO.GROUP.CAMPAIGN": "Campaign",
    "ARTESIA.GROUP.OTHER": "Other",
}

_INFO, _MKTG, _MKT, _TECH, _CMP = (
    "FERRERO.GROUP.ASSET INFO",
    "FERRERO.GROUP.MARKETING",
    "FERRERO.GROUP.MARKET",
    "FERRERO.GROUP.TECHNICAL",
    "FERRERO.GROUP.CAMPAIGN",
)

MODEL: dict[str, FieldDef] = {
    "ARTESIA.FIELD.ASSET NAME": FieldDef("Asset Name", _INFO),
    "ARTESIA.FIELD.ASSET DESCRIPTION": FieldDef("Asset Description", _INFO),
    "FERRERO.FIELD.MKTG.ASSET TYPE": FieldDef("Marketing Asset Type", _INFO, domain=ASSET_TYPE_DOMAIN),
    "FERRERO.FIELD.FISCAL YEAR": FieldDef("Fiscal Year", _INFO),
    "MAIN_LANGUAGES": FieldDef("Main Languages", _INFO, domain=LANGUAGE_DOMAIN, table="FERRERO.TABLE.MAIN LANGUAGES"),
    "FERRERO.FIELD.STATE": FieldDef("State", _INFO),
    "FERRERO.FIELD.BRAND": FieldDef("Brand", _INFO),
    "FERRERO.FIELD.SUB BRAND": FieldDef("Sub Brand", _INFO),
    "FERRERO.FIELD.PRODUCT": FieldDef("Product", _INFO),
    "FERRERO.FIELD.PRODUCT CATEGORY": FieldDef("Product Category", _INFO),
    "FERRERO.FIELD.ASSETCOMPLIANCE": FieldDef("Asset Compliance", _INFO),
    "FERRERO.FIELD.CAMPAIGN NAME": FieldDef("Campaign Name", _INFO),
    "MARKETING_TAG": FieldDef("Marketing Tag", _INFO),
    "FERRERO.MARKETING.FIELD.AGENCY NAME": FieldDef("Agency Name", _MKTG),
    "FERRERO.MARKETING.FIELD.SPOT_VERSION": FieldDef("Spot Version", _MKTG),
    "FERRERO.MARKETING.FIELD.DIRECTOR_NAME": FieldDef("Director Name", _MKTG),
    "FERRERO.MARKETING.FIELD.PRODUCTION_COMPANY": FieldDef("Production Company", _MKTG),
    "FERRERO.MARKETING.FIELD.CHANNEL": FieldDef("Channel", _MKTG),
    "FERRERO.MARKETING.FIELD.CAMPAIGN_TYPE": FieldDef("Campaign Type", _MKTG),
    "FERRERO.MARKETING.FIELD.ON_AIR_DATE": FieldDef("On Air Date", _MKTG),
    "FERRERO.MARKETING.FIELD.TARGET_AUDIENCE": FieldDef("Target Audience", _MKTG),
    "FERRERO.MARKET.FIELD.IPRIGHT": FieldDef("IP Right", _MKT),
    "FERRERO.MARKET.FIELD.BUYOUT": FieldDef("Buyout", _MKT),
    "FERRERO.MARKET.FIELD.COUNTRY": FieldDef("Country", _MKT),
    "FERRERO.MARKET.FIELD.REGION": FieldDef("Region", _MKT),
    "FERRERO.MARKET.FIELD.RIGHTS_START_DATE": FieldDef("Rights Start Date", _MKT),
    "FERRERO.MARKET.FIELD.RIGHTS_END_DATE": FieldDef("Rights End Date", _MKT),
    "FERRERO.MARKET.FIELD.USAGE_RESTRICTIONS": FieldDef("Usage Restrictions", _MKT),
    "FERRERO.FIELD.DURATION": FieldDef("Duration", _TECH),
    "FERRERO.FIELD.RESOLUTION": FieldDef("Resolution", _TECH),
    "FERRERO.FIELD.FRAME RATE": FieldDef("Frame Rate", _TECH),
    "FERRERO.FIELD.VIDEO CODEC": FieldDef("Video Codec", _TECH),
    "FERRERO.FIELD.AUDIO CODEC": FieldDef("Audio Codec", _TECH),
    "FERRERO.CAMPAIGN.FIELD.STATUS": FieldDef("Campaign Status", _CMP),
    "FERRERO.CAMPAIGN.FIELD.NUMBER": FieldDef("Campaign Number", _CMP),
}


def _label(field_id: str) -> str:
    return MODEL[field_id].name if field_id in MODEL else field_id.rsplit(".", 1)[-1].title()


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _scalar(node: Any, field_id: str) -> tuple[str, Any]:
    """``{"type":..,"value":..}`` (or with a domain ``field_value``) -> (type, value)."""
    if not isinstance(node, dict):
        raise MetadataError(f"{field_id}: value must be an object like {{'type':'string','value':...}}")
    if "value" not in node and isinstance(node.get("field_value"), dict):
        node = node["field_value"]
    return str(node.get("type", "string")), node.get("value")


def parse_elements(elements: Any) -> dict[str, dict[str, Any]]:
    """Flat write list (create representation or ``edited_asset``) -> stored form of each field in it."""
    if not isinstance(elements, list):
        raise MetadataError("metadata_element_list / metadata must be a list of fields")
    parsed: dict[str, dict[str, Any]] = {}
    for el in elements:
        if not isinstance(el, dict) or not el.get("id"):
            raise MetadataError("every metadata element needs an id")
        fid = str(el["id"])
        if "metadata_element_list" in el:
            raise MetadataError(f"{fid}: field groups are not accepted on write; send a flat list of fields")
        el_type = el.get("type", FIELD_TYPE)
        if el_type == TABLE_FIELD_TYPE or "values" in el:
            raw = el.get("values")
            if raw is None and isinstance(el.get("value"), dict):
                raw = [el["value"]]
            if not isinstance(raw, list):
                raise MetadataError(f"{fid}: a table field needs values: [{{'value': {{...}}}}]")
            pairs = [_scalar(v.get("value") if isinstance(v, dict) else None, fid) for v in raw]
            parsed[fid] = {
                "kind": "table",
                "type": pairs[0][0] if pairs else "string",
                "values": [v for _, v in pairs if v not in (None, "")],
            }
            continue
        if el_type != FIELD_TYPE:
            raise MetadataError(f"{fid}: unsupported element type {el_type!r}")
        wrapper = el.get("value")
        if wrapper is None:
            parsed[fid] = {"kind": "scalar", "type": "string", "values": []}
            continue
        if not isinstance(wrapper, dict) or "value" not in wrapper:
            raise MetadataError(f"{fid}: a field needs value: {{'value': {{'type': ..., 'value': ...}}}}")
        vtype, value = _scalar(wrapper["value"], fid)
        parsed[fid] = {
            "kind": "domain" if _truthy(wrapper.get("domain_value")) else "scalar",
            "type": vtype,
            "values": [] if value is None else [value],
        }
    return parsed


def _kind(field_id: str, stored: dict[str, Any]) -> str:
    fdef = MODEL.get(field_id)
    if fdef and fdef.table:
        return "table"
    if fdef and fdef.domain:
        return "domain"
    return stored.get("kind", "scalar")


DisplayLookup = Callable[[str, str], "str | None"]


def _field_element(field_id: str, stored: dict[str, Any], display: DisplayLookup) -> dict[str, Any]:
    kind = _kind(field_id, stored)
    vtype = stored.get("type", "string")
    values = stored.get("values", [])
    domain = MODEL[field_id].domain if field_id in MODEL else None
    if kind == "table":
        rendered = []
        for v in values:
            item: dict[str, Any] = {"type": vtype, "value": v}
            label = display(domain, v) if domain else None
            if label is not None:
                item["display_value"] = label
            rendered.append({"value": item})
        return {"id": field_id, "name": _label(field_id), "type": TABLE_FIELD_TYPE, "values": rendered}
    value = values[0] if values else None
    if kind == "domain":
        inner: dict[str, Any] = {"type": vtype, "field_value": {"type": vtype, "value": value}}
        label = display(domain, value) if domain and value is not None else None
        inner["display_value"] = label if label is not None else value
        wrapper = {"value": inner, "domain_value": True}
    else:
        wrapper = {"value": {"type": vtype, "value": value}, "domain_value": False}
    wrapper.update({"cascading_domain_value": False, "is_locked": False})
    return {"id": field_id, "name": _label(field_id), "type": FIELD_TYPE, "value": wrapper}


def grouped(
    model_id: str,
    metadata: dict[str, dict[str, Any]],
    display: DisplayLookup,
    only: set[str] | None = None,
) -> dict[str, Any]:
    """Stored metadata -> the grouped read shape ``MetadataModel > groups > fields | tables > table fields``."""
    groups: dict[str, list[dict[str, Any]]] = {}
    tables: dict[tuple[str, str], dict[str, Any]] = {}
    for field_id in sorted(metadata):
        if only is not None and field_id not in only:
            continue
        fdef = MODEL.get(field_id)
        group = fdef.group if fdef else "ARTESIA.GROUP.OTHER"
        element = _field_element(field_id, metadata[field_id], display)
        members = groups.setdefault(group, [])
        if element["type"] == TABLE_FIELD_TYPE:
            table_id = fdef.table if fdef and fdef.table else f"{field_id}.TABLE"
            table = tables.get((group, table_id))
            if table is None:
                table = {"id": table_id, "name": _label(field_id), "type": TABLE_TYPE, "metadata_element_list": []}
                tables[(group, table_id)] = table
                members.append(table)
            table["metadata_element_list"].append(element)
        else:
            members.append(element)
    return {
        "type": MODEL_TYPE,
        "id": model_id,
        "name": model_id.rsplit(".", 1)[-1].title(),
        "metadata_element_list": [
            {"id": gid, "name": GROUPS.get(gid, gid), "type": GROUP_TYPE, "metadata_element_list": members}
            for gid, members in groups.items()
        ],
    }


def text_values(stored: dict[str, Any]) -> list[str]:
    """Every value of a stored field as text (for search)."""
    return [str(v) for v in stored.get("values", []) if v is not None]
