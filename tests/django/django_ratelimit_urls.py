"""Views for the rate-limit tests: plain ones for the middleware, decorated ones for
``@ratelimit`` (function and class-based, sync and async)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.views import View

from django_cache_bridge.ratelimit import ratelimit


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


async def async_plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("2/m")
def limited(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("2/m", algorithm="sliding-window")
async def async_limited(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("1/m", methods=["POST"], name="posts")
def post_only(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("1/m", key="header:X-Api-Key")
def by_header(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def tenant(request: HttpRequest) -> str | None:
    return request.GET.get("tenant")


@ratelimit("1/m", key=tenant)
def by_callable(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("1/m", block=False, name="soft")
def soft(request: HttpRequest) -> HttpResponse:
    decisions = getattr(request, "ratelimit_decisions", [])
    return JsonResponse({"allowed": [d.allowed for d in decisions]})


@ratelimit("2/m", algorithm="token-bucket")
class SyncView(View):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse("sync class")


@ratelimit("2/m")
class AsyncView(View):
    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse("async class")


class MethodView(View):
    @method_decorator(ratelimit("1/m", name="method"))
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse("method")


class AsyncMethodView(View):
    @method_decorator(ratelimit("1/m", name="async-method"))
    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse("async method")


@ratelimit("2/minute")
@ratelimit("5/hour")
def minute_and_hour(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("5/hour")
@ratelimit("2/minute")
def hour_and_minute(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("5/hour")
@ratelimit("2/minute")
async def async_hour_and_minute(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("5/minute")
@ratelimit("10/minute")
async def five_and_ten(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("rl/minute-and-hour/", minute_and_hour),
    path("rl/hour-and-minute/", hour_and_minute),
    path("rl/async-hour-and-minute/", async_hour_and_minute),
    path("rl/five-and-ten/", five_and_ten),
    path("rl/method/", MethodView.as_view()),
    path("rl/async-method/", AsyncMethodView.as_view()),
    path("rl/api/a/", plain),
    path("rl/api/async/", async_plain),
    path("rl/other/", plain),
    path("rl/login/", plain),
    path("rl/limited/", limited),
    path("rl/async-limited/", async_limited),
    path("rl/post-only/", post_only),
    path("rl/by-header/", by_header),
    path("rl/by-callable/", by_callable),
    path("rl/soft/", soft),
    path("rl/sync-class/", SyncView.as_view()),
    path("rl/async-class/", AsyncView.as_view()),
]
