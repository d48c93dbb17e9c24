"""The error email of a derivative (``upload_failed``): the file named once, its tracking ID whenever its name
leads with one, and the real cause."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from include.ferrero.config import load_settings
from include.ferrero.naming import parse_filename
from include.ferrero.steps.a2_to_a3 import upload_failed_email

if TYPE_CHECKING:
    from include.ferrero.config_model import Config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def config() -> Config:
    return load_settings(ROOT / "config")


def _text(email) -> str:
    return html.unescape(email.html)


@pytest.mark.parametrize("name", ["AP9WJT_Nutella_Breakfast_image_EN_GB.jpg", "AP9WJT_Nutella_Breakfast_image.jpg"])
def test_an_invalid_name_still_gives_its_tracking_id(config: dict, name: str) -> None:
    error = f"{name!r} does not follow the naming convention: {parse_filename(name).error_summary()}"
    email = upload_failed_email(config, name, "4242", error, None, None)
    text = _text(email)
    assert "Tracking ID: AP9WJT." in text and "unknown" not in text
    assert "<strong>" + name + "</strong> (Box file 4242)" in text and name in email.subject


def test_a_missing_version_is_named_as_missing(config: dict) -> None:
    name = "AP9WJT_Nutella_Breakfast_image_EN_GB.jpg"
    email = upload_failed_email(config, name, "4242", parse_filename(name).error_summary(), None, None)
    assert 'the VERSION segment is missing after MARKET "GB"' in _text(email)
    assert "not in the expected form" not in _text(email)


def test_a_name_without_a_tracking_id_says_unknown(config: dict) -> None:
    email = upload_failed_email(config, "holiday.jpg", "4242", "bad name", None, None)
    assert "Tracking ID: unknown." in _text(email)


def test_a_file_whose_name_is_unknown_is_named_once_by_its_box_id(config: dict) -> None:
    error = "Box request failed while reading file 999999999999: HTTP 404 not_found (Not Found)."
    email = upload_failed_email(config, None, "999999999999", error, None, "http://airflow/run")
    text = _text(email)
    assert text.count("Box file 999999999999") == 1 and "(Box file" not in text
    assert email.subject == "Derivative Box file 999999999999 was not uploaded to the DAM"
    assert error in text and "Tracking ID: unknown." in text


def test_a_known_tracking_id_wins(config: dict) -> None:
    email = upload_failed_email(config, "AP9WJT_x.jpg", "1", "no master", "K7M2QX", None)
    assert "Tracking ID: K7M2QX." in _text(email)
