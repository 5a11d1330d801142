"""Views for the exemption tests (issue 15 item 4)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from django_cache_bridge.ratelimit import ratelimit


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def trusted_header(request: HttpRequest) -> bool:
    return request.headers.get("X-Internal") == "yes"


@ratelimit("1/h", name="search", exempt_when=trusted_header)
async def search(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [path("health/", plain), path("api/", plain), path("search/", search)]
