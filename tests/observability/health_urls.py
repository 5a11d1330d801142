"""URLs for the Django health tests: the app's health URLs, included as a site would, and its
metrics URL, which a site includes on purpose (and protects)."""

from django.urls import include, path

urlpatterns = [
    path("health/", include("django_cache_bridge.urls")),
    path("health/metrics/", include("django_cache_bridge.metrics_urls")),
]
