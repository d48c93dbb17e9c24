"""The V2 naming convention: every example of shared/spec/v2-filenames.md, untrusted names, custom conventions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from include.ferrero.config import ConfigError, clear_cache, load_settings
from include.ferrero.config_rules import NamingRules
from include.ferrero.naming import (
    DEFAULT_CONVENTION,
    ParsedName,
    parse_filename,
    safe_local_name,
    tracking_id_in,
)

PROJECT_CONFIG = Path(__file__).resolve().parents[2] / "config"


def rules(edit) -> NamingRules:
    """The spec's convention as ``naming.yaml`` writes it, changed by ``edit``, checked as the config loader does."""
    data = DEFAULT_CONVENTION.model_dump(exclude_none=True)
    edit(data)
    return NamingRules.model_validate(data)

# The spec's example table, valid rows: name -> expected parse.
VALID_EXAMPLES = {
    "K7M2QX_Nutella_Breakfast-Moments_video_IT_v02.mp4": dict(
        tracking_id="K7M2QX", brand="Nutella", subject_title="Breakfast Moments", asset_type="video",
        language_code="IT", market_code=None, version=2, extension="mp4",
        clean_name="Nutella_Breakfast-Moments_video_IT_v02.mp4",
    ),
    "A1B2C3_Kinder-Bueno_Summer-Crunch_image_de_CH_V10.JPG": dict(
        tracking_id="A1B2C3", brand="Kinder-Bueno", subject_title="Summer Crunch", asset_type="image",
        language_code="de", market_code="CH", version=10, extension="jpg",
        clean_name="Kinder-Bueno_Summer-Crunch_image_de_CH_V10.jpg",
    ),
    "ZZ99XY_Ferrero-Rocher_Golden-Gala_audio_FR_v01.wav": dict(
        tracking_id="ZZ99XY", brand="Ferrero-Rocher", subject_title="Golden Gala", asset_type="audio",
        language_code="FR", market_code=None, version=1, extension="wav",
        clean_name="Ferrero-Rocher_Golden-Gala_audio_FR_v01.wav",
    ),
}

# The spec's invalid rows: name -> words the error about it must contain (segment and value seen).
INVALID_EXAMPLES = {
    "K7M2Q_Nutella_Breakfast_video_IT_v02.mp4": ["TRACKING", '"K7M2Q"', "5 characters", "exactly 6"],
    "K7M2QI_Nutella_Breakfast_video_IT_v02.mp4": ["TRACKING", '"K7M2QI"', '"I"', "Crockford"],
    "K7M2QX_Nutella_Breakfast_video_ITA_v02.mp4": ["LANG", '"ITA"', "3 characters", "2-letter"],
    "K7M2QX_Nutella_Breakfast_video_IT.mp4": ["VERSION", "missing"],
    "K7M2QX_Nutella_Breakfast_video_IT_v02 (1).mp4": ["VERSION", '"v02 (1)"', "duplicate suffix"],
    "K7M2QX_Nutella_Breakfast_video_IT_v02.exe": ["extension", '"exe"', "mp4"],
    "../K7M2QX_Nutella_Breakfast_video_IT_v02.mp4": ["path separator", '"/"'],
}

NAME_OK = "K7M2QX_Nutella_Breakfast-Moments_video_IT_v02.mp4"
PARSED_FIELDS = ("tracking_id", "brand", "subject_title", "asset_type", "language_code", "market_code",
                 "version", "extension", "clean_name")


@pytest.mark.parametrize("name", list(VALID_EXAMPLES))
def test_spec_valid_examples(name):
    parsed = parse_filename(name)
    assert parsed.errors == []
    assert parsed.is_valid is True
    assert {f: getattr(parsed, f) for f in PARSED_FIELDS} == VALID_EXAMPLES[name]
    assert parsed.original_name == name


@pytest.mark.parametrize("name", list(INVALID_EXAMPLES))
def test_spec_invalid_examples(name):
    parsed = parse_filename(name)
    assert parsed.is_valid is False
    assert all(getattr(parsed, f) is None for f in PARSED_FIELDS), "an invalid name must not yield values"
    assert any(all(word in error for word in INVALID_EXAMPLES[name]) for error in parsed.errors), parsed.errors


