"""Views for the outage tests: the admin site (logging in creates a session), a cache_page
view, a view whose response holds values JSON cannot write, and a rate-limited view."""

from __future__ import annotations

from django.contrib import admin
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.cache import cache_page

from django_cache_bridge.ratelimit import ratelimit


@cache_page(60)
def cached_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("rendered")


def reading(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"found": cache.get("k", "default")})


@ratelimit("10/m", name="outage-limited")
def limited(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("page/", cached_page),
    path("read/", reading),
    path("limited/", limited),
]
