"""``stampede=`` on ``bridge.memoize`` and on the view cache, through Flask's app context and
test client, on the test-started Redis: one computation for a herd of threads or tasks,
stale-while-revalidate, generations (``delete_memoized``) respected, values the policy does
not store, and Redis down."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import pytest
import redis
from flask import Flask

from cache_bridge.stampede import StampedeSettings
from cache_bridge.testing.redis_server import free_port
from flask_cache_bridge import CacheBridge
from tests.support.clocks import ManualClock
from tests.support.flask_fixtures import MakeApp, bridge_fixture, make_app_fixture  # noqa: F401

CALLERS = 30
BOUND = 30


class Clock(ManualClock):
    start = 1_000_000.0


@pytest.fixture
def app(make_app: MakeApp, redis_url: str, redis_client: redis.Redis) -> Flask:
    return make_app(
        CACHE_BRIDGE_URL=redis_url,
        CACHE_BRIDGE_KEY_PREFIX=f"stampede-{uuid.uuid4().hex[:8]}",
        SECRET_KEY="test-secret",
    )


def test_a_herd_of_threads_runs_one_computation(app: Flask, bridge: CacheBridge) -> None:
    computations: list[int] = []

    @bridge.memoize(60, name=f"report-{uuid.uuid4().hex}", stampede=True)
    def report(year: int) -> dict[str, int]:
        computations.append(year)
        time.sleep(0.2)
        return {"year": year}

    seen: list[Any] = []
    ready = threading.Barrier(CALLERS)

    def call() -> None:
        with app.app_context():
            ready.wait()
            seen.append(report(2026))

    threads = [threading.Thread(target=call) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND)
    assert computations == [2026]
    assert seen == [{"year": 2026}] * CALLERS
    with app.app_context():
        assert report(2026) == {"year": 2026}
        assert report(2027) == {"year": 2027}
    assert computations == [2026, 2027]


def test_a_herd_of_tasks_runs_one_computation(app: Flask, bridge: CacheBridge) -> None:
    computations: list[int] = []

    @bridge.memoize(60, name=f"areport-{uuid.uuid4().hex}", stampede=True)
    async def report(year: int) -> int:
        computations.append(year)
        await asyncio.sleep(0.2)
        return year * 10

    async def herd() -> list[Any]:
        return list(await asyncio.gather(*(report(7) for _ in range(CALLERS))))

    with app.app_context():
        assert asyncio.run(herd()) == [70] * CALLERS
    assert computations == [7]


def test_delete_memoized_makes_the_next_call_recompute(app: Flask, bridge: CacheBridge) -> None:
    versions = iter(range(1, 10))

    @bridge.memoize(60, name=f"versioned-{uuid.uuid4().hex}", stampede=True)
    def versioned() -> int:
        return next(versions)

    with app.app_context():
        assert versioned() == 1
        assert versioned() == 1
        bridge.delete_memoized(versioned)
        assert versioned() == 2


def test_values_the_policy_does_not_store_are_answered_not_stored(
    app: Flask, bridge: CacheBridge
) -> None:
    computations: list[int] = []

    @bridge.memoize(60, name=f"nothing-{uuid.uuid4().hex}", stampede=True)
    def nothing() -> None:
        computations.append(1)

    with app.app_context():
        assert nothing() is None
        assert nothing() is None
    assert computations == [1, 1]  # cache_none=False: None is never stored


def test_stale_while_revalidate_through_memoize(app: Flask, bridge: CacheBridge) -> None:
    clock = Clock()
    state: dict[str, Any] = {"version": "old", "gate": None}

    @bridge.memoize(
        60, name=f"page-{uuid.uuid4().hex}", stampede=StampedeSettings(stale_ttl=600, clock=clock)
    )
    def page() -> str:
        if state["gate"] is not None:
            state["rendering"].set()
            assert state["gate"].wait(BOUND)
        return str(state["version"])

    with app.app_context():
        assert page() == "old"
    clock.now += 61
    state.update(version="new", gate=threading.Event(), rendering=threading.Event())
    served: list[tuple[str, bool]] = []

    def call() -> None:
        with app.app_context():
            served.append((page(), state["gate"].is_set()))

    leader = threading.Thread(target=call)
    leader.start()
    assert state["rendering"].wait(BOUND)
    for _ in range(5):
        call()
    assert served == [("old", False)] * 5
    state["gate"].set()
    leader.join(BOUND)
    assert served[-1] == ("new", True)


def test_with_redis_down_every_call_computes(make_app: MakeApp, bridge: CacheBridge) -> None:
    app = make_app(CACHE_BRIDGE_URL=f"redis://127.0.0.1:{free_port()}/0", SECRET_KEY="test-secret")
    computations: list[int] = []

    @bridge.memoize(60, name=f"down-{uuid.uuid4().hex}", stampede=True)
    def value() -> int:
        computations.append(1)
        return 5

    with app.app_context():
        assert [value(), value()] == [5, 5]
    assert computations == [1, 1]


def _protected_view(app: Flask, bridge: CacheBridge, settings: StampedeSettings) -> dict[str, Any]:
    state: dict[str, Any] = {"renders": 0, "gate": None}

    def page() -> str:
        state["renders"] += 1
        if state["gate"] is not None:
            state["rendering"].set()
            assert state["gate"].wait(BOUND)
        return f"version {state['renders']}"

    app.add_url_rule("/page", "page", bridge.cached(60, stampede=settings)(page))
    return state


def test_the_view_cache_serves_stale_pages_while_one_request_renders(
    app: Flask, bridge: CacheBridge
) -> None:
    clock = Clock()
    state = _protected_view(app, bridge, StampedeSettings(stale_ttl=600, clock=clock))
    client = app.test_client()
    assert client.get("/page").data == b"version 1"
    assert client.get("/page").data == b"version 1"
    assert state["renders"] == 1
    clock.now += 61
    state.update(gate=threading.Event(), rendering=threading.Event())
    bodies: list[tuple[bytes, bool]] = []

    def fetch() -> None:
        bodies.append((app.test_client().get("/page").data, state["gate"].is_set()))

    leader = threading.Thread(target=fetch)
    leader.start()
    assert state["rendering"].wait(BOUND)
    for _ in range(5):
        fetch()
    assert bodies == [(b"version 1", False)] * 5
    state["gate"].set()
    leader.join(BOUND)
    assert bodies[-1] == (b"version 2", True)
    assert client.get("/page").data == b"version 2"


def test_the_view_cache_renders_a_cold_page_once_for_concurrent_requests(
    app: Flask, bridge: CacheBridge
) -> None:
    state = _protected_view(app, bridge, StampedeSettings())
    ready = threading.Barrier(10)
    bodies: list[bytes] = []

    def fetch() -> None:
        ready.wait()
        bodies.append(app.test_client().get("/page").data)

    threads = [threading.Thread(target=fetch) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND)
    assert bodies == [b"version 1"] * 10
    assert state["renders"] == 1
