"""Every example of docs/stampede.md runs (Django on the test settings' memory:// default alias)
and prints what its comments say it prints."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "stampede.md"
MARK = "# run by tests/docs/test_stampede_page.py"
#: ``print(...)  # EXPECTED: explanation`` or ``print(...)  # EXPECTED``
PRINTED = re.compile(r"^print\(.*\)\s+# (?P<expected>.+?)(?::\s.*)?$")


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_every_python_example_is_marked_to_run() -> None:
    blocks = _blocks()
    assert len(blocks) >= 7
    assert all(block.startswith(MARK) for block in blocks)


@pytest.mark.parametrize("example", _blocks(), ids=lambda e: e.splitlines()[1][:40])
def test_an_example_prints_what_it_says(example: str) -> None:
    expected = [
        found["expected"]
        for line in example.splitlines()
        if (found := PRINTED.match(line.strip())) is not None
    ]
    assert expected, "an example says what it prints"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, str(DOC), "exec"), {"__name__": "stampede_docs"})
    assert out.getvalue().splitlines() == expected
