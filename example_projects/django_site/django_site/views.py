"""Four views: domain code on the cache_bridge protocol (blocking and async), consuming
Results, a page cached whole by Django's cache_page on the same backend, and a rate-limited
page (5 requests a minute per client address, 429 with Retry-After beyond that)."""

from __future__ import annotations

import itertools

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import cache_page
from returns.result import Failure, Success

from cache_bridge import CacheConnectionError
from django_cache_bridge import get_cache, get_sync_cache
from django_cache_bridge.ratelimit import ratelimit

_renders = itertools.count(1)


def _visits_text(result: object) -> str:
    match result:
        case Success(int() as count):
            return f"visits: {count}"
        case Failure(CacheConnectionError() as error):
            return f"visits: unknown (the cache is down: {error.message})"
        case Failure(error):
            return f"visits: unknown ({error})"
    return "visits: unknown"


def visits(request: HttpRequest) -> HttpResponse:
    """Counts visits with the blocking protocol; a dead cache costs the number, not a 500."""
    return HttpResponse(
        _visits_text(get_sync_cache().increment("visits")), content_type="text/plain"
    )


async def async_visits(request: HttpRequest) -> HttpResponse:
    """The same counter through the async protocol."""
    result = await get_cache().increment("visits")
    return HttpResponse(_visits_text(result), content_type="text/plain")


@cache_page(30)
def cached_page(request: HttpRequest) -> HttpResponse:
    """Rendered once per 30 seconds; later requests come from the cache."""
    return HttpResponse(f"render number {next(_renders)}", content_type="text/plain")


@ratelimit("5/m", name="limited-page")
def limited_page(request: HttpRequest) -> HttpResponse:
    """Five requests a minute per client; the RateLimit headers say how many are left."""
    return HttpResponse("not limited yet", content_type="text/plain")
