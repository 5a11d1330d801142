"""Views for the cost and deduct_when tests (issue 15 item 2)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from cache_bridge.ratelimit import when_status
from django_cache_bridge.ratelimit import ratelimit


def _login(request: HttpRequest) -> HttpResponse:
    ok = request.POST.get("password") == "right"
    return HttpResponse("welcome" if ok else "wrong password", status=200 if ok else 401)


login = csrf_exempt(ratelimit("3/h", name="login", deduct_when=when_status(400, 499))(_login))


@csrf_exempt
@ratelimit("3/h", name="alogin", deduct_when=when_status(400, 499))
async def alogin(request: HttpRequest) -> HttpResponse:
    return _login(request)


def _rows(request: HttpRequest) -> int:
    return int(request.GET.get("rows", "1"))


@ratelimit("10/h", name="export", cost=_rows)
def export(request: HttpRequest) -> HttpResponse:
    return HttpResponse("rows")


@ratelimit("10/h", name="heavy", cost=4)
async def heavy(request: HttpRequest) -> HttpResponse:
    return HttpResponse("heavy")


def plain(request: HttpRequest, name: str) -> HttpResponse:
    return HttpResponse("ok", status=404 if name == "missing" else 200)


urlpatterns = [
    path("login/", login),
    path("alogin/", alogin),
    path("export/", export),
    path("heavy/", heavy),
    path("api/<str:name>/", plain),
]
