"""The thundering herd on a real Redis (issue 18): 4 processes x 50 threads (or tasks) ask for
one cold key whose computation takes 200 ms; a lock holder killed mid-computation."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from typing import Any

import pytest
import redis

from cache_bridge import SyncRedisCache
from cache_bridge.stampede import Envelope, StampedeSettings, get_or_compute, unwrap, wrap
from cache_bridge.testing.processes import run_in_processes
from cache_bridge.values import ValueCodec
from tests.stampede.herd_workers import herd_of_tasks, herd_of_threads, hold_and_hang, stale_herd

PROCESSES = 4
CALLERS = 50
WORKERS = {"threads": herd_of_threads, "tasks": herd_of_tasks}


def _herd(kind: str, url: str, options: dict[str, Any]) -> list[tuple[int, list[int]]]:
    key = f"herd-{uuid.uuid4().hex}"
    reports: list[tuple[int, list[int]]] = run_in_processes(
        WORKERS[kind], (url, key, options, CALLERS), PROCESSES, wait=120
    )
    return reports


@pytest.mark.parametrize("kind", sorted(WORKERS))
def test_with_the_lock_one_computation_runs_for_the_whole_herd(
    kind: str, redis_url: str, redis_client: redis.Redis
) -> None:
    reports = _herd(kind, redis_url, {})
    assert sum(computed for computed, _ in reports) == 1
    values = {pid for _, seen in reports for pid in seen}
    assert len(values) == 1  # all 200 callers got the one value computed
    assert sum(len(seen) for _, seen in reports) == PROCESSES * CALLERS


@pytest.mark.parametrize("kind", sorted(WORKERS))
def test_single_flight_alone_runs_one_computation_per_process(
    kind: str, redis_url: str, redis_client: redis.Redis
) -> None:
    reports = _herd(kind, redis_url, {"lock": False})
    assert [computed for computed, _ in reports] == [1] * PROCESSES
    for _, seen in reports:
        assert len(set(seen)) == 1
        assert len(seen) == CALLERS


def test_a_holder_killed_mid_computation_gives_way_after_the_lock_ttl(
    redis_url: str, redis_client: redis.Redis
) -> None:
    key = f"killed-{uuid.uuid4().hex}"
    lock_key = f"{key}:stampede-lock"
    context = multiprocessing.get_context("spawn")
    computing = context.Event()
    holder = context.Process(target=hold_and_hang, args=(redis_url, key, 1.0, computing))
    holder.start()
    try:
        assert computing.wait(60), "the holder never started computing"
        dead_token = redis_client.get(lock_key)
        assert dead_token is not None
        holder.kill()
        holder.join(10)
    finally:
        if holder.is_alive():
            holder.kill()
            holder.join(10)
    assert redis_client.pttl(lock_key) > 0  # the dead holder's lock is still there
    seen_tokens: list[Any] = []

    def compute() -> str:
        seen_tokens.append(redis_client.get(lock_key))
        return "computed by the survivor"

    with SyncRedisCache(redis_url) as cache:
        settings = StampedeSettings(lock_ttl=1.0, poll=0.02)
        value = get_or_compute(cache, key, compute, ttl=60, settings=settings)
    assert value == "computed by the survivor"
    # It computed once, under a lock of its own: the dead holder's had expired.
    assert len(seen_tokens) == 1
    assert seen_tokens[0] is not None
    assert seen_tokens[0] != dead_token
    assert redis_client.exists(lock_key) == 0  # and it gave its own back


def test_a_stale_entry_is_served_to_the_whole_herd_while_one_caller_recomputes(
    redis_url: str, redis_client: redis.Redis
) -> None:
    key = f"stale-{uuid.uuid4().hex}"
    now = time.time()
    old = ValueCodec("json", sign=False).dumps(key, "old")
    redis_client.set(key, wrap(Envelope(old, now - 1, now + 600, 0.2)), px=600_000)
    redis_client.set(f"{key}:callers", PROCESSES * CALLERS)
    reports = run_in_processes(stale_herd, (redis_url, key, CALLERS), PROCESSES, wait=120)
    assert sum(computed for computed, _ in reports) == 1
    seen = [value for _, values in reports for value in values]
    # The recomputation could not finish before the 199 others had been served the stale value.
    assert sorted(seen) == ["new"] + ["old"] * (PROCESSES * CALLERS - 1)
    assert redis_client.get(f"{key}:gave-up") is None
    stored = redis_client.get(key)
    assert isinstance(stored, bytes)
    envelope = unwrap(stored)
    assert envelope is not None
    assert ValueCodec("json", sign=False).loads(key, envelope.payload) == "new"
