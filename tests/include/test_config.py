from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from include.ferrero.config import ConfigError, clear_cache, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project's config/ folder to break at will."""
    folder = tmp_path / "config"
    shutil.copytree(ROOT / "config", folder)
    monkeypatch.delenv("ENV", raising=False)
    clear_cache()
    yield folder
    clear_cache()


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))


def test_project_config_loads_with_every_section() -> None:
    config = load_settings()
    assert config.polling.interval_seconds == 300
    assert config.webhook.port == 8095  # ${RECEIVER_PORT:-8095} expands to an integer
    assert "campaign_status_update" in config.webhooks and "upload_failed" in config.email_templates.templates
    # the staging overlay is merged over the base, not replacing sibling keys
    assert config.notifications.recipients.success == ("staging-team@ferrero.com",)
    assert config.notifications.from_address.startswith("Ferrero")


def test_production_overlay(config_dir: Path) -> None:
    config = load_settings(config_dir, env="production")
    assert config.retry.max_attempts == 5
    assert config.retry.initial_delay_seconds == 5


def test_result_is_read_only(config_dir: Path) -> None:
    config = load_settings(config_dir)
    with pytest.raises(ValidationError):
        config.polling.interval_seconds = 1  # type: ignore[misc]  # frozen on purpose: that is the test
    assert load_settings(config_dir).polling.interval_seconds == 300


