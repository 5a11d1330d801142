"""Rate limiting for Flask: ``@bridge.limit(...)``, default limits from config,
``@bridge.exempt``, 429 through Flask's error handling.

Limits are checked in a ``before_request`` hook with the app's blocking cache (also for
``async def`` views: Flask runs those inside the request's thread). Every limit that applies
to a request, defaults and route limits alike, is decided by one atomic command, all or
nothing: a request refused by any limit costs no limit. A refused request raises
:class:`RateLimitExceeded` (a werkzeug ``TooManyRequests``, so ``@app.errorhandler(429)``
customises the response); a limit that fails closed while the cache is down raises
``ServiceUnavailable`` (503). An ``after_request`` hook puts the RateLimit headers on the
response (always on 429, on others unless ``HEADERS`` is ``False``).

Configuration: ``app.config["CACHE_BRIDGE_RATELIMIT"]``, checked at ``init_app``
(:mod:`flask_cache_bridge.limit_settings`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Flask, Request, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, ServiceUnavailable, TooManyRequests

from cache_bridge import SyncCacheProtocol
from cache_bridge.ratelimit import (
    Decision,
    hit_all,
    retry_after_seconds,
)
from cache_bridge.ratelimit.deduct import Deferred, deductions, request_cost
from cache_bridge.ratelimit.exemptions import holds
from cache_bridge.ratelimit.headers import DEFAULT_HEADERS, HeaderSettings, response_headers
from cache_bridge.ratelimit.request_keys import UNAVAILABLE, Deny
from flask_cache_bridge.limit_keys import peer, request_key
from flask_cache_bridge.limit_settings import (
    CONFIG_KEY,
    FlaskLimit,
    LimitSettings,
    make_limit,
    read_limit_settings,
)
from flask_cache_bridge.limiters import limiter_of, limiters_of

__all__ = [
    "CONFIG_KEY",
    "LIMITS_KEY",
    "LimitSettings",
    "RateLimitExceeded",
    "client_ip",
    "decisions",
    "exempt",
    "install_limits",
    "limit",
    "make_limit",
    "read_limit_settings",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Where an app's checked rate-limit settings live in ``app.extensions``.
LIMITS_KEY = "cache_bridge_ratelimit"
_LIMITS_ATTR = "_cache_bridge_limits"
_EXEMPT_ATTR = "_cache_bridge_exempt"
_DECISIONS = "cache_bridge_ratelimit_decisions"
_DEFERRED = "cache_bridge_ratelimit_deferred"


class _NamedRetryAfter(HTTPException):
    """werkzeug's ``Retry-After`` (always that name, in seconds) as ``header_settings`` say."""

    header_settings: HeaderSettings = DEFAULT_HEADERS
    retry_after: Any

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        found = super().get_headers(*args, **kwargs)
        if self.header_settings is DEFAULT_HEADERS or not self.retry_after:
            return found
        field = self.header_settings.retry_after_field(self.retry_after)
        return [*(pair for pair in found if pair[0] != "Retry-After"), field]


class RateLimitExceeded(_NamedRetryAfter, TooManyRequests):
    """A request refused by a rate limit (429); ``decisions`` says which and until when."""

    description = "Too many requests: slow down and retry after the time in Retry-After."

    def __init__(
        self, decisions: list[Decision], header_settings: HeaderSettings = DEFAULT_HEADERS
    ) -> None:
        super().__init__(retry_after=retry_after_seconds(decisions))
        self.decisions = decisions
        self.header_settings = header_settings


class _Unavailable(_NamedRetryAfter, ServiceUnavailable):
    """503: a limit that fails closed could not ask its cache."""


# -- the decorators --------------------------------------------------------------------------


def limit(view: F, flask_limit: FlaskLimit) -> F:
    """Attach ``flask_limit`` to ``view`` (the same function is returned, so the decorator
    works above or below ``@app.route``), or to a blueprint: then every route of the
    blueprint and of the blueprints nested in it counts into one counter named after the
    blueprint (unless the limit has a name or scope)."""
    if isinstance(view, Blueprint) and flask_limit.name is None and flask_limit.scope is None:
        flask_limit = dataclasses.replace(flask_limit, name=view.name)
    limits: list[FlaskLimit] = list(getattr(view, _LIMITS_ATTR, ()))
    limits.append(flask_limit)
    setattr(view, _LIMITS_ATTR, limits)
    return view


