"""The event stream (cache_bridge/observability/events.py): the drivers emit one event per
operation (hit or miss for reads, the error class of a failure), the circuit breakers their
openings and closings, on memory:// and a real Redis, and nothing is left listening."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from cache_bridge import (
    InMemoryCache,
    SyncInMemoryCache,
    SyncRedisCache,
    create_cache,
    create_sync_cache,
)
from cache_bridge.engine import bytes_operations, drivers
from cache_bridge.observability import (
    BreakerEvent,
    Counters,
    Event,
    OperationEvent,
    RateLimitEvent,
    add_listener,
    emit,
)
from cache_bridge.observability import events as event_stream
from cache_bridge.observability.events import without_credentials
from cache_bridge.resilience.breaker import CircuitBreaker


@pytest.fixture
def seen() -> Iterator[list[Event]]:
    got: list[Event] = []
    remove = add_listener(got.append)
    yield got
    remove()
    assert event_stream.listeners == ()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _operations(seen: list[Event]) -> list[tuple[str, str, bool | None]]:
    # Background probes of a breaker (pings, from another thread) may land in any test.
    return [
        (e.operation, e.outcome, e.hit)
        for e in seen
        if isinstance(e, OperationEvent) and e.operation != "ping"
    ]


@pytest.mark.parametrize("where", ["memory", "redis"])
def test_reads_report_hits_and_misses_on_both_faces(
    where: str, request: pytest.FixtureRequest, seen: list[Event]
) -> None:
    url = "memory://" if where == "memory" else str(request.getfixturevalue("redis_url"))
    if where == "redis":
        request.getfixturevalue("redis_client")
    cache = create_sync_cache(url, key_prefix="obs")
    cache.set("k", "v")
    cache.get("k")
    cache.get("absent")

    async def both() -> None:
        acache = create_cache(url, key_prefix="obs")
        await acache.set("k", "v")
        await acache.get("k")
        await acache.aclose()

    asyncio.run(both())
    cache.close()
    # The listener hears the whole process: the background probes of breakers that earlier
    # tests opened (pings) may speak meanwhile.
    assert [o for o in _operations(seen) if o[0] != "ping"] == [
        ("set", "success", None),
        ("get", "success", True),
        ("get", "success", False),
        ("set", "success", None),
        ("get", "success", True),
    ]
    assert all(e.duration >= 0 for e in seen if isinstance(e, OperationEvent))


def test_an_unreachable_server_reports_the_error_and_the_breaker(seen: list[Event]) -> None:
    cache = create_sync_cache(f"redis://user:s3cret@127.0.0.1:{_free_port()}/0")
    cache.get("k")  # refused: the breaker opens
    cache.get("k")  # failed at once by the open breaker
    cache.close()
    # the breaker's probes (background pings) are events too; look at the calls
    operations = [o for o in _operations(seen) if o[0] == "get"]
    assert operations[0] == ("get", "CacheConnectionError", None)
    assert operations[1] == ("get", "CacheUnavailableError", None)
    opened = next(e for e in seen if isinstance(e, BreakerEvent))
    assert opened.state == "open"
    assert opened.server.startswith("redis://user:***@127.0.0.1:")
    assert all("s3cret" not in repr(e) for e in seen)


def test_a_breaker_reports_closing_when_the_server_answers(seen: list[Event]) -> None:
    breaker = CircuitBreaker(server="redis://127.0.0.1:1/0")
    assert breaker.failed()
    assert breaker.succeeded()
    assert not breaker.succeeded()  # already closed: no event
    assert [e for e in seen if isinstance(e, BreakerEvent)] == [
        BreakerEvent("open", "redis://127.0.0.1:1/0", 1),
        BreakerEvent("closed", "redis://127.0.0.1:1/0", 0),
    ]


def test_a_listener_that_raises_breaks_no_call(seen: list[Event]) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("listener bug")

    remove = add_listener(broken)
    try:
        cache = create_sync_cache("memory://")
        cache.set("k", "v")
        assert cache.get("k").unwrap() == "v"
    finally:
        remove()
    assert _operations(seen) == [("set", "success", None), ("get", "success", True)]


def test_counters_count_operations_reads_and_rate_limit_decisions() -> None:
    cache = create_sync_cache("memory://")
    with Counters() as counters:
        cache.set("k", "v")
        cache.get("k")
        cache.get("k")
        cache.get("absent")
        emit(RateLimitEvent("login", allowed=False))
        emit(RateLimitEvent("login", allowed=True, failed="open"))
    cache.get("k")  # not listening any more
    assert counters.operations == {("set", "success"): 1, ("get", "success"): 3}
    assert counters.hit_ratio() == pytest.approx(2 / 3)
    assert counters.ratelimit == {("login", "refused"): 1, ("login", "allowed"): 1}
    assert counters.snapshot()["reads"] == {"get hit": 2, "get miss": 1}
    assert event_stream.listeners == ()


def test_events_name_the_server_without_credentials_and_the_prefix(
    request: pytest.FixtureRequest, seen: list[Event]
) -> None:
    request.getfixturevalue("redis_client")
    url = str(request.getfixturevalue("redis_url"))
    secret = url.replace("redis://", "redis://someone:s3cret@")
    cache = SyncRedisCache(url, key_prefix="shop")
    cache.get("cart:1")
    cache.with_prefix("other").get_many(["a", "b"])
    cache.close()
    local = create_sync_cache("memory://obs-origin", key_prefix="p")
    local.set("k", "v")
    local.close()
    calls = [e for e in seen if isinstance(e, OperationEvent) and e.operation != "ping"]
    assert [(e.adapter, e.server, e.prefix, e.key) for e in calls] == [
        ("SyncRedisCache", url, "shop", "cart:1"),
        ("SyncRedisCache", url, "other", None),
        ("SyncInMemoryCache", "memory://obs-origin", "p", "k"),
    ]
    assert calls[0].origin is calls[0].origin  # made once per face, not per call
    # a password (or user name) in the URL never reaches an event
    guarded = create_sync_cache(secret.replace(url.rsplit(":", 1)[1], "1/0"))
    guarded.get("k")
    guarded.close()
    failed = [e for e in seen if isinstance(e, OperationEvent) and e.key == "k"][-1]
    assert failed.server == "redis://127.0.0.1:1/0"
    assert "someone" not in repr(failed)
    assert "s3cret" not in repr(failed)


def test_the_async_face_names_its_origin_too(seen: list[Event]) -> None:
    async def calls() -> None:
        cache = InMemoryCache("memory://obs-async", key_prefix="a")
        await cache.get("k")
        await cache.with_prefix("b").get("k")
        await cache.aclose()

    asyncio.run(calls())
    got = [
        (e.adapter, e.server, e.prefix, e.hit)
        for e in seen
        if isinstance(e, OperationEvent) and e.operation != "ping"  # earlier tests' probes
    ]
    assert got == [
        ("InMemoryCache", "memory://obs-async", "a", False),
        ("InMemoryCache", "memory://obs-async", "b", False),
    ]


def test_without_credentials() -> None:
    assert without_credentials("redis://u:p@h:1/0") == "redis://h:1/0"
    assert without_credentials("rediss://:***@h:1/0") == "rediss://h:1/0"
    assert without_credentials("unix://u@/tmp/r.sock?db=0") == "unix:///tmp/r.sock?db=0"
    assert without_credentials("memory://x") == "memory://x"


class _Text:
    """A decoder of UTF-8 values (what a framework's value format does)."""

    def loads(self, key: str, data: bytes) -> Any:
        return data.decode()

    def loads_many(self, keys: Sequence[str], raws: Sequence[bytes | None]) -> Any:
        raise NotImplementedError


def test_a_readable_get_that_misses_is_a_miss(seen: list[Event]) -> None:
    # the Django backend's reads: a miss returns MISSING, not None
    cache = SyncInMemoryCache("memory://obs-readable")
    cache.set("here", "v")
    cache.run_operation(bytes_operations.get_readable(cache.keyspace, "here", _Text()))
    cache.run_operation(bytes_operations.get_readable(cache.keyspace, "absent", _Text()))
    cache.run_operation(bytes_operations.get_bytes(cache.keyspace, "absent"))
    assert _operations(seen)[1:] == [
        ("get", "success", True),
        ("get", "success", False),
        ("get", "success", False),
    ]


def test_nothing_is_built_while_nobody_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    # the fast path: with no listener the drivers make no event (what it costs is measured
    # by python -m bench --only observability)
    def built(*args: object) -> None:
        raise AssertionError("an event was built with nobody listening")

    monkeypatch.setattr(drivers, "_finished", built)
    assert event_stream.listeners == ()
    cache = create_sync_cache("memory://obs-quiet")
    assert cache.set("k", "v").unwrap() is None
    assert cache.get("k").unwrap() == "v"

    async def read() -> str | None:
        acache = create_cache("memory://obs-quiet")
        return (await acache.get("k")).unwrap()

    assert asyncio.run(read()) == "v"
