"""The administrators' command line: check-name and preview."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import pytest
import yaml

from include.ferrero.cli import main
from include.ferrero.config import clear_cache

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GOOD = "K7M2QX_Nutella_Breakfast-Moments_video_IT_v02.mp4"
BAD = "K7M2QI_Nutella_Breakfast_video_ITA_v02.mp4"

MASTER = {"asset_resource": {"asset": {"metadata_model_id": "FERRERO.MODEL.MARKETING", "metadata": {
    "id": "FERRERO.MODEL.MARKETING", "metadata_element_list": [{"id": "G", "metadata_element_list": [
        {"id": "FERRERO.FIELD.SUB BRAND", "type": "com.artesia.metadata.MetadataField",
         "value": {"value": {"type": "string", "value": "B-ready"}}},
        {"id": "FERRERO.FIELD.STATE", "type": "com.artesia.metadata.MetadataField",
         "value": {"value": {"type": "string", "value": "Global"}}},
    ]}]}}}}
DOMAINS_ANSWER = {"lookup_domains_resource": {"lookup_domains": [
    {"domainId": "FERRERO.DOMAIN.LANGUAGE", "domainValues": [
        {"display_value": "Italian", "field_value": {"type": "string", "value": "IT"}}]},
    {"domainId": "FERRERO.DOMAIN.MKTG ASSET TYPE", "domainValues": [
        {"display_value": "Video", "field_value": {"type": "string", "value": "video"}}]}]}}


@pytest.fixture(autouse=True)
def fresh_config():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def files(tmp_path):
    master = tmp_path / "master.json"
    master.write_text(json.dumps(MASTER))
    domains = tmp_path / "domains.json"
    domains.write_text(json.dumps(DOMAINS_ANSWER))
    return {"master": str(master), "domains": str(domains)}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_name_valid_prints_the_parse(capsys):
    code, out, _ = run(capsys, "check-name", GOOD)
    assert code == 0
    parsed = json.loads(out)
    assert parsed["tracking_id"] == "K7M2QX" and parsed["clean_name"] == "Nutella_Breakfast-Moments_video_IT_v02.mp4"
    assert parsed["subject_title"] == "Breakfast Moments" and parsed["version"] == 2


def test_check_name_invalid_prints_each_error_on_its_own_line(capsys):
    code, out, _ = run(capsys, "check-name", BAD)
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 2
    assert "TRACKING" in lines[0] and '"K7M2QI"' in lines[0]
    assert "LANG" in lines[1] and '"ITA"' in lines[1]


def test_check_name_several_names(capsys):
    code, out, _ = run(capsys, "check-name", GOOD, BAD)
    assert code == 1
    assert '"tracking_id": "K7M2QX"' in out
    assert [line for line in out.splitlines() if line.startswith(BAD + ": ")] != []


def test_check_name_uses_the_configured_convention(capsys, tmp_path):
    folder = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", folder)
    naming = yaml.safe_load((folder / "naming.yaml").read_text())
    naming["allowed_extensions"] = ["mxf"]
    (folder / "naming.yaml").write_text(yaml.safe_dump(naming))
    code, out, _ = run(capsys, "--config-dir", str(folder), "check-name", GOOD)
    assert code == 1 and 'extension "mp4" is not allowed; expected one of mxf' in out


def test_broken_config_is_one_sentence(capsys, tmp_path):
    folder = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", folder)
    (folder / "naming.yaml").write_text("segments: 3\nallowed_extensions: [mp4]\n")
    code, out, err = run(capsys, "--config-dir", str(folder), "check-name", GOOD)
    assert code == 1 and out == ""
    assert "naming.yaml: segments must be a list of segments" in err and len(err.strip().splitlines()) == 1


def test_preview(capsys, files):
    code, out, _ = run(capsys, "preview", "--name", GOOD, "--master-metadata", files["master"],
                       "--domains", files["domains"])
    assert code == 0, out
    preview = json.loads(out)
    assert preview["file_name"] == "Nutella_Breakfast-Moments_video_IT_v02.mp4"
    assert preview["fields"]["FERRERO.FIELD.STATE"] == {"value": "Local", "from": "forced"}
    assert preview["fields"]["FERRERO.FIELD.SUB BRAND"] == {"value": "B-ready", "from": "master"}
    assert preview["fields"]["MAIN_LANGUAGES"]["value"] == ["IT"]
    assert preview["warnings"] == [] and preview["media"] == {}
    assert "representation" not in preview


def test_preview_with_a_file_and_the_full_representation(capsys, files, tmp_path):
    video = tmp_path / "upload.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=128x72:rate=25", "-t", "1", "-pix_fmt", "yuv420p", str(video)],
                   check=True, timeout=60)
    code, out, _ = run(capsys, "preview", "--name", GOOD, "--master-metadata", files["master"],
                       "--file", str(video), "--full")
    assert code == 0, out
    preview = json.loads(out)
    assert preview["media"]["width"] == 128
    assert preview["fields"]["FERRERO.FIELD.RESOLUTION"]["value"] == "128x72"
    assert any("not checked" in w for w in preview["warnings"]), "no --domains: the check is skipped, with a warning"
    asset = preview["representation"]["asset_resource"]["asset"]
    assert asset["metadata_model_id"] == "FERRERO.MODEL.MARKETING"


def test_preview_strict_refusal(capsys, files):
    name = "K7M2QX_Nutella_Breakfast_poster_IT_v02.jpg"
    code, out, err = run(capsys, "preview", "--name", name, "--master-metadata", files["master"],
                         "--domains", files["domains"], "--strict")
    assert code == 1 and out == ""
    assert "'poster'" in err and "FERRERO.FIELD.MKTG.ASSET TYPE" in err and "allowed: video" in err
    code, out, _ = run(capsys, "preview", "--name", name, "--master-metadata", files["master"],
                       "--domains", files["domains"], "--lenient")
    assert code == 0 and "'poster'" in json.loads(out)["warnings"][0]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["preview", "--name", BAD, "--master-metadata", "MASTER"], ["is not valid", '"K7M2QI"']),
        (["preview", "--name", GOOD, "--master-metadata", "missing.json"], ["does not exist"]),
        (["preview", "--name", GOOD, "--master-metadata", "NOTJSON"], ["not readable JSON"]),
        (["preview", "--name", GOOD, "--master-metadata", "MASTER", "--file", "nope.mp4"], ["does not exist"]),
    ],
)
def test_preview_errors(capsys, files, tmp_path, argv, words):
    not_json = tmp_path / "bad.json"
    not_json.write_text("{nope")
    argv = [{"MASTER": files["master"], "NOTJSON": str(not_json)}.get(a, a) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert all(w in err for w in words), err
    assert len(err.strip().splitlines()) == 1


def test_runs_as_a_module():
    for module in ("include.ferrero.cli", "include.ferrero"):
        done = subprocess.run([sys.executable, "-m", module, "check-name", GOOD], cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["is_valid"] is True
    done = subprocess.run([sys.executable, "-m", "include.ferrero.cli", "check-name", BAD], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "TRACKING" in done.stdout
    usage = subprocess.run([sys.executable, "-m", "include.ferrero.cli"], cwd=PROJECT_ROOT,
                           capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "check-name" in usage.stderr
