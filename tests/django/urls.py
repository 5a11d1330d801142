"""Views that exercise the cache from sync and async code, under WSGI and ASGI."""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from returns.result import Success

from django_cache_bridge import get_cache


def sync_counter(request: HttpRequest) -> HttpResponse:
    cache.add("hits", 0)
    return JsonResponse({"hits": cache.incr("hits")})


async def async_counter(request: HttpRequest) -> HttpResponse:
    await cache.aadd("hits", 0)
    hits = await cache.aincr("hits")
    await cache.aset("last", {"hits": hits})
    return JsonResponse({"hits": hits, "last": await cache.aget("last")})


async def async_protocol(request: HttpRequest) -> HttpResponse:
    match await get_cache().increment("protocol-hits"):
        case Success(value):
            return JsonResponse({"hits": value})
        case failure:
            return JsonResponse({"error": str(failure)}, status=503)


urlpatterns = [
    path("sync-counter/", sync_counter),
    path("async-counter/", async_counter),
    path("async-protocol/", async_protocol),
]