def test_bad_value_gives_one_sentence(config_dir: Path) -> None:
    text = (config_dir / "config.yaml").read_text().replace("interval_seconds: 300", "interval_seconds: five")
    (config_dir / "config.yaml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(config_dir)
    assert str(err.value) == "config/config.yaml: polling.interval_seconds must be an integer >= 60, got 'five'"


def test_too_small_value(config_dir: Path) -> None:
    _edit(config_dir / "config.yaml", lambda d: d["polling"].update(interval_seconds=10))
    with pytest.raises(ConfigError, match=r"polling.interval_seconds must be an integer >= 60, got 10$"):
        load_settings(config_dir)


def test_error_names_the_overlay_that_set_the_value(config_dir: Path) -> None:
    _edit(config_dir / "environments" / "staging.yaml", lambda d: d.update(retry={"max_attempts": 0}))
    with pytest.raises(ConfigError) as err:
        load_settings(config_dir)
    assert str(err.value) == (
        "config/environments/staging.yaml: retry.max_attempts must be an integer between 1 and 10, got 0"
    )


def test_missing_key(config_dir: Path) -> None:
    _edit(config_dir / "config.yaml", lambda d: d["box"].pop("masters_folder_name"))
    with pytest.raises(ConfigError, match=r"^config/config.yaml: box.masters_folder_name is missing$"):
        load_settings(config_dir)


def test_misspelt_key(config_dir: Path) -> None:
    _edit(config_dir / "config.yaml", lambda d: d["polling"].update(intervall_seconds=300))
    with pytest.raises(ConfigError, match=r"polling.intervall_seconds is not a known setting"):
        load_settings(config_dir)


def test_bad_list_item(config_dir: Path) -> None:
    _edit(config_dir / "environments" / "staging.yaml",
          lambda d: d["notifications"]["recipients"].update(critical=["oncall"]))
    with pytest.raises(ConfigError) as err:
        load_settings(config_dir)
    assert str(err.value) == (
        "config/environments/staging.yaml: notifications.recipients.critical.0 must be an email address, "
        "got 'oncall'"
    )


def test_invalid_yaml(config_dir: Path) -> None:
    (config_dir / "webhooks.yaml").write_text("campaign_status_update:\n  url: [unclosed\n")
    with pytest.raises(ConfigError, match=r"^config/webhooks.yaml: is not valid YAML at line \d+, column \d+"):
        load_settings(config_dir)


def test_section_file_is_validated(config_dir: Path) -> None:
    _edit(config_dir / "webhooks.yaml", lambda d: d["campaign_status_update"].update(auth_type="token"))
    with pytest.raises(ConfigError) as err:
        load_settings(config_dir)
    assert str(err.value) == (
        "config/webhooks.yaml: campaign_status_update.auth_type must be bearer, basic or none, got 'token'"
    )


def test_email_template_required(config_dir: Path) -> None:
    _edit(config_dir / "email_templates.yaml", lambda d: d["templates"].pop("upload_failed"))
    with pytest.raises(ConfigError, match=r"email_templates.yaml: templates.upload_failed is missing"):
        load_settings(config_dir)


def test_variables_expand_with_defaults(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECEIVER_PORT", "9123")
    monkeypatch.setenv("BOX_ROOT_FOLDER_ID", "348304357505")
    config = load_settings(config_dir)
    assert config.webhook.port == 9123
    assert config.box.root_folder_id == "348304357505"


def test_unset_variable_without_default(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOME_UNSET_VARIABLE", raising=False)
    _edit(config_dir / "config.yaml", lambda d: d["temp"].update(directory="${SOME_UNSET_VARIABLE}/tmp"))
    with pytest.raises(ConfigError) as err:
        load_settings(config_dir)
    assert str(err.value) == (
        "config/config.yaml: temp.directory uses ${SOME_UNSET_VARIABLE}, which is not set in the environment"
    )


def test_unknown_environment(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"environments/qa.yaml: no such file, so ENV='qa'"):
        load_settings(config_dir, env="qa")


def test_no_secrets_in_yaml() -> None:
    """Credentials belong in Airflow connections: no key in config/ may look like one."""
    suspicious = ("password", "secret", "api_key", "token", "private_key", "passphrase")
    for path in (ROOT / "config").rglob("*.yaml"):
        for line in path.read_text().splitlines():
            key = line.split("#", 1)[0].split(":", 1)[0].strip().lower()
            assert not any(word in key for word in suspicious), f"{path.name}: {line.strip()}"


def test_box_web_url_defaults_to_box_and_is_checked(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOX_WEB_URL", raising=False)
    assert load_settings(config_dir).box.web_url == "https://app.box.com"
    clear_cache()
    monkeypatch.setenv("BOX_WEB_URL", "http://127.0.0.1:8092/app")  # what `make up` sets for the sandbox
    assert load_settings(config_dir).box.web_url == "http://127.0.0.1:8092/app"
    clear_cache()
    monkeypatch.setenv("BOX_WEB_URL", "app.box.com/")
    with pytest.raises(ConfigError) as err:
        load_settings(config_dir)
    assert str(err.value).startswith("config/config.yaml: box.web_url must be an http(s) address without a "
                                     "trailing slash"), err.value


@pytest.mark.parametrize(("file", "change", "sentence"), [
    ("config.yaml", lambda d: d["polling"].update(interval_seconds="300"),
     "config/config.yaml: polling.interval_seconds must be an integer >= 60, got '300'"),
    ("config.yaml", lambda d: d["polling"].update(enabled="yes"),
     "config/config.yaml: polling.enabled must be true or false, got 'yes'"),
    ("config.yaml", lambda d: d["retry"].update(initial_delay_seconds="soon"),
     "config/config.yaml: retry.initial_delay_seconds must be a number >= 0, got 'soon'"),
    ("config.yaml", lambda d: d.update(dam=5), "config/config.yaml: dam must be a mapping, got 5"),
    ("config.yaml", lambda d: d.update(naming={}), "config/config.yaml: naming is not a known setting (check its "
                                                   "spelling)"),
    ("naming.yaml", lambda d: d["segments"][0].update(label=None),
     "config/naming.yaml: segments.0.label must be a short name such as TRACKING, got None"),
    ("field_mappings.yaml", lambda d: d.update(mvp_fields=["A", "A"]),
     "config/field_mappings.yaml: mvp_fields must be a list of field ids, got ['A', 'A']"),
    ("webhooks.yaml", lambda d: d.pop("campaign_status_update"),
     "config/webhooks.yaml: campaign_status_update is missing"),
    ("email_templates.yaml", lambda d: d["templates"]["upload_failed"].update(subject="{{ filename } failed"),
     "config/email_templates.yaml: templates.upload_failed.subject is not a valid Jinja2 template (unexpected '}', "
     "line 1)"),
    ("email_templates.yaml", lambda d: d["templates"]["upload_failed"].update(html="<p>{{ file_name }}: {{ oops }}"),
     "config/email_templates.yaml: templates.upload_failed.html uses file_name, oops, which variables does not "
     "list"),
])
def test_values_are_strict_and_said_in_one_sentence(config_dir: Path, file: str, change, sentence: str) -> None:
    """No coercion ("300" is not an integer, yes is not true), null only where a key says so."""
    _edit(config_dir / file, change)
    with pytest.raises(ConfigError) as err:
        load_settings(config_dir)
    assert str(err.value) == sentence


def test_loaded_once_until_a_file_or_a_used_variable_changes(config_dir: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A task forked from a process that loaded the config reuses it; an edit, a new section file or a changed
    variable the files use is read at the next call (no restart, no clear_cache)."""
    monkeypatch.setenv("RECEIVER_PORT", "8111")
    first = load_settings(config_dir)
    assert load_settings(config_dir) is first and first.webhook.port == 8111
    monkeypatch.setenv("SOME_UNUSED_VARIABLE", "x")  # not used by the files: still the same object
    assert load_settings(config_dir) is first

    monkeypatch.setenv("RECEIVER_PORT", "8112")
    assert load_settings(config_dir).webhook.port == 8112

    text = (config_dir / "config.yaml").read_text()
    (config_dir / "config.yaml").write_text(text.replace("interval_seconds: 300", "interval_seconds: 600"))
    assert load_settings(config_dir).polling.interval_seconds == 600

    (config_dir / "naming.yaml").rename(config_dir / "naming.yaml.off")  # a section file removed: its defaults
    removed = load_settings(config_dir)
    (config_dir / "naming.yaml.off").rename(config_dir / "naming.yaml")
    assert load_settings(config_dir) is not removed
