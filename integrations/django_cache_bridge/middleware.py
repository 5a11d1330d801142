"""``django_cache_bridge.middleware.RateLimitMiddleware``: the rules of
``CACHE_BRIDGE_RATELIMIT["RULES"]`` applied to every request, sync or async.

Put it after ``AuthenticationMiddleware`` when a rule's KEY is ``"user"`` or ``"user-or-ip"``.
Every rule that covers a request (PATH prefix, REGEX, METHODS) applies to it, and they are
decided together, all or nothing (one command per alias): one refusal is enough for a 429
(or a 503 from a rule that fails closed while its cache is down), and a refused request
costs no rule anything. A view's ``@ratelimit`` that refuses later takes back what the rules
counted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, ResolverMatch, resolve

from cache_bridge.ratelimit import Decision
from django_cache_bridge.ratelimit_checks import (
    acheck_all,
    asettle,
    check_all,
    request_decisions,
    settle,
)
from django_cache_bridge.ratelimit_config import LimitSpec, RateLimitSettings, current_config
from django_cache_bridge.ratelimit_responses import add_headers, adenial, denial

__all__ = ["RateLimitMiddleware"]


def _covering(request: HttpRequest, config: RateLimitSettings) -> list[LimitSpec]:
    path, method = request.path_info, request.method or "GET"
    match = _resolved(request) if config.resolves else None
    return [
        spec for rule in config.rules if rule.covers(path, method, match) for spec in rule.specs
    ]


def _resolved(request: HttpRequest) -> ResolverMatch | None:
    """The request's URL resolved (the middleware runs before Django resolves it): only when a
    rule matches by URL_NAME or VIEW; ``None`` for a URL that resolves to nothing."""
    try:
        return resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return None


def _present(decisions: list[Decision | None]) -> list[Decision]:
    return [d for d in decisions if d is not None]


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
        return self._acall(request) if self.is_async else self._call(request)

    # The two faces of one request's handling: they differ only by ``await`` (and the async
    # twins of the checks they call).

    def _call(self, request: HttpRequest) -> HttpResponseBase:
        config = current_config()
        decisions = _present(check_all(request, _covering(request, config), config))
        refused = denial(request, decisions, config)
        response = refused if refused is not None else self._respond(request)
        return _finish(request, response, decisions if refused is None else [], config)

    def _respond(self, request: HttpRequest) -> HttpResponseBase:
        """The view's response, after which the ``deduct_when`` limits are counted."""
        response: HttpResponseBase = self.get_response(request)
        settle(request, response)
        return response

    async def _arespond(self, request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase = await self.get_response(request)
        await asettle(request, response)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        config = current_config()
        decisions = _present(await acheck_all(request, _covering(request, config), config))
        refused = await adenial(request, decisions, config)
        response = refused if refused is not None else await self._arespond(request)
        return _finish(request, response, decisions if refused is None else [], config)


def _finish(
    request: HttpRequest,
    response: HttpResponseBase,
    decisions: list[Decision],
    config: RateLimitSettings,
) -> HttpResponseBase:
    """``response`` with the request's RateLimit headers (none when no rule decided: a refusal
    carries its own)."""
    if not decisions:
        return response
    # A view's own @ratelimit decisions join the rules' in one set of headers.
    return add_headers(response, request_decisions(request), config, replace=True)
