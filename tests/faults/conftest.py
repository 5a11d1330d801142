"""Fixtures for the fault-injection suite: a private redis-server per test that the test may
kill, freeze or pause, a fault proxy in front of it, and harnessed Redis adapters of either
face with short timeouts and a quick breaker.

This package has an ``__init__.py`` so that mypy sees ``faults.conftest``, not a second
top-level ``conftest``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.testing import Harness, Harnesses
from cache_bridge.testing.faulty_server import FaultyRedisServer
from cache_bridge.testing.proxy import FaultProxy
from tests.faults.scenario import FAST

Connect = Callable[..., Harness]


@pytest.fixture(params=["sync", "async"])
def face(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def connect(face: str) -> Iterator[Connect]:
    """Build harnessed Redis adapters of the current face (with the suite's short timeouts
    and quick breaker unless overridden); all are shut down afterwards."""
    cls = SyncRedisCache if face == "sync" else RedisCache

    def build(url: str, **options: Any) -> SyncRedisCache | RedisCache:
        return cls(url, **{**FAST, **options})

    with Harnesses(build, face) as make:
        yield make


@pytest.fixture
def server() -> Iterator[FaultyRedisServer]:
    """A private redis-server for one test, which the test may hurt; always cleaned up."""
    server = FaultyRedisServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def proxy(server: FaultyRedisServer) -> Iterator[FaultProxy]:
    """A pass-through proxy in front of ``server``."""
    with FaultProxy("127.0.0.1", server.port) as proxy:
        yield proxy
