"""The example of docs/near-cache.md runs against the session's server and prints what its
comments say."""

from __future__ import annotations

import contextlib
import io
import re
import time
from pathlib import Path

import redis

from cache_bridge import SyncRedisCache

DOC = Path(__file__).resolve().parents[2] / "docs" / "near-cache.md"
MARK = "# run by tests/near_cache/test_docs_page.py"


def test_the_example_prints_what_it_says(redis_client: redis.Redis, redis_url: str) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    (example,) = [block for block in blocks if block.startswith(MARK)]
    expected = [
        line.split("# ", 1)[1].split(":")[0]
        for line in example.splitlines()
        if line.startswith("print(")
    ]
    example = example.replace('"redis://localhost:6379/0"', repr(redis_url))
    # the example's first read must find tracking set up: wait for it as the example would not
    original = SyncRedisCache.__init__

    def init_and_wait(self: SyncRedisCache, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        deadline = time.monotonic() + 5
        while self.near_cache is not None and not self.near_cache.ready:
            assert time.monotonic() < deadline
            time.sleep(0.005)

    SyncRedisCache.__init__ = init_and_wait  # type: ignore[method-assign]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(example, str(DOC), "exec"), {})
    finally:
        SyncRedisCache.__init__ = original  # type: ignore[method-assign]
    assert out.getvalue().splitlines() == expected
