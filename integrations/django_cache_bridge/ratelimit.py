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
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from cache_bridge.errors import ConfigurationError
from cache_bridge.ratelimit import Decision
from cache_bridge.ratelimit.deduct import check_cost, check_deduct_when
from cache_bridge.ratelimit.exemptions import check_exempt_when
from cache_bridge.ratelimit.settings import check_rates
from django_cache_bridge.ratelimit_chain import (
    CHAIN,
    CLAIMED,
    DONE,
    OWNER,
    Claim,
    Element,
    Layout,
    claim,
    layout,
    pending,
    release,
    unreached,
)
from django_cache_bridge.ratelimit_checks import (
    LIMITED,
    acheck_all,
    asettle,
    check_all,
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
    "Claim",
    "acheck_all",
    "add_headers",
    "check",
    "check_all",
    "check_async",
    "claim",
    "client_ip",
    "denial",
    "ratelimit",
    "request_decisions",
    "request_key",
    "request_key_async",
    "unreached",
]

V = TypeVar("V", bound=Callable[..., Any])


Decided = tuple[Any, list[Decision], tuple[Element, ...]]


def _prepare(
    request: HttpRequest, chain: tuple[Element, ...], config: RateLimitSettings
) -> tuple[Layout, tuple[Element, ...]]:
    """The layout of the chain's limits that apply and no wrapper decides yet (refusing ones
    first, then the others, ``block=False``), and the elements taken."""
    state = request.__dict__
    if CLAIMED in state and state[CLAIMED] is chain:  # decided by the middleware: reached
        del state[CLAIMED]
    applying, taken = pending(request, chain)
    return layout(applying, config), taken


def check(request: HttpRequest, spec: LimitSpec, config: RateLimitSettings) -> Decision | None:
    """Count this request against ``spec`` (blocking); ``None`` if the limit does not apply."""
    return check_all(request, [spec], config)[0]


async def check_async(
    request: HttpRequest, spec: LimitSpec, config: RateLimitSettings
) -> Decision | None:
    """:func:`check` on the alias's async adapter."""
    return (await acheck_all(request, [spec], config))[0]


def _present(decisions: list[Decision | None]) -> list[Decision]:
    return [d for d in decisions if d is not None]


def _decide(request: HttpRequest, chain: tuple[Element, ...], config: RateLimitSettings) -> Decided:
    """Decide the chain's pending limits: the refusing ones together, then the others."""
    laid_out, taken = _prepare(request, chain, config)
    hard, soft = laid_out.hard, laid_out.soft
    decisions = check_all(request, hard, config) if hard else []
    refused = denial(request, _present(decisions), config)
    decisions += check_all(request, soft, config, False) if refused is None and soft else []
    return refused, laid_out.shown(decisions), taken


async def _adecide(
    request: HttpRequest, chain: tuple[Element, ...], config: RateLimitSettings
) -> Decided:
    """:func:`_decide` on the async adapters."""
    laid_out, taken = _prepare(request, chain, config)
    hard, soft = laid_out.hard, laid_out.soft
    decisions = await acheck_all(request, hard, config) if hard else []
    refused = await adenial(request, _present(decisions), config)
    decisions += await acheck_all(request, soft, config, False) if refused is None and soft else []
    return refused, laid_out.shown(decisions), taken


def _skipped(request: HttpRequest, chain: tuple[Element, ...], config: RateLimitSettings) -> bool:
    """Whether there is nothing to do here: rate limiting is off (``ENABLED``), or an outer
    wrapper of the view (stacked ``@ratelimit``\\ s: the outermost decides them all) has taken
    every limit of ``chain`` for this request."""
    if not config.enabled:
        return True
    state = request.__dict__
    done = state.get(DONE)
    return done is not None and CLAIMED not in state and all(e in done for e in chain)


def _limited(chain: tuple[Element, ...], request: HttpRequest, view: Callable[[], Any]) -> Any:
    """Call ``view()`` unless the chain's limits refuse the request."""
    request.__dict__.setdefault(LIMITED, False)  # set by every decorated view, as there
    config = current_config()  # read once per request (parsed once per settings change)
    if _skipped(request, chain, config):
        return view()
    refused, decisions, taken = _decide(request, chain, config)
    try:
        return refused if refused is not None else _after(request, view(), decisions, config)
    finally:
        release(request, taken)


