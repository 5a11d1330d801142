"""The examples of docs/values.md marked ``# run by tests/values/test_values_page.py`` run, and
print what their comments say they print; the codec bench's sizes table is produced."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from bench.cases_codec import RAW, stored_sizes

DOC = Path(__file__).resolve().parents[2] / "docs" / "values.md"
MARK = "# run by tests/values/test_values_page.py"
PRINTED = re.compile(r"^print\(.*\)\s+# (?P<expected>.+?)(?::\s.*)?$")


def _examples() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return [block for block in blocks if block.startswith(MARK)]


def test_the_marked_examples_are_found() -> None:
    assert len(_examples()) == 2


@pytest.mark.parametrize("example", _examples(), ids=lambda e: e.splitlines()[1][:40])
def test_an_example_prints_what_it_says(example: str) -> None:
    expected = [
        found["expected"]
        for line in example.splitlines()
        if (found := PRINTED.match(line.strip())) is not None
    ]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, str(DOC), "exec"), {})
    assert out.getvalue().splitlines() == expected


def test_the_bench_reports_bytes_stored_for_every_configuration() -> None:
    sizes = stored_sizes()
    assert set(sizes) == {"10 KB", "1 MB"}
    for row in sizes.values():
        assert {"pickle", "pickle+zlib", "json+zstd", "msgpack+lz4", RAW} <= set(row)
        assert row["json+zlib"] < row["json"] / 3  # sizes, never times