def _assert_sentences(errors):
    for error in errors:
        assert error[0].isupper() and error.endswith(".") and "\n" not in error, error


def test_every_problem_is_reported_each_as_one_sentence():
    parsed = parse_filename("k7m2qx_Nutella_Breakfast_video_ITA_v00.exe")
    assert parsed.is_valid is False
    text = "\n".join(parsed.errors)
    assert '"k7m2qx"' in text and "TRACKING" in text
    assert '"ITA"' in text and "LANG" in text
    assert '"v00"' in text and "VERSION" in text
    assert '"exe"' in text
    assert len(parsed.errors) == 4
    _assert_sentences(parsed.errors)


@pytest.mark.parametrize(
    "name, label, value",
    [
        # 7 parts -> MARKET present; the extra part shifts nothing into validity.
        ("K7M2QX_Nutella_Extra_Breakfast_video_IT_v02.mp4", "LANG", '"video"'),
        # 6 parts -> no MARKET; the LANG slot holds the 3-letter value and is refused, never read as a market.
        ("K7M2QX_Nutella_Breakfast_video_IT_CHE_v02.mp4", "MARKET", '"CHE"'),
        # Market given but version missing: read as MARKET "CH" with VERSION missing (see below).
        ("K7M2QX_Nutella_Breakfast_video_IT_CH.mp4", "VERSION", '"CH"'),
        # Missing LANG: 5 parts.
        ("K7M2QX_Nutella_Breakfast_video_v02.mp4", "LANG", '"v02"'),
    ],
)
def test_optional_market_never_makes_an_invalid_name_valid(name, label, value):
    parsed = parse_filename(name)
    assert parsed.is_valid is False
    assert any(label in e and value in e for e in parsed.errors), parsed.errors


def test_market_is_present_only_when_the_segment_count_says_so():
    with_market = parse_filename("K7M2QX_Nutella_Breakfast_video_it_it_v02.mp4")
    assert with_market.is_valid and with_market.language_code == "it" and with_market.market_code == "it"
    assert with_market.clean_name == "Nutella_Breakfast_video_it_it_v02.mp4"


def test_wrong_segment_count_says_so_and_names_the_grammar():
    parsed = parse_filename("K7M2QX_Nutella_Breakfast_video_IT.mp4")
    assert any("5 segments" in e and "6 or 7" in e and "TRACKING_BRAND_SUBJECT_TYPE_LANG[_MARKET]_VERSION" in e
               for e in parsed.errors), parsed.errors
    assert any("VERSION segment is missing after LANG" in e for e in parsed.errors)
    many = parse_filename("K7M2QX_A_B_video_IT_CH_v02_extra.mp4")
    assert any("8 segments" in e for e in many.errors)
    assert any("extra segments" in e and '"extra"' in e for e in many.errors)


@pytest.mark.parametrize("name", ["AP9WJT_Nutella_Breakfast_image_EN_GB.jpg", "AP9WJT_N_S_image_en_gb.JPG"])
def test_a_missing_version_after_a_market_is_reported_missing(name):
    parsed = parse_filename(name)
    assert parsed.is_valid is False
    summary = parsed.error_summary()
    assert 'the VERSION segment is missing after MARKET "' in summary, summary
    assert "not in the expected form" not in summary and len(parsed.errors) == 1
    _assert_sentences(parsed.errors)


@pytest.mark.parametrize(
    "name",
    [
        "K7M2QX_Nutella_Breakfast_video_IT_v2.mp4",  # "v2" is no MARKET either: a bad VERSION, not a missing one
        "K7M2QX_Nutella_Breakfast_video_IT_x02.mp4",
    ],
)
def test_a_bad_version_that_is_no_market_stays_a_bad_version(name):
    summary = parse_filename(name).error_summary()
    assert "VERSION segment" in summary and "not in the expected form" in summary and "missing" not in summary


