"""The thundering herd (issue 18): ``python -m bench.cases_herd`` (``--quick`` for a smoke run).

N concurrent callers (threads, or tasks for the asyncio libraries) ask for one key the moment
it expires; computing its value takes ``COMPUTE`` seconds. For each implementation, over
several rounds: how many computations ran per herd, and the callers' latency (p50, p99, max).

Two scenarios:

- **hard expiry**: the entry is gone; every caller needs the new value. Django's
  ``get_or_set`` (its own RedisCache backend), Flask-Caching's ``memoize`` (RedisCache),
  dogpile.cache (redis backend, distributed lock), cashews (``@cache(lock=True)``) and
  cache_bridge (``BridgeCache.get_or_set(stampede=True)`` on threads, ``aget_or_compute`` on
  tasks).
- **stale allowed**: the entry is past its fresh time and a stale copy may be served while one
  caller recomputes: dogpile.cache (its soft expiration), cashews (``@cache.early``) and
  cache_bridge (``StampedeSettings(stale_ttl=...)``). Django and Flask-Caching have no such
  mode: their numbers are the hard-expiry ones.

Starts its own redis-server (no persistence, a free loopback port) unless given ``--url``.
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["HerdResult", "herd_table", "implementations", "main", "run_herd", "write_herd"]

COMPUTE = 0.1  # seconds one computation takes
TTL = 1  # seconds an entry is fresh
SETTLE = COMPUTE + 0.05  # after a herd, for the recomputations some run in the background


@dataclass
class HerdResult:
    scenario: str
    impl: str
    computations: list[int]
    latencies: list[float]  # seconds, every caller of every round
    commands: list[int] = field(default_factory=list)  # Redis commands per herd

    def row(self) -> str:
        ms = sorted(x * 1000 for x in self.latencies)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        runs = statistics.mean(self.computations)
        commands = statistics.mean(self.commands) if self.commands else 0
        return (
            f"| {self.scenario} | {self.impl} | {runs:.1f} | {commands:,.0f} "
            f"| {statistics.median(ms):.1f} | {p99:.1f} | {ms[-1]:.1f} |"
        )


class _Counter:
    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def compute(self, value: Any = "v") -> Any:
        with self._lock:
            self.count += 1
        time.sleep(COMPUTE)
        return value

    async def acompute(self, value: Any = "v") -> Any:
        self.count += 1
        await asyncio.sleep(COMPUTE)
        return value


def _thread_herd(callers: int, call: Callable[[], Any]) -> list[float]:
    """Run ``call`` in ``callers`` threads released together; each one's latency."""
    ready = threading.Barrier(callers + 1)
    latencies: list[float] = []
    guard = threading.Lock()

    def one() -> None:
        ready.wait()
        started = time.perf_counter()
        call()
        took = time.perf_counter() - started
        with guard:
            latencies.append(took)

    threads = [threading.Thread(target=one) for _ in range(callers)]
    for thread in threads:
        thread.start()
    ready.wait()
    for thread in threads:
        thread.join()
    time.sleep(SETTLE)  # background recomputations finish before anything is counted
    return latencies


def _task_herd(
    loop: asyncio.AbstractEventLoop, callers: int, call: Callable[[], Any]
) -> list[float]:
    async def one() -> float:
        started = time.perf_counter()
        await call()
        return time.perf_counter() - started

    async def herd() -> list[float]:
        latencies = list(await asyncio.gather(*(one() for _ in range(callers))))
        await asyncio.sleep(SETTLE)  # background tasks finish before anything is counted
        return latencies

    return loop.run_until_complete(herd())


@dataclass
class _Impl:
    scenario: str
    name: str
    warm: Callable[[], object]  # store a fresh value
    expire: Callable[[], object]  # make it expired now (or nothing: the round waits)
    herd: Callable[[int], list[float]]
    counter: _Counter


