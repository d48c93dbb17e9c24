"""Build the OTMM asset representation of a derivative (the `asset_representation` part of `POST /assets`).

Inputs: the master's DAM metadata as the API returns it on read (grouped), the parsed V2 name, the media
metadata of the file and the typed `field_mappings` config section (:class:`FieldMappings`); the lookup domains
are passed in (domain id -> allowed codes) so this module does no I/O. See config/field_mappings.yaml for the rules, in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ferrero_provider.otmm.metadata import FIELD_TYPE, TABLE_FIELD_TYPE, flatten_metadata
from ferrero_provider.otmm.metadata import MetadataField as _Field
from ferrero_provider.otmm.metadata import read_fields as _read_fields
from ferrero_provider.otmm.metadata import unwrap_metadata as _unwrap_metadata
from include.ferrero.naming import ParsedName

if TYPE_CHECKING:
    from include.ferrero.config_rules import FieldMappings, FilenameFieldUpdate

__all__ = [
    "AssetRepresentation",
    "RepresentationError",
    "build_asset_representation",
    "domains_from_otmm",
    "flatten_metadata",
    "metadata_model_of",
]

_SHOWN_ALLOWED = 30  # allowed values listed in a refusal before "and N more"


#: Lookup domain id -> its allowed codes (a list, or a code -> label mapping).
Domains = Mapping[str, Iterable[str]]


class RepresentationError(ValueError):
    """The derivative's metadata cannot be built; the message is one sentence for the operator."""


@dataclass(frozen=True)
class AssetRepresentation:
    """The create-asset JSON (`representation`), the flat field values it holds, and warnings."""

    representation: dict[str, Any]
    fields: dict[str, object]
    sources: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    file_name: str | None = None

    def preview(self) -> dict[str, Any]:
        """A human-readable summary: each field with its value and where the value came from."""
        asset = self.representation["asset_resource"]["asset"]
        return {
            "file_name": self.file_name,
            "metadata_model_id": asset["metadata_model_id"],
            "security_policy_ids": [p["id"] for p in asset["security_policy_list"]],
            "fields": {fid: {"value": self.fields[fid], "from": self.sources[fid]} for fid in self.fields},
            "warnings": list(self.warnings),
        }


# --- reading the master's metadata -------------------------------------------------------------------------


def metadata_model_of(master: object) -> str | None:
    """The metadata model id of the master, when its metadata carries one."""
    metadata = _unwrap_metadata(master)
    if isinstance(master, Mapping):
        asset = master.get("asset_resource", {}).get("asset", master)
        if isinstance(asset, Mapping) and asset.get("metadata_model_id"):
            return str(asset["metadata_model_id"])
    if isinstance(metadata, Mapping) and "metadata_element_list" in metadata and metadata.get("id"):
        return str(metadata["id"])
    return None


def domains_from_otmm(payload: object) -> dict[str, dict[str, str]]:
    """Domain id -> {code: display value} from OTMM `/lookupdomains` or `/lookupdomains/{id}` answers.

    Accepts one answer, a list of them, or an already converted mapping (returned as is). Expired values are
    left out (spec §11).
    """
    if isinstance(payload, list):
        merged: dict[str, dict[str, str]] = {}
        for item in payload:
            merged.update(domains_from_otmm(item))
        return merged
    if not isinstance(payload, Mapping):
        return {}
    if "lookup_domains_resource" in payload:
        domains = payload["lookup_domains_resource"].get("lookup_domains") or []
    elif "lookup_domain_resource" in payload:
        domains = [payload["lookup_domain_resource"].get("lookup_domain") or {}]
    else:
        return {str(k): v for k, v in payload.items()}
    out: dict[str, dict[str, str]] = {}
    for domain in domains:
        codes: dict[str, str] = {}
        for entry in domain.get("domainValues") or []:
            if entry.get("expired_value"):
                continue
            code = (entry.get("field_value") or {}).get("value")
            if code is not None:
                codes[str(code)] = str(entry.get("display_value") or code)
        out[str(domain.get("domainId"))] = codes
    return out


