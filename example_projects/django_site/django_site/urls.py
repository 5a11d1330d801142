from __future__ import annotations

from django.urls import path

from django_site import views

urlpatterns = [
    path("", views.index, name="index"),
    path("visits/", views.visits, name="visits"),
    path("async/", views.async_visits, name="async-visits"),
    path("cached/", views.cached_page, name="cached-page"),
    path("limited/", views.limited_page, name="limited-page"),
]
