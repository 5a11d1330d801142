"""The examples of docs/ratelimit.md marked ``# run by tests/docs/test_ratelimit_page.py`` run, and
print what their comments say they print; those marked ``... with Django settings`` run with a
fresh memory cache as Django's default alias (at a fixed time, so that no window ends midway)."""

from __future__ import annotations

import re
import uuid

import pytest
from pytest_django import Settings as SettingsWrapper

from tests.support.django_helpers import alias
from tests.support.doc_examples import DOCS, expected_output, marked_examples, run_example

DOC = DOCS / "ratelimit.md"
MARK = "# run by tests/docs/test_ratelimit_page.py"
DJANGO_MARK = f"{MARK} with Django settings"
START = 1_700_006_400.0


def _examples(mark: str = MARK) -> list[str]:
    """The examples whose first line is exactly ``mark``."""
    return [block for block in marked_examples(DOC, mark) if block.splitlines()[0] == mark]


def _runs_as_it_says(example: str) -> None:
    expected = expected_output(example)
    assert expected, "an example says what it prints"
    assert run_example(example, DOC, {"__name__": "docs_example"}) == expected


def test_the_marked_examples_are_found() -> None:
    assert len(_examples()) >= 2
    assert len(_examples(DJANGO_MARK)) >= 1


def test_every_python_example_of_the_migration_sections_is_marked() -> None:
    text = DOC.read_text(encoding="utf-8")
    migration = text[text.index("## Coming from flask-limiter") :]
    blocks = re.findall(r"```python\n(.*?)```", migration, re.DOTALL)
    assert blocks
    assert all(block.splitlines()[0] in (MARK, DJANGO_MARK) for block in blocks)


def test_every_python_example_of_the_headers_section_is_marked() -> None:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Headers\n")
    section = text[start : text.index("\n## ", start)]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) >= 3  # Flask, Django and the core's HeaderSettings
    assert all(block.splitlines()[0] in (MARK, DJANGO_MARK) for block in blocks)


@pytest.mark.parametrize("example", _examples(), ids=lambda e: e.splitlines()[2][:40])
def test_an_example_prints_what_it_says(example: str) -> None:
    _runs_as_it_says(example)


@pytest.mark.parametrize("example", _examples(DJANGO_MARK), ids=lambda e: e.splitlines()[2][:40])
def test_a_django_example_prints_what_it_says(example: str, settings: SettingsWrapper) -> None:
    location = f"memory://docs-{uuid.uuid4().hex}"
    settings.CACHES = {"default": alias(location, OPTIONS={"clock": lambda: START + 1})}
    settings.CACHE_BRIDGE_RATELIMIT = {}
    _runs_as_it_says(example)
