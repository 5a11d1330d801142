"""Rate limiting for Django views: the ``@ratelimit(...)`` decorator and what the middleware
(:mod:`django_cache_bridge.middleware`) shares with it (keys, checks, responses, headers).

A limited request gets 429 with ``Retry-After`` and the ``RateLimit-Policy`` / ``RateLimit``
headers; a limit that fails closed while its cache is down gives 503. Allowed responses carry
the headers too unless ``HEADERS`` is ``False``. See docs/ratelimit.md.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.loader import render_to_string

from cache_bridge.errors import ConfigurationError
from cache_bridge.ratelimit import (
    AsyncRateLimiter,
    Decision,
    RateLimiter,
    parse_rate,
    rate_limit_headers,
    retry_after_seconds,
)
from cache_bridge.ratelimit.keys import named_key
from django_cache_bridge.access import get_bridge_cache
from django_cache_bridge.ratelimit_config import (
    LimitSpec,
    RateLimitConfig,
    current_config,
    make_spec,
)

__all__ = [
    "add_headers",
    "check",
    "check_async",
    "client_ip",
    "denial",
    "ratelimit",
    "request_decisions",
    "request_key",
    "request_key_async",
]

V = TypeVar("V", bound=Callable[..., Any])
_DECISIONS = "ratelimit_decisions"


def client_ip(request: HttpRequest, config: RateLimitConfig | None = None) -> str | None:
    """The client's rate-limit address: REMOTE_ADDR, or with ``TRUSTED_PROXIES`` the first
    untrusted hop of X-Forwarded-For from the right; IPv6 grouped by ``IPV6_PREFIX``."""
    config = config or current_config()
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    return config.client_address.key(
        request.META.get("REMOTE_ADDR"), [forwarded] if forwarded else []
    )


def _user_id(user: Any) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


def _named_key(request: HttpRequest, key: str, user: Any, config: RateLimitConfig) -> str | None:
    def header(name: str) -> str | None:
        # request.headers copies every header out of META: only for a "header:" key.
        return request.headers.get(name)

    return named_key(
        key,
        header=header,
        user_id=lambda: _user_id(user),
        client_ip=lambda: client_ip(request, config),
    )


def request_key(request: HttpRequest, spec: LimitSpec, config: RateLimitConfig) -> str | None:
    """What ``spec`` counts for this request; ``None``: the limit does not apply (an anonymous
    user for ``"user"``, a missing header, a callable that returned ``None``)."""
    if callable(spec.key):
        value = spec.key(request)
        return None if value is None else str(value)
    user = getattr(request, "user", None) if spec.key in ("user", "user-or-ip") else None
    return _named_key(request, spec.key, user, config)


async def request_key_async(
    request: HttpRequest, spec: LimitSpec, config: RateLimitConfig
) -> str | None:
    """:func:`request_key` from async code (the user is loaded with ``auser``)."""
    if callable(spec.key):
        value = spec.key(request)
        if inspect.isawaitable(value):
            value = await value
        return None if value is None else str(value)
    user = None
    if spec.key in ("user", "user-or-ip"):
        auser = getattr(request, "auser", None)
        if auser is not None:
            user = await auser()
        elif hasattr(request, "user"):  # Django 4.2: no auser
            user = await sync_to_async(lambda: request.user)()
    return _named_key(request, spec.key, user, config)


def _limiter_options(spec: LimitSpec, config: RateLimitConfig) -> dict[str, Any]:
    return {
        "algorithm": spec.algorithm,
        "name": spec.name,
        "prefix": config.key_prefix,
        "fail_open": spec.fail_open,
        "failure_log": spec.failure_log,
    }


#: Limiters already built, per limit, namespace prefix and shared adapter: building one per
#: request (a face, a parsed policy) cost more than the rest of the check.
_limiters: dict[tuple[Any, ...], RateLimiter | AsyncRateLimiter] = {}
_MAX_LIMITERS = 1024


def _limiter(spec: LimitSpec, config: RateLimitConfig, blocking: bool) -> Any:
    bridge = get_bridge_cache(spec.cache)
    adapters = bridge._adapters()
    adapter = adapters.sync if blocking else adapters.async_
    # The adapter object is in the key: settings that change CACHES get new limiters.
    found = (spec, spec.failure_log, config.key_prefix, adapter, bridge.protocol_prefix)
    limiter = _limiters.get(found)
    if limiter is None:
        if len(_limiters) >= _MAX_LIMITERS:
            _limiters.clear()
        face = adapter.with_prefix(bridge.protocol_prefix)
        make = RateLimiter if blocking else AsyncRateLimiter
        limiter = _limiters[found] = make(face, spec.rate, **_limiter_options(spec, config))
    return limiter


def check(request: HttpRequest, spec: LimitSpec, config: RateLimitConfig) -> Decision | None:
    """Count this request against ``spec`` (blocking); ``None`` if the limit does not apply."""
    key = request_key(request, spec, config)
    if key is None:
        return None
    limiter: RateLimiter = _limiter(spec, config, blocking=True)
    decision = limiter.hit(key)
    _remember(request, decision)
    return decision


async def check_async(
    request: HttpRequest, spec: LimitSpec, config: RateLimitConfig
) -> Decision | None:
    """:func:`check` on the alias's async adapter."""
    key = await request_key_async(request, spec, config)
    if key is None:
        return None
    limiter: AsyncRateLimiter = _limiter(spec, config, blocking=False)
    decision = await limiter.hit(key)
    _remember(request, decision)
    return decision


