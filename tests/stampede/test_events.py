"""cache_bridge/stampede/runners.py tells the event stream what each get-or-compute ended as
(a StampedeEvent per call), on a real Redis and on memory://, on both faces; single-flight
followers are reported as ``shared``; nothing is made while nobody listens."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cache_bridge import InMemoryCache, RedisCache, SyncInMemoryCache, SyncRedisCache
from cache_bridge.observability import Event, StampedeEvent, add_listener, events
from cache_bridge.stampede import StampedeSettings, aget_or_compute, get_or_compute
from cache_bridge.testing.redis_server import free_port
from tests.support.clocks import ManualClock

BOUND = 30  # seconds before a wait is called a deadlock (never a measurement)


class Clock(ManualClock):
    start = 1_000_000.0


@pytest.fixture
def heard() -> Iterator[list[StampedeEvent]]:
    found: list[StampedeEvent] = []

    def listener(event: Event) -> None:
        if isinstance(event, StampedeEvent):
            found.append(event)

    remove = add_listener(listener)
    yield found
    remove()


def _url(where: str, request: pytest.FixtureRequest) -> str:
    if where == "memory":
        return "memory://"
    request.getfixturevalue("redis_client")
    return str(request.getfixturevalue("redis_url"))


@pytest.mark.parametrize("where", ["memory", "redis"])
def test_sync_face_computed_fresh_refresh(
    where: str, request: pytest.FixtureRequest, heard: list[StampedeEvent]
) -> None:
    clock = Clock()
    settings = StampedeSettings(stale_ttl=60, clock=clock)
    key = f"ev-{uuid.uuid4().hex}"
    url = _url(where, request)
    face = SyncInMemoryCache(key_prefix="ev") if where == "memory" else SyncRedisCache(url)
    with face as cache:
        assert get_or_compute(cache, key, lambda: "v1", ttl=10, settings=settings) == "v1"
        assert get_or_compute(cache, key, lambda: "v2", ttl=10, settings=settings) == "v1"
        clock.now += 11
        assert get_or_compute(cache, key, lambda: "v3", ttl=10, settings=settings) == "v3"
    assert [e.outcome for e in heard] == ["computed", "fresh", "refresh"]
    assert {e.key for e in heard} == {key}
    assert heard[0].compute_seconds is not None
    assert heard[0].compute_seconds >= 0
    assert heard[1].compute_seconds is None
    assert heard[0].origin.face == "sync"
    assert heard[0].origin.prefix == ("ev" if where == "memory" else "")


@pytest.mark.parametrize("where", ["memory", "redis"])
def test_async_face_computed_and_fresh(
    where: str, request: pytest.FixtureRequest, heard: list[StampedeEvent]
) -> None:
    url = _url(where, request)
    key = f"ev-{uuid.uuid4().hex}"

    async def scenario() -> None:
        cache = InMemoryCache() if where == "memory" else RedisCache(url)
        try:
            assert await aget_or_compute(cache, key, lambda: "v", ttl=10) == "v"
            assert await aget_or_compute(cache, key, lambda: "w", ttl=10) == "v"
        finally:
            await cache.aclose()

    asyncio.run(scenario())
    assert [(e.outcome, e.origin.face) for e in heard] == [
        ("computed", "async"),
        ("fresh", "async"),
    ]


def test_a_cache_that_is_down_is_reported_as_fail_open(heard: list[StampedeEvent]) -> None:
    with SyncRedisCache(f"redis://127.0.0.1:{free_port()}/0") as cache:
        assert get_or_compute(cache, "k", lambda: "v", ttl=10) == "v"
    assert [e.outcome for e in heard] == ["fail_open"]
    assert heard[0].origin.server.startswith("redis://127.0.0.1:")


def test_a_held_lock_on_redis_is_waited_out(
    redis_url: str, redis_client: Any, heard: list[StampedeEvent]
) -> None:
    key = f"ev-{uuid.uuid4().hex}"
    redis_client.set(f"{key}:stampede-lock", b"another process", px=BOUND * 1000)
    settings = StampedeSettings(wait=0)
    with SyncRedisCache(redis_url) as cache:
        assert get_or_compute(cache, key, lambda: "v", ttl=10, settings=settings) == "v"
    assert [e.outcome for e in heard] == ["waited_out"]


def test_a_held_lock_on_redis_serves_the_stale_value(
    redis_url: str, redis_client: Any, heard: list[StampedeEvent]
) -> None:
    clock = Clock()
    settings = StampedeSettings(stale_ttl=60, clock=clock)
    key = f"ev-{uuid.uuid4().hex}"
    with SyncRedisCache(redis_url) as cache:
        get_or_compute(cache, key, lambda: "old", ttl=10, settings=settings)
        clock.now += 11
        redis_client.set(f"{key}:stampede-lock", b"another process", px=BOUND * 1000)
        assert get_or_compute(cache, key, lambda: "new", ttl=10, settings=settings) == "old"
    assert [e.outcome for e in heard] == ["computed", "stale"]


def test_a_task_served_by_its_leader_is_reported_as_shared(
    redis_url: str, redis_client: Any, heard: list[StampedeEvent]
) -> None:
    key = f"ev-{uuid.uuid4().hex}"

    async def scenario() -> list[Any]:
        cache = RedisCache(redis_url)
        started, release = asyncio.Event(), asyncio.Event()

        async def slow() -> str:
            started.set()
            await release.wait()
            return "v"

        try:
            leader = asyncio.create_task(aget_or_compute(cache, key, slow, ttl=10))
            await asyncio.wait_for(started.wait(), BOUND)
            # the follower joins the leader's flight before its first await
            follower = asyncio.create_task(aget_or_compute(cache, key, lambda: "not me", ttl=10))
            await asyncio.sleep(0)
            release.set()
            return list(await asyncio.gather(leader, follower))
        finally:
            await cache.aclose()

    assert asyncio.run(scenario()) == ["v", "v"]
    assert sorted(e.outcome for e in heard) == ["computed", "shared"]
    shared = next(e for e in heard if e.outcome == "shared")
    assert shared.compute_seconds is None
    assert shared.key == key


def test_nothing_is_made_while_nobody_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Any] = []
    monkeypatch.setattr(
        "cache_bridge.stampede.runners.StampedeEvent",
        lambda *args: made.append(args),
    )
    assert events.listeners == ()
    with SyncInMemoryCache() as cache:
        get_or_compute(cache, "k", lambda: "v", ttl=10)
        get_or_compute(cache, "k", lambda: "v", ttl=10)
    assert made == []
    with SyncInMemoryCache() as cache:
        remove = add_listener(lambda event: None)
        try:
            get_or_compute(cache, "k2", lambda: "v", ttl=10)
        finally:
            remove()
    assert len(made) == 1
