"""The API reference (docs/api/*.md) has an entry for every name the public packages export,
on its public import path, and every entry names something that exists (the docs build fails
on one that does not; this says which, without building)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = [
    "cache_bridge",
    "cache_bridge.ratelimit",
    "cache_bridge.testing",
    "django_cache_bridge",
    "flask_cache_bridge",
]


def entries() -> list[str]:
    """The ``::: path`` directives of the API pages."""
    return [
        found
        for page in sorted((ROOT / "docs" / "api").glob("*.md"))
        for found in re.findall(r"^::: (\S+)$", page.read_text(encoding="utf-8"), re.MULTILINE)
    ]


@pytest.mark.parametrize("package", PUBLIC)
def test_every_exported_name_has_an_entry_on_its_public_path(package: str) -> None:
    exported = importlib.import_module(package).__all__
    documented = set(entries())
    missing = [name for name in exported if f"{package}.{name}" not in documented]
    assert missing == []


@pytest.mark.parametrize("path", entries())
def test_every_entry_names_an_object_that_exists(path: str) -> None:
    module_name, _, name = path.rpartition(".")
    assert hasattr(importlib.import_module(module_name), name)


def test_entries_are_documented_once() -> None:
    found = entries()
    assert len(found) == len(set(found))