@pytest.mark.parametrize(
    "name, expected",
    [
        ("AP9WJT_Nutella_Breakfast_image_EN_GB.jpg", "AP9WJT"),  # invalid name, valid tracking ID
        ("K7M2QX_Nutella_Breakfast_video_IT.mp4", "K7M2QX"),
        ("K7M2QX_Nutella_Breakfast-Moments_video_IT_v02.mp4", "K7M2QX"),
        ("K7M2QX.mp4", "K7M2QX"),
        ("K7M2QX", "K7M2QX"),
        ("K7M2QI_Nutella_Breakfast_video_IT_v02.mp4", None),  # I is no Crockford character
        ("k7m2qx_Nutella_Breakfast_video_IT_v02.mp4", None),  # lower case
        ("K7M2Q_Nutella.mp4", None),
        ("K7M2QXY_Nutella.mp4", None),
        ("../K7M2QX_Nutella_Breakfast_video_IT_v02.mp4", None),  # not leading
        (" K7M2QX_Nutella.mp4", None),
        ("Nutella_Breakfast_video_IT_v02.mp4", None),
        ("", None),
    ],
)
def test_tracking_id_in_finds_a_leading_tracking_id(name, expected):
    assert tracking_id_in(name) == expected


def test_tracking_id_in_follows_the_convention():
    convention = rules(lambda c: c.update(separator="-"))
    assert tracking_id_in("K7M2QX-Nutella.mp4", convention) == "K7M2QX"
    assert tracking_id_in("K7M2QX_Nutella.mp4", convention) is None
    assert tracking_id_in(None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name, words",
    [
        ("K7M2QL_Nutella_Breakfast_video_IT_v02.mp4", ['"L"']),
        ("K7M2QO_Nutella_Breakfast_video_IT_v02.mp4", ['"O"']),
        ("K7M2QU_Nutella_Breakfast_video_IT_v02.mp4", ['"U"']),
        ("K7M2QXY_Nutella_Breakfast_video_IT_v02.mp4", ["7 characters"]),
        ("K7M2QX__Breakfast_video_IT_v02.mp4", ["BRAND segment is empty"]),
        ("K7M2QX_Nutella_Breakfast Moments_video_IT_v02.mp4", ["SUBJECT", '" "']),
        ("K7M2QX_Nutella_Breakfast_video2_IT_v02.mp4", ["TYPE", '"2"']),
        ("K7M2QX_Nutella_Breakfast_video_I1_v02.mp4", ["LANG", '"1"']),
        ("K7M2QX_Nutella_Breakfast_video_IT_v00.mp4", ["VERSION", '"v00"', "01 to 99"]),
        ("K7M2QX_Nutella_Breakfast_video_IT_v2.mp4", ["VERSION", '"v2"']),
        ("K7M2QX_Nutella_Breakfast_video_IT_v100.mp4", ["VERSION", '"v100"']),
        ("K7M2QX_Nutella_Breakfast_video_IT_x02.mp4", ["VERSION", '"x02"']),
        ("K7M2QX_Nutella_Breakfast_video_IT_v02", ["no extension"]),
        ("K7M2QX_Nutella_Breakfast_video_IT_v02.", ['extension ""']),
        ("K7M2QX_Nutella_Breakfast_video_IT_v02.mp4.exe", ['"exe"']),
        ("K7M2QX_Nutella_Breakfast_video_IT_v02.tar.mp4", ['"v02.tar"']),
        (" K7M2QX_Nutella_Breakfast_video_IT_v02.mp4", ["TRACKING", '" "']),
        ("K7M2QX_" + "B" * 41 + "_Breakfast_video_IT_v02.mp4", ["BRAND", "41 characters", "1 to 40"]),
        ("K7M2QX_Nutella_" + "S" * 81 + "_video_IT_v02.mp4", ["SUBJECT", "81 characters"]),
    ],
)
def test_more_invalid_names(name, words):
    parsed = parse_filename(name)
    assert parsed.is_valid is False
    assert any(all(w in e for w in words) for e in parsed.errors), parsed.errors
    _assert_sentences(parsed.errors)


@pytest.mark.parametrize(
    "name, field, value",
    [
        ("K7M2QX_Nutella_Breakfast_video_IT_V99.MOV", "version", 99),
        ("K7M2QX_Nutella_Breakfast_video_IT_v02.Mp4", "extension", "mp4"),
        ("0123AB_N_S_x_en_v01.pdf", "clean_name", "N_S_x_en_v01.pdf"),
        ("VWXYZ0_B_S-1-2_x_en_v01.tif", "subject_title", "S 1 2"),
        ("K7M2QX_" + "B" * 40 + "_" + "S" * 80 + "_video_IT_v02.mp4", "brand", "B" * 40),
    ],
)
def test_more_valid_names(name, field, value):
    parsed = parse_filename(name)
    assert parsed.is_valid, parsed.errors
    assert getattr(parsed, field) == value


