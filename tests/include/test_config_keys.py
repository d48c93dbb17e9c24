"""Every configuration key does what it says (pure parts): polling -> discovery's schedule, temp cleanup and
size limit, and the plain-text part of every email."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from include.ferrero.campaigns import discovery_schedule
from include.ferrero.config import load_settings
from include.ferrero.config_model import PollingConfig, TempConfig
from include.ferrero.messages import html_to_text, render_email
from include.ferrero.temp_files import prepare_temp_root, remove_stale, size_problem

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(("polling", "expected"), [
    ({"enabled": True, "interval_seconds": 300}, "*/5 * * * *"),
    ({"enabled": True, "interval_seconds": 60}, "* * * * *"),
    ({"enabled": True, "interval_seconds": 600}, "*/10 * * * *"),
    ({"enabled": True, "interval_seconds": 90}, timedelta(seconds=90)),
    ({"enabled": True, "interval_seconds": 420}, timedelta(minutes=7)),  # 7 does not divide the hour
    ({"enabled": True, "interval_seconds": 7200}, timedelta(hours=2)),
    ({"enabled": False, "interval_seconds": 300}, None),
])
def test_polling_sets_the_discovery_schedule(polling: dict, expected: object) -> None:
    assert discovery_schedule(PollingConfig(**polling, max_campaigns_per_run=10)) == expected


def test_leftovers_older_than_cleanup_after_hours_are_removed(tmp_path: Path) -> None:
    old_dir, old_file, fresh = tmp_path / "master-old", tmp_path / "stray.part", tmp_path / "derivative-new"
    old_dir.mkdir()
    (old_dir / "big.mp4").write_bytes(b"x" * 10)
    old_file.write_bytes(b"y")
    fresh.mkdir()
    two_days_ago = time.time() - 48 * 3600
    for path in (old_dir, old_file):
        os.utime(path, (two_days_ago, two_days_ago))
    root = prepare_temp_root(TempConfig(directory=str(tmp_path), cleanup_after_hours=24, max_size_mb=10))
    assert root == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["derivative-new"]
    assert remove_stale(tmp_path, 1, now=time.time() + 2 * 3600) == [fresh]


def test_a_file_larger_than_max_size_mb_is_refused_with_a_sentence() -> None:
    assert size_problem(2 * 1024 * 1024, 2, "x") is None
    assert size_problem(None, 2, "x") is None
    sentence = size_problem(3 * 1024 * 1024, 2, "master 'film.mov'")
    assert sentence == ("master 'film.mov' is 3.0 MB, larger than the 2 MB allowed (temp.max_size_mb), so it was "
                        "not downloaded")


@pytest.mark.parametrize("name", sorted(load_settings().email_templates.templates))
def test_every_email_has_a_plain_text_part(name: str) -> None:
    config = load_settings()
    variables = {v: f"<{v}>" for v in config.email_templates.templates[name].variables}
    for listed in ("assets", "processed_assets", "failed_assets"):
        if listed in variables:
            variables[listed] = [{"asset_name": "a & b.png", "tracking_id": "K7M2QX", "asset_id": "1", "error": "e"}]
    email = render_email(name, config, variables)
    assert email.text.strip() and "<p>" not in email.text and "<strong>" not in email.text


def test_html_to_text_keeps_words_lines_and_links() -> None:
    text = html_to_text('<p>All <strong>2</strong> masters of <em>CMP-1</em>.</p><ul><li>a: 1</li><li>b: 2</li></ul>'
                        '<p><a href="https://x/run">Open the run</a> or <a href="https://x">https://x</a></p>')
    assert text == "All 2 masters of CMP-1.\n\n- a: 1\n- b: 2\n\nOpen the run <https://x/run> or https://x\n"


def test_the_hooks_get_the_sections_as_typed_settings() -> None:
    """``retry``, ``dam``, ``box`` and ``validate_domain_values`` reach the hooks' settings, value for value."""
    from include.ferrero.config import PROJECT_ROOT
    from include.ferrero.runtime import box_settings, dam_settings, retry_policy

    config = load_settings(env="production")
    policy, dam, box = retry_policy(config), dam_settings(config), box_settings(config)
    assert (policy.max_attempts, policy.initial_delay_seconds, policy.max_delay_seconds) == (
        config.retry.max_attempts, config.retry.initial_delay_seconds, config.retry.max_delay_seconds)
    assert policy.retryable_http_codes == frozenset(config.retry.retryable_http_codes)
    assert policy.request_timeout_seconds == config.retry.request_timeout_seconds
    assert policy.exponential is (config.retry.backoff == "exponential")
    assert (dam.timeout_seconds, dam.job_timeout_seconds, dam.page_size) == (
        config.dam.timeout_seconds, config.dam.job_timeout_seconds, config.dam.page_size)
    assert (dam.status_field, dam.number_field, dam.final_assets_folder_name) == (
        config.dam.campaign.status_field, config.dam.campaign.number_field,
        config.dam.campaign.final_assets_folder_name)
    domains = config.field_mappings.validate_domain_values
    assert dam.domain_cache_ttl_seconds == domains.cache_ttl_hours * 3600
    assert domains.cache_file and dam.domain_cache_file == PROJECT_ROOT / domains.cache_file
    assert (box.root_folder_id, box.masters_folder_name, box.derivatives_folder_name,
            box.chunked_upload_threshold_mb) == (config.box.root_folder_id, config.box.masters_folder_name,
                                                 config.box.derivatives_folder_name,
                                                 config.box.chunked_upload_threshold_mb)
    constant = config.model_copy(update={"retry": config.retry.model_copy(update={"backoff": "constant"})})
    assert retry_policy(constant).exponential is False