def exempt(view: F) -> F:
    """Exempt ``view`` (or every route of a blueprint) from the default and application limits
    (its own ``@bridge.limit`` ones, and its blueprints', still apply)."""
    setattr(view, _EXEMPT_ATTR, True)
    return view


# -- the request hooks ---------------------------------------------------------------------------


def client_ip() -> str | None:
    """The current request's client key: REMOTE_ADDR, or with ``TRUSTED_PROXIES`` the first
    untrusted hop of X-Forwarded-For from the right; IPv6 grouped by ``IPV6_PREFIX``;
    ``None`` when the request has no usable address."""
    settings = _settings()
    return settings.client_address.key(*peer(settings, request))


def _settings() -> LimitSettings:
    found = current_app.extensions.get(LIMITS_KEY)
    return found[0] if isinstance(found, tuple) else LimitSettings()


def _limits_for(app: Flask, req: Request, view: Any, settings: LimitSettings) -> list[FlaskLimit]:
    """The request's limits: application, default (unless exempt or overridden), its
    blueprints' (outermost first) and the view's own."""
    own: list[FlaskLimit] = list(getattr(view, _LIMITS_ATTR, ()))
    exempt = getattr(view, _EXEMPT_ATTR, False)
    names = req.blueprints if app.blueprints else None
    if names:
        found = [app.blueprints[n] for n in reversed(names) if n in app.blueprints]
        own = [lim for bp in found for lim in getattr(bp, _LIMITS_ATTR, ())] + own
        exempt = exempt or any(getattr(bp, _EXEMPT_ATTR, False) for bp in found)
    if exempt:
        return own
    if own and settings.default_limits and _overridden(own, req.method, settings.override_defaults):
        return [*settings.application_limits, *own]
    return [*settings.application_limits, *settings.default_limits, *own]


def _overridden(limits: list[FlaskLimit], method: str, default: bool) -> bool:
    """Whether a limit that applies to ``method`` replaces the default limits (flask-limiter's
    ``override_defaults``): the defaults come back when every such limit is method-exempt."""
    return any(
        (default if lim.override_defaults is None else lim.override_defaults)
        and (lim.methods is None or method in lim.methods)
        for lim in limits
    )


def _check(
    req: Request,
    endpoint: str,
    cache: SyncCacheProtocol,
    settings: LimitSettings,
    flask_limit: FlaskLimit,
    *,
    read: dict[str, Any],
) -> list[Any]:
    """The limiters and key ``flask_limit`` counts this request under (:data:`DENY`: refuse
    it without asking), one per rate; none when it does not apply (``read``: the named keys
    read so far for this request)."""
    if flask_limit.methods is not None and req.method not in flask_limit.methods:
        return []
    if flask_limit.exempt_when is not None and holds(flask_limit.exempt_when):
        return []
    key = request_key(req, flask_limit.key or settings.key, settings, read)
    if key is None:
        return []
    scope = flask_limit.scope
    name = (str(scope(endpoint)) if scope else flask_limit.name) or endpoint or "view"
    if isinstance(key, str):
        if flask_limit.per_route:  # a default limit counts each route apart
            key = f"{endpoint}|{key}"
        if flask_limit.per_method:
            key = f"{req.method}|{key}"
    rates = flask_limit.rates
    if flask_limit.dynamic is not None:
        found = flask_limit.dynamic.rates(fail_open=settings.dynamic_fail_open)
        if found is None:  # its callable failed, and dynamic limits fail closed
            return [(limiter_of(cache, settings, flask_limit, name, rates[0]), UNAVAILABLE)]
        rates = found
    limiters = limiters_of(cache, settings, flask_limit, name, rates)
    if flask_limit.cost == 1 and flask_limit.deduct_when is None:
        return [(limiter, key) for limiter in limiters]
    cost = request_cost(flask_limit.cost)
    mode = "hit" if flask_limit.deduct_when is None else "peek"
    return [(limiter, key, cost, mode) for limiter in limiters]