@pytest.mark.parametrize(
    "name, words",
    [
        ("..\\K7M2QX_Nutella_Breakfast_video_IT_v02.mp4", ["path separator", '"\\"']),
        ("a/b\\K7M2QX_Nutella_Breakfast_video_IT_v02.mp4", ['"/" and "\\"']),
        ("K7M2QX_Nutella_Breakfast\x00_video_IT_v02.mp4", ["control characters", "\\x00"]),
        ("K7M2QX_Nutella_Breakfast_video_IT_v02.mp4\n", ["control characters", "\\n"]),
        ("K7M2QX_Nutella\x1b[31m_Breakfast_video_IT_v02.mp4", ["control characters", "\\x1b"]),
    ],
)
def test_untrusted_names(name, words):
    parsed = parse_filename(name)
    assert parsed.is_valid is False
    assert any(all(w in e for w in words) for e in parsed.errors), parsed.errors
    for error in parsed.errors:  # the raw control character never reaches the message
        assert not any(ord(ch) < 32 for ch in error), error


def test_name_length_is_counted_in_utf8_bytes():
    # TYPE has no maximum, so a valid name can be exactly 255 bytes.
    prefix, suffix = "K7M2QX_N_S_", "_IT_v02.mp4"
    exact = prefix + "t" * (255 - len(prefix) - len(suffix)) + suffix
    assert len(exact.encode()) == 255
    assert parse_filename(exact).is_valid
    too_long = prefix + "t" * (256 - len(prefix) - len(suffix)) + suffix
    assert any("256 bytes" in e and "at most 255" in e for e in parse_filename(too_long).errors)
    accented = "K7M2QX_N_" + "é" * 120 + "_t_IT_v02.mp4"  # 120 characters, 240 bytes, plus the rest
    errors = parse_filename(accented).errors
    assert any(f"{len(accented.encode())} bytes" in e for e in errors)
    huge = parse_filename("x" * 10_000 + ".mp4")
    assert all(len(e) < 400 for e in huge.errors), "long values are shortened in messages"


def test_never_raises_on_odd_input():
    for name in ["", ".", "..", "_", "______.mp4", ".mp4", "\udcff.mp4", "K7M2QX", "🙂" * 300]:
        parsed = parse_filename(name)
        assert parsed.is_valid is False and parsed.errors
    assert parse_filename(None).is_valid is False  # type: ignore[arg-type]


def test_error_summary_is_one_sentence():
    assert parse_filename(NAME_OK).error_summary() == ""
    summary = parse_filename("K7M2QI_Nutella_Breakfast_video_ITA_v02.mp4").error_summary()
    assert summary.startswith("The file name 'K7M2QI_Nutella_Breakfast_video_ITA_v02.mp4' is not valid: the TRACKING")
    assert "; the LANG segment" in summary and summary.endswith(".") and summary.count(". ") == 0


def test_to_dict_round_trip():
    parsed = parse_filename("A1B2C3_Kinder-Bueno_Summer-Crunch_image_de_CH_V10.JPG")
    data = parsed.to_dict()
    assert data["market_code"] == "CH" and data["is_valid"] is True and data["errors"] == []
    assert ParsedName.from_dict(data) == parsed


def test_config_file_is_the_spec_default():
    clear_cache()
    assert load_settings().naming == DEFAULT_CONVENTION