def _remember(request: HttpRequest, decision: Decision) -> None:
    # Views and templates can read every decision taken for the request.
    found: list[Decision] | None = getattr(request, _DECISIONS, None)
    if found is None:
        found = []
        setattr(request, _DECISIONS, found)
    found.append(decision)


def denial(
    request: HttpRequest, decisions: Sequence[Decision], config: RateLimitConfig
) -> HttpResponseBase | None:
    """The response refusing the request (429, or 503 for a limit that failed closed), or
    ``None`` if every decision allowed it. Awaitable when the custom VIEW is async."""
    refused = [d for d in decisions if not d.allowed]
    if not refused:
        return None
    if all(d.failed for d in refused):
        response: Any = HttpResponse(
            "Service Unavailable: rate limit unavailable\n", status=503, content_type="text/plain"
        )
        response["Retry-After"] = "1"
        return response  # type: ignore[no-any-return]
    if config.view is not None:
        response = config.view(request, list(decisions))
        if inspect.isawaitable(response):
            return _finish_async(response, decisions, config)  # type: ignore[return-value]
    elif config.template is not None:
        body = render_to_string(
            config.template,
            {"decisions": decisions, "retry_after": retry_after_seconds(decisions)},
            request,
        )
        response = HttpResponse(body, status=429)
    else:
        response = HttpResponse("Too Many Requests\n", status=429, content_type="text/plain")
    return _with_denial_headers(response, decisions, config)


async def _finish_async(
    pending: Any, decisions: Sequence[Decision], config: RateLimitConfig
) -> HttpResponseBase:
    return _with_denial_headers(await pending, decisions, config)


def _with_denial_headers(
    response: HttpResponseBase, decisions: Sequence[Decision], config: RateLimitConfig
) -> HttpResponseBase:
    if "Retry-After" not in response:
        response["Retry-After"] = str(retry_after_seconds(decisions))
    for name, value in rate_limit_headers(decisions, legacy=config.legacy_headers).items():
        response.headers.setdefault(name, value)
    return response


def add_headers(
    response: HttpResponseBase,
    decisions: Sequence[Decision],
    config: RateLimitConfig,
    enabled: bool | None = None,
    *,
    replace: bool = False,
) -> HttpResponseBase:
    """Put the RateLimit headers of ``decisions`` on an allowed response (unless disabled by
    ``HEADERS`` or ``enabled``); headers already set win unless ``replace``."""
    if enabled if enabled is not None else config.headers:
        for name, value in rate_limit_headers(decisions, legacy=config.legacy_headers).items():
            if replace:
                response.headers[name] = value
            else:
                response.headers.setdefault(name, value)
    return response


def request_decisions(request: HttpRequest) -> list[Decision]:
    """Every decision taken for ``request`` so far (middleware rules and decorators)."""
    return list(getattr(request, _DECISIONS, None) or [])


def _applies(request: HttpRequest, methods: frozenset[str] | None) -> bool:
    return methods is None or (request.method or "GET").upper() in methods


