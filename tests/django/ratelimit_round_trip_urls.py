"""Views for the one-round-trip tests: decorated views under a middleware rule."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views import View

from django_cache_bridge.ratelimit import ratelimit


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("5/h", name="hourly")
@ratelimit("2/h", name="tight")
def stacked(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("5/h", name="hourly")
@ratelimit("2/h", name="tight")
async def async_stacked(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


#: Requests the decorator between two @ratelimit saw (each once).
SEEN: list[str] = []


def noted(view: Callable[..., Any]) -> Callable[..., Any]:
    """A decorator of another library (it copies the wrapped view's attributes)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        SEEN.append(request.path)
        return view(request, *args, **kwargs)

    return wrapper


@ratelimit("5/h", name="outer")
@noted
@ratelimit("2/h", name="under")
def between(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("3/h", name="class")
class Limited(View):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse("class")


@ratelimit("3/h", name="soft", block=False)
@ratelimit("4/h", name="hard")
def soft_and_hard(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("rt/plain/", plain),
    path("rt/stacked/", stacked),
    path("rt/async-stacked/", async_stacked),
    path("rt/class/", Limited.as_view()),
    path("rt/soft-and-hard/", soft_and_hard),
    path("rt/between/", between),
    path("other/stacked/", stacked),
]


class Refuse:
    """A middleware that answers 403 before the view when the request asks it to."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, *args: Any) -> Any:
        if request.headers.get("X-Refuse"):
            return HttpResponse("no", status=403)
        return None