def test_custom_convention_from_config():
    convention = rules(lambda c: c.update(allowed_extensions=["mxf"], upload_components=[],
                                          segments=[s for s in c["segments"] if s["field"] != "market_code"]))
    ok = parse_filename("K7M2QX_Nutella_Breakfast_video_IT_v02.MXF", convention)
    assert ok.is_valid and ok.clean_name == "K7M2QX_Nutella_Breakfast_video_IT_v02.mxf"
    assert not parse_filename("K7M2QX_Nutella_Breakfast_video_IT_v02.mp4", convention).is_valid
    no_market = parse_filename("K7M2QX_Nutella_Breakfast_video_IT_CH_v02.mxf", convention)
    assert any("7 segments" in e and "expected 6," in e for e in no_market.errors), no_market.errors

    def dash(convention):
        convention["separator"] = "-"
        for seg in convention["segments"]:
            if seg.get("charset") == "A-Za-z0-9-":
                seg["charset"] = "A-Za-z0-9_"

    dashed = rules(dash)
    parsed = parse_filename("K7M2QX-Nutella-Breakfast_Moments-video-IT-v02.mp4", dashed)
    assert parsed.is_valid, parsed.errors
    assert parsed.clean_name == "Nutella-Breakfast_Moments-video-IT-v02.mp4"


@pytest.fixture
def config_copy(tmp_path):
    folder = tmp_path / "config"
    shutil.copytree(PROJECT_CONFIG, folder)
    clear_cache()
    yield folder
    clear_cache()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda n: n["segments"][0].update(length="six"), "segments.0.length must be an integer >= 1, got 'six'"),
        (lambda n: n["segments"][2].update(value="title"), "segments.2.value must be text, hyphens_to_spaces or integer"),
        (lambda n: n.update(allowed_extensions="mp4"), "allowed_extensions must be a non-empty list of file"),
        (lambda n: n.update(separator="/"), "separator must be one character other than"),
    ],
)
def test_naming_yaml_is_validated_by_its_schema(config_copy, edit, message):
    assert "naming.yaml: " + message in _refusal(config_copy, edit)


def _refusal(config_copy, edit) -> str:
    """What loading the configuration says once ``edit`` changed naming.yaml (it must refuse it)."""
    path = config_copy / "naming.yaml"
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_settings(config_copy)
    return str(info.value)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["segments"][1].update(optional=True),
         "segments.5.optional is true on a second segment; at most one segment may be optional, or a name could "
         "be read two ways"),
        (lambda c: c["segments"][1].update(field="colour"), "segments.1.field must be one of tracking_id, brand,"),
        (lambda c: c["segments"][1].update(field="tracking_id"),
         "segments.1.field 'tracking_id' appears twice (a field fills one segment)"),
        (lambda c: c["segments"][6].update(pattern="[v"), "segments.6.pattern must be a regular expression, got '[v'"),
        (lambda c: c["segments"][1].update(charset="z-a"),
         "segments.1.charset must be the inside of a regex character class, such as A-Za-z0-9-, got 'z-a'"),
        (lambda c: c.update(allowed_extensions=[]), "allowed_extensions must be a non-empty list of file extensions"),
        (lambda c: c.update(segments=c["segments"][1:]), "segments must include the tracking_id field"),
    ],
)
def test_a_convention_that_cannot_work_is_refused_at_load(config_copy, edit, message):
    """What the parser cannot work with never reaches it: the configuration refuses it, in one sentence."""
    refusal = _refusal(config_copy, edit)
    assert refusal.startswith("config/naming.yaml: " + message), refusal
    assert "\n" not in refusal


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "..\\..\\x.mp4", "a\x00b.mp4", "..", ".", "", ".hidden", "名前.mp4", "a" * 500 + ".mp4",
     "K7M2QX_Nutella_Breakfast_video_IT_v02 (1).mp4", "/abs/path/file.MOV", "x" * 500],
)
def test_safe_local_name_stays_inside_its_folder(tmp_path, name):
    safe = safe_local_name(name)
    assert safe and safe not in (".", "..") and not safe.startswith(".")
    assert len(safe) <= 120
    assert set(safe) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    target = (tmp_path / safe).resolve()
    assert target.parent == tmp_path.resolve()
    target.write_bytes(b"ok")  # usable as a file name


def test_safe_local_name_keeps_what_is_safe():
    assert safe_local_name("K7M2QX_Nutella_Breakfast-Moments_video_IT_v02.mp4") == (
        "K7M2QX_Nutella_Breakfast-Moments_video_IT_v02.mp4"
    )
    assert safe_local_name("a" * 500 + ".mp4").endswith("a.mp4")
    assert safe_local_name("../../etc/passwd") == "passwd"
