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

Configuration (``app.config["CACHE_BRIDGE_RATELIMIT"]``, checked at ``init_app``)::

    CACHE_BRIDGE_RATELIMIT = {
        "DEFAULT_LIMITS": ["200/m"],        # for every route without @bridge.exempt
        "KEY": "ip",                        # "ip", "header:NAME", "user", "user-or-ip"
        "TRUSTED_PROXIES": ["10.0.0.0/8"],  # "unix" for a proxy on a Unix socket
        "UNKNOWN_CLIENT": "shared",         # requests without an address: one bucket, or "deny"
    }
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, Request, Response, current_app, g, request
from werkzeug.exceptions import ServiceUnavailable, TooManyRequests

from cache_bridge import ConfigurationError, SyncCacheProtocol
from cache_bridge.engine.limit_algorithms import ALGORITHMS
from cache_bridge.ratelimit import (
    ClientAddress,
    Decision,
    Rate,
    RateLimiter,
    hit_all,
    limit_log,
    parse_rate,
    rate_limit_headers,
    retry_after_seconds,
)
from cache_bridge.ratelimit.keys import DENY, Deny, named_key
from cache_bridge.resilience.outage_log import OutageLog

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
    "read_limit_settings",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The config key holding the rate-limit settings.
CONFIG_KEY = "CACHE_BRIDGE_RATELIMIT"
#: Where an app's checked rate-limit settings live in ``app.extensions``.
LIMITS_KEY = "cache_bridge_ratelimit"
_LIMITS_ATTR = "_cache_bridge_limits"
_EXEMPT_ATTR = "_cache_bridge_exempt"
_DECISIONS = "cache_bridge_ratelimit_decisions"

_DEFAULTS: dict[str, Any] = {
    "DEFAULT_LIMITS": (),
    "KEY": "ip",
    "ALGORITHM": "fixed-window",
    "FAIL_OPEN": True,
    "KEY_PREFIX": "ratelimit",
    "TRUSTED_PROXIES": (),
    "UNKNOWN_CLIENT": "shared",
    "IPV6_PREFIX": 64,
    "IPV4_PREFIX": 32,
    "HEADERS": True,
    "LEGACY_HEADERS": False,
    "USER_ID": None,
    "ENABLED": True,
}
_LIMIT_KEYS = ("RATE", "KEY", "METHODS", "ALGORITHM", "FAIL_OPEN", "NAME", "PER_ROUTE")
_NAMED_KEYS = ("ip", "user", "user-or-ip")

KeySpec = str | Callable[[], Any]


class RateLimitExceeded(TooManyRequests):
    """A request refused by a rate limit (429); ``decisions`` says which and until when."""

    description = "Too many requests: slow down and retry after the time in Retry-After."

    def __init__(self, decisions: list[Decision]) -> None:
        super().__init__(retry_after=retry_after_seconds(decisions))
        self.decisions = decisions


@dataclass(frozen=True)
class FlaskLimit:
    """One limit: a rate, what it counts, which methods, how it fails."""

    rate: Rate
    name: str | None = None
    key: KeySpec | None = None
    methods: frozenset[str] | None = None
    algorithm: str | None = None
    fail_open: bool | None = None
    per_route: bool = False
    failure_log: OutageLog = field(default_factory=lambda: limit_log("flask"), compare=False)
    #: The limiters built for this limit, by (name, algorithm, prefix, fail_open), each over
    #: the app's current cache: a request reuses one instead of building it again (they hold
    #: no per-request state).
    limiters: dict[tuple[Any, ...], RateLimiter] = field(
        default_factory=dict, compare=False, repr=False
    )


@dataclass(frozen=True)
class LimitSettings:
    """One app's checked rate-limit settings."""

    default_limits: tuple[FlaskLimit, ...] = ()
    key: KeySpec = "ip"
    algorithm: str = "fixed-window"
    fail_open: bool = True
    key_prefix: str = "ratelimit"
    client_address: ClientAddress = field(default_factory=ClientAddress)
    headers: bool = True
    legacy_headers: bool = False
    user_id: Callable[[], Any] | None = None
    enabled: bool = True


def _bad(name: str, expected: str, value: object) -> ConfigurationError:
    return ConfigurationError(f"{CONFIG_KEY}[{name!r}] must be {expected}, not {value!r}")


