"""The examples of docs/migrations/django-redis.md marked with this file's name run (on the
test settings' memory:// default alias), and print what their comments say they print."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "migrations" / "django-redis.md"
MARK = "# run by tests/docs/test_django_redis_migration.py"
#: ``print(...)  # EXPECTED: explanation`` or ``print(...)  # EXPECTED``
PRINTED = re.compile(r"^print\(.*\)\s+# (?P<expected>.+?)(?::\s.*)?$")


def _examples() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return [block for block in blocks if block.startswith(MARK)]


def test_the_marked_examples_are_found() -> None:
    assert len(_examples()) >= 1


@pytest.mark.parametrize("example", _examples(), ids=lambda e: e.splitlines()[2][:40])
def test_an_example_prints_what_it_says(example: str) -> None:
    expected = [
        found["expected"]
        for line in example.splitlines()
        if (found := PRINTED.match(line.strip())) is not None
    ]
    assert expected, "an example says what it prints"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, str(DOC), "exec"), {})
    assert out.getvalue().splitlines() == expected
