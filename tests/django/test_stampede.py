"""``BridgeCache.get_or_set(..., stampede=...)`` and ``aget_or_set``: off by default (Django's
semantics), one computation for a herd of threads or tasks on Redis, stale-while-revalidate,
plain ``get`` reading what it stores, and failing open with Redis down."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from pytest_django import Settings as SettingsWrapper

from cache_bridge.errors import ConfigurationError
from cache_bridge.stampede import MARKER, StampedeSettings
from django_cache_bridge.cache import BridgeCache
from tests.support.clocks import ManualClock
from tests.support.django_helpers import DEAD_OPTIONS, alias, bridge, dead_redis_url, stored

CALLERS = 30
BOUND = 30


@pytest.fixture
def dj(
    settings: SettingsWrapper, redis_url: str, redis_client: redis.Redis
) -> Iterator[BridgeCache]:
    settings.CACHES = {"default": alias(redis_url, KEY_PREFIX="site")}
    yield bridge()
    bridge().clear()


class Clock(ManualClock):
    start = 1_000_000.0


def test_off_by_default_it_is_djangos_get_or_set(dj: BridgeCache) -> None:
    assert dj.get_or_set("k", lambda: [1, 2], 60) == [1, 2]
    data = stored(dj, "k")
    assert data is not None
    assert not data.startswith(MARKER)
    assert dj.get_or_set("k", lambda: "other", 60) == [1, 2]


def test_a_herd_of_threads_runs_one_computation(dj: BridgeCache) -> None:
    computations: list[int] = []
    seen: list[Any] = []
    ready = threading.Barrier(CALLERS)

    def compute() -> dict[str, int]:
        computations.append(1)
        time.sleep(0.2)
        return {"answer": 42}

    def call() -> None:
        ready.wait()
        seen.append(dj.get_or_set("report", compute, 60, stampede=True))

    threads = [threading.Thread(target=call) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND)
    assert computations == [1]
    assert seen == [{"answer": 42}] * CALLERS
    data = stored(dj, "report")
    assert data is not None
    assert data.startswith(MARKER)  # the envelope...
    assert dj.get("report") == {"answer": 42}  # ...which plain get reads, and keeps
    assert dj.get("report") == {"answer": 42}


def test_a_herd_of_tasks_runs_one_computation(dj: BridgeCache) -> None:
    computations: list[int] = []

    async def compute() -> str:
        computations.append(1)
        await asyncio.sleep(0.2)
        return "built"

    async def herd() -> list[Any]:
        calls = [dj.aget_or_set("async-report", compute, 60, stampede=True) for _ in range(CALLERS)]
        return list(await asyncio.gather(*calls))

    assert asyncio.run(herd()) == ["built"] * CALLERS
    assert computations == [1]


def test_stale_while_revalidate_through_get_or_set(dj: BridgeCache) -> None:
    clock = Clock()
    swr = StampedeSettings(stale_ttl=600, clock=clock)
    assert dj.get_or_set("page", "old", 60, stampede=swr) == "old"
    clock.now += 61
    started, release = threading.Event(), threading.Event()
    served: list[tuple[str, bool]] = []

    def compute() -> str:
        started.set()
        assert release.wait(BOUND)
        return "new"

    def call() -> None:
        served.append((dj.get_or_set("page", compute, 60, stampede=swr), release.is_set()))

    leader = threading.Thread(target=call)
    leader.start()
    assert started.wait(BOUND)
    for _ in range(5):  # each returns while the recomputation is still blocked
        call()
    assert served == [("old", False)] * 5
    release.set()
    leader.join(BOUND)
    assert served[-1] == ("new", True)


def test_a_timeout_of_zero_keeps_djangos_answer(dj: BridgeCache) -> None:
    assert dj.get_or_set("now", "v", 0, stampede=True) == "v"
    assert dj.get("now") is None


def test_a_bad_stampede_argument_is_refused(dj: BridgeCache) -> None:
    with pytest.raises(ConfigurationError, match="StampedeSettings"):
        dj.get_or_set("k", 1, 60, stampede="yes")  # type: ignore[arg-type]


def test_with_redis_down_it_computes(settings: SettingsWrapper) -> None:
    settings.CACHES = {"default": alias(dead_redis_url(), OPTIONS=DEAD_OPTIONS)}
    computations: list[int] = []

    def compute() -> str:
        computations.append(1)
        return "direct"

    assert bridge().get_or_set("k", compute, 60, stampede=True) == "direct"
    assert bridge().get_or_set("k", compute, 60, stampede=True) == "direct"
    assert computations == [1, 1]


def test_a_value_written_by_a_plain_set_wins_over_the_computation(dj: BridgeCache) -> None:
    """Write-through: ``set`` on save, ``get_or_set(stampede=True)`` on read. The existing
    value is returned as fresh, never recomputed nor overwritten (Django's get_or_set)."""
    computed: list[int] = []

    def compute() -> int:
        computed.append(1)
        return 100

    dj.set("price", 200, 60)
    assert dj.get_or_set("price", compute, 60, stampede=True) == 200
    assert asyncio.run(dj.aget_or_set("price", compute, 60, stampede=True)) == 200
    assert computed == []
    assert dj.get("price") == 200
    data = stored(dj, "price")
    assert data is not None
    assert not data.startswith(MARKER)  # not overwritten
