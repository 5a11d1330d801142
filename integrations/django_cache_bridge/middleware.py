"""``django_cache_bridge.middleware.RateLimitMiddleware``: the rules of
``CACHE_BRIDGE_RATELIMIT["RULES"]`` applied to every request, sync or async.

Put it after ``AuthenticationMiddleware`` when a rule's KEY is ``"user"`` or ``"user-or-ip"``.
Every rule that covers a request (PATH prefix, REGEX, METHODS) applies to it, and they are
decided together, all or nothing (one command per alias): one refusal is enough for a 429
(or a 503 from a rule that fails closed while its cache is down), and a refused request
costs no rule anything. A view's ``@ratelimit`` that refuses later takes back what the rules
counted. With ``CACHE_BRIDGE_RATELIMIT["ENABLED"]`` ``False`` every request passes through
untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, ResolverMatch, resolve

from cache_bridge.ratelimit import Decision, arefund, refund
from django_cache_bridge.ratelimit_chain import Claim, claim, unreached
from django_cache_bridge.ratelimit_checks import (
    LIMITED,
    Part,
    acheck_all,
    acheck_parts,
    asettle,
    check_all,
    check_parts,
    forget,
    request_decisions,
    settle,
)
from django_cache_bridge.ratelimit_config import LimitSpec, RateLimitSettings, current_config
from django_cache_bridge.ratelimit_responses import add_headers, adenial, denial

__all__ = ["RateLimitMiddleware"]

#: What ``_resolved`` gives before it has been asked.
_UNASKED: Any = object()


def _covering(
    request: HttpRequest, config: RateLimitSettings
) -> tuple[list[LimitSpec], ResolverMatch | None]:
    """The rules' limits that cover the request, and its resolved URL (``None``: resolved to
    nothing, or not needed because no rule covers the request)."""
    path, method = request.path_info, request.method or "GET"
    match = _resolved(request) if config.resolves else _UNASKED
    specs = [
        spec for rule in config.rules if rule.covers(path, method, match) for spec in rule.specs
    ]
    if not specs:
        return specs, None
    return specs, _resolved(request) if match is _UNASKED else match


def _resolved(request: HttpRequest) -> ResolverMatch | None:
    """The request's URL resolved (the middleware runs before Django resolves it); ``None``
    for a URL that resolves to nothing."""
    try:
        return resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return None


def _plan(
    request: HttpRequest, config: RateLimitSettings
) -> tuple[list[Sequence[LimitSpec]], Claim | None]:
    """The parts to decide in one group: the covering rules' limits and, when the resolved
    view has ``@ratelimit``\\ s, its refusing ones (its ``block=False`` ones after)."""
    rules, match = _covering(request, config)
    claimed = None if match is None else claim(request, match.func, config)
    return ([rules] if claimed is None else [rules, claimed.hard]) if rules else [], claimed


def _present(parts: list[Part]) -> list[Decision]:
    return [d for _, decisions in parts for d in decisions if d is not None]


def _unused(
    request: HttpRequest,
    claimed: Claim | None,
    parts: list[Part],
    config: RateLimitSettings,
    blocking: bool,
) -> list[tuple[Any, Decision]]:
    """What the view's limits counted when its wrapper never ran, to take back."""
    if claimed is None or not unreached(request, claimed) or len(parts) < 2:
        return []
    return forget(request, parts[1], config, blocking)


class RateLimitMiddleware:
    """Applies the configured rate-limit rules; sync and async capable."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        request.__dict__.setdefault(LIMITED, False)  # django-ratelimit's flag, always set
        config = current_config()
        if not config.enabled:  # ENABLED False: the view's answer, as it is
            return self.get_response(request)
        return self._acall(request, config) if self.is_async else self._call(request, config)

    # The two faces of one request's handling: they differ only by ``await`` (and the async
    # twins of the checks they call).

    def _call(self, request: HttpRequest, config: RateLimitSettings) -> HttpResponseBase:
        parts, claimed = _plan(request, config)
        refused = self._decide(request, parts, claimed, config)
        response = self._respond(request, parts, claimed, config) if refused is None else refused
        return _finish(request, response, claimed, bool(parts) and refused is None, config)

    def _decide(
        self, request: HttpRequest, parts: Any, claimed: Claim | None, config: RateLimitSettings
    ) -> HttpResponseBase | None:
        """Decide the parts in one group (their list is replaced by the decided parts), then
        the view's ``block=False`` limits; the refusal, if any."""
        parts[:] = check_parts(request, parts, config) if parts else []
        refused = denial(request, _present(parts), config)
        if refused is None and claimed is not None and claimed.soft:
            check_all(request, claimed.soft, config, False)
        return refused

    def _respond(
        self, request: HttpRequest, parts: Any, claimed: Claim | None, config: RateLimitSettings
    ) -> HttpResponseBase:
        """The view's response, after which the ``deduct_when`` limits are counted."""
        response: HttpResponseBase = self.get_response(request)
        refund(_unused(request, claimed, parts, config, True))
        settle(request, response)
        return response

    async def _arespond(
        self, request: HttpRequest, parts: Any, claimed: Claim | None, config: RateLimitSettings
    ) -> HttpResponseBase:
        response: HttpResponseBase = await self.get_response(request)
        await arefund(_unused(request, claimed, parts, config, False))
        await asettle(request, response)
        return response

    async def _adecide(
        self, request: HttpRequest, parts: Any, claimed: Claim | None, config: RateLimitSettings
    ) -> HttpResponseBase | None:
        parts[:] = await acheck_parts(request, parts, config) if parts else []
        refused = await adenial(request, _present(parts), config)
        if refused is None and claimed is not None and claimed.soft:
            await acheck_all(request, claimed.soft, config, False)
        return refused

    async def _acall(self, request: HttpRequest, config: RateLimitSettings) -> HttpResponseBase:
        parts, claimed = _plan(request, config)
        refused = await self._adecide(request, parts, claimed, config)
        response = (
            await self._arespond(request, parts, claimed, config) if refused is None else refused
        )
        return _finish(request, response, claimed, bool(parts) and refused is None, config)


def _finish(
    request: HttpRequest,
    response: HttpResponseBase,
    claimed: Claim | None,
    decided: bool,
    config: RateLimitSettings,
) -> HttpResponseBase:
    """``response`` with the request's RateLimit headers (none when no rule decided: a refusal
    carries its own), the view's limits released for a next pass of the request."""
    if claimed is not None:
        unreached(request, claimed)
    if not decided:
        return response
    # A view's own @ratelimit decisions join the rules' in one set of headers.
    return add_headers(response, request_decisions(request), config, replace=True)