def ratelimit(
    rate: str,
    *,
    key: Any = None,
    methods: Sequence[str] | None = None,
    algorithm: str | None = None,
    cache: str | None = None,
    fail_open: bool | None = None,
    name: str | None = None,
    headers: bool | None = None,
    block: bool = True,
) -> Callable[[V], V]:
    """Limit a view: a function view (sync or async) or a class-based view (decorate the
    class; its ``dispatch`` is wrapped, sync or async as the view is).

    ``key``: ``"ip"`` (default from the setting's ``KEY``), ``"user"``, ``"user-or-ip"``,
    ``"header:NAME"`` or a callable ``(request) -> str | None``. ``methods``: only these HTTP
    methods are counted. ``algorithm``, ``cache`` (alias), ``fail_open``: default from
    ``CACHE_BRIDGE_RATELIMIT``. ``name`` (default: the view's dotted name) identifies the
    counters and the header policy. ``headers``: RateLimit headers on allowed responses
    (default: the setting's ``HEADERS``). With ``block=False`` nothing is refused; the view
    reads ``request.ratelimit_decisions``.
    """
    allowed_methods = None if methods is None else frozenset(m.upper() for m in methods)

    def decorate(view: V) -> V:
        label = name or f"{view.__module__}.{view.__qualname__}"
        try:  # the rate reads no setting: a bad one fails at import, not at the first request
            parse_rate(rate)
        except ConfigurationError as exc:
            raise ImproperlyConfigured(f"@ratelimit on {label}: {exc}") from exc
        built: list[tuple[RateLimitConfig, LimitSpec]] = []

        def spec_for(config: RateLimitConfig) -> LimitSpec:
            # Built on first use (settings are not read at import) and again after they change.
            if built and built[0][0] is config:
                return built[0][1]
            spec = make_spec(
                f"@ratelimit on {label}",
                name=label,
                rate=rate,
                algorithm=algorithm or config.algorithm,
                key=config.key if key is None else key,
                cache=cache or config.cache,
                fail_open=config.fail_open if fail_open is None else fail_open,
            )
            built[:] = [(config, spec)]
            return spec

        def before(request: HttpRequest) -> tuple[HttpResponseBase | None, list[Decision]]:
            config = current_config()
            if not _applies(request, allowed_methods):
                return None, []
            decision = check(request, spec_for(config), config)
            decisions = [] if decision is None else [decision]
            return (denial(request, decisions, config) if block else None), decisions

        async def abefore(request: HttpRequest) -> tuple[Any, list[Decision]]:
            config = current_config()
            if not _applies(request, allowed_methods):
                return None, []
            decision = await check_async(request, spec_for(config), config)
            decisions = [] if decision is None else [decision]
            refused: Any = denial(request, decisions, config) if block else None
            if inspect.isawaitable(refused):
                refused = await refused
            return refused, decisions

        def after(response: Any, decisions: list[Decision]) -> Any:
            return add_headers(response, decisions, current_config(), headers)

        if isinstance(view, type):
            return _decorate_class(view, before, abefore, after)  # type: ignore[return-value]
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                refused, decisions = await abefore(request)
                if refused is not None:
                    return refused
                return after(await view(request, *args, **kwargs), decisions)

            return markcoroutinefunction(async_view)  # type: ignore[return-value]

        @functools.wraps(view)
        def sync_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refused, decisions = before(request)
            if refused is not None:
                return refused
            return after(view(request, *args, **kwargs), decisions)

        return sync_view  # type: ignore[return-value]

    return decorate


def _decorate_class(
    cls: type[Any],
    before: Callable[[HttpRequest], tuple[Any, list[Decision]]],
    abefore: Callable[[HttpRequest], Any],
    after: Callable[[Any, list[Decision]], Any],
) -> type[Any]:
    original = cls.dispatch
    if getattr(cls, "view_is_async", False):

        async def async_dispatch(self: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refused, decisions = await abefore(request)
            if refused is not None:
                return refused
            return after(await original(self, request, *args, **kwargs), decisions)

        cls.dispatch = functools.wraps(original)(async_dispatch)
        return cls

    def dispatch(self: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        refused, decisions = before(request)
        if refused is not None:
            return refused
        return after(original(self, request, *args, **kwargs), decisions)

    cls.dispatch = functools.wraps(original)(dispatch)
    return cls
