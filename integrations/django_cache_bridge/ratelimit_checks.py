"""What the Django middleware and the ``@ratelimit`` decorator share: request keys, the
limiters over each alias, deciding a layer's limits together (refusals and headers:
:mod:`django_cache_bridge.ratelimit_responses`).

The rule, as in Flask: **a refused request costs no limit**. The limits one layer applies
(the middleware's rules, or a view's stacked decorators) are one group, decided all or
nothing by one command per alias; a layer that refuses takes back what the layers before it
counted for the request.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest

from cache_bridge.ratelimit import (
    AsyncRateLimiter,
    Decision,
    RateLimiter,
    ahit_all,
    arefund,
    hit_all,
    refund,
)
from cache_bridge.ratelimit.deduct import Deferred, deductions, request_cost
from cache_bridge.ratelimit.exemptions import holds
from cache_bridge.ratelimit.group import Check
from cache_bridge.ratelimit.request_keys import DENY, Deny, named_key
from cache_bridge.ratelimit.settings import LimiterCache
from django_cache_bridge.access import get_bridge_cache
from django_cache_bridge.ratelimit_config import LimitSpec, RateLimitSettings, current_config
from django_cache_bridge.ratelimit_exempt import is_exempt, is_exempt_async, load_user, peer
from django_cache_bridge.ratelimit_rules import resolve_dynamic

__all__ = [
    "acheck_all",
    "asettle",
    "check",
    "check_all",
    "check_async",
    "client_ip",
    "request_decisions",
    "request_key",
    "request_key_async",
    "settle",
]

_DECISIONS = "ratelimit_decisions"
#: What the request's earlier layers counted: taken back if a later layer refuses it.
_COUNTED = "_cache_bridge_ratelimit_counted"
#: The peeked ``deduct_when`` limits, counted after the response if their predicate holds.
_DEFERRED = "_cache_bridge_ratelimit_deferred"
#: The peeked limits of the group being decided (deferred only if the group allows).
_PLANNED = "_cache_bridge_ratelimit_planned"


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
    planned = state.pop(_PLANNED, None)
    if planned and all(d is None or d.allowed for d in decisions):
        state.setdefault(_DEFERRED, []).extend(planned)
    if block and any(d is not None and not d.allowed for d in decisions):
        state[_COUNTED] = []
        state.pop(_DEFERRED, None)  # a refused request is not counted after its response
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


def _check(request: HttpRequest, spec: LimitSpec, key: str, limiter: Any) -> Check:
    """One limit's check: ``(limiter, key)``, with its cost, peeked when it counts only after
    the response (``deduct_when``)."""
    if spec.cost == 1 and spec.deduct_when is None:
        return limiter, key
    cost = request_cost(spec.cost, request)
    return limiter, key, cost, "hit" if spec.deduct_when is None else "peek"


def _plan(
    request: HttpRequest,
    specs: Sequence[LimitSpec],
    keys: Sequence[Key],
    config: RateLimitSettings,
    blocking: bool,
) -> tuple[list[Check], list[Decision | None] | None]:
    """The checks to run; or, when a limit refuses the request outright (``DENY``), the
    decisions to give instead: its refusal, nothing asked or counted."""
    if len(keys) == 1 and isinstance(keys[0], str):  # the usual case, without the joins
        checks = [_check(request, specs[0], keys[0], _limiter(specs[0], config, blocking))]
    else:
        pairs = list(zip(specs, keys, strict=True))
        if any(key is DENY for key in keys):
            return [], [
                _limiter(s, config, blocking).policy.denied() if k is DENY else None
                for s, k in pairs
            ]
        checks = [
            _check(request, s, k, _limiter(s, config, blocking))
            for s, k in pairs
            if isinstance(k, str)
        ]
    if any(spec.deduct_when is not None for spec in specs):
        _defer(request, checks, specs, keys)
    return checks, None


def _defer(
    request: HttpRequest, checks: list[Check], specs: Sequence[LimitSpec], keys: Sequence[Key]
) -> None:
    """Plan the peeked limits (``deduct_when``) of a group, to count after the response
    (:func:`settle`) if the group allows the request (:func:`_record` decides)."""
    live = [spec for spec, key in zip(specs, keys, strict=True) if isinstance(key, str)]
    for spec, check in zip(live, checks, strict=True):
        if spec.deduct_when is not None and len(check) == 4:
            planned = request.__dict__.setdefault(_PLANNED, [])
            planned.append(Deferred(check[0], check[1], check[2], spec.deduct_when))


def settle(request: HttpRequest, response: Any) -> None:
    """Count the request's deferred limits whose ``deduct_when`` holds for ``response`` (one
    command, only when one does)."""
    deferred = request.__dict__.pop(_DEFERRED, None)
    if deferred and (checks := deductions(deferred, response)):
        hit_all(checks)


async def asettle(request: HttpRequest, response: Any) -> None:
    """:func:`settle` on the async adapters."""
    deferred = request.__dict__.pop(_DEFERRED, None)
    if deferred and (checks := deductions(deferred, response)):
        await ahit_all(checks)


Keyed = tuple[Sequence[LimitSpec], list[Key]]


def _keys(request: HttpRequest, specs: Sequence[LimitSpec], config: RateLimitSettings) -> Keyed:
    """The limits that apply (dynamic ones resolved) and what each counts this request under
    (all ``None`` for an exempt request)."""
    if is_exempt(request, config):
        return specs, [None] * len(specs)
    specs = resolve_dynamic(request, specs)
    return specs, [request_key(request, spec, config) for spec in specs]


async def _akeys(
    request: HttpRequest, specs: Sequence[LimitSpec], config: RateLimitSettings
) -> Keyed:
    if await is_exempt_async(request, config):
        return specs, [None] * len(specs)
    specs = resolve_dynamic(request, specs)
    return specs, [await request_key_async(request, spec, config) for spec in specs]


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
    specs, keys = _keys(request, specs, config)
    checks, denied = _plan(request, specs, keys, config, True)
    decisions = denied or _aligned(keys, hit_all(checks))
    refund(_record(request, specs, decisions, block=block, config=config, blocking=True))
    return decisions


async def acheck_all(
    request: HttpRequest, specs: Sequence[LimitSpec], config: RateLimitSettings, block: bool = True
) -> list[Decision | None]:
    """:func:`check_all` on the aliases' async adapters."""
    specs, keys = await _akeys(request, specs, config)
    checks, denied = _plan(request, specs, keys, config, False)
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


def request_decisions(request: HttpRequest) -> list[Decision]:
    """Every decision taken for ``request`` so far (middleware rules and decorators)."""
    return list(getattr(request, _DECISIONS, None) or [])
