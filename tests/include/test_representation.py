"""The derivative's asset representation: master fields, file-name updates, forced/default values, domains."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from include.ferrero.config import ConfigError, clear_cache, load_settings
from include.ferrero.config_rules import FieldMappings
from include.ferrero.naming import parse_filename
from include.ferrero.representation import (
    RepresentationError,
    build_asset_representation,
    domains_from_otmm,
    flatten_metadata,
    metadata_model_of,
)

PROJECT_CONFIG = Path(__file__).resolve().parents[2] / "config"
NAME = "K7M2QX_Nutella_Breakfast-Moments_VIDEO_it_v02.mp4"


def scalar(fid, value, vtype="string"):
    return {"id": fid, "name": fid.title(), "type": "com.artesia.metadata.MetadataField",
            "value": {"value": {"type": vtype, "value": value}, "domain_value": False,
                      "cascading_domain_value": False, "is_locked": False}}


def domain_field(fid, code, label):
    return {"id": fid, "type": "com.artesia.metadata.MetadataField",
            "value": {"value": {"type": "string", "field_value": {"type": "string", "value": code},
                                "display_value": label}, "domain_value": True}}


def table(fid, *codes):
    return {"id": fid + ".TABLE", "type": "com.artesia.metadata.MetadataTable", "metadata_element_list": [
        {"id": fid, "type": "com.artesia.metadata.MetadataTableField",
         "values": [{"value": {"type": "string", "value": c, "display_value": c.title()}} for c in codes]}]}


def master_asset():
    """A master as `GET /assets/{id}?load_type=metadata` returns it: metadata grouped (spec §5)."""
    return {"asset_resource": {"asset": {
        "asset_id": "a" * 40, "name": "Breakfast.mp4", "metadata_model_id": "FERRERO.MODEL.MARKETING",
        "metadata": {
            "type": "com.artesia.metadata.MetadataModel", "id": "FERRERO.MODEL.MARKETING", "name": "Marketing",
            "metadata_element_list": [
                {"id": "FERRERO.GROUP.ASSET INFO", "type": "com.artesia.metadata.MetadataFieldGroup",
                 "metadata_element_list": [
                     domain_field("FERRERO.FIELD.MKTG.ASSET TYPE", "master", "Master film"),
                     scalar("FERRERO.FIELD.FISCAL YEAR", "2024/2025"),
                     table("MAIN_LANGUAGES", "EN", "IT"),
                     scalar("ARTESIA.FIELD.ASSET DESCRIPTION", "Breakfast master"),
                     scalar("FERRERO.FIELD.STATE", "Global"),
                     scalar("ARTESIA.FIELD.ASSET NAME", "Breakfast.mp4"),
                     scalar("FERRERO.FIELD.SUB BRAND", "Nutella B-ready"),
                     scalar("NOT.AN.MVP.FIELD", "secret"),
                 ]},
                {"id": "FERRERO.GROUP.MARKETING", "metadata_element_list": [
                    scalar("FERRERO.MARKETING.FIELD.AGENCY NAME", "Agency One"),
                    scalar("FERRERO.MARKETING.FIELD.SPOT_VERSION", 3, "decimal"),
                    {"id": "FERRERO.MARKETING.FIELD.DIRECTOR_NAME", "type": "com.artesia.metadata.MetadataField",
                     "value": {"value": {"type": "string", "display_value": "J. Doe"}, "domain_value": True}},
                ]},
            ],
        },
    }}}


DOMAINS = {
    "FERRERO.DOMAIN.LANGUAGE": ["EN", "IT", "DE", "FR"],
    "FERRERO.DOMAIN.MKTG ASSET TYPE": {"video": "Video", "image": "Image", "audio": "Audio", "master": "Master"},
}
MEDIA = {"duration_ms": 15040, "width": 1920, "height": 1080, "frame_rate": 25.0, "video_codec": "AVC",
         "audio_codec": "AAC", "bitrate": 8_000_000, "audio_channels": 2}


@pytest.fixture(scope="module")
def mappings():
    clear_cache()
    return load_settings().field_mappings


def edited(mappings, edit):
    """``mappings`` as ``field_mappings.yaml`` writes them, changed by ``edit``, checked as the config loader does."""
    data = mappings.model_dump(exclude_none=True)
    edit(data)
    return FieldMappings.model_validate(data)


def elements(result):
    return {e["id"]: e for e in result.representation["asset_resource"]["asset"]["metadata"]["metadata_element_list"]}


def test_flatten_reads_grouped_metadata():
    flat = flatten_metadata(master_asset())
    assert flat["FERRERO.FIELD.MKTG.ASSET TYPE"] == "master"  # the code, not the label
    assert flat["MAIN_LANGUAGES"] == ["EN", "IT"]
    assert flat["FERRERO.FIELD.FISCAL YEAR"] == "2024/2025"
    assert flat["FERRERO.MARKETING.FIELD.SPOT_VERSION"] == 3
    assert flat["FERRERO.MARKETING.FIELD.DIRECTOR_NAME"] == "J. Doe"  # display_value fallback
    assert "FERRERO.GROUP.ASSET INFO" not in flat and "MAIN_LANGUAGES.TABLE" not in flat
    # the asset, its metadata, and the flat write list (spec §7) give the same values
    asset = master_asset()["asset_resource"]["asset"]
    assert flatten_metadata(asset) == flat == flatten_metadata(asset["metadata"])
    write_list = [{"id": "X", "type": "com.artesia.metadata.MetadataField", "value": {"value": {"value": "1"}}},
                  {"id": "T", "type": "com.artesia.metadata.MetadataTableField",
                   "values": [{"value": {"type": "string", "value": "IT"}}]}]
    assert flatten_metadata(write_list) == {"X": "1", "T": ["IT"]}
    assert flatten_metadata({"A": "x", "B": ["y"]}) == {"A": "x", "B": ["y"]}
    assert metadata_model_of(master_asset()) == "FERRERO.MODEL.MARKETING"
    assert metadata_model_of(asset["metadata"]) == "FERRERO.MODEL.MARKETING"


def test_representation_from_the_project_config(mappings):
    result = build_asset_representation(master_asset(), parse_filename(NAME), MEDIA, mappings, DOMAINS)
    fields = result.fields
    # file-name updates, with transforms
    assert fields["ARTESIA.FIELD.ASSET NAME"] == "Nutella_Breakfast-Moments_VIDEO_it_v02.mp4"
    assert fields["ARTESIA.FIELD.ASSET DESCRIPTION"] == "Breakfast Moments"
    assert fields["MAIN_LANGUAGES"] == ["IT"]
    assert fields["FERRERO.FIELD.MKTG.ASSET TYPE"] == "video"
    # MVP fields copied from the master; others not
    assert fields["FERRERO.FIELD.SUB BRAND"] == "Nutella B-ready"
    assert fields["FERRERO.MARKETING.FIELD.AGENCY NAME"] == "Agency One"
    assert fields["FERRERO.MARKETING.FIELD.SPOT_VERSION"] == 3
    assert "NOT.AN.MVP.FIELD" not in fields
    # forced beats the master; defaults fill only what is missing
    assert fields["FERRERO.FIELD.STATE"] == "Local"
    assert fields["FERRERO.FIELD.FISCAL YEAR"] == "2024/2025"
    assert fields["FERRERO.FIELD.ASSETCOMPLIANCE"] == "-"
    assert fields["MARKETING_TAG"] == "Tag"
    # media
    assert fields["FERRERO.FIELD.DURATION"] == 15.04
    assert fields["FERRERO.FIELD.RESOLUTION"] == "1920x1080"
    assert fields["FERRERO.FIELD.VIDEO CODEC"] == "AVC"
    assert result.warnings == []
    assert result.sources["FERRERO.FIELD.STATE"] == "forced"
    assert result.sources["MAIN_LANGUAGES"] == "file name (language_code)"
    assert result.sources["FERRERO.FIELD.SUB BRAND"] == "master"
    assert result.sources["MARKETING_TAG"] == "default"
    assert result.file_name == "Nutella_Breakfast-Moments_VIDEO_it_v02.mp4"


def test_create_asset_json_shapes(mappings):
    """Spec §7: flat list; scalar, domain and table field forms; model and security policies."""
    result = build_asset_representation(master_asset(), parse_filename(NAME), MEDIA, mappings, DOMAINS)
    asset = result.representation["asset_resource"]["asset"]
    assert asset["metadata_model_id"] == "FERRERO.MODEL.MARKETING"  # config null -> the master's model
    assert asset["security_policy_list"] == [{"id": 2}]
    by_id = elements(result)
    assert by_id["ARTESIA.FIELD.ASSET DESCRIPTION"] == {
        "id": "ARTESIA.FIELD.ASSET DESCRIPTION", "type": "com.artesia.metadata.MetadataField",
        "value": {"value": {"type": "string", "value": "Breakfast Moments"}}}
    assert by_id["FERRERO.FIELD.MKTG.ASSET TYPE"] == {
        "id": "FERRERO.FIELD.MKTG.ASSET TYPE", "type": "com.artesia.metadata.MetadataField",
        "value": {"domain_value": "true", "value": {"type": "string", "value": "video"}}}
    assert by_id["MAIN_LANGUAGES"] == {
        "id": "MAIN_LANGUAGES", "type": "com.artesia.metadata.MetadataTableField",
        "values": [{"value": {"type": "string", "value": "IT"}}]}
    assert by_id["FERRERO.FIELD.DURATION"]["value"] == {"value": {"type": "decimal", "value": 15.04}}
    assert by_id["FERRERO.MARKETING.FIELD.SPOT_VERSION"]["value"]["value"]["type"] == "decimal"
    assert all("metadata_element_list" not in e for e in by_id.values()), "the write list is flat"
    json.dumps(result.representation)  # JSON-able as is


def test_preview_is_for_humans(mappings):
    result = build_asset_representation(master_asset(), parse_filename(NAME), {}, mappings, DOMAINS)
    preview = result.preview()
    assert preview["file_name"] == "Nutella_Breakfast-Moments_VIDEO_it_v02.mp4"
    assert preview["fields"]["FERRERO.FIELD.STATE"] == {"value": "Local", "from": "forced"}
    assert preview["security_policy_ids"] == [2]
    assert "FERRERO.FIELD.DURATION" not in preview["fields"], "no media metadata, no media fields"
    json.dumps(preview)


def test_strict_mode_refuses_a_value_outside_its_domain(mappings):
    parsed = parse_filename("K7M2QX_Nutella_Breakfast_poster_IT_v02.jpg")
    with pytest.raises(RepresentationError) as info:
        build_asset_representation(master_asset(), parsed, {}, mappings, DOMAINS, strict=True)
    message = str(info.value)
    assert "FERRERO.FIELD.MKTG.ASSET TYPE" in message and "'poster'" in message
    assert "FERRERO.DOMAIN.MKTG ASSET TYPE" in message and "video, image, audio, master" in message
    assert message.endswith(".") and "\n" not in message


def test_lenient_mode_keeps_the_value_with_a_warning(mappings):
    parsed = parse_filename("K7M2QX_Nutella_Breakfast_poster_XX_v02.jpg")
    result = build_asset_representation(master_asset(), parsed, {}, mappings, DOMAINS, strict=False)
    assert result.fields["FERRERO.FIELD.MKTG.ASSET TYPE"] == "poster"
    assert result.fields["MAIN_LANGUAGES"] == ["XX"]
    assert len(result.warnings) == 2
    assert any("'XX'" in w and "MAIN_LANGUAGES" in w and "EN, IT, DE, FR" in w for w in result.warnings)


def test_strict_mode_comes_from_config(mappings):
    strict = edited(mappings, lambda m: m["validate_domain_values"].update(strict_mode=True))
    parsed = parse_filename("K7M2QX_Nutella_Breakfast_poster_IT_v02.jpg")
    with pytest.raises(RepresentationError):
        build_asset_representation(master_asset(), parsed, {}, strict, DOMAINS)
    assert build_asset_representation(master_asset(), parsed, {}, mappings, DOMAINS).warnings


def test_domain_check_edges(mappings):
    parsed = parse_filename("K7M2QX_Nutella_Breakfast_poster_IT_v02.jpg")
    no_domains = build_asset_representation(master_asset(), parsed, {}, mappings, None, strict=True)
    assert any("not checked" in w for w in no_domains.warnings)
    only_languages = {"FERRERO.DOMAIN.LANGUAGE": ["IT"]}
    with pytest.raises(RepresentationError, match="lookup domain FERRERO.DOMAIN.MKTG ASSET TYPE is not available"):
        build_asset_representation(master_asset(), parsed, {}, mappings, only_languages, strict=True)
    lenient = build_asset_representation(master_asset(), parsed, {}, mappings, only_languages, strict=False)
    assert any("not available" in w for w in lenient.warnings)
    disabled = edited(mappings, lambda m: m["validate_domain_values"].update(enabled=False))
    assert build_asset_representation(master_asset(), parsed, {}, disabled, {}, strict=True).warnings == []
    opt_out = edited(mappings, lambda m: [rule.update(validate_domain=False) for rule in m["filename_field_updates"]])
    assert build_asset_representation(master_asset(), parsed, {}, opt_out, {}, strict=True).warnings == []


def test_master_values_are_not_rechecked():
    mappings = FieldMappings.model_validate({
        "mvp_fields": ["FERRERO.FIELD.MKTG.ASSET TYPE"], "filename_field_updates": [],
        "field_domains": {"FERRERO.FIELD.MKTG.ASSET TYPE": "D"},
        "validate_domain_values": {"enabled": True, "strict_mode": True}, "metadata_model_id": "M"})
    result = build_asset_representation(master_asset(), parse_filename(NAME), {}, mappings, {"D": ["x"]})
    assert result.fields == {"FERRERO.FIELD.MKTG.ASSET TYPE": "master"}
    assert elements(result)["FERRERO.FIELD.MKTG.ASSET TYPE"]["value"]["domain_value"] == "true"
    forced = edited(mappings, lambda m: m.update(forced_field_values={"FERRERO.FIELD.MKTG.ASSET TYPE": "typo"}))
    with pytest.raises(RepresentationError, match="'typo'"):
        build_asset_representation(master_asset(), parse_filename(NAME), {}, forced, {"D": ["x"]})


def test_validate_domain_defaults_to_what_field_domains_says():
    """A file-name update without validate_domain checks its value exactly when its field has a lookup domain."""
    parsed = parse_filename("K7M2QX_Nutella_Breakfast_poster_IT_v02.jpg")
    mappings = base_mappings(field_domains={"TYPE": "D"}, filename_field_updates=[
        {"field_id": "TYPE", "source": "asset_type"}, {"field_id": "BRAND", "source": "brand"}])
    with pytest.raises(RepresentationError, match="Field TYPE value 'poster' is not in the lookup domain D"):
        build_asset_representation({}, parsed, {}, mappings, {"D": ["video"]}, strict=True)
    assert build_asset_representation({}, parsed, {}, mappings, {"D": ["poster"]}, strict=True).fields == {
        "TYPE": "poster", "BRAND": "Nutella"}, "BRAND has no domain: not checked"
    unchecked = edited(mappings, lambda m: m["filename_field_updates"][0].update(validate_domain=False))
    assert build_asset_representation({}, parsed, {}, unchecked, {"D": ["video"]}, strict=True).warnings == []


def base_mappings(**extra):
    return FieldMappings.model_validate({"mvp_fields": [], "filename_field_updates": [], "metadata_model_id": "M",
                                         "security_policy_ids": [7], **extra})


def test_required_default_and_fallback():
    parsed = parse_filename(NAME)  # no MARKET segment
    required = base_mappings(filename_field_updates=[
        {"field_id": "COUNTRY", "source": "market_code", "required": True}])
    with pytest.raises(RepresentationError) as info:
        build_asset_representation({}, parsed, {}, required)
    assert "COUNTRY" in str(info.value) and "market_code" in str(info.value) and NAME in str(info.value)

    with_default = base_mappings(filename_field_updates=[
        {"field_id": "COUNTRY", "source": "market_code", "required": True, "default": "it", "transform": "uppercase"}])
    result = build_asset_representation({}, parsed, {}, with_default)
    assert result.fields == {"COUNTRY": "IT"}
    assert result.sources["COUNTRY"] == "filename update default"

    fallback = base_mappings(filename_field_updates=[
        {"field_id": "COUNTRY", "source": "market_code", "fallback": ""}])
    assert build_asset_representation({}, parsed, {}, fallback).fields == {"COUNTRY": ""}

    neither = base_mappings(mvp_fields=["FERRERO.FIELD.SUB BRAND"], filename_field_updates=[
        {"field_id": "FERRERO.FIELD.SUB BRAND", "source": "market_code"}])
    kept = build_asset_representation(master_asset(), parsed, {}, neither)
    assert kept.fields == {"FERRERO.FIELD.SUB BRAND": "Nutella B-ready"}, "no value in the name keeps the master's"

    with_market = parse_filename("A1B2C3_Kinder-Bueno_Summer-Crunch_image_de_CH_V10.JPG")
    assert build_asset_representation({}, with_market, {}, required).fields == {"COUNTRY": "CH"}


def test_table_fields_and_value_types():
    mappings = base_mappings(
        table_fields=["LANGS"],
        filename_field_updates=[{"field_id": "LANGS", "source": "language_code", "transform": "uppercase"},
                                {"field_id": "VERSION", "source": "version"}],
        media_field_mappings=[{"field_id": "CHANNELS", "source": "audio_channels"},
                              {"field_id": "MS", "source": "duration_ms", "type": "decimal"}],
    )
    result = build_asset_representation({}, parse_filename(NAME), {"audio_channels": 2, "duration_ms": 10}, mappings)
    by_id = elements(result)
    assert by_id["LANGS"]["values"] == [{"value": {"type": "string", "value": "IT"}}]
    assert by_id["VERSION"]["value"]["value"] == {"type": "decimal", "value": 2}
    assert by_id["CHANNELS"]["value"]["value"] == {"type": "string", "value": "2"}
    assert by_id["MS"]["value"]["value"] == {"type": "decimal", "value": 10}
    assert result.representation["asset_resource"]["asset"]["security_policy_list"] == [{"id": 7}]


def test_invalid_name_is_one_sentence():
    parsed = parse_filename("K7M2QI_Nutella_Breakfast_video_ITA_v02.mp4")
    with pytest.raises(RepresentationError) as info:
        build_asset_representation(master_asset(), parsed, {}, base_mappings(filename_field_updates=[]))
    message = str(info.value)
    assert message.startswith("The file name 'K7M2QI_Nutella_Breakfast_video_ITA_v02.mp4' is not valid: ")
    assert '"K7M2QI"' in message and '"ITA"' in message and message.count(".") >= 1 and "\n" not in message


def test_parsed_name_may_come_as_a_dict(mappings):
    """The DAG passes the parse between tasks as JSON."""
    as_dict = json.loads(json.dumps(parse_filename(NAME).to_dict()))
    result = build_asset_representation(master_asset(), as_dict, MEDIA, mappings, DOMAINS)
    assert result.fields["ARTESIA.FIELD.ASSET NAME"] == "Nutella_Breakfast-Moments_VIDEO_it_v02.mp4"


def test_missing_metadata_model_is_an_error():
    with pytest.raises(RepresentationError, match="metadata model"):
        build_asset_representation({}, parse_filename(NAME), {}, base_mappings(metadata_model_id=None))


def test_domains_from_otmm_answers():
    listing = {"lookup_domains_resource": {"lookup_domains": [
        {"cacheable": True, "datatype": "CHAR", "domainId": "FERRERO.DOMAIN.LANGUAGE", "domainValues": [
            {"display_value": "Italian", "expired_value": False, "field_value": {"type": "string", "value": "IT"}},
            {"display_value": "Latin", "expired_value": True, "field_value": {"type": "string", "value": "LA"}}]}]}}
    one = {"lookup_domain_resource": {"lookup_domain": {"domainId": "D2", "domainValues": [
        {"display_value": "Video", "field_value": {"type": "string", "value": "video"}}]}}}
    assert domains_from_otmm(listing) == {"FERRERO.DOMAIN.LANGUAGE": {"IT": "Italian"}}
    assert domains_from_otmm([listing, one]) == {"FERRERO.DOMAIN.LANGUAGE": {"IT": "Italian"},
                                                 "D2": {"video": "Video"}}
    assert domains_from_otmm({"D": ["a"]}) == {"D": ["a"]}


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.update(mvp_fields="FERRERO.FIELD.STATE"), "mvp_fields must be a list of field ids"),
        (lambda m: m["filename_field_updates"][0].update(source="title"), "filename_field_updates.0.source must be one of"),
        (lambda m: m["filename_field_updates"][2].update(transform="upper"),
         "filename_field_updates.2.transform must be uppercase, lowercase or none"),
        (lambda m: m["validate_domain_values"].update(strict_mode="yes"), "validate_domain_values.strict_mode must be true or false"),
        (lambda m: m["validate_domain_values"].update(cache_ttl_hours=-1), "validate_domain_values.cache_ttl_hours must be a number of hours >= 0, got -1"),
        (lambda m: m["media_field_mappings"][0].update(type="float"), "media_field_mappings.0.type must be string or decimal"),
        (lambda m: m["filename_field_updates"][0].update(validate_domain=True),
         "filename_field_updates.0.validate_domain is true but field_domains gives ARTESIA.FIELD.ASSET NAME no "
         "lookup domain"),
        (lambda m: m["filename_field_updates"][1].update(fallback=None),
         "filename_field_updates.1.fallback must be a text or a number, got None"),
    ],
)
def test_field_mappings_yaml_is_validated_by_its_schema(tmp_path, edit, message):
    folder = tmp_path / "config"
    shutil.copytree(PROJECT_CONFIG, folder)
    path = folder / "field_mappings.yaml"
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data))
    clear_cache()
    try:
        with pytest.raises(ConfigError) as info:
            load_settings(folder)
    finally:
        clear_cache()
    assert "field_mappings.yaml: " + message in str(info.value)


def test_project_field_mappings_match_the_original_plan(mappings):
    assert len(mappings.mvp_fields) == 28
    for fid in ["FERRERO.FIELD.MKTG.ASSET TYPE", "FERRERO.FIELD.FISCAL YEAR", "MAIN_LANGUAGES",
                "ARTESIA.FIELD.ASSET DESCRIPTION", "FERRERO.FIELD.STATE", "ARTESIA.FIELD.ASSET NAME",
                "FERRERO.FIELD.SUB BRAND", "FERRERO.MARKETING.FIELD.AGENCY NAME",
                "FERRERO.MARKETING.FIELD.SPOT_VERSION", "FERRERO.MARKETING.FIELD.DIRECTOR_NAME",
                "FERRERO.MARKET.FIELD.IPRIGHT", "FERRERO.MARKET.FIELD.BUYOUT"]:
        assert fid in mappings.mvp_fields
    assert mappings.forced_field_values == {"FERRERO.FIELD.STATE": "Local"}
    assert mappings.validate_domain_values.cache_ttl_hours == 24
    assert mappings.validate_domain_values.strict_mode is False
