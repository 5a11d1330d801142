"""Requests the Django rate limits never count (the core's rules,
:mod:`cache_bridge.ratelimit.exemptions`): ``EXEMPT`` addresses (after trusted-proxy
handling), ``EXEMPT_WHEN(request)``, and staff users with ``EXEMPT_STAFF``. Decided once per
request."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest

from cache_bridge.ratelimit.exemptions import holds
from django_cache_bridge.ratelimit_config import RateLimitSettings

__all__ = ["is_exempt", "is_exempt_async", "load_user", "peer"]

_EXEMPT = "_cache_bridge_ratelimit_exempt"


def peer(request: HttpRequest) -> tuple[str | None, list[str]]:
    """``REMOTE_ADDR`` and the ``X-Forwarded-For`` values, as ``ClientAddress`` reads them."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    return request.META.get("REMOTE_ADDR"), [forwarded] if forwarded else []


async def load_user(request: HttpRequest) -> Any:
    """The request's user, loaded with ``auser`` (Django 4.2 has none: ``user`` in a thread)."""
    auser = getattr(request, "auser", None)
    if auser is None and hasattr(request, "user"):
        return await sync_to_async(lambda: request.user)()
    return None if auser is None else await auser()


def _exempt(request: HttpRequest, config: RateLimitSettings, user: Any) -> bool:
    if config.exempt_staff and getattr(user, "is_staff", False) is True:
        return True
    if config.exempt.networks and config.exempt.covers(
        config.client_address.client(*peer(request))
    ):
        return True
    return config.exempt_when is not None and holds(config.exempt_when, request)


def is_exempt(request: HttpRequest, config: RateLimitSettings) -> bool:
    """Whether no limit counts ``request``."""
    found: bool | None = request.__dict__.get(_EXEMPT)
    if found is None:
        user = getattr(request, "user", None) if config.exempt_staff else None
        found = request.__dict__[_EXEMPT] = _exempt(request, config, user)
    return found


async def is_exempt_async(request: HttpRequest, config: RateLimitSettings) -> bool:
    """:func:`is_exempt` from async code (the user loaded with ``auser``)."""
    found: bool | None = request.__dict__.get(_EXEMPT)
    if found is None:
        user = await load_user(request) if config.exempt_staff else None
        found = request.__dict__[_EXEMPT] = _exempt(request, config, user)
    return found
