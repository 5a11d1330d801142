"""What the Django middleware and the ``@ratelimit`` decorator share: request keys, the
limiters over each alias, deciding a layer's limits together (refusals and headers:
:mod:`django_cache_bridge.ratelimit_responses`).

The rule, as in Flask: **a refused request costs no limit**. The limits one layer applies
(the middleware's rules, or a view's stacked decorators) are one group, decided all or
nothing by one command per alias; a layer that refuses takes back what the layers before it
counted for the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest

from cache_bridge.ratelimit import (
    Decision,
    ahit_all,
    arefund,
    hit_all,
    refund,
)
from cache_bridge.ratelimit.checks import Check
from cache_bridge.ratelimit.deduct import Deferred, deductions, request_cost
from cache_bridge.ratelimit.request_keys import UNAVAILABLE, Deny
from django_cache_bridge.ratelimit_config import LimitSpec, RateLimitSettings
from django_cache_bridge.ratelimit_exempt import is_exempt, is_exempt_async
from django_cache_bridge.ratelimit_keys import (
    client_ip,
    limiter_for,
    request_key,
    request_key_async,
)
from django_cache_bridge.ratelimit_rules import resolve_dynamic

__all__ = [
    "LIMITED",
    "Part",
    "acheck_all",
    "acheck_parts",
    "asettle",
    "check_all",
    "check_parts",
    "client_ip",
    "forget",
    "request_decisions",
    "request_key",
    "request_key_async",
    "settle",
]

_DECISIONS = "ratelimit_decisions"
#: ``request.limited`` (django-ratelimit's): whether a limit that applied refused the request.
LIMITED = "limited"
#: What the request's earlier layers counted: taken back if a later layer refuses it.
_COUNTED = "_cache_bridge_ratelimit_counted"
#: The peeked ``deduct_when`` limits, counted after the response if their predicate holds.
_DEFERRED = "_cache_bridge_ratelimit_deferred"
#: The peeked limits of the group being decided (deferred only if the group allows).
_PLANNED = "_cache_bridge_ratelimit_planned"


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
    """Remember the decisions (``request.ratelimit_decisions``, ``request.limited``); when they
    refuse the request (and ``block``), give what the earlier layers counted, with the
    limiters to take it back on (``blocking`` or async), else nothing (and their own counts
    join the request's)."""
    state = request.__dict__  # getattr would raise (and catch) for every new request
    remembered: list[Decision] | None = state.get(_DECISIONS)
    if remembered is None:  # views and templates read every decision taken for the request
        state[_DECISIONS] = remembered = []
    applied = [d for d in decisions if d is not None]
    remembered += applied
    refused = False in [d.allowed for d in applied]  # a list: cheaper than a generator here
    if applied:  # django-ratelimit's flag: whether any limit that applied refused
        state[LIMITED] = refused or state.get(LIMITED, False)
    # The layers' decisions as they came, sorted out only when a later layer refuses.
    layers: list[tuple[Sequence[LimitSpec], list[Decision | None]]] | None = state.get(_COUNTED)
    planned = state.pop(_PLANNED, None)
    if planned and not refused:
        state.setdefault(_DEFERRED, []).extend(planned)
    if block and refused:
        state[_COUNTED] = []
        state.pop(_DEFERRED, None)  # a refused request is not counted after its response
        return [
            (limiter_for(spec, config, blocking), d)
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
    """The checks to run; or, when a limit refuses the request outright (``DENY``, or
    ``UNAVAILABLE`` for a dynamic limit whose rate callable failed closed), the decisions to
    give instead: its refusal, nothing asked or counted."""
    if len(keys) == 1 and isinstance(keys[0], str) and not specs[0].unavailable:
        checks = [_check(request, specs[0], keys[0], limiter_for(specs[0], config, blocking))]
    else:
        pairs = [
            (s, UNAVAILABLE if s.unavailable and isinstance(k, str) else k)
            for s, k in zip(specs, keys, strict=True)
        ]
        if Deny in [type(k) for _, k in pairs]:
            return [], [
                limiter_for(s, config, blocking).policy.refusal(k) if type(k) is Deny else None
                for s, k in pairs
            ]
        checks = [
            _check(request, s, k, limiter_for(s, config, blocking))
            for s, k in pairs
            if isinstance(k, str)
        ]
    if [spec for spec in specs if spec.deduct_when is not None]:
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
    (all ``None`` for an exempt request, or with ``ENABLED`` off)."""
    if not config.enabled or is_exempt(request, config):
        return specs, [None] * len(specs)
    specs = resolve_dynamic(request, specs, config.dynamic_fail_open)
    if len(specs) == 1:
        return specs, [request_key(request, specs[0], config)]
    # Stacked limits mostly count under one named key ("ip"): read it once per request.
    named: dict[str, Key] = {}
    keys: list[Key] = []
    for spec in specs:
        if spec.exempt_when is None and isinstance(spec.key, str):
            key = named.get(spec.key, _UNREAD)
            if key is _UNREAD:
                key = named[spec.key] = request_key(request, spec, config)
            keys.append(key)  # type: ignore[arg-type]
        else:
            keys.append(request_key(request, spec, config))
    return specs, keys


#: A named key not read yet for this request (``None`` is an answer: "does not apply").
_UNREAD = object()


async def _akeys(
    request: HttpRequest, specs: Sequence[LimitSpec], config: RateLimitSettings
) -> Keyed:
    if not config.enabled or await is_exempt_async(request, config):
        return specs, [None] * len(specs)
    specs = resolve_dynamic(request, specs, config.dynamic_fail_open)
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
    ``block``), what earlier layers counted for it is taken back. With ``ENABLED`` off, none
    applies."""
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


#: One part of a request's limits, as decided: the limits (dynamic ones resolved) and one
#: entry per limit, ``None`` where it does not apply.
Part = tuple[Sequence[LimitSpec], list[Decision | None]]


def _keyed(
    request: HttpRequest, parts: Sequence[Sequence[LimitSpec]], config: RateLimitSettings
) -> tuple[list[LimitSpec], list[Key], list[int]]:
    """:func:`_keys` of several parts at once, with each part's size once resolved."""
    exempt = is_exempt(request, config)
    resolved = [
        p if exempt else resolve_dynamic(request, p, config.dynamic_fail_open) for p in parts
    ]
    specs = [s for p in resolved for s in p]
    keys = [None if exempt else request_key(request, s, config) for s in specs]
    return specs, keys, [len(p) for p in resolved]


async def _akeyed(
    request: HttpRequest, parts: Sequence[Sequence[LimitSpec]], config: RateLimitSettings
) -> tuple[list[LimitSpec], list[Key], list[int]]:
    exempt = await is_exempt_async(request, config)
    resolved = [
        p if exempt else resolve_dynamic(request, p, config.dynamic_fail_open) for p in parts
    ]
    specs = [s for p in resolved for s in p]
    keys = [None if exempt else await request_key_async(request, s, config) for s in specs]
    return specs, keys, [len(p) for p in resolved]


def _split(
    specs: list[LimitSpec], decisions: list[Decision | None], sizes: list[int]
) -> list[Part]:
    parts: list[Part] = []
    start = 0
    for size in sizes:
        parts.append((specs[start : start + size], decisions[start : start + size]))
        start += size
    return parts


def check_parts(
    request: HttpRequest,
    parts: Sequence[Sequence[LimitSpec]],
    config: RateLimitSettings,
    block: bool = True,
) -> list[Part]:
    """:func:`check_all` of several parts' limits (the middleware's rules and the view's
    decorators) as one group, all or nothing, in one command per alias; each part's limits
    and decisions."""
    specs, keys, sizes = _keyed(request, parts, config)
    checks, denied = _plan(request, specs, keys, config, True)
    decisions = denied or _aligned(keys, hit_all(checks))
    refund(_record(request, specs, decisions, block=block, config=config, blocking=True))
    return _split(specs, decisions, sizes)


async def acheck_parts(
    request: HttpRequest,
    parts: Sequence[Sequence[LimitSpec]],
    config: RateLimitSettings,
    block: bool = True,
) -> list[Part]:
    """:func:`check_parts` on the aliases' async adapters."""
    specs, keys, sizes = await _akeyed(request, parts, config)
    checks, denied = _plan(request, specs, keys, config, False)
    decisions = denied or _aligned(keys, await ahit_all(checks))
    await arefund(_record(request, specs, decisions, block=block, config=config, blocking=False))
    return _split(specs, decisions, sizes)


def forget(
    request: HttpRequest, part: Part, config: RateLimitSettings, blocking: bool
) -> list[tuple[Any, Decision]]:
    """What ``part``'s limits counted, with their limiters, to take back (a view whose limits
    were decided before it and that never ran); its ``deduct_when`` limits are no longer
    counted after the response."""
    specs, decisions = part
    pairs = [
        (limiter_for(spec, config, blocking), d)
        for spec, d in zip(specs, decisions, strict=True)
        if d is not None
    ]
    deferred: list[Deferred] | None = request.__dict__.get(_DEFERRED)
    if deferred:
        mine = {id(limiter) for limiter, _ in pairs}
        deferred[:] = [item for item in deferred if id(item.limiter) not in mine]
    return [(limiter, d) for limiter, d in pairs if d.receipt is not None]


def request_decisions(request: HttpRequest) -> list[Decision]:
    """Every decision taken for ``request`` so far (middleware rules and decorators)."""
    return list(getattr(request, _DECISIONS, None) or [])
