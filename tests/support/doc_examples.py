"""Running a docs page's examples: the ```python blocks that start with a mark line
(``# run by tests/...``) run as written, and print exactly what their ``# comments`` say.

An example line ``print(x)  # 3: the count`` says it prints ``3`` (what follows ``: `` is an
explanation); ``print(x)  # 3`` says the same without one.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

__all__ = ["DOCS", "expected_output", "marked_examples", "run_example"]

#: The docs site's folder.
DOCS = Path(__file__).resolve().parents[2] / "docs"

_PRINTED = re.compile(r"^print\(.*\)\s+# (?P<expected>.+?)(?::\s.*)?$")
_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def marked_examples(page: Path, mark: str) -> list[str]:
    """The page's python blocks that start with ``mark``, in page order."""
    blocks = _BLOCK.findall(page.read_text(encoding="utf-8"))
    return [block for block in blocks if block.startswith(mark)]


def expected_output(example: str) -> list[str]:
    """The lines the example's ``print(...)  # ...`` comments say it prints, in order."""
    return [
        found["expected"]
        for line in example.splitlines()
        if (found := _PRINTED.match(line.strip())) is not None
    ]


def run_example(example: str, page: Path, namespace: dict[str, Any] | None = None) -> list[str]:
    """Run the example (in ``namespace``, a fresh one by default) and return what it printed,
    line by line."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, str(page), "exec"), {} if namespace is None else namespace)
    return out.getvalue().splitlines()
