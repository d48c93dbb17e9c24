"""Load and validate the YAML configuration in ``config/``, once per process.

``config.yaml`` is deep-merged with ``environments/<ENV>.yaml`` (ENV defaults to ``staging``); every other
YAML file of the folder (``field_mappings``, ``naming``, ``webhooks``, ``email_templates``) becomes a key of
its own. ``${VAR}`` and ``${VAR:-default}`` are expanded from the environment. Each file is checked against
``include/ferrero/schemas/<file stem>.schema.json``; the first problem becomes one sentence naming the file,
the key path and what is wrong, e.g. ``config/config.yaml: polling.interval_seconds must be an integer >= 60,
got 'five'``.

Readers use :func:`load_settings` (the typed, frozen :class:`~include.ferrero.config_model.Config`);
:func:`load_config` gives the same data as plain mappings, for the provider hooks that take plain values.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from include.ferrero.config_model import Config

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_DIR = PROJECT_ROOT / "config"
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SECTION_FILES = ("field_mappings", "naming", "webhooks", "email_templates")

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or invalid; the message is one sentence for an admin."""


def load_config(config_dir: str | os.PathLike[str] | None = None, env: str | None = None) -> dict[str, Any]:
    """Return the validated configuration (cached per folder and environment; treat it as read-only)."""
    folder = Path(config_dir or os.environ.get("CONTENT_SCALING_CONFIG_DIR") or DEFAULT_CONFIG_DIR).resolve()
    return copy.deepcopy(_load(folder, env or os.environ.get("ENV") or "staging"))


def load_settings(config_dir: str | os.PathLike[str] | None = None, env: str | None = None) -> Config:
    """The validated configuration as typed, frozen sections (same folder, environment and errors as
    :func:`load_config`)."""
    data = load_config(config_dir, env)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:  # the schemas accepted it: a model out of step with them, said in one sentence
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise ConfigError(f"config: {where} {error['msg'][:1].lower()}{error['msg'][1:]}") from None


def clear_cache() -> None:
    """Forget loaded configurations (tests, or a long-lived process after an edit)."""
    _load.cache_clear()


@functools.lru_cache(maxsize=8)
def _load(folder: Path, env: str) -> dict[str, Any]:
    base_path = folder / "config.yaml"
    overlay_path = folder / "environments" / f"{env}.yaml"
    if not overlay_path.is_file():
        raise ConfigError(f"{_show(overlay_path)}: no such file, so ENV={env!r} is not a known environment")
    base = _read(base_path)
    overlay = _read(overlay_path)
    merged = _deep_merge(base, overlay)
    _validate(merged, "config", lambda path: overlay_path if _has_path(overlay, path) else base_path)

    for stem in SECTION_FILES:
        path = folder / f"{stem}.yaml"
        if path.is_file():
            merged[stem] = _read(path)
            _validate(merged[stem], stem, lambda _path, p=path: p)
    return merged


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{_show(path)}: no such file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{_show(path)}: is not valid YAML{where} ({problem})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{_show(path)}: must be a mapping of settings, got {type(data).__name__}")
    expanded: dict[str, Any] = _expand(data, path, ())
    return expanded


def _expand(value: Any, path: Path, keys: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, path, (*keys, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, path, (*keys, str(i))) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name)
        if found is not None and (found != "" or default is None):
            return found
        if default is not None:
            return default
        raise ConfigError(
            f"{_show(path)}: {'.'.join(keys)} uses ${{{name}}}, which is not set in the environment"
        )

    expanded = _VAR.sub(substitute, value)
    if _VAR.fullmatch(value.strip()):
        # A value that is only a variable takes the YAML type of what it expands to (port: ${PORT:-8095} -> int).
        try:
            return yaml.safe_load(expanded) if expanded.strip() else expanded
        except yaml.YAMLError:
            return expanded
    return expanded


def _deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _has_path(data: Any, path: tuple[Any, ...]) -> bool:
    for key in path:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and key < len(data):
            data = data[key]
        else:
            return False
    return True


@functools.lru_cache(maxsize=16)
def _validator(stem: str) -> Draft202012Validator | None:
    schema_path = SCHEMA_DIR / f"{stem}.schema.json"
    if not schema_path.is_file():
        return None
    return Draft202012Validator(json.loads(schema_path.read_text(encoding="utf-8")))


def _validate(data: dict[str, Any], stem: str, origin: Any) -> None:
    validator = _validator(stem)
    if validator is None:
        return
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.path))))
    if not errors:
        return
    error = errors[0]
    path = tuple(error.absolute_path)
    dotted = ".".join(str(p) for p in path)
    file = _show(origin(path))
    if error.validator == "required":
        missing = re.search(r"'([^']+)' is a required property", error.message)
        name = ".".join(filter(None, [dotted, missing.group(1) if missing else "?"]))
        raise ConfigError(f"{file}: {name} is missing")
    if error.validator == "additionalProperties" and error.validator_value is False:
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        name = ".".join(filter(None, [dotted, str(extra[0]) if extra else "?"]))
        raise ConfigError(f"{file}: {name} is not a known setting (check its spelling)")
    expect = error.schema.get("x-expect") or error.message
    raise ConfigError(f"{file}: {dotted or '(top level)'} must be {expect}, got {error.instance!r}")


def _show(path: Path) -> str:
    """The path as an admin knows it: ``config/...``, wherever the folder lives."""
    path = path.resolve()
    for parent in path.parents:
        if (parent / "config.yaml").is_file():
            return f"{parent.name}/{path.relative_to(parent)}"
    return str(path)
