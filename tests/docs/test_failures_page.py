"""docs/failures.md: its example runs, against real failures of a Redis adapter."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from returns.result import Failure, Success

from cache_bridge import CachePoolExhaustedError, CacheServerError
from cache_bridge.adapters.redis import SyncRedisCache

PAGE = Path(__file__).resolve().parents[2] / "docs" / "failures.md"


@pytest.fixture
def describe() -> Callable[[Any], str]:
    (code,) = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(compile(code, str(PAGE), "exec"), namespace)
    found: Callable[[Any], str] = namespace["describe"]
    return found


@pytest.fixture
def dead_url() -> Iterator[str]:
    with socket.socket() as holder:  # bound, never listening: connections are refused
        holder.bind(("127.0.0.1", 0))
        yield f"redis://127.0.0.1:{holder.getsockname()[1]}/0"


def test_the_example_tells_the_failures_apart(
    describe: Callable[[Any], str], dead_url: str
) -> None:
    assert describe(Success("v")) == "hit: v"
    assert describe(Success(None)) == "miss"
    with SyncRedisCache(dead_url) as cache:
        assert describe(cache.get("k")) == "the cache could not be reached"
        assert describe(cache.get("k")) == "the cache is down (failing fast)"
    full = CachePoolExhaustedError("no pooled connection came free", operation="get", key="k")
    assert describe(Failure(full)) == "too many calls at once"
    refused = CacheServerError("Redis refused the command", operation="set", key="k")
    assert describe(Failure(refused)).startswith("cache error: set('k')")
