"""What a Flask limit counts a request under: the client's address (behind trusted proxies
only), the user, a header, a callable's answer. Used by the request hooks of
:mod:`flask_cache_bridge.limits`."""

from __future__ import annotations

from typing import Any

from flask import Request, g

from cache_bridge.ratelimit.request_keys import DENY, Deny, named_key
from flask_cache_bridge.limit_settings import KeySpec, LimitSettings

__all__ = ["peer", "request_key"]


def peer(settings: LimitSettings, req: Request) -> tuple[str | None, list[str]]:
    # X-Forwarded-For is read only when a proxy is trusted: otherwise it is never believed.
    trusted = settings.client_address.trusted_proxies
    return req.environ.get("REMOTE_ADDR"), req.headers.getlist("X-Forwarded-For") if trusted else []


def _client_ip(settings: LimitSettings, req: Request) -> str | None:
    """What an "ip" limit counts (``UNKNOWN_CLIENT`` applied); ``None``: refuse."""
    return settings.client_address.limit_key(*peer(settings, req))


def _user_id(settings: LimitSettings) -> str | None:
    uid = settings.user_id() if settings.user_id is not None else g.get("user_id")
    return None if uid is None else str(uid)


def request_key(
    req: Request, spec: KeySpec, settings: LimitSettings, read: dict[str, Any]
) -> str | Deny | None:
    """What ``spec`` counts; a named key's answer is kept in ``read`` (one per request:
    stacked limits mostly count under one, read once)."""
    if callable(spec):
        value = spec()
        return None if value is None else str(value)
    if spec in read:
        return read[spec]  # type: ignore[no-any-return]
    if spec == "ip":  # the default, as named_key reads it, without building its callbacks
        address = _client_ip(settings, req)
        read[spec] = DENY if address is None else f"ip:{address}"
    else:
        read[spec] = named_key(
            spec,
            header=req.headers.get,
            user_id=lambda: _user_id(settings),
            client_ip=lambda: _client_ip(settings, req),
        )
    return read[spec]  # type: ignore[no-any-return]
