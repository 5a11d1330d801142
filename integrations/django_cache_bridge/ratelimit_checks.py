"""What the Django middleware and the ``@ratelimit`` decorator share: request keys, the
limiters over each alias, deciding a layer's limits together, refusals and headers.

The rule, as in Flask: **a refused request costs no limit**. The limits one layer applies
(the middleware's rules, or a view's stacked decorators) are one group, decided all or
nothing by one command per alias; a layer that refuses takes back what the layers before it
counted for the request.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.loader import render_to_string

from cache_bridge.ratelimit import (
    AsyncRateLimiter,
    Decision,
    RateLimiter,
    ahit_all,
    arefund,
    hit_all,
    rate_limit_headers,
    refund,
    retry_after_seconds,
)
from cache_bridge.ratelimit.request_keys import DENY, Deny, named_key
from cache_bridge.ratelimit.settings import LimiterCache
from django_cache_bridge.access import get_bridge_cache
from django_cache_bridge.ratelimit_config import LimitSpec, RateLimitSettings, current_config

__all__ = [
    "acheck_all",
    "add_headers",
    "adenial",
    "check",
    "check_all",
    "check_async",
    "client_ip",
    "denial",
    "request_decisions",
    "request_key",
    "request_key_async",
]

_DECISIONS = "ratelimit_decisions"
#: What the request's earlier layers counted: taken back if a later layer refuses it.
_COUNTED = "_cache_bridge_ratelimit_counted"


def client_ip(request: HttpRequest, config: RateLimitSettings | None = None) -> str | None:
    """The client's rate-limit address: REMOTE_ADDR, or with ``TRUSTED_PROXIES`` the first
    untrusted hop of X-Forwarded-For from the right; IPv6 grouped by ``IPV6_PREFIX``;
    ``None`` when the request has no usable address."""
    config = config or current_config()
    return config.client_address.key(*_peer(request))


def _peer(request: HttpRequest) -> tuple[str | None, list[str]]:
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    return request.META.get("REMOTE_ADDR"), [forwarded] if forwarded else []


def _user_id(user: Any) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


def _named_key(
    request: HttpRequest, key: str, user: Any, config: RateLimitSettings
) -> str | Deny | None:
    def header(name: str) -> str | None:
        # request.headers copies every header out of META: only for a "header:" key.
        return request.headers.get(name)

    return named_key(
        key,
        header=header,
        user_id=lambda: _user_id(user),
        # What an "ip" limit counts: the address, or UNKNOWN_CLIENT's answer without one.
        client_ip=lambda: config.client_address.limit_key(*_peer(request)),
    )


def request_key(
    request: HttpRequest, spec: LimitSpec, config: RateLimitSettings
) -> str | Deny | None:
    """What ``spec`` counts for this request; ``None``: the limit does not apply (an anonymous
    user for ``"user"``, a missing header, a callable that returned ``None``); ``DENY``: it
    refuses the request outright (no client address under ``UNKNOWN_CLIENT = "deny"``)."""
    if callable(spec.key):
        value = spec.key(request)
        return None if value is None else str(value)
    user = getattr(request, "user", None) if spec.key in ("user", "user-or-ip") else None
    return _named_key(request, spec.key, user, config)


async def request_key_async(
    request: HttpRequest, spec: LimitSpec, config: RateLimitSettings
) -> str | Deny | None:
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


def _limiter_options(spec: LimitSpec, config: RateLimitSettings) -> dict[str, Any]:
    return {
        "algorithm": spec.algorithm,
        "name": spec.name,
        "prefix": config.key_prefix,
        "fail_open": spec.fail_open,
        "failure_log": spec.failure_log,
    }


#: Limiters already built, per limit, namespace prefix and shared adapter: building one per
#: request (a face, a parsed policy) cost more than the rest of the check.
_limiters: LimiterCache[tuple[Any, ...], RateLimiter | AsyncRateLimiter] = LimiterCache()
#: One face per adapter and namespace, shared by the limiters over it, so that a request's
#: limits on one alias are decided by one command (forgotten with the limiters).
_faces: dict[tuple[Any, ...], Any] = {}


def _limiter(spec: LimitSpec, config: RateLimitSettings, blocking: bool) -> Any:
    bridge = get_bridge_cache(spec.cache)
    adapters = bridge.adapters()
    adapter = adapters.sync if blocking else adapters.async_
    # The adapter object is in the key: settings that change CACHES get new limiters.
    found = (spec, spec.failure_log, config.key_prefix, adapter, bridge.protocol_prefix)
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
    return limiter


# -- deciding a layer's limits together ------------------------------------------------------


def _record(
    request: HttpRequest,
    specs: Sequence[LimitSpec],
    decisions: list[Decision | None],
    *,
    block: bool,
    config: RateLimitSettings,
    blocking: bool,
) -> list[tuple[Any, Decision]]:
    """Remember the decisions; when they refuse the request (and ``block``), give what the
    earlier layers counted, with the limiters to take it back on (``blocking`` or async),
    else nothing (and their own counts join the request's)."""
    state = request.__dict__  # getattr would raise (and catch) for every new request
    remembered: list[Decision] | None = state.get(_DECISIONS)
    if remembered is None:  # views and templates read every decision taken for the request
        state[_DECISIONS] = remembered = []
    remembered += [d for d in decisions if d is not None]
    # The layers' decisions as they came, sorted out only when a later layer refuses.
    layers: list[tuple[Sequence[LimitSpec], list[Decision | None]]] | None = state.get(_COUNTED)
    if block and any(d is not None and not d.allowed for d in decisions):
        state[_COUNTED] = []
        return [
            (_limiter(spec, config, blocking), d)
            for specs_then, decided in layers or ()
            for spec, d in zip(specs_then, decided, strict=True)
            if d is not None and d.receipt is not None
        ]
    if layers is None:
        state[_COUNTED] = [(specs, decisions)]
    else:
        layers.append((specs, decisions))
    return []


Key = str | Deny | None


def _plan(
    specs: Sequence[LimitSpec], keys: Sequence[Key], config: RateLimitSettings, blocking: bool
) -> tuple[list[tuple[Any, str]], list[Decision | None] | None]:
    """The checks to run; or, when a limit refuses the request outright (``DENY``), the
    decisions to give instead: its refusal, nothing asked or counted."""
    if len(keys) == 1 and isinstance(keys[0], str):  # the usual case, without the joins
        return [(_limiter(specs[0], config, blocking), keys[0])], None
    pairs = list(zip(specs, keys, strict=True))
    if any(key is DENY for key in keys):
        return [], [
            _limiter(s, config, blocking).policy.denied() if k is DENY else None for s, k in pairs
        ]
    return [(_limiter(s, config, blocking), k) for s, k in pairs if isinstance(k, str)], None


def _aligned(keys: Sequence[Key], decided: list[Decision]) -> list[Decision | None]:
    """One entry per limit: its decision, or ``None`` where its key said it does not apply."""
    if len(decided) == len(keys):
        return list(decided)
    found = iter(decided)
    return [None if key is None else next(found) for key in keys]


def check_all(
    request: HttpRequest, specs: Sequence[LimitSpec], config: RateLimitSettings, block: bool = True
) -> list[Decision | None]:
    """Count this request against every limit of ``specs`` (blocking), all or nothing; one
    entry per limit, ``None`` where it does not apply. When they refuse the request (and
    ``block``), what earlier layers counted for it is taken back."""
    keys = [request_key(request, spec, config) for spec in specs]
    checks, denied = _plan(specs, keys, config, True)
    decisions = denied or _aligned(keys, hit_all(checks))
    refund(_record(request, specs, decisions, block=block, config=config, blocking=True))
    return decisions


async def acheck_all(
    request: HttpRequest, specs: Sequence[LimitSpec], config: RateLimitSettings, block: bool = True
) -> list[Decision | None]:
    """:func:`check_all` on the aliases' async adapters."""
    keys = [await request_key_async(request, spec, config) for spec in specs]
    checks, denied = _plan(specs, keys, config, False)
    decisions = denied or _aligned(keys, await ahit_all(checks))
    await arefund(_record(request, specs, decisions, block=block, config=config, blocking=False))
    return decisions


def check(request: HttpRequest, spec: LimitSpec, config: RateLimitSettings) -> Decision | None:
    """Count this request against ``spec`` (blocking); ``None`` if the limit does not apply."""
    return check_all(request, [spec], config)[0]


async def check_async(
    request: HttpRequest, spec: LimitSpec, config: RateLimitSettings
) -> Decision | None:
    """:func:`check` on the alias's async adapter."""
    return (await acheck_all(request, [spec], config))[0]


def denial(
    request: HttpRequest, decisions: Sequence[Decision], config: RateLimitSettings
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


async def adenial(
    request: HttpRequest, decisions: Sequence[Decision], config: RateLimitSettings
) -> HttpResponseBase | None:
    """:func:`denial` from async code (a custom async VIEW awaited)."""
    refused: Any = denial(request, decisions, config)
    return await refused if inspect.isawaitable(refused) else refused  # type: ignore[no-any-return]


async def _finish_async(
    pending: Any, decisions: Sequence[Decision], config: RateLimitSettings
) -> HttpResponseBase:
    return _with_denial_headers(await pending, decisions, config)


def _with_denial_headers(
    response: HttpResponseBase, decisions: Sequence[Decision], config: RateLimitSettings
) -> HttpResponseBase:
    if "Retry-After" not in response:
        response["Retry-After"] = str(retry_after_seconds(decisions))
    for name, value in rate_limit_headers(decisions, legacy=config.legacy_headers).items():
        response.headers.setdefault(name, value)
    return response


def add_headers(
    response: HttpResponseBase,
    decisions: Sequence[Decision],
    config: RateLimitSettings,
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
