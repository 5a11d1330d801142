"""The examples of docs/values.md marked ``# run by tests/values/test_values_page.py`` run, and
print what their comments say they print; the codec bench's sizes table is produced."""

from __future__ import annotations

import pytest

from bench.cases_codec import RAW, stored_sizes
from tests.support.doc_examples import DOCS, expected_output, marked_examples, run_example

DOC = DOCS / "values.md"
MARK = "# run by tests/values/test_values_page.py"
EXAMPLES = marked_examples(DOC, MARK)


def test_the_marked_examples_are_found() -> None:
    assert len(EXAMPLES) == 2


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.splitlines()[1][:40])
def test_an_example_prints_what_it_says(example: str) -> None:
    assert run_example(example, DOC, None) == expected_output(example)


def test_the_bench_reports_bytes_stored_for_every_configuration() -> None:
    sizes = stored_sizes()
    assert set(sizes) == {"10 KB", "1 MB"}
    for row in sizes.values():
        assert {"pickle", "pickle+zlib", "json+zstd", "msgpack+lz4", RAW} <= set(row)
        assert row["json+zlib"] < row["json"] / 3  # sizes, never times
