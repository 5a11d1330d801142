"""The in-memory fallback (``fallback="memory"``): with the cache unreachable (a Redis URL where
nothing listens, a test-started server stopped), limits keep holding on the process's memory
store, all or nothing for a group, on both faces; refunds go there too; the failure is logged
once and reported as ``"memory"``; decisions go back to Redis when it answers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from returns.result import Failure

from cache_bridge import CacheConnectionError, ConfigurationError
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.errors import CacheInvalidArgumentError
from cache_bridge.observability import events
from cache_bridge.observability.events import Event, RateLimitEvent
from cache_bridge.ratelimit import (
    AsyncRateLimiter,
    RateLimiter,
    ahit_all,
    arefund,
    hit_all,
    refund,
)
from cache_bridge.ratelimit.memory_fallback import reset_fallback_store
from cache_bridge.testing.redis_server import RedisServer, free_port

START = 1_700_006_400.0 + 10  # inside a minute: fixed windows hold the test
DEAD = {"timeout": 0.2, "connect_timeout": 0.2}


def clock() -> float:
    return START


@pytest.fixture(autouse=True)
def fresh_store() -> Iterator[None]:
    reset_fallback_store()
    yield
    reset_fallback_store()


@pytest.fixture
def dead() -> Iterator[SyncRedisCache]:
    cache = SyncRedisCache(f"redis://127.0.0.1:{free_port()}/0", **DEAD)
    yield cache
    cache.close()


@pytest.fixture
def adead() -> RedisCache:
    return RedisCache(f"redis://127.0.0.1:{free_port()}/0", **DEAD)


def _limiter(cache: Any, rate: str = "3/m", name: str = "api", **options: Any) -> RateLimiter:
    return RateLimiter(cache, rate, name=name, clock=clock, **options)


def test_a_dead_cache_with_the_fallback_holds_the_limit(dead: SyncRedisCache) -> None:
    limiter = _limiter(dead, fallback="memory")
    decisions = [limiter.hit("203.0.113.7") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert {d.fallback for d in decisions} == {"memory"}
    assert all(d.error is None for d in decisions)  # real numbers: the headers show them
    assert decisions[3].reason == "limit"
    assert decisions[3].retry_after > 0
    assert limiter.hit("198.51.100.1").allowed  # each client its own count


def test_without_the_fallback_fail_open_allows_every_request(dead: SyncRedisCache) -> None:
    limiter = _limiter(dead)
    decisions = [limiter.hit("203.0.113.7") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True] * 4
    assert all(d.failed and d.fallback is None for d in decisions)


def test_the_fallback_also_holds_a_fail_closed_limit(dead: SyncRedisCache) -> None:
    limiter = _limiter(dead, fail_open=False, fallback="memory")
    assert [limiter.hit("k").allowed for _ in range(4)] == [True, True, True, False]


@pytest.mark.parametrize("algorithm", ["sliding-window", "token-bucket"])
def test_each_algorithm_holds_in_memory(dead: SyncRedisCache, algorithm: str) -> None:
    limiter = _limiter(dead, algorithm=algorithm, fallback="memory")
    assert [limiter.hit("k").allowed for _ in range(4)] == [True, True, True, False]


def test_a_group_on_a_dead_cache_is_all_or_nothing_in_memory(dead: SyncRedisCache) -> None:
    minute = _limiter(dead, "3/m", "minute", fallback="memory")
    pair = _limiter(dead, "2/m", "pair", fallback="memory")
    checks: list[Any] = [(minute, "k"), (pair, "k")]
    rounds = [hit_all(checks) for _ in range(3)]
    assert [[d.allowed for d in r] for r in rounds] == [[True, True], [True, True], [True, False]]
    assert all(d.fallback == "memory" for r in rounds for d in r)
    assert not any(d.counted for d in rounds[2])  # refused by one, counted by none
    # "minute" counted two requests, not three: one more is allowed, then it refuses.
    assert [minute.hit("k").allowed for _ in range(2)] == [True, False]


def test_a_group_with_a_cost_and_modes_uses_them_in_memory(dead: SyncRedisCache) -> None:
    limiter = _limiter(dead, "5/m", "costly", fallback="memory")
    [peeked] = hit_all([(limiter, "k", 3, "peek")])
    assert peeked.allowed
    assert peeked.fallback == "memory"
    assert peeked.remaining == 5
    [forced] = hit_all([(limiter, "k", 4, "force")])
    assert forced.fallback == "memory"
    [refused] = hit_all([(limiter, "k", 2)])
    assert not refused.allowed
    assert refused.cost == 2


def test_a_refund_of_a_fallback_decision_goes_to_memory(dead: SyncRedisCache) -> None:
    limiter = _limiter(dead, fallback="memory")
    first = limiter.hit("k")
    assert first.counted
    refund([(limiter, first)])
    assert [limiter.hit("k").allowed for _ in range(4)] == [True, True, True, False]


def test_a_bad_key_is_not_decided_again(dead: SyncRedisCache) -> None:
    limiter = _limiter(dead, fallback="memory")
    decision = limiter.hit(7)  # type: ignore[arg-type]
    assert isinstance(decision.error, CacheInvalidArgumentError)
    assert decision.fallback is None


def test_the_outage_is_logged_once_and_reported_as_memory(
    dead: SyncRedisCache, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[RateLimitEvent] = []

    def listen(event: Event) -> None:
        if isinstance(event, RateLimitEvent) and event.limit == "logged":
            heard.append(event)

    remove = events.add_listener(listen)
    try:
        limiter = _limiter(dead, name="logged", fallback="memory")
        with caplog.at_level(logging.WARNING, logger="cache_bridge.ratelimit"):
            for _ in range(4):
                limiter.hit("k")
    finally:
        remove()
    said = [r.getMessage() for r in caplog.records if r.name == "cache_bridge.ratelimit"]
    assert len(said) == 1
    assert "in-memory store" in said[0]
    assert [e.failed for e in heard] == ["memory"] * 4
    assert [e.allowed for e in heard] == [True, True, True, False]


def test_the_fallback_setting_is_checked() -> None:
    cache = SyncRedisCache(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(ConfigurationError, match="Did you mean 'memory'"):
        _limiter(cache, fallback="memroy")
    with pytest.raises(ConfigurationError, match="not a rate-limit fallback"):
        _limiter(cache, fallback=True)


# -- the async face -----------------------------------------------------------------------------


async def test_the_async_face_holds_the_limit_and_the_group(adead: RedisCache) -> None:
    one = AsyncRateLimiter(adead, "3/m", name="a-one", clock=clock, fallback="memory")
    decided = [await one.hit("k") for _ in range(4)]
    assert [d.allowed for d in decided] == [True, True, True, False]
    assert {d.fallback for d in decided} == {"memory"}
    minute = AsyncRateLimiter(adead, "3/m", name="a-minute", clock=clock, fallback="memory")
    pair = AsyncRateLimiter(adead, "2/m", name="a-pair", clock=clock, fallback="memory")
    checks: list[Any] = [(minute, "k"), (pair, "k")]
    rounds = [await ahit_all(checks) for _ in range(3)]
    assert [[d.allowed for d in r] for r in rounds] == [[True, True], [True, True], [True, False]]
    assert [(await minute.hit("k")).allowed for _ in range(2)] == [True, False]
    extra = await minute.hit("other")
    await arefund([(minute, extra)])
    assert [(await minute.hit("other")).allowed for _ in range(4)] == [True, True, True, False]


# -- back to Redis when it answers ---------------------------------------------------------------


@pytest.mark.redis
def test_decisions_go_back_to_redis_when_it_answers(caplog: pytest.LogCaptureFixture) -> None:
    server = RedisServer()
    server.start()
    cache = SyncRedisCache(server.url, breaker_threshold=0, **DEAD)
    try:
        limiter = RateLimiter(cache, "3/m", name="back", fallback="memory")
        before = limiter.hit("k")
        assert before.fallback is None
        assert before.error is None
        assert before.remaining == 2
        server.stop()
        during = [limiter.hit("k") for _ in range(4)]
        # The memory store counts afresh: the documented bound (up to the limit per store).
        assert [d.allowed for d in during] == [True, True, True, False]
        assert {d.fallback for d in during} == {"memory"}
        server.start()  # nothing persisted: Redis counts afresh too
        after = limiter.hit("k")
        assert after.fallback is None
        assert after.error is None
        assert after.allowed
        assert after.remaining == 2
    finally:
        cache.close()
        server.cleanup()


class Down:
    """An adapter that only implements the protocol, and whose every call fails."""

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> Any:
            return Failure(CacheConnectionError("down", operation=name))

        return call


def test_an_adapter_that_only_implements_the_protocol_falls_back_too() -> None:
    limiter = RateLimiter(Down(), "3/m", name="protocol", clock=clock, fallback="memory")
    assert not limiter.native
    decisions = [limiter.hit("k") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert {d.fallback for d in decisions} == {"memory"}
