"""``django_cache_bridge.stampede.cache_page`` through Django's test Client: cached like
Django's ``cache_page``, one render for concurrent requests, stale pages served while one
request renders the new one, and Django's not-cacheable rules."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, RequestFactory
from django.urls import path
from django.utils.cache import get_cache_key
from pytest_django import Settings as SettingsWrapper

from cache_bridge.stampede import StampedeSettings
from django_cache_bridge.stampede import cache_page
from tests.support.clocks import ManualClock
from tests.support.django_helpers import alias, bridge

pytestmark = pytest.mark.urls("tests.django.test_stampede_page")
BOUND = 30


class Clock(ManualClock):
    start = 1_000_000.0


CLOCK = Clock()
STATE: dict[str, Any] = {}


def _render(request: HttpRequest) -> HttpResponse:
    STATE["renders"] += 1
    gate = STATE.get("gate")
    if gate is not None:
        STATE["rendering"].set()
        assert gate.wait(BOUND)
    return HttpResponse(f"version {STATE['renders']}")


@cache_page(60, stampede=StampedeSettings(stale_ttl=600, clock=CLOCK))
def page(request: HttpRequest) -> HttpResponse:
    return _render(request)


@cache_page(60)
def private(request: HttpRequest) -> HttpResponse:
    response = _render(request)
    response["Cache-Control"] = "private"
    return response


@cache_page(60)
async def async_page(request: HttpRequest) -> HttpResponse:
    return _render(request)


urlpatterns = [
    path("page/", page),
    path("private/", private),
    path("async/", async_page),
]


@pytest.fixture(autouse=True)
def site(settings: SettingsWrapper, redis_url: str, redis_client: redis.Redis) -> Iterator[None]:
    settings.CACHES = {"default": alias(redis_url, KEY_PREFIX="pages")}
    STATE.clear()
    STATE["renders"] = 0
    CLOCK.now = 1_000_000.0
    yield
    bridge().clear()


def test_a_page_is_rendered_once_then_served_from_the_cache() -> None:
    client = Client()
    first = client.get("/page/")
    second = client.get("/page/")
    assert first.content == second.content == b"version 1"
    assert STATE["renders"] == 1
    assert "max-age=60" in second["Cache-Control"]
    assert client.post("/page/").content == b"version 2"  # POST is never cached


def test_stale_pages_are_served_while_one_request_renders_the_new_one() -> None:
    Client().get("/page/")  # version 1, stored; its header list learned
    CLOCK.now += 61  # stale now
    STATE["gate"], STATE["rendering"] = threading.Event(), threading.Event()
    bodies: list[tuple[bytes, bool]] = []

    def fetch() -> None:
        response = Client().get("/page/")
        bodies.append((response.content, STATE["gate"].is_set()))

    leader = threading.Thread(target=fetch)
    leader.start()
    assert STATE["rendering"].wait(BOUND)
    others = [threading.Thread(target=fetch) for _ in range(10)]
    for thread in others:
        thread.start()
    for thread in others:
        thread.join(BOUND)
    assert bodies == [(b"version 1", False)] * 10  # served while version 2 renders
    STATE["gate"].set()
    leader.join(BOUND)
    assert bodies[-1] == (b"version 2", True)
    assert STATE["renders"] == 2
    assert Client().get("/page/").content == b"version 2"


def test_a_cold_page_renders_once_for_concurrent_requests() -> None:
    Client().get("/page/")  # the header list is learned on the first request
    key = get_cache_key(RequestFactory().get("/page/"), None, "GET", cache=bridge())
    assert key is not None
    assert bridge().delete(key)  # the page is gone (its header list is kept)
    STATE["renders"] = 0
    ready = threading.Barrier(10)
    bodies: list[bytes] = []

    def fetch() -> None:
        ready.wait()
        bodies.append(Client().get("/page/").content)

    threads = [threading.Thread(target=fetch) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND)
    assert STATE["renders"] == 1
    assert bodies == [b"version 1"] * 10


def test_private_pages_are_not_cached() -> None:
    client = Client()
    assert client.get("/private/").content == b"version 1"
    assert client.get("/private/").content == b"version 2"
    assert client.get("/private/").content == b"version 3"


async def test_async_views_are_cached_too() -> None:
    client = AsyncClient()
    first = await client.get("/async/")
    second = await client.get("/async/")
    assert first.content == second.content == b"version 1"
    assert STATE["renders"] == 1
