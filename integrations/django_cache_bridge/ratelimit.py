"""Rate limiting for Django views: the ``@ratelimit(...)`` decorator, and (re-exported from
:mod:`django_cache_bridge.ratelimit_checks` and ``ratelimit_responses``) what it shares
with the middleware (:mod:`django_cache_bridge.middleware`): keys, checks, responses,
headers.

A limited request gets 429 with ``Retry-After`` and the ``RateLimit-Policy`` / ``RateLimit``
headers; a limit that fails closed while its cache is down gives 503. Allowed responses carry
the headers too unless ``HEADERS`` is ``False``. Stacked decorators are decided together by
the outermost one, all or nothing, and a refusal takes back what the middleware counted: a
refused request costs no limit. See docs/ratelimit.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from cache_bridge.errors import ConfigurationError
from cache_bridge.ratelimit import Decision
from cache_bridge.ratelimit.deduct import check_cost, check_deduct_when
from cache_bridge.ratelimit.exemptions import check_exempt_when
from cache_bridge.ratelimit.settings import check_rates
from django_cache_bridge.ratelimit_checks import (
    acheck_all,
    asettle,
    check,
    check_all,
    check_async,
    client_ip,
    request_decisions,
    request_key,
    request_key_async,
    settle,
)
from django_cache_bridge.ratelimit_config import (
    LimitSpec,
    RateLimitSettings,
    current_config,
    make_specs,
)
from django_cache_bridge.ratelimit_responses import add_headers, adenial, denial

__all__ = [
    "acheck_all",
    "add_headers",
    "check",
    "check_all",
    "check_async",
    "client_ip",
    "denial",
    "ratelimit",
    "request_decisions",
    "request_key",
    "request_key_async",
]

V = TypeVar("V", bound=Callable[..., Any])


def _applies(request: HttpRequest, methods: frozenset[str] | None) -> bool:
    return methods is None or (request.method or "GET").upper() in methods


#: The limits of a view's stacked decorators (innermost first), on the outermost wrapper.
_CHAIN = "_cache_bridge_ratelimit_chain"
#: The decorator limits already decided for a request (the outermost wrapper decides all).
_DONE = "_cache_bridge_ratelimit_done"


@dataclass(frozen=True, eq=False)
class _Element:
    """One ``@ratelimit`` of a view: its limit (built from the settings), methods, whether it
    refuses, and whether allowed responses carry its headers."""

    spec_for: Callable[[RateLimitSettings], tuple[LimitSpec, ...]]
    methods: frozenset[str] | None
    block: bool
    headers: bool | None


def _pending(
    request: HttpRequest, chain: tuple[_Element, ...]
) -> tuple[list[_Element], list[_Element]]:
    """The limits of ``chain`` that apply and that no wrapper is deciding for this request
    (the outermost wrapper decides its whole chain), and those this call takes (to release
    when the view has answered, so that a request object passed again is counted again)."""
    # The instance's own attributes: getattr would raise (and catch) for every new request.
    done: set[_Element] | None = request.__dict__.get(_DONE)
    if done is None:
        done = set()
        setattr(request, _DONE, done)
    taken = [e for e in chain if e not in done]
    done.update(taken)
    return [e for e in taken if _applies(request, e.methods)], taken


def _release(request: HttpRequest, taken: list[_Element]) -> None:
    request.__dict__[_DONE].difference_update(taken)


def _group(
    elements: list[_Element], config: RateLimitSettings
) -> tuple[list[LimitSpec], list[LimitSpec]]:
    """The refusing limits and the others (``block=False``), decided in two groups."""
    if len(elements) == 1:  # the usual case, without the joins
        specs = list(elements[0].spec_for(config))
        return (specs, []) if elements[0].block else ([], specs)
    hard = [s for e in elements if e.block for s in e.spec_for(config)]
    return hard, [s for e in elements if not e.block for s in e.spec_for(config)]


def _shown(
    elements: list[_Element], decisions: list[Decision | None], config: RateLimitSettings
) -> list[Decision]:
    """The decisions, in the elements' order, of the limits whose headers allowed responses
    carry (refusals carry every one: see :func:`denial`)."""
    if len(elements) == 1:
        headers = elements[0].headers
        shown = config.headers if headers is None else headers
        return [d for d in decisions if d is not None] if shown else []
    ordered = [e for e in elements if e.block] + [e for e in elements if not e.block]
    flags = [
        config.headers if e.headers is None else e.headers
        for e in ordered
        for _ in e.spec_for(config)
    ]
    return [d for flag, d in zip(flags, decisions, strict=False) if d is not None and flag]


Decided = tuple[Any, list[Decision], list[_Element]]
Prepared = tuple[
    RateLimitSettings, list[_Element], list[_Element], list[LimitSpec], list[LimitSpec]
]


def _prepare(request: HttpRequest, chain: tuple[_Element, ...]) -> Prepared:
    """The settings, the chain's pending and taken limits, and the pending ones split into
    the refusing ones and the others (``block=False``), decided in that order."""
    config = current_config()
    pending, taken = _pending(request, chain)
    return config, pending, taken, *_group(pending, config)


def _present(decisions: list[Decision | None]) -> list[Decision]:
    return [d for d in decisions if d is not None]


def _decide(request: HttpRequest, chain: tuple[_Element, ...]) -> Decided:
    """Decide the chain's pending limits: the refusing ones together, then the others."""
    config, pending, taken, hard, soft = _prepare(request, chain)
    decisions = check_all(request, hard, config) if hard else []
    refused = denial(request, _present(decisions), config)
    decisions += check_all(request, soft, config, False) if refused is None and soft else []
    return refused, _shown(pending, decisions, config), taken


