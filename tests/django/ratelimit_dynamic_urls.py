"""Views for the dynamic-limit and stacked-headers tests (issue 15 items 6 and 7)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from django_cache_bridge.ratelimit import ratelimit


def per_plan(request: HttpRequest) -> str | None:
    plan = request.headers.get("X-Plan")
    return {"free": "2/h", "pro": "5/h; 100/d"}.get(plan or "")


def per_group(group: str, request: HttpRequest) -> tuple[int, int] | None:
    # django-ratelimit's signature: (group, request); None: unlimited.
    return None if request.headers.get("X-Staff") else (1, 3600)


@ratelimit(per_plan, name="api", key="header:X-User")
def api(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit(per_group, group="reports")  # django-ratelimit's spelling of name=
async def reports(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("10/minute", name="outer")
@ratelimit("100/hour", name="inner")
def stacked(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("10/minute", name="outer")
@ratelimit("100/hour", name="inner")
async def astacked(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def two_rates(request: HttpRequest) -> str:
    return "10/m; 100/h"  # two rates, one limit name


# Stacked over a callable giving two rates: each rate a decision of the limit "plan".
@ratelimit("50/m", name="outer")
@ratelimit(two_rates, name="plan")
def over_plan(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("50/m", name="outer")
@ratelimit(two_rates, name="plan")
async def aover_plan(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit(two_rates, name="plan", headers=False)
@ratelimit("50/m", name="inner")
@ratelimit("40/m", name="quiet", headers=False)
def quiet_plan(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("50/m", name="outer")
@ratelimit(two_rates, name="plan")
@ratelimit("40/m", name="quiet", headers=False)
def plan_over_quiet(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("api/", api),
    path("reports/", reports),
    path("stacked/", stacked),
    path("astacked/", astacked),
    path("over-plan/", over_plan),
    path("aover-plan/", aover_plan),
    path("quiet-plan/", quiet_plan),
    path("plan-over-quiet/", plan_over_quiet),
]


def broken_plan(request: HttpRequest) -> str:
    raise RuntimeError("plans service down")


@ratelimit(broken_plan, name="broken")
def broken(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit(broken_plan, name="abroken")
async def abroken(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns += [path("broken/", broken), path("abroken/", abroken)]
