"""Views for the django-ratelimit parity tests (tests/django/test_ratelimit_parity.py): each
scenario twice, ``/peer/NAME/`` limited by django-ratelimit and ``/ours/NAME/`` by
django_cache_bridge, with the same limits written in each library's spelling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django_ratelimit import UNSAFE  # type: ignore[import-untyped]
from django_ratelimit.core import is_ratelimited  # type: ignore[import-untyped]
from django_ratelimit.decorators import ratelimit as peer  # type: ignore[import-untyped]

from cache_bridge.ratelimit import when_status
from django_cache_bridge.ratelimit import ratelimit as ours
from django_cache_bridge.ratelimit import request_decisions

View = Callable[[HttpRequest], HttpResponse]


def refused(request: HttpRequest, exception: Exception) -> HttpResponse:
    """django-ratelimit's RATELIMIT_VIEW: its refusals become 429 (403 without it)."""
    return HttpResponse("slow down", status=429)


def _respond() -> View:
    """A fresh view that says whether a limit with ``block=False`` was exceeded (each library
    tells the view in its own way)."""

    def respond(request: HttpRequest) -> HttpResponse:
        limited = getattr(request, "limited", False) or any(
            not d.allowed for d in request_decisions(request)
        )
        return HttpResponse("limited" if limited else "ok")

    return respond


def internal(request: HttpRequest) -> bool:
    return request.headers.get("X-Internal") == "yes"


def internal_or_2_per_hour(group: str, request: HttpRequest) -> str | None:
    """django-ratelimit's way to exempt requests: a rate callable returning ``None``."""
    return None if internal(request) else "2/h"


def _everyone(*_: Any) -> str:
    return "everyone"


def _search_query(request: HttpRequest) -> str | None:
    return request.GET.get("q")


def _peer_login(request: HttpRequest) -> HttpResponse:
    """The documented django-ratelimit pattern for failed logins: check without counting,
    count a failure."""
    options: dict[str, Any] = {"group": "login", "key": "ip", "rate": "3/h"}
    if is_ratelimited(request, increment=False, **options):
        return HttpResponse("slow down", status=429)
    if request.POST.get("password") == "right":
        return HttpResponse("welcome")
    is_ratelimited(request, increment=True, **options)
    return HttpResponse("wrong password", status=401)


def _our_login(request: HttpRequest) -> HttpResponse:
    ok = request.POST.get("password") == "right"
    return HttpResponse("welcome" if ok else "wrong password", status=200 if ok else 401)


def api_key(group: str, request: HttpRequest) -> str:
    """A key callable as django-ratelimit calls it: ``(group, request)``."""
    return request.headers.get("X-Api-Key", "")


def two_argument_key_view() -> View:
    """Ours with django-ratelimit's ``(group, request)`` key callable."""
    return ours("3/h", key=api_key, name="api-key")(_respond())


_built: list[View] = []


def _ours_two_argument_key(request: HttpRequest) -> HttpResponse:
    # Decorated at the first request, not at import: a decorator that refuses the callable
    # fails that test alone, not every test of this URLconf.
    if not _built:
        _built.append(two_argument_key_view())
    return _built[0](request)


def _stack(*decorators: Callable[[View], View]) -> View:
    """``@a @b def v`` as ``_stack(a, b)``, on a fresh view."""
    view = _respond()
    for decorator in reversed(decorators):
        view = decorator(view)
    return view


# scenario: (the django-ratelimit view, the django_cache_bridge view)
SCENARIOS: dict[str, tuple[View, View]] = {
    "ip": (
        peer(group="ip", key="ip", rate="3/h")(_respond()),
        ours("3/h", key="ip", name="ip")(_respond()),
    ),
    "user-or-ip": (
        peer(group="uip", key="user_or_ip", rate="3/h")(_respond()),
        ours("3/h", key="user-or-ip", name="uip")(_respond()),
    ),
    "header": (
        peer(group="header", key="header:x-api-key", rate="3/h")(_respond()),
        ours("3/h", key="header:X-Api-Key", name="header")(_respond()),
    ),
    "get": (
        peer(group="get", key="get:q", rate="3/h")(_respond()),
        ours("3/h", key=_search_query, name="get")(_respond()),
    ),
    "pair": (
        peer(group="pair", key="ip", rate=(3, 3600))(_respond()),
        ours((3, 3600), key="ip", name="pair")(_respond()),
    ),
    "ten-minutes": (
        peer(group="ten", key="ip", rate="3/10m")(_respond()),
        ours("3/10m", key="ip", name="ten")(_respond()),
    ),
    "user": (
        peer(group="user", key="user", rate="2/h")(_respond()),
        ours("2/h", key="user", name="user")(_respond()),
    ),
    "search-web": (
        peer(group="search", key="ip", rate="3/h")(_respond()),
        ours("3/h", group="search")(_respond()),
    ),
    "search-images": (
        peer(group="search", key="ip", rate="3/h")(_respond()),
        ours("3/h", group="search")(_respond()),
    ),
    "post-only": (
        peer(group="post", key="ip", rate="2/h", method="POST")(_respond()),
        ours("2/h", methods=["POST"], name="post")(_respond()),
    ),
    "unsafe": (
        peer(group="unsafe", key="ip", rate="2/h", method=UNSAFE)(_respond()),
        ours("2/h", methods=["DELETE", "PATCH", "POST", "PUT"], name="unsafe")(_respond()),
    ),
    "no-block": (
        peer(group="soft", key="ip", rate="2/h", block=False)(_respond()),
        ours("2/h", name="soft", block=False)(_respond()),
    ),
    "stacked": (
        _stack(
            peer(group="stacked", key="ip", rate="5/m"),
            peer(group="stacked", key="ip", rate="3/h"),
        ),
        _stack(ours("5/m", name="stacked"), ours("3/h", name="stacked")),
    ),
    "global-outside": (
        _stack(
            peer(group="everyone", key=_everyone, rate="5/h"),
            peer(group="per-ip", key="ip", rate="2/h"),
        ),
        _stack(
            ours("5/h", key=_everyone, name="everyone"),
            ours("2/h", key="ip", name="per-ip"),
        ),
    ),
    "global-inside": (
        _stack(
            peer(group="per-ip", key="ip", rate="2/h"),
            peer(group="everyone", key=_everyone, rate="5/h"),
        ),
        _stack(
            ours("2/h", key="ip", name="per-ip"),
            ours("5/h", key=_everyone, name="everyone"),
        ),
    ),
    "exempt-by-rate": (
        peer(group="exempt", key="ip", rate=internal_or_2_per_hour)(_respond()),
        ours(internal_or_2_per_hour, name="exempt")(_respond()),
    ),
    "exempt-when": (
        peer(group="exempt", key="ip", rate=internal_or_2_per_hour)(_respond()),
        ours("2/h", name="exempt", exempt_when=internal)(_respond()),
    ),
    "exempt-setting": (
        peer(group="exempt", key="ip", rate=internal_or_2_per_hour)(_respond()),
        ours("2/h", name="exempt")(_respond()),
    ),
    "api-key": (
        peer(group="api-key", key=api_key, rate="3/h")(_respond()),
        _ours_two_argument_key,
    ),
    "login": (
        _peer_login,
        ours("3/h", name="login", deduct_when=when_status(400, 499))(_our_login),
    ),
}

urlpatterns = [
    path(f"{library}/{name}/", views[index], name=f"{library}-{name}")
    for name, views in SCENARIOS.items()
    for index, library in enumerate(("peer", "ours"))
]
