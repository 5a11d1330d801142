"""How fast the Redis adapter fails, and how fast it recovers, on both faces.

Run: ``python bench/failure_times.py`` (starts its own redis-server processes on free
loopback ports; touches nothing else). Prints one markdown table per settings profile:

- refused connection: nothing listens on the port (breaker off, so every call tries);
- blackholed connection: a proxy accepts and forwards nothing (breaker off);
- frozen server: redis-server stopped with SIGSTOP (breaker off);
- open breaker: the cost of one call while the breaker is open, in microseconds, next to a
  successful GET on a live server for scale;
- recovery after a restart: the server is killed, stays down while a client calls every
  10 ms, and is started again on the same port; the time from the restarted server
  answering PING to the client's first Success. The outage lasts 1 s plus a part of the
  breaker's cool-down that differs on each run, so that the restart falls at different
  points of the cool-down (an open breaker waits for the end of its cool-down to probe).

Profiles: the defaults (timeout 1 s, connect_timeout 1 s, breaker 5 failures / 2 s) and the
fault suite's test settings (0.2 s, 0.2 s, 3 failures / 0.5 s). Each profile's table ends with
what an outage costs a request, and what one slow reply from a healthy server costs; a last
table has slow but working links (see ``bench/failure_scenarios.py`` for both).
"""

from __future__ import annotations

import logging
import socket
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from returns.result import Success

from bench.failure_scenarios import OUTAGE_ROWS, SLOW_LINK_ROWS
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.testing import Harness
from cache_bridge.testing.faulty_server import FaultyRedisServer
from cache_bridge.testing.proxy import FaultProxy

PROFILES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "test settings": {
        "timeout": 0.2,
        "connect_timeout": 0.2,
        "breaker_threshold": 3,
        "breaker_cooldown": 0.5,
    },
}
FACES = ("sync", "async")
NO_BREAKER = {"breaker_threshold": 0}
OPEN_CALLS = 20_000
RECOVERY_RUNS = 5
POLL = 0.01
DEFAULT_COOLDOWN = 2.0


def _adapter(face: str, url: str, options: dict[str, Any]) -> Harness:
    adapter = SyncRedisCache(url, **options) if face == "sync" else RedisCache(url, **options)
    return Harness(adapter, face)


@contextmanager
def _harness(face: str, url: str, options: dict[str, Any]) -> Iterator[Harness]:
    harness = _adapter(face, url, options)
    try:
        yield harness
    finally:
        harness.shutdown()


