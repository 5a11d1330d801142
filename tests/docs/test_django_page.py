"""The examples of docs/django.md marked ``# run by tests/docs/test_django_page.py`` run (on the
test settings' memory:// default alias), and print what their comments say they print."""

from __future__ import annotations

import pytest

from tests.support.doc_examples import DOCS, expected_output, marked_examples, run_example

DOC = DOCS / "django.md"
MARK = "# run by tests/docs/test_django_page.py"
EXAMPLES = marked_examples(DOC, MARK)


def test_the_marked_examples_are_found() -> None:
    assert len(EXAMPLES) >= 1


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.splitlines()[2][:40])
def test_an_example_prints_what_it_says(example: str) -> None:
    expected = expected_output(example)
    assert expected, "an example says what it prints"
    assert run_example(example, DOC, {}) == expected
