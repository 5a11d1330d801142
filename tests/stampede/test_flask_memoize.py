"""``bridge.memoize(..., stampede=...)`` on the test-started Redis: generations separate
single flights (``delete_memoized`` during a computation), and single-flight waiters each get
their own value object, as plain memoize gives every call its own."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
import redis
from flask import Flask

from flask_cache_bridge import CacheBridge
from tests.support.flask_fixtures import MakeApp, bridge_fixture, make_app_fixture  # noqa: F401

CALLERS = 12


@pytest.fixture
def app(make_app: MakeApp, redis_url: str, redis_client: redis.Redis) -> Flask:
    return make_app(
        CACHE_BRIDGE_URL=redis_url,
        CACHE_BRIDGE_KEY_PREFIX=f"stfix-{uuid.uuid4().hex[:8]}",
        SECRET_KEY="test-secret",
    )


def test_a_caller_after_delete_memoized_never_joins_the_older_generations_flight(
    app: Flask, bridge: CacheBridge
) -> None:
    source = {"price": 100}
    seen: list[int] = []
    started = threading.Event()
    out: dict[str, int] = {}

    @bridge.memoize(60, name=f"price-{uuid.uuid4().hex}", stampede=True)
    def price(sku: str) -> int:
        value = source["price"]
        seen.append(value)
        started.set()
        time.sleep(0.6)
        return value

    def call(name: str) -> None:
        with app.app_context():
            out[name] = price("X")

    before = threading.Thread(target=call, args=("before",))
    before.start()
    assert started.wait(10)
    source["price"] = 200
    with app.app_context():
        bridge.delete_memoized(price)
    after = threading.Thread(target=call, args=("after",))
    after.start()
    before.join()
    after.join()
    assert out == {"before": 100, "after": 200}
    assert seen == [100, 200]
    with app.app_context():
        assert price("X") == 200


@pytest.mark.parametrize("serializer", ["pickle", "json"])
def test_each_single_flight_waiter_gets_its_own_object(
    make_app: MakeApp,
    bridge: CacheBridge,
    redis_url: str,
    redis_client: redis.Redis,
    serializer: str,
) -> None:
    app = make_app(
        CACHE_BRIDGE_URL=redis_url,
        CACHE_BRIDGE_KEY_PREFIX=f"stfix-{uuid.uuid4().hex[:8]}",
        CACHE_BRIDGE_SERIALIZER=serializer,
        SECRET_KEY="test-secret",
    )
    computations: list[int] = []
    ready = threading.Barrier(CALLERS)
    seen: list[Any] = []

    @bridge.memoize(60, name=f"rows-{uuid.uuid4().hex}", stampede=True)
    def rows() -> list[dict[str, int]]:
        computations.append(1)
        time.sleep(0.3)
        return [{"n": 1}]

    def call() -> None:
        ready.wait()
        with app.app_context():
            seen.append(rows())

    threads = [threading.Thread(target=call) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(computations) == 1
    assert all(value == [{"n": 1}] for value in seen)
    assert len({id(value) for value in seen}) == CALLERS  # nobody shares a mutable value
