"""cache_bridge/stampede/runners.py on real stores: stale-while-revalidate on Redis (the other
callers are served while the one recomputation is still running, shown by ordering, never by
timing), single-flight, errors, and failing open on a server that is down."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import pytest
import redis

from cache_bridge import InMemoryCache, RedisCache, SyncInMemoryCache, SyncRedisCache
from cache_bridge.stampede import StampedeSettings, aget_or_compute, get_or_compute
from cache_bridge.testing.redis_server import free_port
from tests.support.clocks import ManualClock

CALLERS = 50
BOUND = 30  # seconds: how long a test waits before calling it a deadlock (never a measurement)


class Clock(ManualClock):
    start = 1_000_000.0


@pytest.mark.parametrize("single_flight", [True, False], ids=["single-flight", "lock-only"])
def test_threads_get_the_stale_value_while_the_one_recomputation_runs(
    single_flight: bool, redis_url: str, redis_client: redis.Redis
) -> None:
    clock = Clock()
    settings = StampedeSettings(stale_ttl=3600, clock=clock, single_flight=single_flight)
    key = f"swr-{uuid.uuid4().hex}"
    with SyncRedisCache(redis_url) as cache:
        assert get_or_compute(cache, key, lambda: "old", ttl=10, settings=settings) == "old"
        clock.now += 11  # past its fresh time, inside its stale window
        started, release = threading.Event(), threading.Event()
        computations: list[int] = []
        served: list[tuple[str, bool]] = []  # (value, whether the computation had finished)

        def compute() -> str:
            computations.append(1)
            started.set()
            assert release.wait(BOUND)
            return "new"

        def call() -> None:
            value = get_or_compute(cache, key, compute, ttl=10, settings=settings)
            served.append((value, release.is_set()))

        threads = [threading.Thread(target=call) for _ in range(CALLERS)]
        for thread in threads:
            thread.start()
        assert started.wait(BOUND)
        for thread in threads:  # all but the recomputing one return without it finishing
            thread.join(BOUND / CALLERS)
        waiting = [thread for thread in threads if thread.is_alive()]
        assert len(waiting) == 1
        assert served == [("old", False)] * (CALLERS - 1)
        release.set()
        waiting[0].join(BOUND)
        assert served[-1] == ("new", True)
        assert computations == [1]
        assert get_or_compute(cache, key, compute, ttl=10, settings=settings) == "new"
        assert computations == [1]


def test_tasks_get_the_stale_value_while_the_one_recomputation_runs(
    redis_url: str, redis_client: redis.Redis
) -> None:
    clock = Clock()
    settings = StampedeSettings(stale_ttl=3600, clock=clock)
    key = f"swr-{uuid.uuid4().hex}"

    async def scenario() -> None:
        cache = RedisCache(redis_url)
        release = asyncio.Event()
        computations: list[int] = []
        served: list[tuple[str, bool]] = []
        all_but_one = asyncio.Event()

        async def compute() -> str:
            computations.append(1)
            await release.wait()
            return "new"

        async def call() -> None:
            value = await aget_or_compute(cache, key, compute, ttl=10, settings=settings)
            served.append((value, release.is_set()))
            if len(served) == CALLERS - 1:
                all_but_one.set()

        try:
            await aget_or_compute(cache, key, lambda: "old", ttl=10, settings=settings)
            clock.now += 11
            tasks = [asyncio.create_task(call()) for _ in range(CALLERS)]
            await all_but_one.wait()  # a deadlock ends in the test's timeout below
            assert served == [("old", False)] * (CALLERS - 1)
            assert computations == [1]
            release.set()
            await asyncio.gather(*tasks)
            assert served[-1] == ("new", True)
            assert computations == [1]
        finally:
            await cache.aclose()

    asyncio.run(asyncio.wait_for(scenario(), BOUND))


def test_waiting_threads_get_the_leaders_exception_and_the_next_call_retries() -> None:
    cache = SyncInMemoryCache(f"memory://stampede-{uuid.uuid4().hex}")
    started, release = threading.Event(), threading.Event()
    outcomes: list[str] = []

    def failing() -> str:
        started.set()
        assert release.wait(BOUND)
        raise RuntimeError("the database is down")

    def call() -> None:
        try:
            get_or_compute(cache, "k", failing, ttl=10)
        except RuntimeError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=call) for _ in range(10)]
    threads[0].start()
    assert started.wait(BOUND)
    for thread in threads[1:]:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(BOUND)
    assert outcomes == ["the database is down"] * 10
    assert get_or_compute(cache, "k", lambda: "back", ttl=10) == "back"  # the lock was freed


@pytest.mark.parametrize("face", ["sync", "async"])
def test_with_redis_down_every_call_computes_directly(face: str) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    computations: list[int] = []

    def compute() -> str:
        computations.append(1)
        return "computed"

    if face == "sync":
        with SyncRedisCache(url) as cache:
            values = [get_or_compute(cache, "k", compute, ttl=10) for _ in range(3)]
    else:

        async def calls() -> list[Any]:
            cache = RedisCache(url)
            try:
                return [await aget_or_compute(cache, "k", compute, ttl=10) for _ in range(3)]
            finally:
                await cache.aclose()

        values = asyncio.run(calls())
    assert values == ["computed"] * 3
    assert computations == [1, 1, 1]


def test_early_refresh_recomputes_before_the_fresh_time_ends() -> None:
    cache = SyncInMemoryCache(f"memory://stampede-{uuid.uuid4().hex}")
    clock = Clock()
    counter = iter(range(1, 100))

    def version() -> int:
        time.sleep(0.02)  # at least 20 ms: XFetch scales by the measured time
        return next(counter)

    never = StampedeSettings(early=1.0, random=lambda: 0.0, clock=clock)
    always = StampedeSettings(early=1.0, random=lambda: 0.999999, clock=clock)
    assert get_or_compute(cache, "k", version, ttl=60, settings=never) == 1
    # 10 ms before the fresh time ends; a refresh is drawn if -0.02 * ln(1 - random()) >= 0.01
    clock.now += 59.99
    assert get_or_compute(cache, "k", version, ttl=60, settings=never) == 1
    assert get_or_compute(cache, "k", version, ttl=60, settings=always) == 2
    assert get_or_compute(cache, "k", version, ttl=60, settings=never) == 2


def test_a_bad_key_raises_before_any_io() -> None:
    cache = SyncInMemoryCache(f"memory://stampede-{uuid.uuid4().hex}")
    with pytest.raises(ValueError, match="key"):
        get_or_compute(cache, "", lambda: 1, ttl=10)


def test_the_async_face_takes_plain_functions_and_shares_one_computation() -> None:
    computations: list[int] = []

    def compute() -> str:
        computations.append(1)
        return "v"

    async def calls() -> list[Any]:
        cache = InMemoryCache(f"memory://stampede-{uuid.uuid4().hex}")
        return list(
            await asyncio.gather(*(aget_or_compute(cache, "k", compute, ttl=10) for _ in range(20)))
        )

    assert asyncio.run(calls()) == ["v"] * 20
    assert computations == [1]


@pytest.mark.parametrize("face", ["sync", "async"])
def test_with_background_even_the_recomputing_caller_gets_the_stale_value(
    face: str, redis_url: str, redis_client: redis.Redis
) -> None:
    clock = Clock()
    settings = StampedeSettings(stale_ttl=3600, background=True, clock=clock)
    key = f"bg-{uuid.uuid4().hex}"
    release, stored = threading.Event(), threading.Event()
    computations: list[int] = []

    def compute() -> str:
        computations.append(1)
        assert release.wait(BOUND)
        return "new"

    if face == "sync":
        with SyncRedisCache(redis_url) as cache:
            get_or_compute(cache, key, lambda: "old", ttl=10, settings=settings)
            clock.now += 11
            served = [
                get_or_compute(cache, key, compute, ttl=10, settings=settings) for _ in range(5)
            ]
            assert not release.is_set()  # all five returned while the recomputation waits
            release.set()
            while get_or_compute(cache, key, compute, ttl=10, settings=settings) != "new":
                stored.wait(0.01)  # the background thread stores it; then it is read
    else:

        async def scenario() -> list[Any]:
            cache = RedisCache(redis_url)
            try:
                await aget_or_compute(cache, key, lambda: "old", ttl=10, settings=settings)
                clock.now += 11
                served = [
                    await aget_or_compute(cache, key, compute_async, ttl=10, settings=settings)
                    for _ in range(5)
                ]
                release.set()
                while (  # noqa: ASYNC110 (polling the store until the background task wrote it)
                    await aget_or_compute(cache, key, compute_async, ttl=10, settings=settings)
                    != "new"
                ):
                    await asyncio.sleep(0.01)
                return served
            finally:
                await cache.aclose()

        async def compute_async() -> str:
            computations.append(1)
            await asyncio.to_thread(release.wait, BOUND)
            return "new"

        served = asyncio.run(asyncio.wait_for(scenario(), BOUND))
    assert served == ["old"] * 5
    assert computations == [1]


def test_a_value_the_codec_cannot_write_is_answered_not_stored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = SyncInMemoryCache(f"memory://stampede-{uuid.uuid4().hex}")
    computations: list[int] = []

    def compute() -> object:
        computations.append(1)
        return {1, 2}  # a set: the default JSON codec cannot write it

    first = get_or_compute(cache, "k", compute, ttl=10)
    second = get_or_compute(cache, "k", compute, ttl=10)
    assert first == second == {1, 2}
    assert computations == [1, 1]
    assert "not stored" in caplog.text
    assert get_or_compute(cache, "k", lambda: [1, 2], ttl=10) == [1, 2]  # the lock was freed


def test_a_waiter_whose_clock_never_moves_still_stops_waiting() -> None:
    # A holder that never finishes (a lock taken by hand); the injected wall clock is frozen:
    # the wait is bounded on the monotonic clock all the same.
    from cache_bridge.engine import lock_operations

    cache = SyncInMemoryCache(f"memory://stampede-{uuid.uuid4().hex}")
    token = lock_operations.new_token()
    taken = cache.run_operation(
        lock_operations.take_lock(cache.keyspace, "k:stampede-lock", token, 60_000)
    )
    assert taken.unwrap() is True
    frozen = StampedeSettings(wait=0.05, poll=0.01, clock=lambda: 1_000.0)
    assert get_or_compute(cache, "k", lambda: "alone", ttl=10, settings=frozen) == "alone"


def test_a_cancelled_leader_task_leaves_its_waiters_to_compute() -> None:
    computations: list[str] = []

    async def scenario() -> list[Any]:
        cache = InMemoryCache(f"memory://stampede-{uuid.uuid4().hex}")
        started = asyncio.Event()

        async def compute() -> str:
            computations.append("started")
            started.set()
            if len(computations) == 1:
                await asyncio.Event().wait()  # the first computation never ends: cancelled
            return "computed by a waiter"

        settings = StampedeSettings(lock_ttl=60, wait=120)
        leader = asyncio.create_task(
            aget_or_compute(cache, "k", compute, ttl=10, settings=settings)
        )
        await started.wait()
        waiters = [
            asyncio.create_task(aget_or_compute(cache, "k", compute, ttl=10, settings=settings))
            for _ in range(5)
        ]
        await asyncio.sleep(0)  # the waiters join the leader's flight
        leader.cancel()
        answers = await asyncio.gather(*waiters)
        assert leader.cancelled()
        return list(answers)

    # The cancelled leader gave its lock back: the waiters did not wait out its lock_ttl (if
    # it had not, they would compute only after 60 s, past the test's bound).
    assert asyncio.run(asyncio.wait_for(scenario(), BOUND)) == ["computed by a waiter"] * 5
