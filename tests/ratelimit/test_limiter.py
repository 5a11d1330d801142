"""The rate-limit engine on the in-memory adapter with a controlled clock, and on an adapter
that implements only the protocol (the increment/expire fallback)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from returns.result import Failure, Result

from cache_bridge import CacheConnectionError, ConfigurationError, DomainError
from cache_bridge.adapters.memory import InMemoryCache, SyncInMemoryCache
from cache_bridge.engine.limit_algorithms import ALGORITHMS, hit
from cache_bridge.ratelimit import (
    AsyncRateLimiter,
    Decision,
    Rate,
    RateLimiter,
    parse_rate,
    rate_limit_headers,
    retry_after_seconds,
)
from tests.support.clocks import ManualClock

#: A moment at the start of a day, so every window (s, m, h, d) starts here.
START = 1_700_006_400.0


class Clock(ManualClock):
    start = START


class ProtocolOnly:
    """A third-party adapter: the protocol's methods and nothing else (no run_operation)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name in ("run_operation", "key_prefix", "store"):
            raise AttributeError(name)
        method = getattr(self._inner, name)

        def call(*args: Any) -> Any:
            self.calls.append(name)
            return method(*args)

        return call


class AsyncProtocolOnly(ProtocolOnly):
    def __getattr__(self, name: str) -> Any:
        method = super().__getattr__(name)

        async def call(*args: Any) -> Any:
            return await method(*args)

        return call


# -- rates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "period"),
    [
        ("100/m", 100, 60),
        ("10/s", 10, 1),
        ("5000/h", 5000, 3600),
        ("20/10s", 20, 10),
        ("1000/d", 1000, 86400),
        ("10/minute", 10, 60),
        ("10 per 2 hours", 10, 7200),
        (" 3 / 5 MIN ", 3, 300),
    ],
)
def test_rates_parse(text: str, limit: int, period: int) -> None:
    assert parse_rate(text) == Rate(limit, period)


@pytest.mark.parametrize(
    "text", ["", "100", "100/", "/m", "100/fortnight", "-1/m", "0/m", "1.5/m", "10/0s", "x/m"]
)
def test_malformed_rates_say_what_to_write(text: str) -> None:
    with pytest.raises(ConfigurationError, match=r"100/m|rate limit must be|rate period"):
        parse_rate(text)


def test_rates_print_short_and_refuse_what_lua_cannot_count_exactly() -> None:
    assert [str(parse_rate(r)) for r in ("100/m", "20/10s", "1000/d", "5/90s", "7/2h")] == [
        "100/m",
        "20/10s",
        "1000/d",
        "5/90s",
        "7/2h",
    ]
    assert parse_rate(Rate(3, 4)) == Rate(3, 4)
    # Issue 15: the product rule binds only the algorithms that multiply (not fixed-window).
    huge = Rate(1_000_000, 10 * 365 * 86400)
    RateLimiter(SyncInMemoryCache(), huge, algorithm="fixed-window")
    with pytest.raises(ConfigurationError, match="too fine-grained for sliding-window"):
        RateLimiter(SyncInMemoryCache(), huge, algorithm="sliding-window")
    with pytest.raises(ConfigurationError, match="must be an int"):
        Rate(True, 1)


def test_unknown_algorithm_and_empty_name_fail_at_construction() -> None:
    cache = SyncInMemoryCache()
    with pytest.raises(ConfigurationError, match="sliding-window"):
        RateLimiter(cache, "1/s", algorithm="leaky")
    with pytest.raises(ConfigurationError, match="name"):
        RateLimiter(cache, "1/s", name="")


# -- window arithmetic with a controlled clock ---------------------------------------------


def limiter(algorithm: str, rate: str, clock: Clock, **kw: Any) -> RateLimiter:
    cache = SyncInMemoryCache(clock=clock)
    return RateLimiter(cache, rate, algorithm=algorithm, name=algorithm, **kw)


def allowed(lim: RateLimiter, n: int, key: str = "k") -> list[bool]:
    return [lim.hit(key).allowed for _ in range(n)]


def test_fixed_window_counts_per_aligned_window() -> None:
    clock = Clock(START + 55)  # 5 s before the minute ends
    lim = limiter("fixed-window", "3/m", clock)
    first = lim.hit("k")
    assert (first.allowed, first.remaining, first.reset_after, first.retry_after) == (
        True,
        2,
        5.0,
        0.0,
    )
    assert allowed(lim, 3) == [True, True, False]
    denied = lim.hit("k")
    assert (denied.remaining, denied.retry_after, denied.reset_after) == (0, 5.0, 5.0)
    clock.now = START + 59.999
    assert not lim.hit("k").allowed
    clock.now = START + 60  # the next window: a full quota again (the boundary burst)
    assert allowed(lim, 4) == [True, True, True, False]
    assert lim.hit("other").allowed  # keys are counted apart


