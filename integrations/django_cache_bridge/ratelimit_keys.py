"""What a Django limit counts a request under: the client's address, the user, a header, a
callable's answer (:func:`request_key`); and the limiter that counts it (:func:`limiter_for`,
kept across requests). Shared by the middleware and ``@ratelimit``."""

from __future__ import annotations

import inspect
from typing import Any

from django.core.signals import setting_changed
from django.http import HttpRequest

from cache_bridge.ratelimit import AsyncRateLimiter, RateLimiter
from cache_bridge.ratelimit.exemptions import holds
from cache_bridge.ratelimit.request_keys import DENY, Deny, named_key
from cache_bridge.ratelimit.settings import MAX_LIMITERS, LimiterCache
from django_cache_bridge.access import get_bridge_cache
from django_cache_bridge.ratelimit_config import (
    SETTING,
    LimitSpec,
    RateLimitSettings,
    current_config,
)
from django_cache_bridge.ratelimit_exempt import load_user, peer

__all__ = ["client_ip", "limiter_for", "request_key", "request_key_async"]


def client_ip(request: HttpRequest, config: RateLimitSettings | None = None) -> str | None:
    """The client's rate-limit address: REMOTE_ADDR, or with ``TRUSTED_PROXIES`` the first
    untrusted hop of X-Forwarded-For from the right; IPv6 grouped by ``IPV6_PREFIX``;
    ``None`` when the request has no usable address."""
    config = config or current_config()
    return config.client_address.key(*peer(request))


def _user_id(user: Any) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


def _named_key(
    request: HttpRequest, key: str, user: Any, config: RateLimitSettings
) -> str | Deny | None:
    if key == "ip":  # the default, as named_key reads it, without building its callbacks
        address = config.client_address.limit_key(*peer(request))
        return DENY if address is None else f"ip:{address}"

    def header(name: str) -> str | None:
        # request.headers copies every header out of META: only for a "header:" key.
        return request.headers.get(name)

    return named_key(
        key,
        header=header,
        user_id=lambda: _user_id(user),
        # What an "ip" limit counts: the address, or UNKNOWN_CLIENT's answer without one.
        client_ip=lambda: config.client_address.limit_key(*peer(request)),
    )


_USER_KEYS = ("user", "user-or-ip")


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _user(request: HttpRequest, key: str) -> Any:
    """The request's user when ``key`` counts users."""
    return getattr(request, "user", None) if key in _USER_KEYS else None


async def _auser(request: HttpRequest, key: str) -> Any:
    """:func:`_user` from async code."""
    return await load_user(request) if key in _USER_KEYS else None


async def _awaited(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def request_key(
    request: HttpRequest, spec: LimitSpec, config: RateLimitSettings
) -> str | Deny | None:
    """What ``spec`` counts for this request; ``None``: the limit does not apply (an anonymous
    user for ``"user"``, a missing header, a callable that returned ``None``); ``DENY``: it
    refuses the request outright (no client address under ``UNKNOWN_CLIENT = "deny"``)."""
    if spec.exempt_when is not None and holds(spec.exempt_when, request):
        return None
    if callable(spec.key):
        return _text(spec.key(request))
    return _named_key(request, spec.key, _user(request, spec.key), config)


async def request_key_async(
    request: HttpRequest, spec: LimitSpec, config: RateLimitSettings
) -> str | Deny | None:
    """:func:`request_key` from async code (the user is loaded with ``auser``, a callable's
    awaitable answer awaited)."""
    if spec.exempt_when is not None and holds(spec.exempt_when, request):
        return None
    if callable(spec.key):
        return _text(await _awaited(spec.key(request)))
    return _named_key(request, spec.key, await _auser(request, spec.key), config)


def _limiter_options(spec: LimitSpec, config: RateLimitSettings) -> dict[str, Any]:
    return {
        "algorithm": spec.algorithm,
        "name": spec.name,
        "prefix": config.key_prefix,
        "fail_open": spec.fail_open,
        "failure_log": spec.failure_log,
        "fallback": config.fallback,
    }


#: Limiters already built, per limit, namespace prefix and shared adapter: building one per
#: request (a face, a parsed policy) cost more than the rest of the check.
_limiters: LimiterCache[tuple[Any, ...], RateLimiter | AsyncRateLimiter] = LimiterCache()
#: One face per adapter and namespace, shared by the limiters over it, so that a request's
#: limits on one alias are decided by one command (forgotten with the limiters).
_faces: dict[tuple[Any, ...], Any] = {}


#: The last limiter found per limit, prefix and face, with the adapters it counts on: found
#: without asking Django for the alias (``caches[alias]`` goes through a context-local
#: look-up on every call). Forgotten when CACHES or the setting changes; passed over once
#: its adapters are closed.
_recent: dict[tuple[Any, ...], tuple[Any, Any]] = {}


def _forget(*, setting: str, **kwargs: Any) -> None:
    if setting in ("CACHES", SETTING):
        _recent.clear()


setting_changed.connect(_forget)


def limiter_for(spec: LimitSpec, config: RateLimitSettings, blocking: bool) -> Any:
    recent_key = (spec, spec.failure_log, config.key_prefix, blocking)
    recent = _recent.get(recent_key)
    if recent is not None and not recent[0].sync.closed:
        return recent[1]
    bridge = get_bridge_cache(spec.cache)
    adapters = bridge.adapters()
    adapter = adapters.sync if blocking else adapters.async_
    # The adapter object is in the key: settings that change CACHES get new limiters.
    prefixes = (config.key_prefix, bridge.protocol_prefix)
    found = (spec, spec.failure_log, config.fallback, adapter, prefixes)
    limiter = _limiters.get(found)
    if limiter is None:
        if _limiters.full():
            _faces.clear()
        where = (adapter, bridge.protocol_prefix)
        face = _faces.get(where)
        if face is None:
            face = _faces[where] = adapter.with_prefix(bridge.protocol_prefix)
        make = RateLimiter if blocking else AsyncRateLimiter
        limiter = _limiters.put(found, make(face, spec.rate, **_limiter_options(spec, config)))
    if len(_recent) >= MAX_LIMITERS:
        _recent.clear()
    _recent[recent_key] = (adapters, limiter)
    return limiter
