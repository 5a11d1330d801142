"""URLs for the debug-toolbar panel tests: a sync view and an async view that use the cache
(the async one with the ``a*`` methods and a rate-limit decision), and the toolbar's URLs."""

from __future__ import annotations

from debug_toolbar.toolbar import debug_toolbar_urls
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.urls import path

from cache_bridge.observability import RateLimitEvent, emit

PAGE = "<html><body><p>{}</p></body></html>"


def sync_view(request: HttpRequest) -> HttpResponse:
    cache = caches["default"]
    cache.set("sync-key", "v")
    return HttpResponse(PAGE.format(cache.get("sync-key")))


async def async_view(request: HttpRequest) -> HttpResponse:
    cache = caches["default"]
    await cache.aset("async-key", "v")
    found = await cache.aget("async-key")
    await cache.aget("async-absent")
    emit(RateLimitEvent("login", allowed=False))  # what the rate limiter emits
    return HttpResponse(PAGE.format(found))


urlpatterns = [
    path("sync/", sync_view),
    path("async/", async_view),
    *debug_toolbar_urls(),
]
