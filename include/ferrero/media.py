"""Media metadata of a derivative file (duration, resolution, frame rate, codecs...), read with pymediainfo.

pymediainfo's wheels bundle libmediainfo, so nothing needs installing on the system.
"""

from __future__ import annotations

import os

from pymediainfo import MediaInfo

__all__ = ["MEDIA_KEYS", "MediaMetadata", "read_media_metadata"]

#: What read_media_metadata returns: numbers, and text for the codecs.
MediaMetadata = dict[str, int | float | str]

# Keys read_media_metadata may return; a key the file does not have is left out.
MEDIA_KEYS = (
    "duration_ms", "width", "height", "frame_rate", "video_codec", "audio_codec", "bitrate", "audio_channels",
)


def _number(value: object) -> float | None:
    """pymediainfo gives numbers as int, float or text ("25.000", "2 / 1"); None when it is not one."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().split(" / ")[0]
    try:
        return float(text)
    except ValueError:
        return None


def _int(value: object) -> int | None:
    number = _number(value)
    return None if number is None else round(number)


def read_media_metadata(path: str | os.PathLike[str]) -> MediaMetadata:
    """Media metadata of the file at `path`: duration_ms, width, height, frame_rate (float), video_codec,
    audio_codec, bitrate (bits/s), audio_channels — only those the file has. `{}` for a file that is not
    audio, video or an image (a PDF, a text file...).

    Raises FileNotFoundError when there is no such file.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such file: {os.fspath(path)!r}")
    info = MediaInfo.parse(os.fspath(path))
    general = next((t for t in info.tracks if t.track_type == "General"), None)
    video = next((t for t in info.tracks if t.track_type == "Video"), None)
    audio = next((t for t in info.tracks if t.track_type == "Audio"), None)
    image = next((t for t in info.tracks if t.track_type == "Image"), None)
    if video is None and audio is None and image is None:
        return {}

    visual = video or image
    out: dict[str, int | float | str | None] = {
        "duration_ms": _int((general and general.duration) or (video and video.duration) or (audio and audio.duration)),
        "width": _int(visual.width) if visual else None,
        "height": _int(visual.height) if visual else None,
        "frame_rate": _number(video.frame_rate) if video else None,
        "video_codec": video.format if video else None,
        "audio_codec": audio.format if audio else None,
        "bitrate": _int((general and general.overall_bit_rate) or (video and video.bit_rate)
                        or (audio and audio.bit_rate)),
        "audio_channels": _int(audio.channel_s) if audio else None,
    }
    return {key: value for key, value in out.items() if value is not None}
