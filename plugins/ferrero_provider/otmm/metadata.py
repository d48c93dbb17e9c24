"""Reading the DAM's metadata: grouped on read (``metadata_element_list``), the flat write list, or an already
flat dict; used by the DAM models and by the domain's representation (which builds on :class:`MetadataField`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FIELD_TYPE = "com.artesia.metadata.MetadataField"
TABLE_FIELD_TYPE = "com.artesia.metadata.MetadataTableField"


@dataclass
class MetadataField:
    """One field as read: its value (a list for a table field), type, whether table / domain, where it came from."""

    value: Any  # a scalar, or a list for a table field
    type: str = "string"
    table: bool = False
    domain: bool = False
    source: str = "master"


def unwrap_metadata(master: Any) -> Any:
    """Accept `{"asset_resource":{"asset":…}}`, an asset, its `metadata`, or an element list."""
    if isinstance(master, Mapping):
        if "asset_resource" in master:
            master = master["asset_resource"].get("asset", {})
        if "metadata" in master and "metadata_element_list" not in master:
            master = master["metadata"]
    return master


def _scalar_of(value: Any) -> tuple[Any, str, bool]:
    """(code, type, is_domain) of a read `value` object: `{"value":{"type","value"|"field_value"},"domain_value"}`."""
    if not isinstance(value, Mapping):
        return value, "string", False
    domain = str(value.get("domain_value", "false")).lower() == "true"
    inner = value.get("value", value)
    if not isinstance(inner, Mapping):
        return inner, "string", domain
    vtype = str(inner.get("type") or "string")
    field_value = inner.get("field_value")
    if isinstance(field_value, Mapping) and "value" in field_value:
        return field_value["value"], str(field_value.get("type") or vtype), True
    if "value" in inner:
        return inner["value"], vtype, domain
    return inner.get("display_value"), vtype, domain


def _walk(elements: Iterable[Any], out: dict[str, MetadataField]) -> None:
    for element in elements:
        if not isinstance(element, Mapping):
            continue
        if "metadata_element_list" in element:  # a group or a table
            _walk(element["metadata_element_list"], out)
            continue
        fid = element.get("id")
        if not fid:
            continue
        if "values" in element or element.get("type") == TABLE_FIELD_TYPE:
            items = [_scalar_of(item.get("value", item) if isinstance(item, Mapping) else item)
                     for item in element.get("values") or []]
            if "value" in element and not items:  # single-value write form of a table field
                items = [_scalar_of(element["value"])]
            values = [code for code, _, _ in items if code not in (None, "")]
            vtype = items[0][1] if items else "string"
            domain = any(d for _, _, d in items)
            out[fid] = MetadataField(values, vtype, table=True, domain=domain)
        elif "value" in element:
            code, vtype, domain = _scalar_of(element["value"])
            out[fid] = MetadataField(code, vtype, domain=domain)


def read_fields(master: Any) -> dict[str, MetadataField]:
    metadata = unwrap_metadata(master)
    out: dict[str, MetadataField] = {}
    if isinstance(metadata, Mapping) and "metadata_element_list" in metadata:
        _walk(metadata["metadata_element_list"], out)
    elif isinstance(metadata, list):
        _walk(metadata, out)
    elif isinstance(metadata, Mapping):  # already flat: field id -> value
        for fid, value in metadata.items():
            out[str(fid)] = MetadataField(list(value) if isinstance(value, list) else value, table=isinstance(value, list))
    return out


def flatten_metadata(master: Any) -> dict[str, Any]:
    """Field id -> value of an asset's metadata as OTMM returns it (grouped on read, or the flat write list).

    Scalar fields give their value (the code for a domain field, falling back to `display_value`), table
    fields a list of values. Also accepts a whole `asset_resource`, an asset, or an already flat dict.
    """
    return {fid: f.value for fid, f in read_fields(master).items()}
