"""The examples of docs/flask.md marked ``# run by tests/flask/test_flask_page.py`` run, and
print what their comments say they print."""

from __future__ import annotations

import pytest

from tests.support.doc_examples import DOCS, expected_output, marked_examples, run_example

DOC = DOCS / "flask.md"
MARK = "# run by tests/flask/test_flask_page.py"
EXAMPLES = marked_examples(DOC, MARK)


def test_the_marked_examples_are_found() -> None:
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: str(len(e)))
def test_an_example_prints_what_it_says(example: str) -> None:
    assert run_example(example, DOC, {"__name__": "docs_flask_example"}) == expected_output(example)
