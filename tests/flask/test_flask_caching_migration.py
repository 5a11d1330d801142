"""The examples of docs/migrations/flask-caching.md marked ``# run by
tests/flask/test_flask_caching_migration.py`` run, and print what their comments say."""

from __future__ import annotations

import pytest

from tests.support.doc_examples import DOCS, expected_output, marked_examples, run_example

DOC = DOCS / "migrations" / "flask-caching.md"
MARK = "# run by tests/flask/test_flask_caching_migration.py"
EXAMPLES = marked_examples(DOC, MARK)


def test_the_marked_examples_are_found() -> None:
    assert len(EXAMPLES) == 3


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: str(len(e)))
def test_an_example_prints_what_it_says(example: str) -> None:
    assert run_example(example, DOC, {"__name__": "docs_flask_example"}) == expected_output(example)
