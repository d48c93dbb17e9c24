"""``seconds_setting``: the receiver's retry knobs and the stack's outage settings read seconds alike."""

from __future__ import annotations

import pytest

from include.ferrero.env_numbers import seconds_setting
from receiver.settings import SettingsError


def test_seconds_default_value_and_sentences() -> None:
    assert seconds_setting({}, "X_SECONDS", 5.0) == 5.0
    assert seconds_setting({"X_SECONDS": "0"}, "X_SECONDS", 5.0) == 0.0
    assert seconds_setting({"X_SECONDS": "0.5"}, "X_SECONDS", 5.0, strict=True) == 0.5
    for raw, kwargs, sentence in (
        ("five", {}, "X_SECONDS must be a number of seconds, got 'five'"),
        ("0", {"strict": True}, "X_SECONDS must be > 0, got '0'"),
        ("0.05", {"minimum": 0.1}, "X_SECONDS must be >= 0.1, got '0.05'"),
    ):
        with pytest.raises(SettingsError) as caught:
            seconds_setting({"X_SECONDS": raw}, "X_SECONDS", 5.0, error=SettingsError, **kwargs)
        assert str(caught.value) == sentence