def _key_spec(where: str, key: object) -> KeySpec:
    if callable(key):
        return key
    if isinstance(key, str) and (
        key in _NAMED_KEYS or (key.startswith("header:") and len(key) > len("header:"))
    ):
        return key
    raise ConfigurationError(
        f"{where}: key {key!r} is not 'ip', 'user', 'user-or-ip', 'header:NAME' or a callable"
    )


def _methods(where: str, methods: object) -> frozenset[str] | None:
    if methods is None:
        return None
    if isinstance(methods, str):
        methods = [methods]
    if not isinstance(methods, Collection) or not all(isinstance(m, str) for m in methods):
        raise ConfigurationError(f"{where}: methods must be a list such as ['POST']")
    return frozenset(m.upper() for m in methods)


def _algorithm(where: str, algorithm: object) -> str | None:
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise ConfigurationError(
            f"{where}: algorithm {algorithm!r} is not one of {', '.join(ALGORITHMS)}"
        )
    return algorithm


def make_limit(
    where: str,
    rate: object,
    *,
    name: object = None,
    key: object = None,
    methods: object = None,
    algorithm: object = None,
    fail_open: object = None,
    per_route: object = False,
) -> FlaskLimit:
    """A checked :class:`FlaskLimit`; raises ``ConfigurationError`` naming ``where``."""
    try:
        parsed = parse_rate(rate)  # type: ignore[arg-type]
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None
    if fail_open is not None and not isinstance(fail_open, bool):
        raise ConfigurationError(f"{where}: fail_open must be True, False or None")
    if name is not None and (not isinstance(name, str) or not name):
        raise ConfigurationError(f"{where}: name must be a non-empty str")
    return FlaskLimit(
        parsed,
        name,
        None if key is None else _key_spec(where, key),
        _methods(where, methods),
        _algorithm(where, algorithm),
        fail_open,
        bool(per_route),
        limit_log(name or str(parsed)),
    )


