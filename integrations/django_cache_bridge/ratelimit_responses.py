"""The responses of the Django rate limits (the middleware's and ``@ratelimit``'s): the
refusal (429, or 503 for a limit that failed closed; a custom ``VIEW`` or ``TEMPLATE``) and the
RateLimit headers on allowed responses."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.loader import render_to_string

from cache_bridge.ratelimit import Decision, retry_after_seconds
from cache_bridge.ratelimit.headers import response_headers
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
        name, value = config.header_settings.retry_after_field(1)
        response[name] = value
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
    found = response_headers(
        decisions,
        legacy=config.legacy_headers,
        settings=config.header_settings,
        refused=True,
    )
    for name, value in found.items():
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
    if not (enabled if enabled is not None else config.headers):
        return response
    found = response_headers(
        decisions, legacy=config.legacy_headers, settings=config.header_settings
    )
    # Django's ResponseHeaders checks and encodes every name and value it is given; these are
    # printable ASCII by construction (the structured-field strings escape everything else),
    # so they go straight to its store when it has the usual one (a dict of lowercased names).
    store = getattr(response.headers, "_store", None)
    if type(store) is dict:
        for name, value in found.items():
            lowered = name.lower()
            if replace or lowered not in store:
                store[lowered] = (name, value)
        return response
    for name, value in found.items():
        if replace:
            response.headers[name] = value
        else:
            response.headers.setdefault(name, value)
    return response