# --- building ----------------------------------------------------------------------------------------------


def _is_empty(value: object) -> bool:
    return value is None or value == "" or value == []


def _transform(value: object, transform: str) -> object:
    if not isinstance(value, str):
        return value
    return value.upper() if transform == "uppercase" else value.lower() if transform == "lowercase" else value


def _valid(parsed: ParsedName | Mapping[str, Any]) -> ParsedName:
    parsed = ParsedName.from_dict(parsed) if isinstance(parsed, Mapping) else parsed
    if not parsed.is_valid:
        raise RepresentationError(parsed.error_summary())
    return parsed


def _media_values(media: Mapping[str, object] | None) -> dict[str, object]:
    values = dict(media or {})
    duration_ms = values.get("duration_ms")
    if isinstance(duration_ms, int | float):
        values["duration_seconds"] = round(duration_ms / 1000, 3)
    if values.get("width") and values.get("height"):
        values["resolution"] = f"{values['width']}x{values['height']}"
    return values


def _with_kind(fid: str, value: object, source: str, mappings: FieldMappings, previous: _Field | None,
               vtype: str | None = None) -> _Field:
    table = fid in mappings.table_fields or bool(previous and previous.table)
    domain = fid in mappings.field_domains or bool(previous and previous.domain)
    if table and not isinstance(value, list):
        value = [] if _is_empty(value) else [value]
    if vtype is None:
        vtype = previous.type if previous else ("decimal" if isinstance(value, int | float)
                                                and not isinstance(value, bool) else "string")
    return _Field(value, vtype, table=table, domain=domain, source=source)


def _check_domains(fields: dict[str, _Field], checked: set[str], mappings: FieldMappings,
                   domains: Domains | None, strict: bool, warnings: list[str]) -> None:
    if not mappings.validate_domain_values.enabled or not checked:
        return
    field_domains = mappings.field_domains
    if domains is None:
        warnings.append(
            f"Domain values were not checked ({', '.join(sorted(checked))}): no lookup domains were given."
        )
        return
    for fid in sorted(checked):
        f = fields.get(fid)
        if f is None or _is_empty(f.value):
            continue
        domain_id = field_domains[fid]
        if domain_id not in domains:
            message = f"Field {fid} could not be checked: the lookup domain {domain_id} is not available in the DAM."
            if strict:
                raise RepresentationError(message)
            warnings.append(message)
            continue
        allowed = [str(code) for code in domains[domain_id]]  # a list, or the codes of a code -> label mapping
        for value in f.value if isinstance(f.value, list) else [f.value]:
            if str(value) in allowed:
                continue
            shown = ", ".join(allowed[:_SHOWN_ALLOWED]) or "none"
            if len(allowed) > _SHOWN_ALLOWED:
                shown += f" and {len(allowed) - _SHOWN_ALLOWED} more"
            if strict:
                raise RepresentationError(
                    f"Field {fid} value {value!r} is not in the lookup domain {domain_id} (allowed: {shown})."
                )
            warnings.append(
                f"Field {fid} value {value!r} is not in the lookup domain {domain_id} (allowed: {shown}); "
                f"it is used anyway because strict_mode is off."
            )


def _element(fid: str, f: _Field) -> dict[str, Any]:
    if f.table:
        return {"id": fid, "type": TABLE_FIELD_TYPE,
                "values": [{"value": {"type": f.type, "value": v}} for v in f.value]}
    value: dict[str, Any] = {"value": {"type": f.type, "value": f.value}}
    if f.domain:
        value = {"domain_value": "true", **value}
    return {"id": fid, "type": FIELD_TYPE, "value": value}