def _default_limit(index: int, raw: object) -> FlaskLimit:
    where = f"{CONFIG_KEY}['DEFAULT_LIMITS'][{index}]"
    if isinstance(raw, str | Rate):
        return make_limit(where, raw, name=f"default{index}", per_route=True)
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{where} must be a rate such as '100/m' or a dict with 'RATE'")
    try:
        raw = {name: raw[name] for name in list(raw)}  # a plain copy: read once, checked below
    except Exception as exc:
        raise ConfigurationError(f"{where} could not be read as a dict ({exc!r})") from None
    for name in raw:
        if name not in _LIMIT_KEYS:
            close = difflib.get_close_matches(str(name), _LIMIT_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigurationError(f"{where}: unknown key {name!r}{hint}")
    if "RATE" not in raw:
        raise ConfigurationError(f"{where} has no RATE; add one such as 'RATE': '100/m'")
    return make_limit(
        where,
        raw["RATE"],
        name=raw.get("NAME", f"default{index}"),
        key=raw.get("KEY"),
        methods=raw.get("METHODS"),
        algorithm=raw.get("ALGORITHM"),
        fail_open=raw.get("FAIL_OPEN"),
        per_route=raw.get("PER_ROUTE", True),
    )


def read_limit_settings(config: Mapping[str, Any]) -> LimitSettings:
    """The checked ``CACHE_BRIDGE_RATELIMIT`` of an app's config; raises
    ``ConfigurationError``."""
    raw = config.get(CONFIG_KEY) or {}
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{CONFIG_KEY} must be a dict")
    for name in raw:
        if name not in _DEFAULTS:
            close = difflib.get_close_matches(str(name), list(_DEFAULTS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(
                f"unknown {CONFIG_KEY} key {name!r}.{hint} Known: {', '.join(_DEFAULTS)}."
            )
    values = {**_DEFAULTS, **raw}
    defaults = values["DEFAULT_LIMITS"]
    if isinstance(defaults, str):
        defaults = [defaults]
    if not isinstance(defaults, list | tuple):
        raise _bad("DEFAULT_LIMITS", "a list of rates", defaults)
    for flag in ("FAIL_OPEN", "HEADERS", "LEGACY_HEADERS", "ENABLED"):
        if not isinstance(values[flag], bool):
            raise _bad(flag, "True or False", values[flag])
    if not isinstance(values["KEY_PREFIX"], str) or not values["KEY_PREFIX"]:
        raise _bad("KEY_PREFIX", "a non-empty str", values["KEY_PREFIX"])
    if values["USER_ID"] is not None and not callable(values["USER_ID"]):
        raise _bad("USER_ID", "a callable returning the current user's id", values["USER_ID"])
    try:
        address = ClientAddress(
            tuple(values["TRUSTED_PROXIES"]),
            ipv6_prefix=values["IPV6_PREFIX"],
            ipv4_prefix=values["IPV4_PREFIX"],
            unknown_client=values["UNKNOWN_CLIENT"],
        )
    except (TypeError, ConfigurationError) as exc:
        raise ConfigurationError(f"{CONFIG_KEY}: {exc}") from None
    return LimitSettings(
        default_limits=tuple(_default_limit(i, r) for i, r in enumerate(defaults)),
        key=_key_spec(f"{CONFIG_KEY}['KEY']", values["KEY"]),
        algorithm=_algorithm(f"{CONFIG_KEY}['ALGORITHM']", values["ALGORITHM"]) or "",
        fail_open=values["FAIL_OPEN"],
        key_prefix=values["KEY_PREFIX"],
        client_address=address,
        headers=values["HEADERS"],
        legacy_headers=values["LEGACY_HEADERS"],
        user_id=values["USER_ID"],
        enabled=values["ENABLED"],
    )


# -- the decorators --------------------------------------------------------------------------


def limit(view: F, flask_limit: FlaskLimit) -> F:
    """Attach ``flask_limit`` to ``view`` (the same function is returned, so the decorator
    works above or below ``@app.route``)."""
    limits: list[FlaskLimit] = list(getattr(view, _LIMITS_ATTR, ()))
    limits.append(flask_limit)
    setattr(view, _LIMITS_ATTR, limits)
    return view


def exempt(view: F) -> F:
    """Exempt ``view`` from the default limits (its own ``@bridge.limit`` ones still apply)."""
    setattr(view, _EXEMPT_ATTR, True)
    return view


# -- the request hooks ---------------------------------------------------------------------------


def client_ip() -> str | None:
    """The current request's client key: REMOTE_ADDR, or with ``TRUSTED_PROXIES`` the first
    untrusted hop of X-Forwarded-For from the right; IPv6 grouped by ``IPV6_PREFIX``;
    ``None`` when the request has no usable address."""
    settings = _settings()
    return settings.client_address.key(*_peer(settings, request))


def _peer(settings: LimitSettings, req: Request) -> tuple[str | None, list[str]]:
    # X-Forwarded-For is read only when a proxy is trusted: otherwise it is never believed.
    trusted = settings.client_address.trusted_proxies
    return req.environ.get("REMOTE_ADDR"), req.headers.getlist("X-Forwarded-For") if trusted else []


def _client_ip(settings: LimitSettings, req: Request) -> str | None:
    """What an "ip" limit counts (``UNKNOWN_CLIENT`` applied); ``None``: refuse."""
    return settings.client_address.limit_key(*_peer(settings, req))


def _settings() -> LimitSettings:
    found = current_app.extensions.get(LIMITS_KEY)
    return found[0] if isinstance(found, tuple) else LimitSettings()


def _user_id(settings: LimitSettings) -> str | None:
    uid = settings.user_id() if settings.user_id is not None else g.get("user_id")
    return None if uid is None else str(uid)


def _request_key(req: Request, spec: KeySpec, settings: LimitSettings) -> str | Deny | None:
    if callable(spec):
        value = spec()
        return None if value is None else str(value)
    if spec == "ip":  # the default, as named_key reads it, without building its callbacks
        address = _client_ip(settings, req)
        return DENY if address is None else f"ip:{address}"
    return named_key(
        spec,
        header=req.headers.get,
        user_id=lambda: _user_id(settings),
        client_ip=lambda: _client_ip(settings, req),
    )


def _limits_for(view: Any, settings: LimitSettings) -> list[FlaskLimit]:
    own: list[FlaskLimit] = list(getattr(view, _LIMITS_ATTR, ()))
    if getattr(view, _EXEMPT_ATTR, False):
        return own
    return [*settings.default_limits, *own]


def _check(
    req: Request,
    endpoint: str,
    cache: SyncCacheProtocol,
    settings: LimitSettings,
    flask_limit: FlaskLimit,
) -> tuple[RateLimiter, str | Deny] | None:
    """The limiter and key ``flask_limit`` counts this request under (:data:`DENY`: refuse
    it without asking), or ``None`` when it does not apply."""
    if flask_limit.methods is not None and req.method not in flask_limit.methods:
        return None
    key = _request_key(req, flask_limit.key or settings.key, settings)
    if key is None:
        return None
    name = flask_limit.name or endpoint or "view"
    if flask_limit.per_route and isinstance(key, str):  # a default limit counts each route apart
        key = f"{endpoint}|{key}"
    return _limiter(cache, settings, flask_limit, name), key


def _decide(checks: list[tuple[RateLimiter, str | Deny]]) -> list[Decision]:
    """All of the request's limits at once, all or nothing: a refused request costs none. A
    limit that denies the request outright refuses it before any is counted."""
    denied = [limiter.policy.denied() for limiter, key in checks if key is DENY]
    if denied:
        return denied
    return hit_all([(limiter, key) for limiter, key in checks if isinstance(key, str)])


#: How many limiters one limit keeps before it forgets them (a bound, never reached by an app
#: with fewer routes).
_MAX_LIMITERS = 1024


def _limiter(
    cache: SyncCacheProtocol, settings: LimitSettings, flask_limit: FlaskLimit, name: str
) -> RateLimiter:
    algorithm = flask_limit.algorithm or settings.algorithm
    fail_open = settings.fail_open if flask_limit.fail_open is None else flask_limit.fail_open
    index = (name, algorithm, settings.key_prefix, fail_open)
    limiters = flask_limit.limiters
    limiter = limiters.get(index)
    if limiter is None or limiter.cache is not cache:  # the app's cache was replaced
        if len(limiters) >= _MAX_LIMITERS:
            limiters.clear()
        limiter = limiters[index] = RateLimiter(
            cache,
            flask_limit.rate,
            algorithm=algorithm,
            name=name,
            prefix=settings.key_prefix,
            fail_open=fail_open,
            failure_log=flask_limit.failure_log,
        )
    return limiter


def _before_request() -> None:
    # The request and the app behind their proxies, looked up once per request.
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(LIMITS_KEY)
    endpoint = req.endpoint
    if not isinstance(found, tuple) or endpoint is None:
        return
    settings, cache_of = found
    if not settings.enabled:
        return
    view = app.view_functions.get(endpoint)
    if view is None:
        return
    limits = _limits_for(view, settings)
    if not limits:
        return
    cache = cache_of()
    checks = [
        check
        for flask_limit in limits
        if (check := _check(req, endpoint, cache, settings, flask_limit)) is not None
    ]
    decisions = _decide(checks) if checks else []
    setattr(g, _DECISIONS, decisions)
    refused = [d for d in decisions if not d.allowed]
    if not refused:
        return
    if all(d.failed for d in refused):
        raise ServiceUnavailable("rate limit unavailable", retry_after=1)
    raise RateLimitExceeded(decisions)


def _after_request(response: Response) -> Response:
    decisions: list[Decision] | None = g.get(_DECISIONS)
    if not decisions:
        return response
    settings = _settings()
    refused = response.status_code == 429
    if refused or settings.headers:
        headers = response.headers
        # What the view set stays (setdefault's rule), found in one pass over the headers.
        present = {name.lower() for name, _ in headers}
        for name, value in rate_limit_headers(decisions, legacy=settings.legacy_headers).items():
            if name.lower() not in present:
                headers.add(name, value)
        if refused and "retry-after" not in present:
            headers.add("Retry-After", str(retry_after_seconds(decisions)))
    return response


def install_limits(app: Flask, cache_of: Callable[[], SyncCacheProtocol]) -> LimitSettings:
    """Check the app's rate-limit config and add the hooks; ``cache_of()`` gives the app's
    blocking cache. Raises ``ConfigurationError`` for a mistake in the config."""
    settings = read_limit_settings(app.config)
    app.extensions[LIMITS_KEY] = (settings, cache_of)
    app.before_request(_before_request)
    app.after_request(_after_request)
    return settings


def decisions() -> list[Decision]:
    """The decisions taken for the current request (empty when no limit applied)."""
    return list(g.get(_DECISIONS) or [])
