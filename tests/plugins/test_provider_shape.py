"""The provider's shape, checked on its source: composition (no class inherits from more than one of the
provider's own classes), exception classes written out (none made at run time, each findable by its class line),
and the error kinds importing nothing of the provider (no import circle with the retry layer)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import ferrero_provider
from ferrero_provider.common.errors import ServiceError

PROVIDER = Path(next(iter(ferrero_provider.__path__)))


def _modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages([str(PROVIDER)], "ferrero_provider.")]


def _own_classes() -> list[type]:
    found: dict[str, type] = {}
    for name in _modules():
        for _, cls in inspect.getmembers(importlib.import_module(name), inspect.isclass):
            if cls.__module__.startswith("ferrero_provider."):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return list(found.values())


def test_no_class_inherits_from_more_than_one_of_the_providers_own() -> None:
    classes = _own_classes()
    assert len(classes) > 30, "the walk found the provider's classes"
    mixed = {cls.__qualname__: [b.__qualname__ for b in cls.__bases__ if b.__module__.startswith("ferrero_provider.")]
             for cls in classes}
    assert {name: bases for name, bases in mixed.items() if len(bases) > 1} == {}


def test_every_error_class_is_written_out() -> None:
    errors = [cls for cls in _own_classes() if issubclass(cls, ServiceError)]
    assert len(errors) >= 12
    for cls in errors:
        source = inspect.getsource(cls)  # a class made by type() has no source to find
        assert source.startswith(f"class {cls.__name__}("), cls
    for path in PROVIDER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            made = isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type"
            assert not (made and len(node.args) == 3), f"{path}: a class made at run time"


def test_the_error_kinds_import_nothing_of_the_provider() -> None:
    tree = ast.parse((PROVIDER / "common" / "errors.py").read_text())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [m for m in imported if m and m.startswith("ferrero_provider")]
