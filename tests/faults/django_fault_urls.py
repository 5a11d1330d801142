"""Views for the Django fault tests: a page that uses the cache (sync and async) and views
behind rate limits that fail open and closed."""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from django_cache_bridge.ratelimit import ratelimit


def cached_page(request: HttpRequest) -> HttpResponse:
    hit = cache.get("page") is not None
    if not hit:
        cache.set("page", "rendered", 300)
    return JsonResponse({"hit": hit})


async def async_cached_page(request: HttpRequest) -> HttpResponse:
    hit = await cache.aget("page") is not None
    if not hit:
        await cache.aset("page", "rendered", 300)
    return JsonResponse({"hit": hit})


# An hour-long sliding window: no window boundary resets a count mid-test.
@ratelimit("1/h", name="open", algorithm="sliding-window", fail_open=True)
def limited_open(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("1/h", name="closed", algorithm="sliding-window", fail_open=False)
def limited_closed(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("page/", cached_page),
    path("async-page/", async_cached_page),
    path("open/", limited_open),
    path("closed/", limited_closed),
]
