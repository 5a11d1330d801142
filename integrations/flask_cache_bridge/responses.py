"""Which responses may be cached, and how a response is stored and rebuilt.

A response is stored as a JSON object ``{"v": 1, "status": ..., "headers": [[name, value],
...], "body": base64}``; anything else found under a view key is treated as a miss.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Collection
from typing import Any

from flask import Response, current_app
from flask.globals import request_ctx

from flask_cache_bridge.failures import logger

__all__ = ["FORMAT_VERSION", "rebuild", "serialise", "uncacheable_reason"]

FORMAT_VERSION = 1

# Recomputed for the rebuilt body, or meaningless for a stored copy.
_DROPPED_HEADERS = frozenset({"content-length", "date"})
# A header name is an HTTP token (RFC 9110, section 5.1); a value holds no CR, LF or NUL.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FORBIDDEN_IN_VALUE = re.compile(r"[\r\n\x00]")


def uncacheable_reason(
    response: Response, statuses: Collection[int], max_bytes: int, custom_key: bool
) -> str | None:
    """Why ``response`` must not be stored, or ``None`` if it may be."""
    if response.status_code not in statuses:
        return f"status {response.status_code}"
    if response.is_streamed or response.direct_passthrough:
        return "a streamed response"
    if "Set-Cookie" in response.headers:
        return "it sets a cookie"
    control = response.cache_control
    if control.private or control.no_store or control.no_cache:
        return "Cache-Control forbids it"
    if response.vary and ("*" in response.vary or not custom_key):
        # The key does not hold the request headers named by Vary; a custom key may.
        return "the response varies by request headers"
    if _session_used():
        # A view that read the session answers per user (Flask adds Vary: Cookie later).
        return "the view used the session"
    if len(response.get_data()) > max_bytes:
        return f"its body is over {max_bytes} bytes"
    return None


def _session_used() -> bool:
    # Read the session without going through flask.session: since Flask 3.1.3 that access
    # itself marks the session as accessed.
    context = vars(request_ctx._get_current_object())  # type: ignore[attr-defined]
    current = context["_session"] if "_session" in context else context.get("session")
    if current is None or current_app.session_interface.is_null_session(current):
        return False  # not opened, or no secret key: there is no session to depend on
    return bool(getattr(current, "accessed", False))


def serialise(response: Response) -> dict[str, Any]:
    """The stored form of a cacheable response."""
    headers = [
        [name, value]
        for name, value in response.headers.items()
        if name.lower() not in _DROPPED_HEADERS
    ]
    return {
        "v": FORMAT_VERSION,
        "status": response.status_code,
        "headers": headers,
        "body": base64.b64encode(response.get_data()).decode("ascii"),
    }


def _is_header(pair: object) -> bool:
    if not isinstance(pair, list) or len(pair) != 2:
        return False
    name, value = pair
    return (
        isinstance(name, str)
        and _TOKEN.fullmatch(name) is not None
        and isinstance(value, str)
        and _FORBIDDEN_IN_VALUE.search(value) is None
    )


def rebuild(stored: dict[str, Any], statuses: Collection[int]) -> Response | None:
    """The response ``stored`` describes, or ``None`` if it is not a stored response that
    the decorator could have written: a status in ``statuses``, header names that are HTTP
    tokens and values without CR, LF or NUL, a base64 body. Any other error building the
    response is a miss too, never a 500."""
    status, headers, body = stored.get("status"), stored.get("headers"), stored.get("body")
    if (
        stored.get("v") != FORMAT_VERSION
        or type(status) is not int
        or status not in statuses
        or not isinstance(body, str)
        or not isinstance(headers, list)
        or not all(_is_header(pair) for pair in headers)
    ):
        return None
    try:
        data = base64.b64decode(body, validate=True)
        response: Response = current_app.response_class(
            data, status=status, headers=[(name, value) for name, value in headers]
        )
    except Exception:
        logger.debug("cache_bridge: a stored response could not be rebuilt", exc_info=True)
        return None
    return response