def _decide(checks: list[Any]) -> list[Decision]:
    """All of the request's limits at once, all or nothing: a refused request costs none. A
    limit that denies the request outright refuses it before any is counted."""
    denied = [check[0].policy.refusal(check[1]) for check in checks if type(check[1]) is Deny]
    if denied:
        return denied
    return hit_all([check for check in checks if isinstance(check[1], str)])


def _exempt(req: Request, endpoint: str, settings: LimitSettings) -> bool:
    """Whether no limit counts this request: a static file (``EXEMPT_STATIC``), an ``EXEMPT``
    client address (after trusted proxies), or ``EXEMPT_WHEN()``."""
    if settings.exempt_static and (endpoint == "static" or endpoint.endswith(".static")):
        return True
    exempt = settings.exempt
    if exempt.networks and exempt.covers(settings.client_address.client(*peer(settings, req))):
        return True
    return settings.exempt_when is not None and holds(settings.exempt_when)


def _before_request() -> None:
    # The request and the app behind their proxies, looked up once per request.
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(LIMITS_KEY)
    endpoint = req.endpoint
    if not isinstance(found, tuple):
        return
    settings, cache_of, first = found
    if first is not None:
        first()
    if endpoint is None or not settings.enabled or _exempt(req, endpoint, settings):
        return
    view = app.view_functions.get(endpoint)
    if view is None:
        return
    limits = _limits_for(app, req, view, settings)
    if not limits:
        return
    cache = cache_of()
    checks: list[Any] = []
    deferred: list[Deferred] = []
    read: dict[str, Any] = {}
    for flask_limit in limits:
        found = _check(req, endpoint, cache, settings, flask_limit, read=read)
        checks += found
        if flask_limit.deduct_when is not None:
            deferred += [
                Deferred(c[0], c[1], c[2], flask_limit.deduct_when)
                for c in found
                if isinstance(c[1], str)
            ]
    decisions = _decide(checks) if checks else []
    store = g._get_current_object()
    store.__dict__[_DECISIONS] = (decisions, settings)  # and the settings, for after_request
    refused = [d for d in decisions if not d.allowed]
    if not refused:
        if deferred:
            store.__dict__[_DEFERRED] = deferred
        return
    if all(d.failed for d in refused):
        unavailable = _Unavailable("rate limit unavailable", retry_after=1)
        unavailable.header_settings = settings.header_settings
        raise unavailable
    raise RateLimitExceeded(decisions, settings.header_settings)


def _after_request(response: Response) -> Response:
    store = g._get_current_object()  # the proxy resolved once
    kept: tuple[list[Decision], LimitSettings] | None = store.get(_DECISIONS)
    if not kept or not kept[0]:
        return response
    decisions, settings = kept
    deferred = store.pop(_DEFERRED, None)
    if deferred:  # the deduct_when limits, counted only when they match the response
        checks = deductions(deferred, response)
        if checks:
            hit_all(checks)
    refused = response.status_code == 429
    if refused or settings.headers:
        headers = response.headers
        # What the view set stays (setdefault's rule), found in one pass over the headers.
        present = {name.lower() for name, _ in headers}
        named, legacy = settings.header_settings, settings.legacy_headers
        found = response_headers(decisions, legacy=legacy, settings=named, refused=refused)
        for name, value in found.items():
            if name.lower() not in present:
                headers.add(name, value)
    return response


def install_limits(
    app: Flask,
    cache_of: Callable[[], SyncCacheProtocol],
    first: Callable[[], None] | None = None,
) -> LimitSettings:
    """Check the app's rate-limit config and add the hooks (``cache_of()``: the app's cache;
    ``first()``: run first in every request, saving a hook). Raises ``ConfigurationError``."""
    settings = read_limit_settings(app.config)
    app.extensions[LIMITS_KEY] = (settings, cache_of, first)
    app.before_request(_before_request)
    app.after_request(_after_request)
    return settings


def decisions() -> list[Decision]:
    """The decisions taken for the current request (empty when no limit applied)."""
    found = g.get(_DECISIONS)
    return list(found[0]) if found else []
