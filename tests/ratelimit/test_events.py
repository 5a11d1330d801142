"""The rate limiter's :class:`~cache_bridge.observability.RateLimitEvent`\\ s: one per limit
decided for a request (its name, whether it allowed, and how it failed), from the one
limiter, the group check, and the integrations' refusals; none for the after-response count
of a ``deduct_when`` limit, and nothing built while no listener listens."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from returns.result import Failure, Result

from cache_bridge import CacheConnectionError, DomainError
from cache_bridge.adapters.memory import InMemoryCache, SyncInMemoryCache
from cache_bridge.observability import events
from cache_bridge.observability.events import Event, RateLimitEvent
from cache_bridge.ratelimit import AsyncRateLimiter, RateLimiter, ahit_all, hit_all
from flask_cache_bridge import CacheBridge

START = 1_700_006_400.0


class Down:
    """An adapter whose every call fails."""

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> Result[Any, DomainError]:
            return Failure(CacheConnectionError("down", operation=name))

        return call


@pytest.fixture
def heard() -> Iterator[list[RateLimitEvent]]:
    found: list[RateLimitEvent] = []

    def listen(event: Event) -> None:
        if isinstance(event, RateLimitEvent):  # not other tests' background probes
            found.append(event)

    remove = events.add_listener(listen)
    yield found
    remove()


def _limiter(rate: str, name: str, **options: Any) -> RateLimiter:
    return RateLimiter(SyncInMemoryCache(clock=lambda: START + 1), rate, name=name, **options)


def test_one_limiter_reports_each_decision(heard: list[RateLimitEvent]) -> None:
    lim = _limiter("1/m", "login")
    lim.hit("ip:1")
    lim.hit("ip:1")
    assert heard == [RateLimitEvent("login", True), RateLimitEvent("login", False)]


def test_failures_report_open_or_closed(heard: list[RateLimitEvent]) -> None:
    RateLimiter(Down(), "1/m", name="open").hit("k")
    RateLimiter(Down(), "1/m", name="closed", fail_open=False).hit("k")
    assert heard == [
        RateLimitEvent("open", True, "open"),
        RateLimitEvent("closed", False, "closed"),
    ]


def test_a_group_reports_every_limit_once(heard: list[RateLimitEvent]) -> None:
    cache = SyncInMemoryCache(clock=lambda: START + 1)
    minute = RateLimiter(cache, "1/m", name="minute")
    hour = RateLimiter(cache, "5/h", name="hour")
    hit_all([(minute, "k"), (hour, "k")])
    hit_all([(minute, "k"), (hour, "k")])
    assert [(e.limit, e.allowed) for e in heard] == [
        ("minute", True),
        ("hour", True),
        ("minute", False),
        ("hour", True),  # its own verdict: it had room (the group refused the request)
    ]


async def test_the_async_faces_report_too(heard: list[RateLimitEvent]) -> None:
    cache = InMemoryCache(clock=lambda: START + 1)
    one = AsyncRateLimiter(cache, "1/m", name="one")
    two = AsyncRateLimiter(cache, "2/m", name="two")
    await one.hit("k")
    await ahit_all([(one, "x"), (two, "x")])
    assert [(e.limit, e.allowed) for e in heard] == [("one", True), ("one", True), ("two", True)]


def test_the_after_response_count_is_not_a_decision(heard: list[RateLimitEvent]) -> None:
    lim = _limiter("3/m", "failed-logins")
    hit_all([(lim, "k", 1, "peek")])
    hit_all([(lim, "k", 1, "force")])
    assert heard == [RateLimitEvent("failed-logins", True)]


def test_nothing_is_built_without_a_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []
    monkeypatch.setattr(events, "listeners", ())
    monkeypatch.setattr(events, "emit", built.append)
    lim = _limiter("1/m", "quiet")
    lim.hit("k")
    hit_all([(lim, "k"), (_limiter("5/m", "other"), "k")])
    assert built == []


def test_the_integrations_report_refusals_decided_without_the_cache(
    heard: list[RateLimitEvent],
) -> None:
    app = Flask(f"events_{uuid.uuid4().hex}")
    app.config["CACHE_BRIDGE_URL"] = f"memory://{uuid.uuid4().hex}"
    app.config["CACHE_BRIDGE_RATELIMIT"] = {"DYNAMIC_FAIL_OPEN": False, "UNKNOWN_CLIENT": "deny"}
    bridge = CacheBridge(app)

    def broken() -> str:
        raise RuntimeError("plans service down")

    @app.route("/plan")
    @bridge.limit(broken, name="plan")
    def plan() -> str:
        return "ok"

    @app.route("/ip")
    @bridge.limit("5/m", name="ip")
    def ip() -> str:
        return "ok"

    client = app.test_client()
    assert client.get("/plan").status_code == 503
    assert client.get("/ip", environ_base={"REMOTE_ADDR": ""}).status_code == 429
    assert heard == [RateLimitEvent("plan", False, "closed"), RateLimitEvent("ip", False)]
