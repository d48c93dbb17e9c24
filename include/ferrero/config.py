"""Load and validate the YAML configuration in ``config/``, once per process and edit.

``config.yaml`` is deep-merged with ``environments/<ENV>.yaml`` (ENV defaults to ``staging``); every other
YAML file of the folder (``field_mappings``, ``naming``, ``webhooks``, ``email_templates``) becomes a key of
its own. ``${VAR}`` and ``${VAR:-default}`` are expanded from the environment. The result is checked by the one
configuration model (:class:`~include.ferrero.config_model.Config`, pydantic); the first problem becomes one
sentence naming the file, the key path and what is wrong, e.g. ``config/config.yaml: polling.interval_seconds
must be an integer >= 60, got 'five'``.

Readers use :func:`load_settings`: the typed, frozen configuration. It is read again only when one of its files
or one of the environment variables it used has changed since: a task forked from a process that loaded it (the
scheduler and the Celery workers do, ``include.ferrero.preload``) finds it loaded, and an edit still takes effect
at the next task.
"""

from __future__ import annotations

import os
import re
import types
import typing
from pathlib import Path
from typing import Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from include.ferrero.config_model import Config
from include.ferrero.config_values import Expect

if typing.TYPE_CHECKING:
    from pydantic_core import ErrorDetails

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_DIR = PROJECT_ROOT / "config"
#: The section files, in the order their problems are reported (after config.yaml's).
SECTION_FILES = ("field_mappings", "naming", "webhooks", "email_templates")

#: A YAML mapping as read (values: mappings, lists, text, numbers, booleans, dates, null).
Yaml = dict[str, object]
#: Where a value sits: keys and list positions, as pydantic reports them.
Loc = tuple[int | str, ...]

