"""The slow-link and outage-per-request rows of ``bench/failure_times.py``.

Slow links (one table, fixed settings, through a FaultProxy in front of a healthy server):

- a link whose round trip (30 ms) is more than half the timeout (50 ms): successes of 20 gets;
- a 1 MiB value passed on in 64 KiB pieces 0.3 s apart, and a reply trickled a byte every
  50 ms (``timeout=0.5, connect_timeout=0.5``): how long the get runs, and how it ends;
- 50 concurrent gets of 30 kB values over a link passing 64 KiB every 0.2 s: the longest
  wait of one caller (asyncio tasks on the async face, threads on the blocking face);
- a ``get_many`` of 20 values of 500 kB (10 MB, far past the timeout) over a link passing
  64 KiB every 10 ms, and three small gets 50 ms after it (tasks, or threads): how the
  small gets end, and the longest of them.

Outage per request (per settings profile, both faces of one configuration in one process):

- the link is blackholed; ten "requests" of three cache calls each (a read and two writes,
  as a cache_page view), served by the two faces in turn: the first request's time, and the
  longest of the nine after it;
- one reply slower than the timeout from a healthy server (``DEBUG SLEEP`` of 1.5 timeouts,
  a ``get`` every 5 ms meanwhile): how many calls failed, the longest call, and how long
  after the server answered again the first success came.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from returns.result import Success

from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.testing import Harness
from cache_bridge.testing.faulty_server import FaultyRedisServer
from cache_bridge.testing.proxy import FaultProxy

__all__ = ["OUTAGE_ROWS", "SLOW_LINK_ROWS"]

FACES = ("sync", "async")
BOUNDED: dict[str, Any] = {"timeout": 0.5, "connect_timeout": 0.5, "breaker_threshold": 0}


def _harness(face: str, url: str, options: dict[str, Any]) -> Harness:
    adapter = SyncRedisCache(url, **options) if face == "sync" else RedisCache(url, **options)
    return Harness(adapter, face)


def _proxy(server: FaultyRedisServer) -> FaultProxy:
    return FaultProxy("127.0.0.1", server.port).start()


# -- slow links ---------------------------------------------------------------------------------


def half_timeout_round_trip(face: str, server: FaultyRedisServer) -> str:
    proxy = _proxy(server)
    proxy.latency = 0.03
    cache = _harness(face, proxy.url(), {"timeout": 0.05})
    try:
        results = [cache.get("k") for _ in range(20)]
    finally:
        cache.shutdown()
        proxy.stop()
    return f"{sum(isinstance(r, Success) for r in results)}/20 succeed"


def _trickled(face: str, server: FaultyRedisServer, size: int, chunk: int, latency: float) -> str:
    proxy = _proxy(server)
    cache = _harness(face, proxy.url(), BOUNDED)
    try:
        assert cache.set("big", "x" * size) == Success(None)
        proxy.chunk_size, proxy.latency = chunk, latency
        started = time.perf_counter()
        result = cache.get("big")
        seconds = time.perf_counter() - started
    finally:
        cache.shutdown()
        proxy.stop()
    return f"{'Success' if isinstance(result, Success) else 'Failure'} after {seconds:.3f} s"


def large_value_in_pieces(face: str, server: FaultyRedisServer) -> str:
    return _trickled(face, server, 1 << 20, 1 << 16, 0.3)


def byte_at_a_time(face: str, server: FaultyRedisServer) -> str:
    return _trickled(face, server, 100, 1, 0.05)


def concurrent_gets(face: str, server: FaultyRedisServer) -> str:
    proxy = _proxy(server)
    cache = _harness(face, proxy.url(), BOUNDED)
    value = "v" * 30_000
    waits: list[tuple[bool, float]] = []
    try:
        assert cache.set("big", value) == Success(None)
        proxy.chunk_size, proxy.latency = 1 << 16, 0.2
        if cache.is_async:
            waits = cache.run(_task_waits(cache.adapter, 50))
        else:
            waits = _thread_waits(cache.adapter, 50)
    finally:
        cache.shutdown()
        proxy.stop()
    ok = sum(success for success, _ in waits)
    return f"worst {max(s for _, s in waits):.3f} s ({ok}/50 succeed)"


async def _task_waits(adapter: Any, count: int) -> list[tuple[bool, float]]:
    async def one() -> tuple[bool, float]:
        started = time.perf_counter()
        result = await adapter.get("big")
        return isinstance(result, Success), time.perf_counter() - started

    return list(await asyncio.gather(*(one() for _ in range(count))))


def _thread_waits(adapter: Any, count: int) -> list[tuple[bool, float]]:
    waits: list[tuple[bool, float]] = []
    lock = threading.Lock()

    def one() -> None:
        started = time.perf_counter()
        result = adapter.get("big")
        with lock:
            waits.append((isinstance(result, Success), time.perf_counter() - started))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return waits


def small_gets_behind_a_huge_reply(face: str, server: FaultyRedisServer) -> str:
    proxy = _proxy(server)
    cache = _harness(face, proxy.url(), BOUNDED)
    keys = [f"big{i}" for i in range(20)]
    try:
        assert cache.set_many(dict.fromkeys(keys, "x" * 500_000)) == Success(None)
        assert cache.set("small", "v") == Success(None)
        proxy.chunk_size, proxy.latency = 1 << 16, 0.01
        if cache.is_async:
            waits = cache.run(_behind_in_tasks(cache.adapter, keys))
        else:
            waits = _behind_in_threads(cache.adapter, keys)
    finally:
        cache.shutdown()
        proxy.stop()
    ok = sum(success for success, _ in waits)
    return f"{ok}/3 small gets succeed, the longest in {max(s for _, s in waits):.3f} s"


async def _behind_in_tasks(adapter: Any, keys: list[str]) -> list[tuple[bool, float]]:
    async def small() -> tuple[bool, float]:
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        result = await adapter.get("small")
        return isinstance(result, Success), time.perf_counter() - started

    _, *waits = await asyncio.gather(adapter.get_many(keys), *(small() for _ in range(3)))
    return waits


def _behind_in_threads(adapter: Any, keys: list[str]) -> list[tuple[bool, float]]:
    waits: list[tuple[bool, float]] = []
    lock = threading.Lock()

    def small() -> None:
        time.sleep(0.05)
        started = time.perf_counter()
        result = adapter.get("small")
        with lock:
            waits.append((isinstance(result, Success), time.perf_counter() - started))

    threads = [threading.Thread(target=adapter.get_many, args=(keys,))]
    threads += [threading.Thread(target=small) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return waits


SlowLink = Callable[[str, FaultyRedisServer], str]
SLOW_LINK_ROWS: list[tuple[str, SlowLink]] = [
    ("round trip 30 ms, timeout=0.05: 20 gets", half_timeout_round_trip),
    ("1 MiB value, 64 KiB pieces 0.3 s apart (timeout 0.5 + connect 0.5)", large_value_in_pieces),
    ("reply trickled a byte every 50 ms (same bounds)", byte_at_a_time),
    ("50 concurrent gets of 30 kB, 64 KiB every 0.2 s (same bounds)", concurrent_gets),
    (
        "3 small gets 50 ms behind a 10 MB get_many, 64 KiB every 10 ms (same bounds)",
        small_gets_behind_a_huge_reply,
    ),
]


# -- an outage, per request ---------------------------------------------------------------------

REQUEST = [("get", ("page",)), ("set", ("page", "html")), ("set", ("headers", "h"))]


def outage_requests(first: str, options: dict[str, Any], server: FaultyRedisServer) -> str:
    """Ten requests over a blackholed link, the faces in turn starting with ``first``."""
    proxy = _proxy(server)
    faces = {face: _harness(face, proxy.url(), options) for face in FACES}
    order = [first, *(face for face in FACES if face != first)]
    try:
        for face in order:
            assert [getattr(faces[face], n)(*a) for n, a in REQUEST][1:] == [Success(None)] * 2
        proxy.blackhole()
        times = []
        for n in range(10):
            cache = faces[order[n % 2]]
            started = time.perf_counter()
            for name, args in REQUEST:
                getattr(cache, name)(*args)
            times.append(time.perf_counter() - started)
        proxy.restore()
    finally:
        for cache in faces.values():
            cache.shutdown()
        proxy.stop()
    return f"{times[0]:.3f} s, then at most {max(times[1:]) * 1e3:.2f} ms"


def one_slow_reply(face: str, options: dict[str, Any], server: FaultyRedisServer) -> str:
    """A get every 5 ms (on a thread of its own, with its own adapter) while the server is
    busy for 1.5 timeouts once."""
    timeout = float(options.get("timeout", 1.0))
    samples: list[tuple[float, bool, float]] = []
    stop = threading.Event()
    ready = threading.Event()
    if face == "sync":
        runner = threading.Thread(target=_thread_loop, args=(server, options, samples, stop, ready))
    else:
        loop = _task_loop(server, options, samples, stop, ready)
        runner = threading.Thread(target=asyncio.run, args=(loop,))
    runner.start()
    ready.wait(10)
    time.sleep(0.1)
    server.sleep(1.5 * timeout).join(30)
    answers = time.monotonic()
    time.sleep(max(1.0, 2 * timeout))
    stop.set()
    runner.join(30)
    failed = sum(not ok for _, ok, _ in samples)
    longest = max(seconds for _, _, seconds in samples)
    first = next((at for at, ok, _ in samples if ok and at > answers), None)
    back = "never" if first is None else f"{(first - answers) * 1e3:.0f} ms"
    return (
        f"{failed} calls failed, the longest took {longest:.3f} s; served again {back} after "
        "the server answered"
    )


def _thread_loop(
    server: FaultyRedisServer,
    options: dict[str, Any],
    samples: list[tuple[float, bool, float]],
    stop: threading.Event,
    ready: threading.Event,
) -> None:
    with SyncRedisCache(server.url, **options) as cache:
        assert cache.set("k", "v") == Success(None)
        ready.set()
        while not stop.is_set():
            started = time.monotonic()
            ok = isinstance(cache.get("k"), Success)
            samples.append((time.monotonic(), ok, time.monotonic() - started))
            time.sleep(0.005)


async def _task_loop(
    server: FaultyRedisServer,
    options: dict[str, Any],
    samples: list[tuple[float, bool, float]],
    stop: threading.Event,
    ready: threading.Event,
) -> None:
    async with RedisCache(server.url, **options) as cache:
        assert await cache.set("k", "v") == Success(None)
        ready.set()
        while not stop.is_set():
            started = time.monotonic()
            ok = isinstance(await cache.get("k"), Success)
            samples.append((time.monotonic(), ok, time.monotonic() - started))
            await asyncio.sleep(0.005)


Outage = Callable[[str, dict[str, Any], FaultyRedisServer], str]
OUTAGE_ROWS: list[tuple[str, Outage]] = [
    ("blackholed: 10 requests of 3 calls, faces in turn (first, then worst)", outage_requests),
    ("one reply slower than the timeout from a healthy server", one_slow_reply),
]
