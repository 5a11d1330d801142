"""An alias with the JSON serializer and a value JSON cannot hold (a cache_page response, a
Decimal, a datetime): the write fails open (nothing stored, a quiet warning), and the view's
answer goes out. Pickle keeps Django's contract (an unpicklable value raises)."""

from __future__ import annotations

import datetime
import logging
import pickle
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore
from django.test import Client
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge import admin
from django_cache_bridge.cache import BridgeCache
from tests.support.django_helpers import configured_bridge, stored

JSON = {"serializer": "json"}
NOT_JSON: list[Any] = [
    Decimal("1.50"),
    datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC),
    {"nested": [Decimal("2")]},
    {1: "int key"},
    float("nan"),
]


@pytest.fixture
def configure(settings: SettingsWrapper, location: str) -> Iterator[Any]:
    yield from configured_bridge(settings, location)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "django_cache_bridge" and r.levelno >= logging.WARNING
    ]


@pytest.mark.urls("tests.django.outage_urls")
def test_cache_page_answers_and_stores_nothing(
    configure: Any, caplog: pytest.LogCaptureFixture
) -> None:
    cache: BridgeCache = configure(**JSON)
    client = Client()
    with caplog.at_level(logging.DEBUG):
        for _ in range(5):
            response = client.get("/page/")
            assert (response.status_code, response.content) == (200, b"rendered")
    assert admin.count_alias_keys(cache).unwrap() == 1  # the header list (JSON); no response
    [line] = _warnings(caplog)  # one line for five requests
    assert "HttpResponse" in line
    assert "nothing was stored" in line


@pytest.mark.parametrize("value", NOT_JSON, ids=repr)
def test_writes_of_values_json_cannot_hold_fail_open(configure: Any, value: Any) -> None:
    cache: BridgeCache = configure(**JSON)
    cache.set("k", {"old": True})
    cache.set("k", value)  # no exception
    assert cache.get("k") is None  # the old value is gone: a miss, never a stale value
    assert stored(cache, "k") is None
    assert cache.add("fresh", value) is False
    assert stored(cache, "fresh") is None
    assert cache.set_many({"a": 1, "b": value, "c": "text"}) == ["b"]
    assert cache.get_many(["a", "b", "c"]) == {"a": 1, "c": "text"}
    assert cache.get_or_set("computed", lambda: value) is value
    assert stored(cache, "computed") is None


async def test_the_async_writes_fail_open_too(configure: Any) -> None:
    cache: BridgeCache = configure(**JSON)
    await cache.aset("k", Decimal("1"))
    assert await cache.aget("k", "miss") == "miss"
    assert await cache.aadd("k", Decimal("1")) is False
    assert await cache.aset_many({"a": Decimal("1"), "b": [1]}) == ["a"]
    assert await cache.aget_many(["a", "b"]) == {"b": [1]}


def test_with_fail_open_false_the_error_is_raised(configure: Any) -> None:
    cache: BridgeCache = configure(serializer="json", fail_open=False)
    with pytest.raises(TypeError):
        cache.set("k", Decimal("1"))


def test_pickle_keeps_djangos_contract(configure: Any) -> None:
    cache: BridgeCache = configure()
    with pytest.raises((pickle.PickleError, TypeError)):
        cache.set("k", threading.Lock())


def test_a_session_json_cannot_hold_is_refused_at_once(
    configure: Any, settings: SettingsWrapper
) -> None:
    configure(**JSON)
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    store = CacheSessionStore()
    store["when"] = datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)
    with pytest.raises(RuntimeError, match="JSON serializer"):
        store.create()  # not 10,000 attempts to add a value that can never be written
