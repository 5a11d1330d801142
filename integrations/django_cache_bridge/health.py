"""Health views for a Django site with BridgeCache aliases: :func:`live` (always 200: the
site fails open, so a cache outage does not make it dead) and :func:`ready` (200 when every
BridgeCache alias answers a PING within :data:`BOUND` seconds, 503 otherwise), both JSON,
with each alias's circuit breaker, included with
``path("health/", include("django_cache_bridge.urls"))``; and :func:`metrics`, the Prometheus
exposition of this process's registry (for a site without an exporter), included on its own
and protected: ``include("django_cache_bridge.metrics_urls")``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cache_bridge.observability.exposition import exposition
from cache_bridge.observability.health import DEFAULT_BOUND, LIVE, readiness
from django_cache_bridge.access import get_bridge_cache
from django_cache_bridge.aliases import bridge_aliases

__all__ = ["BOUND", "live", "metrics", "ready"]

#: Seconds the readiness view waits for each alias's PING.
BOUND = DEFAULT_BOUND


@never_cache
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    """Always 200: the cache never makes the site dead."""
    return JsonResponse(LIVE)


def _alias_report(alias: str) -> dict[str, Any]:
    try:
        cache = get_bridge_cache(alias)
    except ImproperlyConfigured as exc:
        return {"status": "unavailable", "error": str(exc), "breaker": None}
    report = readiness(cache.adapters().sync, BOUND)
    report["cache"] = cache.bridge_config.settings.describe()
    return report


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """200 if every BridgeCache alias answers in time, else 503; JSON per alias."""
    caches = {alias: _alias_report(alias) for alias in bridge_aliases()}
    ok = all(report["status"] == "ready" for report in caches.values())
    body = {"status": "ready" if ok else "unavailable", "caches": caches}
    return JsonResponse(body, status=200 if ok else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus text exposition of this process's default registry (with the
    ``PrometheusMetrics`` listener started, the ``cache_bridge_*`` metrics), or of every
    worker's when ``PROMETHEUS_MULTIPROC_DIR`` is set; 501 without prometheus_client."""
    status, content_type, body = exposition(request.headers.get("Accept", ""))
    return HttpResponse(body, status=status, content_type=content_type)
