"""Media metadata read from real small files made with imageio-ffmpeg's ffmpeg."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import pytest

from include.ferrero.config_rules import FieldMappings
from include.ferrero.media import MEDIA_KEYS, read_media_metadata
from include.ferrero.naming import parse_filename
from include.ferrero.representation import build_asset_representation

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=60)


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
           "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", "-shortest",
           str(folder / "spot.mp4"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "1.5", "-ac", "1",
           str(folder / "voice.wav"))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1", str(folder / "still.png"))
    (folder / "brief.pdf").write_bytes(
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    (folder / "notes.txt").write_text("not media\n")
    return folder


def test_video_with_sound(media_dir):
    meta = read_media_metadata(media_dir / "spot.mp4")
    assert set(meta) == set(MEDIA_KEYS)
    assert 1900 <= meta["duration_ms"] <= 2100
    assert (meta["width"], meta["height"]) == (320, 180)
    assert meta["frame_rate"] == pytest.approx(25.0)
    assert meta["video_codec"] == "AVC"
    assert meta["audio_codec"] == "AAC"
    assert meta["audio_channels"] == 2
    assert meta["bitrate"] > 0


def test_audio_only(media_dir):
    meta = read_media_metadata(str(media_dir / "voice.wav"))
    assert 1450 <= meta["duration_ms"] <= 1550
    assert meta["audio_codec"] == "PCM"
    assert meta["audio_channels"] == 1
    assert meta["bitrate"] == pytest.approx(48000 * 16, rel=0.05)
    assert not {"width", "height", "frame_rate", "video_codec"} & set(meta)


def test_image(media_dir):
    assert read_media_metadata(media_dir / "still.png") == {"width": 64, "height": 48}


@pytest.mark.parametrize("name", ["brief.pdf", "notes.txt"])
def test_non_media_files_give_nothing(media_dir, name):
    assert read_media_metadata(media_dir / name) == {}


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_media_metadata(tmp_path / "nope.mp4")


def test_media_metadata_lands_in_the_configured_fields(media_dir):
    mappings = FieldMappings.model_validate({
        "mvp_fields": [], "filename_field_updates": [], "metadata_model_id": "M",
        "media_field_mappings": [
            {"field_id": "FERRERO.FIELD.DURATION", "source": "duration_seconds", "type": "decimal"},
            {"field_id": "FERRERO.FIELD.RESOLUTION", "source": "resolution"},
            {"field_id": "FERRERO.FIELD.AUDIO CODEC", "source": "audio_codec"},
        ],
    })
    name = parse_filename("K7M2QX_Nutella_Breakfast_video_IT_v02.mp4")
    fields = build_asset_representation({}, name, read_media_metadata(media_dir / "spot.mp4"), mappings).fields
    assert fields["FERRERO.FIELD.DURATION"] == pytest.approx(2.0, abs=0.1)
    assert fields["FERRERO.FIELD.RESOLUTION"] == "320x180"
    assert fields["FERRERO.FIELD.AUDIO CODEC"] == "AAC"
    pdf_fields = build_asset_representation({}, name, read_media_metadata(media_dir / "brief.pdf"), mappings).fields
    assert pdf_fields == {}
