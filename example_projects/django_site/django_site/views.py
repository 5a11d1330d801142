"""The example site's pages: a guide at ``/`` that says whether the cache answers, a visit
counter on the blocking and the async protocol, a page cached whole by Django's cache_page,
and a rate-limited page (5 requests a minute per client address, then 429 with Retry-After).

Every page answers while Redis is down: the counter says "unknown", the cached page is
rendered on every request, and the rate limit lets requests through (it fails open)."""

from __future__ import annotations

import itertools
import time

from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.views.decorators.cache import cache_page
from returns.result import Failure, Success

from cache_bridge import CacheConnectionError
from django_cache_bridge import get_cache, get_sync_cache
from django_cache_bridge.cache import BridgeCache
from django_cache_bridge.ratelimit import ratelimit

_renders = itertools.count(1)

_GUIDE = """<!doctype html>
<html><head><title>cache_bridge example site</title></head><body>
<h1>cache_bridge example site</h1>
<p>Cache: <code>{where}</code>. {health}</p>
<ul>
<li><a href="/visits/">/visits/</a>: a counter in the cache (blocking protocol);
    <a href="/async/">/async/</a> is the same through the async protocol.</li>
<li><a href="/cached/">/cached/</a>: cached whole for 30 seconds. Reload it: the same render
    number means the page came from the cache (a hit).</li>
<li><a href="/limited/">/limited/</a>: 5 requests a minute per client address. Reload it six
    times: the sixth answer is 429 Too Many Requests with a Retry-After header.</li>
</ul>
<p>Stop Redis (with <code>CACHE_URL</code> set) and reload: every page still answers. The
counter says "unknown", the cached page renders on every request (no hits), the rate limit
lets requests through (it fails open), and this page says the cache is down.</p>
</body></html>
"""


def index(request: HttpRequest) -> HttpResponse:
    """The guide, with a live check of the cache."""
    started = time.perf_counter()
    answer = get_sync_cache().ping()
    elapsed_ms = (time.perf_counter() - started) * 1000
    match answer:
        case Success(_):
            health = format_html("The cache answers (PING took {} ms).", f"{elapsed_ms:.1f}")
        case Failure(error):
            health = format_html(
                "<strong>The cache is down</strong> ({}): the pages below still answer.",
                error.message,
            )
    backend = caches["default"]
    # The description masks any password in LOCATION.
    where = backend.bridge_config.settings.describe() if isinstance(backend, BridgeCache) else ""
    return HttpResponse(format_html(_GUIDE, where=where, health=health))


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
    return HttpResponse(
        f"render number {next(_renders)} (the same number again means a cache hit)",
        content_type="text/plain",
    )


@ratelimit("5/m", name="limited-page")
def limited_page(request: HttpRequest) -> HttpResponse:
    """Five requests a minute per client; the RateLimit headers say how many are left."""
    return HttpResponse("not limited yet", content_type="text/plain")