def _time_calls(call: Callable[[], object], count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
        assert not isinstance(result, Success), f"expected a failure, got {result!r}"
    return times


def _seconds(times: list[float]) -> str:
    return f"{statistics.median(times):.3f} s (max {max(times):.3f})"


def refused(face: str, options: dict[str, Any], server: FaultyRedisServer) -> str:
    with socket.socket() as holder:  # bound, never listening: connections are refused
        holder.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{holder.getsockname()[1]}/0"
        with _harness(face, url, {**options, **NO_BREAKER}) as cache:
            times = _time_calls(lambda: cache.get("k"), 50)
    return f"{statistics.median(times) * 1e6:.0f} µs (max {max(times) * 1e6:.0f})"


def blackholed(face: str, options: dict[str, Any], server: FaultyRedisServer) -> str:
    with (
        FaultProxy("127.0.0.1", server.port) as proxy,
        _harness(face, proxy.url(), {**options, **NO_BREAKER}) as cache,
    ):
        assert cache.set("k", "v") == Success(None)
        proxy.blackhole()
        times = _time_calls(lambda: cache.get("k"), 3)
        proxy.restore()
    return _seconds(times)


def frozen(face: str, options: dict[str, Any], server: FaultyRedisServer) -> str:
    with _harness(face, server.url, {**options, **NO_BREAKER}) as cache:
        assert cache.set("k", "v") == Success(None)
        server.freeze()
        try:
            times = _time_calls(lambda: cache.get("k"), 3)
        finally:
            server.thaw()
    return _seconds(times)


def _per_call_us(cache: Harness, count: int) -> float:
    adapter: Any = cache.adapter
    if not cache.is_async:
        started = time.perf_counter()
        for _ in range(count):
            adapter.get("k")
        return (time.perf_counter() - started) / count * 1e6

    async def loop() -> float:
        started = time.perf_counter()
        for _ in range(count):
            await adapter.get("k")
        return (time.perf_counter() - started) / count * 1e6

    return float(cache.run(loop()))


def open_breaker(face: str, options: dict[str, Any], server: FaultyRedisServer) -> str:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{holder.getsockname()[1]}/0"
        settings = {**options, "breaker_cooldown": 3600}
        with _harness(face, url, settings) as cache:
            breaker = cache.adapter.breaker  # type: ignore[union-attr]
            for _ in range(100):
                if breaker.state == "open":
                    break
                cache.get("k")
            assert breaker.state == "open"
            cache.get("k")  # warm
            open_us = _per_call_us(cache, OPEN_CALLS)
    with _harness(face, server.url, options) as live:
        live.set("k", "v")
        live_us = _per_call_us(live, 2000)
    return f"{open_us:.1f} µs (a GET that succeeds: {live_us:.0f} µs)"


def recovery(face: str, options: dict[str, Any], server: FaultyRedisServer) -> str:
    times = []
    cooldown = float(options.get("breaker_cooldown", DEFAULT_COOLDOWN))
    with _harness(face, server.url, options) as cache:
        for run in range(RECOVERY_RUNS):
            assert cache.set("k", "v") == Success(None)
            server.kill()
            down_until = time.monotonic() + 1.0 + cooldown * (run + 0.5) / RECOVERY_RUNS
            while time.monotonic() < down_until:
                cache.get("k")
                time.sleep(POLL)
            server.start()
            ready = time.monotonic()
            for _ in range(100_000):
                if isinstance(cache.get("k"), Success):
                    break
                time.sleep(POLL)
            times.append(time.monotonic() - ready)
    return _seconds(times)


Measure = Callable[[str, dict[str, Any], FaultyRedisServer], str]
ROWS: list[tuple[str, Measure, dict[str, Any]]] = [
    ("refused connection (breaker off)", refused, {}),
    ("blackholed connection (breaker off)", blackholed, {}),
    ("frozen server, SIGSTOP (breaker off)", frozen, {}),
    ("one call, breaker open", open_breaker, {}),
    ("recovery after a restart", recovery, {}),
    ("recovery after a restart (breaker off)", recovery, NO_BREAKER),
]


def main() -> None:
    logging.getLogger("cache_bridge").setLevel(logging.ERROR)  # outages are the point here
    server = FaultyRedisServer()
    server.start()
    try:
        print(f"redis-server {server.binary}, Python {sys.version.split()[0]}\n")
        for profile, options in PROFILES.items():
            shown = ", ".join(f"{k}={v}" for k, v in options.items()) or "no options"
            print(f"### {profile} ({shown})\n")
            print("| what | sync face | async face |")
            print("| --- | --- | --- |")
            for name, measure, extra in ROWS:
                cells = [measure(face, {**options, **extra}, server) for face in FACES]
                print(f"| {name} | {cells[0]} | {cells[1]} |", flush=True)
            for name, outage in OUTAGE_ROWS:
                cells = [outage(face, options, server) for face in FACES]
                print(f"| {name} | {cells[0]} | {cells[1]} |", flush=True)
            print()
        print("### slow but working links (through a FaultProxy)\n")
        print("| what | sync face | async face |")
        print("| --- | --- | --- |")
        for name, slow in SLOW_LINK_ROWS:
            cells = [slow(face, server) for face in FACES]
            print(f"| {name} | {cells[0]} | {cells[1]} |", flush=True)
        print()
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