def test_sliding_window_weighs_the_previous_window() -> None:
    clock = Clock(START)
    lim = limiter("sliding-window", "10/m", clock)
    assert allowed(lim, 10) == [True] * 10
    assert not lim.hit("k").allowed
    clock.now = START + 60 + 30  # half-way through the next window: 10 * 0.5 count
    assert allowed(lim, 6) == [True] * 5 + [False]
    d = lim.hit("k")
    # previous 10 weighs 10 * (30 - t) / 60; with 5 current, room for one at t = 6 s.
    assert d.retry_after == pytest.approx(6.0)
    clock.now += 6
    assert allowed(lim, 2) == [True, False]
    clock.now = START + 60 * 3  # two windows on: nothing counts any more
    assert lim.hit("k").remaining == 9


def test_sliding_window_retry_when_the_current_window_is_full() -> None:
    clock = Clock(START + 50)
    lim = limiter("sliding-window", "4/m", clock)
    assert allowed(lim, 5) == [True] * 4 + [False]
    d = lim.hit("k")
    # Next window in 10 s, then 4 * (60 - e) / 60 + 1 <= 4 from e = 15 s.
    assert d.retry_after == pytest.approx(25.0)
    clock.now += 25
    assert lim.hit("k").allowed
    assert not lim.hit("k").allowed


def test_token_bucket_refills_one_request_per_interval() -> None:
    clock = Clock(START + 17.5)  # buckets are not aligned to anything
    lim = limiter("token-bucket", "6/m", clock)
    burst = [lim.hit("k") for _ in range(7)]
    assert [d.allowed for d in burst] == [True] * 6 + [False]
    assert [d.remaining for d in burst[:6]] == [5, 4, 3, 2, 1, 0]
    assert burst[6].retry_after == pytest.approx(10.0)  # 60 s / 6
    assert burst[5].reset_after == pytest.approx(60.0)
    clock.now += 9.999
    assert not lim.hit("k").allowed
    clock.now += 0.001
    assert allowed(lim, 2) == [True, False]
    clock.now += 3600
    assert lim.hit("k").remaining == 5


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_state_always_has_an_expiry_and_denials_write_nothing(algorithm: str) -> None:
    clock = Clock(START + 1)
    cache = SyncInMemoryCache(clock=clock)
    lim = RateLimiter(cache, "2/m", algorithm=algorithm, name="n", prefix="rl")
    lim.hit("k")
    lim.hit("k")
    state = lim.policy.storage_key("k")
    entry: dict[str, object] = dict(cache.store._entries[state])
    assert entry["expires_at"] is not None
    lim.hit("k")
    assert dict(cache.store._entries[state]) == entry
    clock.now += 2 * 60 + 1
    assert cache.get(state).unwrap() is None  # expired, not left behind


def test_state_that_does_not_parse_counts_as_none() -> None:
    for algorithm in ALGORITHMS:
        assert hit(algorithm, "garbage", 2, 1000, 5000).allowed
    with pytest.raises(ValueError, match="unknown"):
        hit("leaky", None, 1, 1, 1)


async def test_async_limiter_shares_state_with_the_sync_one() -> None:
    clock = Clock(START)
    acache = InMemoryCache(clock=clock)
    alim = AsyncRateLimiter(acache, "3/s", name="x")
    slim = RateLimiter(acache.sync(), "3/s", name="x")
    assert (await alim.hit("k")).allowed
    assert slim.hit("k").allowed
    assert (await alim.hit("k")).remaining == 0
    assert not slim.hit("k").allowed


def test_limiter_clock_overrides_the_store_clock() -> None:
    store_clock, caller = Clock(START), Clock(START + 60)
    cache = SyncInMemoryCache(clock=store_clock)
    lim = RateLimiter(cache, "1/m", clock=caller)
    assert lim.hit("k").allowed
    caller.now += 60
    assert lim.hit("k").allowed  # the caller's window moved; the store's did not


def test_long_keys_are_hashed_and_keys_are_namespaced() -> None:
    cache = SyncInMemoryCache(key_prefix="app")
    lim = RateLimiter(cache, "1/m", name="api", prefix="rl")
    assert lim.hit("x" * 5000).allowed
    assert not lim.hit("x" * 5000).allowed
    keys = list(cache.store._entries)
    assert len(keys) == 1
    assert keys[0].startswith("app:rl:api:1/m:fc:{sha256:")


# -- the protocol-only fallback ------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["fixed-window", "sliding-window"])
def test_fallback_decides_like_the_native_check(algorithm: str) -> None:
    clock = Clock(START + 30)
    native = RateLimiter(SyncInMemoryCache(clock=clock), "5/m", algorithm=algorithm)
    adapter = ProtocolOnly(SyncInMemoryCache(clock=clock))
    fallback = RateLimiter(adapter, "5/m", algorithm=algorithm, clock=clock)
    seen = []
    for step in [0, 1, 1, 1, 1, 1, 1, 20, 15, 5, 40, 1, 1, 100]:
        clock.now += step
        a, b = native.hit("k"), fallback.hit("k")
        seen.append(a.allowed)
        assert (a.allowed, a.remaining, a.retry_after) == (b.allowed, b.remaining, b.retry_after)
    assert True in seen
    assert False in seen
    assert "run_operation" not in adapter.calls