def implementations(url: str, loop: asyncio.AbstractEventLoop) -> list[_Impl]:
    """Every implementation of both scenarios, ready to warm, expire and herd."""
    import redis
    from dogpile.cache import make_region
    from flask import Flask
    from flask_caching import Cache

    from bench.django_site import configure
    from cache_bridge import RedisCache
    from cache_bridge.stampede import StampedeSettings, aget_or_compute

    configure(url)
    from django.core.cache import caches

    from django_cache_bridge.cache import BridgeCache

    raw = redis.Redis.from_url(url)
    impls: list[_Impl] = []

    def wait_out() -> None:
        """Expired by the round's wait (see run_herd)."""

    # Django's own get_or_set on its RedisCache backend.
    django_cache, dj = caches["django"], _Counter()
    impls.append(
        _Impl(
            "hard expiry",
            "Django get_or_set (RedisCache)",
            lambda: django_cache.set("herd", "v", TTL),
            wait_out,
            lambda n: _thread_herd(n, lambda: django_cache.get_or_set("herd", dj.compute, TTL)),
            dj,
        )
    )
    # Flask-Caching's memoize on its RedisCache.
    app = Flask("herd")
    flask_cache = Cache(app, config={"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": url})
    fc = _Counter()

    @flask_cache.memoize(TTL)
    def flask_value() -> str:
        return str(fc.compute())

    def in_app() -> Any:
        with app.app_context():
            return flask_value()

    impls.append(
        _Impl(
            "hard expiry",
            "Flask-Caching memoize (RedisCache)",
            in_app,
            wait_out,
            lambda n: _thread_herd(n, in_app),
            fc,
        )
    )
    # dogpile.cache, redis backend with a distributed lock; the value stays in Redis past
    # its (soft) expiration_time.
    dogpile = make_region().configure(
        "dogpile.cache.redis",
        expiration_time=TTL,
        arguments={
            "url": url,
            "distributed_lock": True,
            "redis_expiration_time": 60,
            "lock_timeout": 10,
            "thread_local_lock": False,
        },
    )
    dp_hard, dp_soft = _Counter(), _Counter()
    impls.append(
        _Impl(
            "hard expiry",
            "dogpile.cache get_or_create",
            lambda: dogpile.set("herd-hard", "v"),
            lambda: dogpile.delete("herd-hard"),
            lambda n: _thread_herd(n, lambda: dogpile.get_or_create("herd-hard", dp_hard.compute)),
            dp_hard,
        )
    )
    impls.append(
        _Impl(
            "stale allowed",
            "dogpile.cache get_or_create",
            lambda: dogpile.get_or_create("herd-soft", dp_soft.compute),
            wait_out,
            lambda n: _thread_herd(n, lambda: dogpile.get_or_create("herd-soft", dp_soft.compute)),
            dp_soft,
        )
    )
    # cashews (asyncio): @cache(lock=True) and @cache.early.
    from cashews import Cache as Cashews

    cashews = Cashews()
    loop.run_until_complete(_setup_cashews(cashews, url))
    cw_lock, cw_early = _Counter(), _Counter()

    @cashews(ttl=TTL, lock=True, key="herd-cashews-lock")
    async def cashews_locked() -> str:
        return str(await cw_lock.acompute())

    @cashews.early(ttl=60, early_ttl=TTL, key="herd-cashews-early")
    async def cashews_early() -> str:
        return str(await cw_early.acompute())

    impls.append(
        _Impl(
            "hard expiry",
            "cashews @cache(lock=True)",
            lambda: loop.run_until_complete(cashews_locked()),
            wait_out,
            lambda n: _task_herd(loop, n, cashews_locked),
            cw_lock,
        )
    )
    impls.append(
        _Impl(
            "stale allowed",
            "cashews @cache.early",
            lambda: loop.run_until_complete(cashews_early()),
            wait_out,
            lambda n: _task_herd(loop, n, cashews_early),
            cw_early,
        )
    )
    # cache_bridge: Django's get_or_set(stampede=...) on threads, the core on tasks.
    bridge = caches["bridge"]
    assert isinstance(bridge, BridgeCache)
    lock_only, swr = StampedeSettings(), StampedeSettings(stale_ttl=60)
    swr_bg = StampedeSettings(stale_ttl=60, background=True)
    ours_hard, ours_soft, ours_bg = _Counter(), _Counter(), _Counter()
    impls.append(
        _Impl(
            "hard expiry",
            "cache_bridge get_or_set(stampede=True) threads",
            lambda: bridge.get_or_set("herd", ours_hard.compute, TTL, stampede=lock_only),
            lambda: bridge.delete("herd"),
            lambda n: _thread_herd(
                n, lambda: bridge.get_or_set("herd", ours_hard.compute, TTL, stampede=lock_only)
            ),
            ours_hard,
        )
    )
    impls.append(
        _Impl(
            "stale allowed",
            "cache_bridge get_or_set(stale_ttl) threads",
            lambda: bridge.get_or_set("herd-swr", ours_soft.compute, TTL, stampede=swr),
            wait_out,
            lambda n: _thread_herd(
                n, lambda: bridge.get_or_set("herd-swr", ours_soft.compute, TTL, stampede=swr)
            ),
            ours_soft,
        )
    )
    impls.append(
        _Impl(
            "stale allowed",
            "cache_bridge get_or_set(stale_ttl, background) threads",
            # Warmed inline: a fresh value is stored before the round's wait starts.
            lambda: bridge.get_or_set("herd-bg", ours_bg.compute, TTL, stampede=swr),
            wait_out,
            lambda n: _thread_herd(
                n, lambda: bridge.get_or_set("herd-bg", ours_bg.compute, TTL, stampede=swr_bg)
            ),
            ours_bg,
        )
    )
    face = RedisCache(url)
    async_hard, async_soft, async_bg = _Counter(), _Counter(), _Counter()

    def core(key: str, counter: _Counter, settings: Any) -> Callable[[], Any]:
        return lambda: aget_or_compute(face, key, counter.acompute, TTL, settings=settings)

    impls.append(
        _Impl(
            "hard expiry",
            "cache_bridge aget_or_compute tasks",
            lambda: loop.run_until_complete(core("herd-a", async_hard, lock_only)()),
            lambda: raw.delete("herd-a") and None,
            lambda n: _task_herd(loop, n, core("herd-a", async_hard, lock_only)),
            async_hard,
        )
    )
    impls.append(
        _Impl(
            "stale allowed",
            "cache_bridge aget_or_compute(stale_ttl) tasks",
            lambda: loop.run_until_complete(core("herd-a-swr", async_soft, swr)()),
            wait_out,
            lambda n: _task_herd(loop, n, core("herd-a-swr", async_soft, swr)),
            async_soft,
        )
    )
    impls.append(
        _Impl(
            "stale allowed",
            "cache_bridge aget_or_compute(stale_ttl, background) tasks",
            lambda: loop.run_until_complete(core("herd-a-bg", async_bg, swr)()),
            wait_out,
            lambda n: _task_herd(loop, n, core("herd-a-bg", async_bg, swr_bg)),
            async_bg,
        )
    )
    return impls


