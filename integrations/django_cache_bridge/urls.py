"""The health URLs: ``path("health/", include("django_cache_bridge.urls"))`` gives
``health/live/`` and ``health/ready/`` (names ``cache_bridge:live``, ``cache_bridge:ready``)."""

from __future__ import annotations

from django.urls import path

from django_cache_bridge import health

app_name = "cache_bridge"

urlpatterns = [
    path("live/", health.live, name="live"),
    path("ready/", health.ready, name="ready"),
]
