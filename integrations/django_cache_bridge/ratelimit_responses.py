"""The responses of the Django rate limits (the middleware's and ``@ratelimit``'s): the
refusal (429, or 503 for a limit that failed closed; a custom ``VIEW`` or ``TEMPLATE``) and the
RateLimit headers on allowed responses."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.loader import render_to_string

from cache_bridge.ratelimit import Decision, rate_limit_headers, retry_after_seconds
from django_cache_bridge.ratelimit_config import RateLimitSettings

__all__ = ["add_headers", "adenial", "denial"]


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