def build_asset_representation(
    master_metadata: Any,
    parsed: ParsedName | Mapping[str, Any],
    media: Mapping[str, object] | None,
    mappings: FieldMappings,
    domains: Domains | None = None,
    *,
    strict: bool | None = None,
) -> AssetRepresentation:
    """The create-asset representation of a derivative (spec §7) and its warnings.

    `mappings` is the `field_mappings` config section; `domains` maps a lookup domain id to its allowed codes
    (a list, or a code -> label dict); `strict` overrides `validate_domain_values.strict_mode`.
    Raises RepresentationError (one sentence) when the name is invalid, a required value is missing, or, in
    strict mode, a value is outside its lookup domain.
    """
    parsed = _valid(parsed)
    name_values: dict[str, object] = {**parsed.to_dict(), "clean_filename": parsed.clean_name}
    master = _read_fields(master_metadata)
    field_domains = mappings.field_domains
    strict = mappings.validate_domain_values.strict_mode if strict is None else strict
    fields: dict[str, _Field] = {}
    checked: set[str] = set()  # fields whose value did not come from the master unchanged
    warnings: list[str] = []

    for fid in mappings.mvp_fields:
        if fid in master and not _is_empty(master[fid].value):
            fields[fid] = _with_kind(fid, master[fid].value, "master", mappings, master[fid])

    for rule in mappings.filename_field_updates:
        update = _name_update(rule, name_values)
        if update is None:
            continue
        value, origin = update
        fields[rule.field_id] = _with_kind(rule.field_id, _transform(value, rule.transform), origin, mappings,
                                           fields.get(rule.field_id) or master.get(rule.field_id))
        if mappings.checks_domain(rule):
            checked.add(rule.field_id)

    media_values = _media_values(media)
    for media_rule in mappings.media_field_mappings:
        value = media_values.get(media_rule.source)
        if _is_empty(value):
            continue
        if media_rule.type == "string":
            value = str(value)
        fields[media_rule.field_id] = _with_kind(media_rule.field_id, value, f"media ({media_rule.source})",
                                                 mappings, None, media_rule.type)
        if media_rule.field_id in field_domains:
            checked.add(media_rule.field_id)

    for fid, default in mappings.default_field_values.items():
        if fid not in fields or _is_empty(fields[fid].value):
            fields[fid] = _with_kind(fid, default, "default", mappings, master.get(fid))
            if fid in field_domains:
                checked.add(fid)

    for fid, forced in mappings.forced_field_values.items():
        fields[fid] = _with_kind(fid, forced, "forced", mappings, master.get(fid))
        if fid in field_domains:
            checked.add(fid)

    _check_domains(fields, checked, mappings, domains, strict, warnings)

    model_id = mappings.metadata_model_id or metadata_model_of(master_metadata)
    if not model_id:
        raise RepresentationError(
            "No metadata model for the new asset: config/field_mappings.yaml has no metadata_model_id and the "
            "master's metadata does not name one."
        )
    policies = [{"id": pid} for pid in mappings.security_policy_ids]
    representation = {
        "asset_resource": {
            "asset": {
                "metadata": {"metadata_element_list": [_element(fid, f) for fid, f in fields.items()]},
                "metadata_model_id": model_id,
                "security_policy_list": policies,
            }
        }
    }
    return AssetRepresentation(
        representation=representation,
        fields={fid: f.value for fid, f in fields.items()},
        sources={fid: f.source for fid, f in fields.items()},
        warnings=warnings,
        file_name=parsed.clean_name,
    )


def _name_update(rule: FilenameFieldUpdate, name_values: Mapping[str, object]) -> tuple[object, str] | None:
    """The value a file-name update writes and where it came from; None when it writes nothing (the field keeps
    the master's value). Raises RepresentationError when a required value is missing."""
    value, origin = name_values.get(rule.source), f"file name ({rule.source})"
    if _is_empty(value) and rule.default is not None:
        value, origin = rule.default, "filename update default"
    if not _is_empty(value):
        return value, origin
    if rule.required:
        raise RepresentationError(
            f"Field {rule.field_id} is required but the file name {name_values['original_name']!r} gives no "
            f"{rule.source} and the field has no default."
        )
    return None if rule.fallback is None else (rule.fallback, "filename update fallback")
