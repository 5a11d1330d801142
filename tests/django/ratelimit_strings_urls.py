"""Views for the limit-string tests (issue 15): several limits in one rate string or list."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from django_cache_bridge.ratelimit import ratelimit


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("2 per minute; 5 per hour", name="login")
def login(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit(["3/m", (4, 3600)], name="search")
async def search(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("rl/login/", login),
    path("rl/search/", search),
    path("api/plain/", plain),
]
