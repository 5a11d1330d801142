"""Views for the rules-by-URL-name-or-view tests (issue 15 item 1)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import View


def cart(request: HttpRequest) -> HttpResponse:
    return HttpResponse("cart")


def checkout(request: HttpRequest) -> HttpResponse:
    return HttpResponse("checkout")


def search(request: HttpRequest) -> HttpResponse:
    return HttpResponse("search")


class Report(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("report")


shop = (
    [path("cart/", cart, name="cart"), path("checkout/", checkout, name="checkout")],
    "shop",
)

urlpatterns = [
    path("shop/", include(shop)),
    path("search/", search, name="search"),
    path("find/", search, name="find"),
    path("report/", Report.as_view(), name="report"),
]
