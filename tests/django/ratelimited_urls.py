"""Rate-limited views hidden under other decorators, for the check that rate limiting does
not run on a per-process memory:// store (django_cache_bridge.W005)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from django_cache_bridge.ratelimit import ratelimit


@csrf_exempt
@ratelimit("10/m", name="w005-function")
def limited(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("10/m", name="w005-class")
class LimitedView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")


def free(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


class FunctionViews:
    """A URLconf (Django takes any object with ``urlpatterns``): a decorated function view,
    one include() down."""

    urlpatterns = (path("api/", include([path("limited/", limited)])), path("free/", free))


class ClassViews:
    urlpatterns = (path("limited/", LimitedView.as_view()), path("free/", free))


class NoLimits:
    urlpatterns = (path("free/", free),)
