"""What the stampede (and near-cache) events cost with nothing listening (issue 20):
``python -m bench.cases_events``.

A get-or-compute that finds its value fresh (the frequent case), on memory:// and on a Redis
this module starts (no persistence, a free loopback port), measured in interleaved rounds:
by a copy of the runner and the recipe's fresh path as they were before the outcome reports
(the "before"), by the library with nothing listening, and with Prometheus metrics
listening. Nothing here asserts a
time.
"""

from __future__ import annotations

import argparse
import math
import sys
from time import perf_counter
from typing import Any

from returns.result import Success

from bench.harness import Case, Group, measure_group
from cache_bridge import create_sync_cache
from cache_bridge.engine import bytes_operations as bytes_ops
from cache_bridge.engine import lock_operations as lock_ops
from cache_bridge.stampede import DEFAULT_CODEC, StampedeCall, StampedeSettings
from cache_bridge.stampede.envelope import Envelope, unwrap
from cache_bridge.stampede.flights import THREAD_FLIGHTS
from cache_bridge.stampede.recipe import Recipe, Run
from cache_bridge.stampede.runners import run_sync
from cache_bridge.values import MISSING

__all__ = ["events_groups", "main"]

REFERENCE = "recipe without the report"
SECTION = "events"


def _before(face: Any, call: StampedeCall) -> Any:
    """cache_bridge.stampede.runners.run_sync on a fresh value, before the reports: the
    single-flight leader running the recipe's steps."""
    key = (face.executor, call.full_key)
    flight, leads = THREAD_FLIGHTS.join(key)
    assert leads, "the bench runs one caller"
    try:
        value = _steps_before(face, _fresh_without_report(call))
        flight.serve(value)
        return value
    finally:
        THREAD_FLIGHTS.land(key, flight)


def _steps_before(face: Any, steps: Recipe) -> Any:
    reply: Any = None
    send = steps.send
    while True:
        try:
            effect = send(reply)
        except StopIteration as done:
            return done.value
        send, reply = steps.send, None
        match effect:
            case Run(op):
                reply = face.run_operation(op)
            case _:
                raise AssertionError("the bench's value is not fresh")


def _ok(result: Any) -> tuple[bool, Any]:
    match result:
        case Success(value):
            return True, value
        case _:
            return False, None


def _read(call: StampedeCall) -> Recipe:
    answered, data = _ok((yield Run(bytes_ops.get_bytes(call.ns, call.key))))
    envelope = unwrap(data) if isinstance(data, bytes) else None
    if envelope is None:
        return answered, None, MISSING
    return answered, envelope, call.codec.loads(call.full_key, envelope.payload)


def _early(envelope: Envelope, now: float, settings: StampedeSettings) -> bool:
    if settings.early <= 0 or envelope.fresh_until is None:
        return False
    draw = 1.0 - settings.random()
    return now - envelope.compute_time * settings.early * math.log(draw) >= envelope.fresh_until


def _fresh_without_report(call: StampedeCall) -> Recipe:
    """cache_bridge.stampede.recipe's _get_or_compute up to its fresh return, as it was
    before the outcome reports (same sub-generator, token and checks)."""
    settings = call.settings
    lock_ops.new_token()
    answered, envelope, value = yield from _read(call)
    assert answered, "the bench's cache failed"
    now = settings.clock()
    if value is not MISSING and envelope is not None and envelope.usable(now):
        fresh = envelope.fresh(now)
        if fresh and not _early(envelope, now, settings):
            return value
    raise AssertionError("the bench's value is not fresh")


def _prometheus() -> Any:
    import prometheus_client

    from cache_bridge.observability.prometheus import PrometheusMetrics

    return PrometheusMetrics(prometheus_client.CollectorRegistry())


def _group(title: str, url: str, n: int) -> Group:
    cache: Any = create_sync_cache(url, key_prefix="bench-events")
    settings = StampedeSettings()
    call = StampedeCall(cache.keyspace, "hot", 3600, settings, DEFAULT_CODEC)
    run_sync(cache, call, lambda: "v" * 100)  # stored, fresh for an hour
    metrics = _prometheus()
    cases = [
        Case(REFERENCE, lambda: _before(cache, call), setup=metrics.stop),
        Case("nothing listening", lambda: run_sync(cache, call, str), setup=metrics.stop),
        Case("Prometheus listening", lambda: run_sync(cache, call, str), setup=metrics.start),
    ]
    return Group(title, SECTION, REFERENCE, cases, n)


def events_groups(redis_url: str, n: int) -> list[Group]:
    """A fresh get-or-compute on memory:// and on Redis."""
    return [
        _group("get_or_compute, fresh, memory://", "memory://bench-events", n),
        _group("get_or_compute, fresh, Redis", redis_url, n),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cases_events", description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--n", type=int, default=2000, help="calls per round (default 2000)")
    args = parser.parse_args(argv)
    from cache_bridge.testing import RedisServer

    server = RedisServer()
    server.start()
    started = perf_counter()
    try:
        for group in events_groups(server.url, args.n):
            measured = measure_group(group, args.rounds)
            base = next(m for m in measured if m.impl == REFERENCE)
            print(f"{group.section} | {group.name}")
            for m in measured:
                added = m.p50_us - base.p50_us
                share = 100 * added / base.p50_us
                print(
                    f"  {m.impl:28} p50 {m.p50_us:7.2f} us  cpu {m.cpu_us_per_op:6.2f} us/call"
                    f"  p50 vs {REFERENCE} {added:+6.2f} us ({share:+5.1f}%)"
                )
    finally:
        server.cleanup()
    print(f"done in {perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
