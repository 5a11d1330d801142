"""The Prometheus metrics URL, opt-in and apart from the health URLs (which sites often mount
on public load-balancer paths): ``path("internal/metrics/", include(
"django_cache_bridge.metrics_urls"))`` serves the exposition at ``internal/metrics/`` (name
``cache_bridge_metrics:metrics``). It publishes the whole default registry (the site's own
metrics too, server addresses, key prefixes): mount it only behind authentication, an IP
allow-list or on an internal port."""

from __future__ import annotations

from django.urls import path

from django_cache_bridge import health

app_name = "cache_bridge_metrics"

urlpatterns = [path("", health.metrics, name="metrics")]
