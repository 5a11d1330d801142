"""URLs for the Django health tests: the app's health URLs, included as a site would."""

from django.urls import include, path

urlpatterns = [path("health/", include("django_cache_bridge.urls"))]
