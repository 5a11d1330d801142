"""Views for the outage tests: the admin site (logging in creates a session) and a cache_page
view."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.cache import cache_page


@cache_page(60)
def cached_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("rendered")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("page/", cached_page),
]
