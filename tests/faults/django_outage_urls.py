"""Views for the outage-cost tests: a page cached whole by Django's cache_page (a read, then
the response and its headers written: several cache calls per request), and an async view
that reads and writes through the alias's async face."""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.cache import cache_page


@cache_page(60)
def cached(request: HttpRequest) -> HttpResponse:
    return HttpResponse("rendered")


async def async_page(request: HttpRequest) -> HttpResponse:
    hit = await cache.aget("async-page") is not None
    if not hit:
        await cache.aset("async-page", "rendered", 300)
        await cache.aset("async-page-meta", "m", 300)
    return JsonResponse({"hit": hit})


urlpatterns = [path("cached/", cached), path("async/", async_page)]
