"""The examples of docs/near-cache.md run against the session's server and print what their
comments say."""

from __future__ import annotations

import contextlib
import io
import re
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from cache_bridge import RedisCache, SyncRedisCache

DOC = Path(__file__).resolve().parents[2] / "docs" / "near-cache.md"
MARK = "# run by tests/near_cache/test_docs_page.py"


def _examples() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return [block for block in blocks if block.startswith(MARK)]


def test_every_python_block_is_run_here() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert len(_examples()) == len(blocks) == 2


@pytest.fixture
def tracking_before_the_first_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples' first reads must find tracking set up: wait for it at construction, as
    the examples would not."""
    for kind in (SyncRedisCache, RedisCache):
        original: Any = kind.__init__

        def init_and_wait(self: Any, *args: Any, _original: Any = original, **kw: Any) -> None:
            _original(self, *args, **kw)
            deadline = time.monotonic() + 5
            while self.near_cache is not None and not self.near_cache.ready:
                assert time.monotonic() < deadline
                time.sleep(0.005)

        monkeypatch.setattr(kind, "__init__", init_and_wait)


@pytest.mark.parametrize("index", [0, 1], ids=["blocking", "async"])
@pytest.mark.usefixtures("tracking_before_the_first_read")
def test_the_example_prints_what_it_says(
    redis_client: redis.Redis, redis_url: str, index: int
) -> None:
    example = _examples()[index]
    # what each print shows is its comment, up to a ": " that starts an explanation (a
    # printed dict is shown whole)
    comments = [
        line.split("# ", 1)[1] for line in example.splitlines() if line.strip().startswith("print(")
    ]
    expected = [c if c.startswith("{") else c.split(": ")[0].rstrip() for c in comments]
    example = example.replace('"redis://localhost:6379/0"', repr(redis_url))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, str(DOC), "exec"), {"__name__": "__docs__"})
    assert out.getvalue().splitlines() == expected
