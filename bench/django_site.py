"""A minimal Django configuration for the bench: three Redis cache aliases on one server
(cache_bridge's BridgeCache, Django's RedisCache, django-redis) and three views for the
rate-limit cost (none, django-ratelimit on django-redis, cache_bridge's decorator)."""

from __future__ import annotations

from typing import Any

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path

__all__ = ["configure"]

RATE = "1000000/h"


def configure(url: str) -> None:
    """Configure Django for this process (once)."""
    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-secret-key-not-for-production-0123456789",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF="bench.django_site",
        MIDDLEWARE=[],
        INSTALLED_APPS=["django_cache_bridge"],
        USE_TZ=True,
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "bridge": {
                "BACKEND": "django_cache_bridge.cache.BridgeCache",
                "LOCATION": url,
                "KEY_PREFIX": "bc",
            },
            "bridge_unsigned": {
                "BACKEND": "django_cache_bridge.cache.BridgeCache",
                "LOCATION": url,
                "KEY_PREFIX": "bu",
                "OPTIONS": {"sign": False},
            },
            "django": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": "dj",
            },
            "djredis": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": "dr",
            },
        },
        RATELIMIT_USE_CACHE="djredis",
        CACHE_BRIDGE_RATELIMIT={"CACHE": "bridge"},
    )
    django.setup()


def _plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def _views() -> list[Any]:
    from django_ratelimit.decorators import ratelimit as theirs

    from django_cache_bridge.ratelimit import ratelimit as ours

    return [
        path("plain/", _plain),
        path("django-ratelimit/", theirs(key="ip", rate=RATE, block=True)(_plain)),
        path("ours/", ours(RATE, key="ip", cache="bridge", name="bench")(_plain)),
    ]


def __getattr__(name: str) -> Any:
    # Django imports the URLconf after setup(); the views need configured settings.
    if name == "urlpatterns":
        return _views()
    raise AttributeError(name)
