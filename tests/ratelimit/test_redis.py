"""The rate-limit engine on the test-started Redis: the Lua script against the Python state
transitions, one round trip per check, exactly ``limit`` allowed across two processes, server
time, and the failure policy with Redis unreachable."""

from __future__ import annotations

import logging
import threading
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_bridge.adapters.memory.store import MemoryStore
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.adapters.redis.limit_script import RATE_LIMIT_SCRIPT
from cache_bridge.adapters.redis.plan import plan
from cache_bridge.engine.commands import Get, LimitEntry, RateLimitHit, RateLimitRefund
from cache_bridge.engine.limit_algorithms import ALGORITHMS
from cache_bridge.ratelimit import AsyncRateLimiter, RateLimiter
from cache_bridge.testing.processes import run_in_processes
from cache_bridge.testing.redis_server import free_port

pytestmark = pytest.mark.redis

#: The middle of an hour (and of a minute), so that windows of up to an hour hold the test.
MIDDLE = 1_700_006_400 + 1800
PROCESSES = 2
THREADS = 4
PER_THREAD = 15
WAIT = 60


def _dead_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


# -- the Lua scripts decide exactly as limit_state.hit_all and refund --------------------------


_limit_entries = st.tuples(
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(ALGORITHMS),
    st.integers(1, 7),
    st.sampled_from([1000, 7000, 10_000, 60_000]),
    st.integers(1, 4) | st.just(1),  # cost (issue 15), at times above the limit
    st.sampled_from(["hit", "hit", "peek", "force"]),
)
#: Requests: a time step, the group's limits (keys may repeat), and whether to take the
#: counted ones back afterwards.
_requests = st.lists(
    st.tuples(
        st.integers(0, 40_000), st.lists(_limit_entries, min_size=1, max_size=4), st.booleans()
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(start=st.integers(0, 10**13), requests=_requests)
def test_scripts_match_the_python_state_transitions(
    redis_client: redis.Redis,
    *,
    start: int,
    requests: list[tuple[int, list[tuple[str, str, int, int, int, str]], bool]],
) -> None:
    # State keys carry the limit, as the limiters name them: a key's state is read by one rule
    # only (a group may name one limit twice).
    redis_client.flushdb()
    now = start
    store = MemoryStore(100, lambda: now / 1000)
    for step, group, take_back in requests:
        now += step
        limits = tuple(
            LimitEntry(
                f"d:{key}:{algorithm}:{limit}/{period_ms}",
                algorithm,
                limit,
                period_ms,
                now,
                cost,
                mode,
            )
            for key, algorithm, limit, period_ms, cost, mode in group
        )
        command = RateLimitHit(limits)
        expected = store.execute(command)
        got = redis_client.execute_command(*plan(command))  # type: ignore[no-untyped-call]
        assert got == expected, (step, group, now)
        counted = tuple(lim for i, lim in enumerate(limits) if expected[6 * i + 4])
        # Right after the hit, as the limiters take counts back, and only states Redis will not
        # expire meanwhile: Redis expires them on its own clock, the store on the test's (the
        # later hits' decisions agree either way; the refunds' counts would not).
        if take_back and counted and all(redis_client.pttl(lim.key) > 500 for lim in counted):
            refunded = RateLimitRefund(counted)
            expected_refund = store.execute(refunded)
            got_refund = redis_client.execute_command(*plan(refunded))  # type: ignore[no-untyped-call]
            assert got_refund == expected_refund == len(counted)
            for lim in counted:
                state = redis_client.get(lim.key)
                assert state is not None
                assert store.execute(Get(lim.key)) == redis_text(state)


def redis_text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def test_state_is_written_with_its_expiry(redis_client: redis.Redis, redis_url: str) -> None:
    cache = SyncRedisCache(redis_url)
    try:
        for algorithm in ALGORITHMS:
            lim = RateLimiter(cache, "3/m", algorithm=algorithm, name=algorithm, prefix="rl")
            lim.hit("k")
            assert 0 < redis_client.pttl(lim.policy.storage_key("k")) <= 120_000
    finally:
        cache.close()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("limits", [1, 2])
def test_a_later_hit_in_the_window_keeps_an_expiry(
    redis_client: redis.Redis, algorithm: str, limits: int
) -> None:
    """The script keeps a same-window state's expiry (KEEPTTL) rather than set it again:
    after every write, by one limit or by two of one key, the state has an expiry at most the
    window's end away."""
    key = f"keep:{algorithm}:{limits}"
    entry = LimitEntry(key, algorithm, 5, 60_000, None, 1, "hit")
    for _ in range(3):
        redis_client.execute_command(*plan(RateLimitHit((entry,) * limits)))  # type: ignore[no-untyped-call]
        assert 0 < redis_client.pttl(key) <= 120_000


# -- one round trip per check ------------------------------------------------------------------


def _calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_one_check_is_one_evalsha(
    redis_client: redis.Redis, redis_url: str, algorithm: str
) -> None:
    cache = SyncRedisCache(redis_url)
    lim = RateLimiter(cache, "5/m", algorithm=algorithm)
    try:
        assert cache.ping().unwrap()
        redis_client.script_load(RATE_LIMIT_SCRIPT)
        redis_client.config_resetstat()
        for _ in range(8):
            lim.hit("k")
        calls = _calls(redis_client)
    finally:
        cache.close()
    # One round trip each, by digest: the 2 KB script is not sent again.
    assert calls["evalsha"] == 8
    # Nothing else came from the adapter (the script's own GET/SET are counted inside it).
    script_calls = {"get", "set", "time", "incrby", "decrby", "pexpire", "pttl"}
    assert set(calls) <= {"evalsha", "config|resetstat", *script_calls}


def test_a_script_flush_mid_run_falls_back_to_eval(
    redis_client: redis.Redis, redis_url: str
) -> None:
    cache = SyncRedisCache(redis_url)
    lim = RateLimiter(cache, "3/m", algorithm="sliding-window")
    try:
        assert lim.hit("k").allowed
        redis_client.script_flush()
        redis_client.config_resetstat()
        assert lim.hit("k").allowed  # NOSCRIPT, then EVAL, which loads it again
        assert lim.hit("k").allowed  # by digest again
        decision = lim.hit("k")
        calls = _calls(redis_client)
    finally:
        cache.close()
    assert not decision.allowed
    assert decision.error is None
    assert calls["eval"] == 1
    assert calls["evalsha"] == 3  # the one refused with NOSCRIPT, and two by digest


async def test_async_check_is_one_eval_too(redis_client: redis.Redis, redis_url: str) -> None:
    cache = RedisCache(redis_url)
    lim = AsyncRateLimiter(cache, "2/m", algorithm="sliding-window")
    try:
        assert (await cache.ping()).unwrap()
        redis_client.script_flush()
        redis_client.config_resetstat()
        decisions = [await lim.hit("k") for _ in range(3)]
        calls = _calls(redis_client)
    finally:
        await cache.aclose()
    assert [d.allowed for d in decisions] == [True, True, False]
    # The first check finds no script (NOSCRIPT) and loads it with EVAL; then by digest.
    assert (calls["eval"], calls["evalsha"]) == (1, 3)


# -- server time -------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sliding-window", "token-bucket"])
def test_server_time_without_a_caller_clock(
    redis_client: redis.Redis, redis_url: str, algorithm: str
) -> None:
    # An hour-long rate: the test never waits long enough for a request to slide or drip out.
    cache = SyncRedisCache(redis_url)
    lim = RateLimiter(cache, "5/h", algorithm=algorithm)
    try:
        decisions = [lim.hit("k") for _ in range(6)]
    finally:
        cache.close()
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0]
    assert 0 < decisions[-1].retry_after <= 2 * 3600  # a sliding window may wait into the next


def test_fixed_window_on_server_time_resets_at_the_window_end(
    redis_client: redis.Redis, redis_url: str
) -> None:
    cache = SyncRedisCache(redis_url)
    lim = RateLimiter(cache, "1000/d", algorithm="fixed-window")
    try:
        server_seconds = redis_client.time()[0]
        first, second = lim.hit("k"), lim.hit("k")
    finally:
        cache.close()
    assert first.allowed
    assert first.remaining == 999
    assert second.remaining in (998, 999)  # 999 only if a UTC midnight fell between the two
    # reset_after is the time to the end of the UTC day on the server's clock.
    assert 0 < first.reset_after <= 86400 - server_seconds % 86400


# -- exactly `limit` across two processes --------------------------------------------------------


def hit_in_process(
    url: str,
    job: tuple[str, int, bool],
    start: Barrier,
    results: Queue[int],
) -> None:
    """Run in a child process: THREADS threads hitting one limit (``job``: algorithm, limit,
    whether on the server's clock); report how many passed."""
    algorithm, limit, server_time = job
    cache = SyncRedisCache(url, max_connections=THREADS)
    clock = None if server_time else (lambda: MIDDLE)
    lim = RateLimiter(cache, f"{limit}/h", algorithm=algorithm, clock=clock)
    allowed = 0
    lock = threading.Lock()
    ready = threading.Barrier(THREADS)

    def work() -> None:
        nonlocal allowed
        ready.wait(timeout=WAIT)
        mine = sum(lim.hit("shared").allowed for _ in range(PER_THREAD))
        with lock:
            allowed += mine

    try:
        assert cache.ping().unwrap()
        start.wait(timeout=WAIT)
        threads = [threading.Thread(target=work) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=WAIT)
        results.put(allowed)
    finally:
        cache.close()


@pytest.mark.parametrize(
    ("algorithm", "server_time"),
    [*((algorithm, False) for algorithm in ALGORITHMS), ("sliding-window", True)],
)
def test_exactly_limit_allowed_across_two_processes(
    redis_url: str, redis_client: redis.Redis, algorithm: str, server_time: bool
) -> None:
    # With the caller's clock fixed mid-window no boundary can fall inside the test; on the
    # server's clock the sliding window carries its count across an hour boundary, so exactly
    # `limit` pass there too.
    limit = 37  # fewer than the 2 x 4 x 15 = 120 requests
    reports = run_in_processes(
        hit_in_process, (redis_url, (algorithm, limit, server_time)), PROCESSES, WAIT
    )
    assert sum(reports) == limit


# -- Redis unreachable -------------------------------------------------------------------------


@pytest.mark.parametrize("fail_open", [True, False])
def test_unreachable_redis_follows_the_failure_policy(
    fail_open: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cache_bridge.ratelimit")
    cache = SyncRedisCache(_dead_url(), timeout=0.2, connect_timeout=0.2)
    lim = RateLimiter(cache, "1/m", fail_open=fail_open)
    try:
        decisions = [lim.hit("k") for _ in range(3)]
    finally:
        cache.close()
    assert all(d.failed for d in decisions)
    assert [d.allowed for d in decisions] == [fail_open] * 3
    # One line from the limiter for the whole outage (the adapter logs its own, once too).
    assert [r.name for r in caplog.records].count("cache_bridge.ratelimit") == 1


async def test_unreachable_redis_async(caplog: pytest.LogCaptureFixture) -> None:
    cache = RedisCache(_dead_url(), timeout=0.2, connect_timeout=0.2)
    lim = AsyncRateLimiter(cache, "1/m", fail_open=False)
    try:
        decision = await lim.hit("k")
    finally:
        await cache.aclose()
    assert decision.failed
    assert not decision.allowed