async def _setup_cashews(cashews: Any, url: str) -> None:
    cashews.setup(url)
    await cashews.init()


def commands_processed(url: str) -> Callable[[], int]:
    """The server's count of commands processed so far (each call is one command more)."""
    import redis

    raw = redis.Redis.from_url(url)
    return lambda: int(raw.info("stats")["total_commands_processed"])


def run_herd(url: str, callers: int = 50, rounds: int = 5) -> list[HerdResult]:
    """Measure every implementation, round by round (each round runs all of them in turn)."""
    loop = asyncio.new_event_loop()
    processed = commands_processed(url)
    try:
        impls = implementations(url, loop)
        results = {id(i): HerdResult(i.scenario, i.name, [], []) for i in impls}
        for _ in range(rounds):
            for impl in impls:
                impl.warm()
            # One wait for the whole round: the soft expiries pass together (and what the
            # warm-ups started in the background ends).
            loop.run_until_complete(asyncio.sleep(TTL + 0.1))
            for impl in impls:
                impl.expire()
                before, commands = impl.counter.count, processed()
                latencies = impl.herd(callers)
                results[id(impl)].commands.append(processed() - commands - 1)
                results[id(impl)].computations.append(impl.counter.count - before)
                results[id(impl)].latencies.extend(latencies)
        return [results[id(i)] for i in impls]
    finally:
        loop.close()


def herd_table(results: list[HerdResult], callers: int, where: str = "in one process") -> str:
    head = (
        f"{callers} concurrent callers {where}, a {COMPUTE * 1000:.0f} ms computation, key "
        f"fresh for {TTL} s\n\n"
        "| scenario | implementation | computations per herd | Redis commands per herd "
        "| p50 ms | p99 ms | max ms |\n"
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
    )
    return "\n".join([head, *(r.row() for r in results)])


def write_herd(url: str, quick: bool, out: Path, command: str) -> str:
    """Run the scenario (``python -m bench --only herd``), write ``HERD.md`` into ``out``
    and return the table."""
    from bench.herd_processes import run_herd_processes

    callers, rounds = (20, 2) if quick else (50, 5)
    table = herd_table(run_herd(url, callers, rounds), callers)
    per_process = callers // 4
    spread = run_herd_processes(url, 4, per_process, rounds)
    table += "\n\n" + herd_table(spread, 4 * per_process, f"(4 processes x {per_process})")
    (out / "HERD.md").write_text(f"# Thundering herd\n\n`{command}`\n\n{table}\n", encoding="utf-8")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cases_herd", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 20 callers")
    parser.add_argument("--url", default="", help="a Redis URL (default: start a server)")
    parser.add_argument("--out", default=".", help="the folder to write HERD.md into")
    args = parser.parse_args(argv)
    server = None
    url = args.url
    if not url:
        from cache_bridge.testing import RedisServer

        server = RedisServer()
        server.start()
        url = server.url
    try:
        # Each wait for the soft expiry counts: fewer rounds would hide the spread.
        print(write_herd(url, args.quick, Path(args.out), "python -m bench.cases_herd"))
    finally:
        if server is not None:
            server.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
