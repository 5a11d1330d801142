"""The health URLs: ``path("health/", include("django_cache_bridge.urls"))`` gives
``health/live/`` and ``health/ready/`` (names ``cache_bridge:live``, ``cache_bridge:ready``),
safe to mount on a public load-balancer path. The Prometheus metrics are not here: they are
in :mod:`django_cache_bridge.metrics_urls`, included on purpose and protected."""

from __future__ import annotations

from django.urls import path

from django_cache_bridge import health

app_name = "cache_bridge"

urlpatterns = [
    path("live/", health.live, name="live"),
    path("ready/", health.ready, name="ready"),
]