async def _alimited(
    chain: tuple[Element, ...], request: HttpRequest, view: Callable[[], Any]
) -> Any:
    """:func:`_limited` for async views."""
    request.__dict__.setdefault(LIMITED, False)
    config = current_config()
    if _skipped(request, chain, config):
        return await view()
    refused, decisions, taken = await _adecide(request, chain, config)
    try:
        if refused is not None:
            return refused
        return await _aafter(request, await view(), decisions, config)
    finally:
        release(request, taken)


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
    ``"header:NAME"`` or a callable ``(request) -> str | None`` (or django-ratelimit's
    ``(group, request)``, called with the limit's name). ``methods``: only these HTTP
    methods are counted. ``algorithm``, ``cache`` (alias), ``fail_open``: default from
    ``CACHE_BRIDGE_RATELIMIT``. ``name`` (default: the view's dotted name) identifies the
    counters and the header policy. ``headers``: RateLimit headers on allowed responses
    (default: the setting's ``HEADERS``). With ``block=False`` nothing is refused; the view
    reads ``request.limited`` (``True`` when a limit that applied refused the request; set,
    ``False`` otherwise, by every decorated view, as django-ratelimit does) and
    ``request.ratelimit_decisions``. ``cost``: the units a request counts, an int or a
    callable ``(request) -> int`` (a static cost above the limit fails at decoration).
    ``deduct_when``: count a request only when ``deduct_when(response)`` holds (for instance
    ``when_status(400, 499)`` for failed logins); the limit is checked before the view
    without counting, and counted after the response by one more command only when it holds.
    ``exempt_when``: a callable ``(request) -> bool``; when true this limit does not count
    the request. ``group``: django-ratelimit's name for ``name`` (either may be given).

    Stacked decorators are decided together by the outermost one, all or nothing (one
    command per alias); a refusal takes back what the middleware counted for the request.
    With ``CACHE_BRIDGE_RATELIMIT["ENABLED"]`` ``False`` the view is called as it is.
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

        element = Element(spec_for, allowed_methods, block, headers)
        if isinstance(view, type):
            return _decorate_class(view, element)  # type: ignore[return-value]
        chain: tuple[Element, ...] = (*getattr(view, CHAIN, ()), element)
        # Right on another @ratelimit, whose limits this wrapper decides (its chain): call
        # the view under it directly, not each inner wrapper in turn to find nothing to do.
        inner = getattr(view, _INNER, view) if getattr(view, OWNER, None) is view else view
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                return await _alimited(chain, request, lambda: inner(request, *args, **kwargs))

            _mark(async_view, chain, inner)
            return markcoroutinefunction(async_view)  # type: ignore[return-value]

        @functools.wraps(view)
        def sync_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            return _limited(chain, request, lambda: inner(request, *args, **kwargs))

        _mark(sync_view, chain, inner)
        return sync_view  # type: ignore[return-value]

    return decorate


def _after(
    request: HttpRequest, response: Any, decisions: list[Decision], config: RateLimitSettings
) -> Any:
    settle(request, response)  # the deduct_when limits, counted only if they match
    return add_headers(response, decisions, config, bool(decisions))


async def _aafter(
    request: HttpRequest, response: Any, decisions: list[Decision], config: RateLimitSettings
) -> Any:
    await asettle(request, response)
    return add_headers(response, decisions, config, bool(decisions))


#: On a ``@ratelimit`` wrapper: the view it calls (the one under every stacked ``@ratelimit``).
_INNER = "_cache_bridge_ratelimit_inner"


def _mark(wrapper: Callable[..., Any], chain: tuple[Element, ...], inner: Any) -> None:
    setattr(wrapper, CHAIN, chain)
    setattr(wrapper, OWNER, wrapper)
    setattr(wrapper, _INNER, inner)


def _decorate_class(cls: type[Any], element: Element) -> type[Any]:
    original = cls.dispatch
    chain: tuple[Element, ...] = (*getattr(original, CHAIN, ()), element)
    if getattr(cls, "view_is_async", False):

        async def async_dispatch(self: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            return await _alimited(chain, request, lambda: original(self, request, *args, **kwargs))

        cls.dispatch = functools.wraps(original)(async_dispatch)
    else:

        def dispatch(self: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            return _limited(chain, request, lambda: original(self, request, *args, **kwargs))

        cls.dispatch = functools.wraps(original)(dispatch)
    setattr(cls.dispatch, CHAIN, chain)
    setattr(cls.dispatch, OWNER, cls.dispatch)
    return cls