def test_fallback_counts_with_increment_and_expire() -> None:
    clock = Clock(START)
    adapter = ProtocolOnly(SyncInMemoryCache(clock=clock))
    lim = RateLimiter(adapter, "2/m", clock=clock)
    lim.hit("k")
    assert adapter.calls == ["increment", "expire"]
    adapter.calls.clear()
    lim.hit("k")
    assert adapter.calls == ["increment", "ttl"]


def test_fallback_repairs_a_counter_left_without_expiry() -> None:
    clock = Clock(START)
    inner = SyncInMemoryCache(clock=clock)
    lim = RateLimiter(ProtocolOnly(inner), "5/m", clock=clock, name="n", prefix="rl")
    key = f"rl:n:5/m:fw:{{k}}:{int(START * 1000) // 60000}"
    inner.increment(key)  # a process died between increment and expire
    assert inner.ttl(key).unwrap() is None
    assert lim.hit("k").remaining == 3
    assert inner.ttl(key).unwrap() == 60


async def test_async_fallback() -> None:
    clock = Clock(START)
    adapter = AsyncProtocolOnly(InMemoryCache(clock=clock))
    lim = AsyncRateLimiter(adapter, "2/m", algorithm="sliding-window", clock=clock)
    assert [(await lim.hit("k")).allowed for _ in range(3)] == [True, True, False]


# -- failure policy ----------------------------------------------------------------------


class Broken:
    """An adapter whose every call fails, or raises despite the contract."""

    def __init__(self, raise_instead: bool = False) -> None:
        self.raise_instead = raise_instead

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> Result[Any, DomainError]:
            if self.raise_instead:
                raise RuntimeError("boom")
            return Failure(CacheConnectionError("down", operation=name))

        return call


@pytest.mark.parametrize("raise_instead", [False, True])
def test_fail_open_allows_and_logs_once_per_burst(
    raise_instead: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cache_bridge.ratelimit")
    lim = RateLimiter(Broken(raise_instead), "1/m", name="api")
    decisions = [lim.hit("k") for _ in range(3)]
    assert all(d.allowed and d.failed for d in decisions)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "allowing" in warnings[0].getMessage()
    assert rate_limit_headers(decisions) == {}


def test_fail_closed_denies_and_logs_the_outage_and_its_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="cache_bridge.ratelimit")
    broken = Broken()
    lim = RateLimiter(broken, "5/m", fail_open=False, name="login")
    assert not lim.hit("k").allowed
    lim.cache = SyncInMemoryCache()
    lim.native = True
    assert lim.hit("k").allowed
    lim.cache = broken
    lim.native = False
    assert not lim.hit("k").allowed
    messages = [r.getMessage() for r in caplog.records]
    # The second outage began within LOG_INTERVAL of the recovery's line: it is counted into
    # the next line, not logged on its own (a flapping cache writes two lines per interval).
    assert sum("denying" in m for m in messages) == 1
    assert sum("the cache answers again" in m for m in messages) == 1


# -- headers -------------------------------------------------------------------------------


def test_ratelimit_names_the_tightest_limit() -> None:
    minute = Decision(True, 10, 7, 50.0, 0.0, "minute", Rate(10, 60))
    hour = Decision(True, 100, 3, 3000.0, 0.0, "hour", Rate(100, 3600))
    day = Decision(True, 1000, 3, 80000.0, 0.0, "day", Rate(1000, 86400))
    headers = rate_limit_headers([minute, hour, day])
    assert headers["RateLimit-Policy"].count(";q=") == 3
    # The fewest left; of two with 3 left, the one that resets later.
    assert headers["RateLimit"] == '"day";r=3;t=80000'
    short = Decision(False, 10, 0, 50.0, 5.0, "minute", Rate(10, 60))
    long = Decision(False, 100, 0, 3000.0, 2000.0, "hour", Rate(100, 3600))
    assert rate_limit_headers([short, long, day])["RateLimit"] == '"hour";r=0;t=3000'


def test_headers_list_every_policy_and_the_tightest_limit_with_its_legacy_trio() -> None:
    a = Decision(True, 100, 40, 30.2, 0.0, "api", Rate(100, 60))
    b = Decision(False, 5, 0, 12.0, 11.5, 'lo"gin', Rate(5, 3600))
    headers = rate_limit_headers([a, b], legacy=True)
    assert headers == {
        "RateLimit-Policy": '"api";q=100;w=60, "lo\\"gin";q=5;w=3600',
        "RateLimit": '"lo\\"gin";r=0;t=12',
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "12",
    }
    assert retry_after_seconds([a, b]) == 12
    assert retry_after_seconds([a]) == 1