#: PyYAML's safe loader, in C when libyaml is there (about ten times faster; same results and error marks).
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or invalid; the message is one sentence for an admin."""


def load_settings(config_dir: str | os.PathLike[str] | None = None, env: str | None = None) -> Config:
    """The validated configuration as typed, frozen sections (cached per folder and environment until one of its
    files or the environment variables it used change).

    :param config_dir: the folder (default ``$CONTENT_SCALING_CONFIG_DIR``, else the project's ``config/``).
    :param env: the environment overlay (default ``$ENV``, else ``staging``).
    :raises ConfigError: one sentence naming the file, the key and what is wrong.
    """
    folder = Path(config_dir or os.environ.get("CONTENT_SCALING_CONFIG_DIR") or DEFAULT_CONFIG_DIR).resolve()
    env = env or os.environ.get("ENV") or "staging"
    paths = _paths(folder, env)
    stamp = _stamp(paths)
    cached = _CACHE.get((folder, env))
    if cached is not None and cached.stamp == stamp and all(os.environ.get(k) == v for k, v in cached.used_env):
        return cached.config
    used: dict[str, str | None] = {}
    config = _load(paths, env, used)
    _CACHE[(folder, env)] = _Loaded(config, stamp, tuple(used.items()))
    return config


def clear_cache() -> None:
    """Forget loaded configurations (tests)."""
    _CACHE.clear()


class _Loaded(typing.NamedTuple):
    config: Config
    #: each file's (modification time in ns, size), None when absent
    stamp: tuple[tuple[int, int] | None, ...]
    #: the environment variables the files used, with their values then
    used_env: tuple[tuple[str, str | None], ...]


_CACHE: dict[tuple[Path, str], _Loaded] = {}


def _paths(folder: Path, env: str) -> list[Path]:
    """config.yaml, the environment's overlay, then the section files."""
    return [folder / "config.yaml", folder / "environments" / f"{env}.yaml",
            *(folder / f"{stem}.yaml" for stem in SECTION_FILES)]


def _stamp(paths: list[Path]) -> tuple[tuple[int, int] | None, ...]:
    def one(path: Path) -> tuple[int, int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    return tuple(one(path) for path in paths)


def _load(paths: list[Path], env: str, used_env: dict[str, str | None]) -> Config:
    base_path, overlay_path, *_ = paths
    if not overlay_path.is_file():
        raise ConfigError(f"{_show(overlay_path)}: no such file, so ENV={env!r} is not a known environment")
    base = _read(base_path, used_env)
    overlay = _read(overlay_path, used_env)
    merged = _deep_merge(base, overlay)

    def origin(path: Loc) -> Path:
        return overlay_path if _has_path(overlay, path) else base_path

    for stem in SECTION_FILES:  # a section file's key belongs in its file, not in config.yaml
        if stem in merged:
            raise ConfigError(f"{_show(origin((stem,)))}: {stem} is not a known setting (check its spelling)")
    files = dict(zip(SECTION_FILES, paths[2:], strict=True))
    data = {**merged, **{stem: _read(path, used_env) for stem, path in files.items() if path.is_file()}}
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise _sentence(exc, files, origin) from None


def _read(path: Path, used_env: dict[str, str | None]) -> Yaml:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{_show(path)}: no such file") from None
    try:
        data = yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a safe loader (libyaml's when installed)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{_show(path)}: is not valid YAML{where} ({problem})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{_show(path)}: must be a mapping of settings, got {type(data).__name__}")
    return {str(key): _expand(value, path, (str(key),), used_env) for key, value in data.items()}


def _expand(value: object, path: Path, keys: tuple[str, ...], used_env: dict[str, str | None]) -> object:
    if isinstance(value, dict):
        return {k: _expand(v, path, (*keys, str(k)), used_env) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, path, (*keys, str(i)), used_env) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = used_env[name] = os.environ.get(name)
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
            return yaml.load(expanded, Loader=_YamlLoader) if expanded.strip() else expanded  # noqa: S506
        except yaml.YAMLError:
            return expanded
    return expanded


def _deep_merge(base: Yaml, overlay: Yaml) -> Yaml:
    merged = dict(base)
    for key, value in overlay.items():
        current = merged.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged[key] = _deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def _has_path(data: object, path: Loc) -> bool:
    for key in path:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and key < len(data):
            data = data[key]
        else:
            return False
    return True


def _sentence(exc: ValidationError, files: dict[str, Path], origin: typing.Callable[[Loc], Path]) -> ConfigError:
    """The first problem (config.yaml's before the section files', the shallowest first) as one sentence."""
    order = ("", *SECTION_FILES)

    def rank(error: ErrorDetails) -> tuple[int, int]:
        loc = error["loc"]
        return (order.index(loc[0]) if loc and loc[0] in SECTION_FILES else 0, len(loc))

    error = sorted(exc.errors(), key=rank)[0]
    loc = error["loc"]
    expect, path = _expectation(loc)
    if loc and loc[0] in SECTION_FILES:
        file, path = _show(files[loc[0]]), path[1:]
    else:
        file = _show(origin(loc))
    dotted = ".".join(str(part) for part in path)
    kind = error["type"]
    if kind == "missing":
        return ConfigError(f"{file}: {dotted} is missing")
    if kind in ("missing_key", "broken_rule"):
        where = ".".join(filter(None, [dotted, error["ctx"]["key"]]))
        return ConfigError(f"{file}: {where} {'is missing' if kind == 'missing_key' else error['ctx']['text']}")
    if kind == "extra_forbidden":
        return ConfigError(f"{file}: {dotted} is not a known setting (check its spelling)")
    return ConfigError(f"{file}: {dotted or '(top level)'} must be {expect}, got {error['input']!r}")


def _expectation(loc: Loc) -> tuple[str, Loc]:
    """What the value at ``loc`` must be (its :class:`Expect`), and ``loc`` without pydantic's union tags."""
    kind: object = Config
    path: list[int | str] = []
    union_expects = ""
    for part in loc:
        kind, expect = _unwrap(kind)
        if _is_union(kind):  # pydantic names the member tried (``str``, ``int``): not a key of the file
            union_expects = expect
            continue
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(str(part))
            if field is None:
                path.append(part)
                break
            kind = typing.Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
        elif get_origin(kind) is dict:
            kind = get_args(kind)[1]
        elif get_origin(kind) in (tuple, list):
            kind = get_args(kind)[0]
        path.append(part)
    return _unwrap(kind)[1] or union_expects or "a valid value", tuple(path)


def _unwrap(kind: object) -> tuple[object, str]:
    """``kind`` without ``Annotated`` and ``| None``, and what it expects."""
    expect = ""
    while True:
        if get_origin(kind) is typing.Annotated:
            base, *extras = get_args(kind)
            for extra in extras:
                if isinstance(extra, Expect):
                    expect = extra.text
            kind = base
        elif _is_union(kind) and type(None) in get_args(kind):
            members = [m for m in get_args(kind) if m is not type(None)]
            kind = members[0] if len(members) == 1 else Union[tuple(members)]  # noqa: UP007 - built at run time
        else:
            if not expect and isinstance(kind, type) and issubclass(kind, BaseModel):
                expect = str(getattr(kind, "EXPECT", ""))
            return kind, expect


def _is_union(kind: object) -> bool:
    return get_origin(kind) in (Union, types.UnionType)


def _show(path: Path) -> str:
    """The path as an admin knows it: ``config/...``, wherever the folder lives."""
    path = path.resolve()
    for parent in path.parents:
        if (parent / "config.yaml").is_file():
            return f"{parent.name}/{path.relative_to(parent)}"
    return str(path)
