"""The django-debug-toolbar panel (integrations/django_cache_bridge/panels.py), through the
toolbar itself: its middleware records a request made with Django's Client / AsyncClient,
and its render_panel view renders the panel, listing the calls of the sync and the async
methods with hit or miss, time and key, the breakers, the rate-limit decisions and what the
request's get-or-compute calls ended as."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client
from django.urls import path
from pytest_django import Settings as SettingsWrapper

from cache_bridge.observability import events as event_stream
from tests.support.django_helpers import alias, fresh_memory

pytest.importorskip("debug_toolbar")

pytestmark = pytest.mark.urls("tests.django.panel_urls")
PANEL = "CacheBridgePanel"


@pytest.fixture
def toolbar(settings: SettingsWrapper, request: pytest.FixtureRequest) -> Iterator[str]:
    request.getfixturevalue("redis_client")
    redis_url = str(request.getfixturevalue("redis_url"))
    settings.STATIC_URL = "/static/"  # before the staticfiles app the toolbar needs
    settings.INSTALLED_APPS = [
        *settings.INSTALLED_APPS,
        "django.contrib.staticfiles",
        "debug_toolbar",
    ]
    settings.DEBUG = True
    settings.MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware"]
    settings.DEBUG_TOOLBAR_PANELS = ["django_cache_bridge.panels.CacheBridgePanel"]
    settings.DEBUG_TOOLBAR_CONFIG = {
        "IS_RUNNING_TESTS": False,
        "SHOW_TOOLBAR_CALLBACK": lambda request: True,
    }
    settings.CACHES = {
        "default": alias(redis_url, KEY_PREFIX="panel"),
        "local": alias(fresh_memory()),
    }
    yield redis_url
    assert event_stream.listeners == ()  # the panel stopped listening with the request


def _request_id(html: str) -> str:
    found = re.search(r'data-request-id="([0-9a-f]+)"', html)
    assert found is not None, "the toolbar was not rendered"
    return found[1]


def _panel(client: Client, html: str) -> str:
    answer = client.get(
        "/__debug__/render_panel/", {"request_id": _request_id(html), "panel_id": PANEL}
    )
    assert answer.status_code == 200
    content: Any = answer.json()["content"]
    return str(content)


def _rows(content: str) -> list[list[str]]:
    calls = content.split("<h4>Calls</h4>", 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", calls)][
        1:
    ]  # the first row is the header


def test_the_panel_lists_a_sync_request(toolbar: str) -> None:
    client = Client()
    html = client.get("/sync/").content.decode()
    content = _panel(client, html)
    rows = _rows(content)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("sync", "set", "panel:1:sync-key", "ok"),
        ("sync", "get", "panel:1:sync-key", "hit"),
    ]
    assert all(float(r[4]) >= 0 for r in rows)
    assert all(r[5] == toolbar for r in rows)
    assert "1 hits, 0 misses" in content
    assert "default" in content
    assert "circuit closed" in content


async def test_the_panel_lists_an_async_request(toolbar: str) -> None:
    client = AsyncClient()
    response = await client.get("/async/")
    html = response.content.decode()
    assert "<p>v</p>" in html
    content = _panel(Client(), html)
    rows = _rows(content)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("async", "set", "panel:1:async-key", "ok"),
        ("async", "get", "panel:1:async-key", "hit"),
        ("async", "get", "panel:1:async-absent", "miss"),
    ]
    assert "1 hits, 1 misses" in content
    assert "<td>login</td><td>refused</td>" in content


def stampede_view(request: HttpRequest) -> HttpResponse:
    cache: Any = caches["default"]  # a BridgeCache: get_or_set takes stampede=
    cache.get_or_set("report", lambda: "r", 60, stampede=True)
    found = cache.get_or_set("report", lambda: "not again", 60, stampede=True)
    return HttpResponse(f"<html><body><p>{found}</p></body></html>")


async def astampede_view(request: HttpRequest) -> HttpResponse:
    cache: Any = caches["default"]  # a BridgeCache: get_or_set takes stampede=
    found = await cache.aget_or_set("areport", lambda: "r", 60, stampede=True)
    return HttpResponse(f"<html><body><p>{found}</p></body></html>")


def __getattr__(name: str) -> Any:
    """This module is the URLconf of the get-or-compute tests: ``urlpatterns`` is made when
    Django first asks (the toolbar's URLs cannot be imported before its app is installed)."""
    if name != "urlpatterns":
        raise AttributeError(name)
    from debug_toolbar.toolbar import debug_toolbar_urls

    views = [path("stampede/", stampede_view), path("astampede/", astampede_view)]
    return [*views, *debug_toolbar_urls()]


def _stampede_rows(content: str) -> list[list[str]]:
    table = content.split("<h4>Get-or-compute</h4>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table)[1:]  # the first row is the header
    return [re.findall(r"<td>(.*?)</td>", row) for row in rows]


@pytest.mark.urls(__name__)
def test_the_panel_lists_the_get_or_compute_outcomes(toolbar: str) -> None:
    client = Client()
    html = client.get("/stampede/").content.decode()
    assert "<p>r</p>" in html
    rows = _stampede_rows(_panel(client, html))
    assert [(r[0], r[2]) for r in rows] == [("sync", "computed"), ("sync", "fresh")]
    assert all("report" in r[1] for r in rows)
    assert float(rows[0][3]) >= 0  # computed: its time is shown
    assert rows[1][3] == ""  # served fresh: nothing computed


@pytest.mark.urls(__name__)
async def test_the_panel_lists_an_async_get_or_compute(toolbar: str) -> None:
    response = await AsyncClient().get("/astampede/")
    html = response.content.decode()
    rows = _stampede_rows(_panel(Client(), html))
    assert [(r[0], r[2]) for r in rows] == [("async", "computed")]
