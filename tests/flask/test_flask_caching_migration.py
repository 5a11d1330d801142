"""The examples of docs/migrations/flask-caching.md marked ``# run by
tests/flask/test_flask_caching_migration.py`` run, and print what their comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "migrations" / "flask-caching.md"
MARK = "# run by tests/flask/test_flask_caching_migration.py"
PRINTED = re.compile(r"^print\(.*\)\s+# (?P<expected>.+?)(?::\s.*)?$")


def _examples() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return [block for block in blocks if block.startswith(MARK)]


def test_the_marked_examples_are_found() -> None:
    assert len(_examples()) == 3


@pytest.mark.parametrize("example", _examples(), ids=lambda e: str(len(e)))
def test_an_example_prints_what_it_says(example: str) -> None:
    expected = [
        found["expected"]
        for line in example.splitlines()
        if (found := PRINTED.match(line.strip())) is not None
    ]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, str(DOC), "exec"), {"__name__": "docs_flask_example"})
    assert out.getvalue().splitlines() == expected