async def _adecide(request: HttpRequest, chain: tuple[_Element, ...]) -> Decided:
    """:func:`_decide` on the async adapters."""
    config, pending, taken, hard, soft = _prepare(request, chain)
    decisions = await acheck_all(request, hard, config) if hard else []
    refused = await adenial(request, _present(decisions), config)
    decisions += await acheck_all(request, soft, config, False) if refused is None and soft else []
    return refused, _shown(pending, decisions, config), taken


def _limited(chain: tuple[_Element, ...], request: HttpRequest, view: Callable[[], Any]) -> Any:
    """Call ``view()`` unless the chain's limits refuse the request."""
    refused, decisions, taken = _decide(request, chain)
    try:
        return refused if refused is not None else _after(request, view(), decisions)
    finally:
        _release(request, taken)


async def _alimited(
    chain: tuple[_Element, ...], request: HttpRequest, view: Callable[[], Any]
) -> Any:
    """:func:`_limited` for async views."""
    refused, decisions, taken = await _adecide(request, chain)
    try:
        return refused if refused is not None else await _aafter(request, await view(), decisions)
    finally:
        _release(request, taken)


def ratelimit(
    rate: Any,
    *,
    key: Any = None,
    methods: Sequence[str] | None = None,
    algorithm: str | None = None,
    cache: str | None = None,
    fail_open: bool | None = None,
    name: str | None = None,
    headers: bool | None = None,
    block: bool = True,
    cost: Any = 1,
    deduct_when: Callable[[Any], Any] | None = None,
    exempt_when: Callable[[Any], Any] | None = None,
    group: str | None = None,
) -> Callable[[V], V]:
    """Limit a view: a function view (sync or async) or a class-based view (decorate the
    class; its ``dispatch`` is wrapped, sync or async as the view is).

    ``rate``: ``"100/m"``, several at once (``"200/d; 50/h"`` or a list: each its own limit,
    all of one name), a :class:`~cache_bridge.ratelimit.Rate`, a ``(count, seconds)`` pair,
    or a callable ``(request)`` (or django-ratelimit's ``(group, request)``) returning any of
    these per request, or ``None``: not limited.

    ``key``: ``"ip"`` (default from the setting's ``KEY``), ``"user"``, ``"user-or-ip"``,
    ``"header:NAME"`` or a callable ``(request) -> str | None``. ``methods``: only these HTTP
    methods are counted. ``algorithm``, ``cache`` (alias), ``fail_open``: default from
    ``CACHE_BRIDGE_RATELIMIT``. ``name`` (default: the view's dotted name) identifies the
    counters and the header policy. ``headers``: RateLimit headers on allowed responses
    (default: the setting's ``HEADERS``). With ``block=False`` nothing is refused; the view
    reads ``request.ratelimit_decisions``. ``cost``: the units a request counts, an int or a
    callable ``(request) -> int`` (a static cost above the limit fails at decoration).
    ``deduct_when``: count a request only when ``deduct_when(response)`` holds (for instance
    ``when_status(400, 499)`` for failed logins); the limit is checked before the view
    without counting, and counted after the response by one more command only when it holds.
    ``exempt_when``: a callable ``(request) -> bool``; when true this limit does not count
    the request. ``group``: django-ratelimit's name for ``name`` (either may be given).

    Stacked decorators are decided together by the outermost one, all or nothing (one
    command per alias); a refusal takes back what the middleware counted for the request.
    """
    allowed_methods = None if methods is None else frozenset(m.upper() for m in methods)

    def decorate(view: V) -> V:
        label = name or group or f"{view.__module__}.{view.__qualname__}"
        try:  # the rate reads no setting: a bad one fails at import, not at the first request
            check_cost(cost, () if callable(rate) else check_rates(rate, algorithm))
            check_deduct_when(deduct_when)
            check_exempt_when(exempt_when)
        except ConfigurationError as exc:
            raise ImproperlyConfigured(f"@ratelimit on {label}: {exc}") from exc
        built: list[tuple[RateLimitSettings, tuple[LimitSpec, ...]]] = []

        def spec_for(config: RateLimitSettings) -> tuple[LimitSpec, ...]:
            # Built on first use (settings are not read at import) and again after they change.
            if built and built[0][0] is config:
                return built[0][1]
            spec = make_specs(
                f"@ratelimit on {label}",
                name=label,
                rate=rate,
                algorithm=algorithm or config.algorithm,
                key=config.key if key is None else key,
                cache=cache or config.cache,
                fail_open=config.fail_open if fail_open is None else fail_open,
                cost=cost,
                deduct_when=deduct_when,
                exempt_when=exempt_when,
            )
            built[:] = [(config, spec)]
            return spec

        element = _Element(spec_for, allowed_methods, block, headers)
        if isinstance(view, type):
            return _decorate_class(view, element)  # type: ignore[return-value]
        chain: tuple[_Element, ...] = (*getattr(view, _CHAIN, ()), element)
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                return await _alimited(chain, request, lambda: view(request, *args, **kwargs))

            setattr(async_view, _CHAIN, chain)
            return markcoroutinefunction(async_view)  # type: ignore[return-value]

        @functools.wraps(view)
        def sync_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            return _limited(chain, request, lambda: view(request, *args, **kwargs))

        setattr(sync_view, _CHAIN, chain)
        return sync_view  # type: ignore[return-value]

    return decorate


def _after(request: HttpRequest, response: Any, decisions: list[Decision]) -> Any:
    settle(request, response)  # the deduct_when limits, counted only if they match
    return add_headers(response, decisions, current_config(), bool(decisions))


async def _aafter(request: HttpRequest, response: Any, decisions: list[Decision]) -> Any:
    await asettle(request, response)
    return add_headers(response, decisions, current_config(), bool(decisions))


def _decorate_class(cls: type[Any], element: _Element) -> type[Any]:
    original = cls.dispatch
    chain: tuple[_Element, ...] = (*getattr(original, _CHAIN, ()), element)
    if getattr(cls, "view_is_async", False):

        async def async_dispatch(self: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            return await _alimited(chain, request, lambda: original(self, request, *args, **kwargs))

        cls.dispatch = functools.wraps(original)(async_dispatch)
    else:

        def dispatch(self: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            return _limited(chain, request, lambda: original(self, request, *args, **kwargs))

        cls.dispatch = functools.wraps(original)(dispatch)
    setattr(cls.dispatch, _CHAIN, chain)
    return cls
