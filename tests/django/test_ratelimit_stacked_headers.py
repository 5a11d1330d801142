"""The RateLimit headers of an allowed response to a view under stacked ``@ratelimit``\\ s,
one of whose rates is a callable giving several rates: every limit that applied is in
``RateLimit-Policy``, except those of a decorator with ``headers=False`` (before, the header
flags were matched to the decisions one per decorator limit, so the decisions past the
callable's first rate pushed the outer limit out of the list, or took its flag)."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client
from django.urls import path
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.ratelimit import ratelimit
from tests.support.django_helpers import alias


def _per_plan(request: HttpRequest) -> str:
    return "10/m; 100/h"  # two rates, one limit name


@ratelimit("50/m", name="outer")
@ratelimit(_per_plan, name="plan")
def stacked(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("50/m", name="outer")
@ratelimit(_per_plan, name="plan")
async def stacked_async(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit(_per_plan, name="plan", headers=False)
@ratelimit("50/m", name="inner")
@ratelimit("40/m", name="quiet", headers=False)
def mixed(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@ratelimit("50/m", name="outer")
@ratelimit(_per_plan, name="plan")
@ratelimit("40/m", name="quiet", headers=False)
def mixed_below(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("stacked/", stacked),
    path("stacked-async/", stacked_async),
    path("mixed/", mixed),
    path("mixed-below/", mixed_below),
]
pytestmark = pytest.mark.urls(__name__)

POLICIES = {'"plan";q=10;w=60', '"plan";q=100;w=3600', '"outer";q=50;w=60'}


@pytest.fixture
def configured(settings: SettingsWrapper, location: str) -> SettingsWrapper:
    settings.CACHES = {"default": alias(location, KEY_PREFIX="site")}
    settings.MIDDLEWARE = []
    settings.CACHE_BRIDGE_RATELIMIT = {}
    return settings


def _policies(response: Any) -> set[str]:
    assert response.status_code == 200
    return {part.strip() for part in response["RateLimit-Policy"].split(",")}


def test_every_limit_is_in_the_policy_header(configured: SettingsWrapper) -> None:
    assert _policies(Client().get("/stacked/")) == POLICIES


async def test_every_limit_is_in_the_policy_header_of_an_async_view(
    configured: SettingsWrapper,
) -> None:
    assert _policies(await AsyncClient().get("/stacked-async/")) == POLICIES


def test_a_decorator_without_headers_stays_out_whatever_the_callable_gives(
    configured: SettingsWrapper,
) -> None:
    client = Client()
    assert _policies(client.get("/mixed/")) == {'"inner";q=50;w=60'}
    assert _policies(client.get("/mixed-below/")) == POLICIES
