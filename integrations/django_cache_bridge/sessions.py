"""Django's cache session engine while its cache cannot store a session.

``django.contrib.sessions.backends.cache`` creates a session by calling ``add()`` with fresh
random keys until one is stored, up to 10,000 times: a cache that fails silently cannot tell
a key collision from being down, so Django keeps trying and only then raises
``RuntimeError("Unable to create a new session key...")``. On a fail-open BridgeCache with
Redis down that was 10,000 ``has_key`` + ``add`` calls, 20,000 log lines and a 500 after more
than a second.

BridgeCache can tell: when ``add()`` fails because the cache cannot store anything now (its
circuit breaker is open, or, with the breaker turned off, the server cannot be reached) or
because the value cannot be serialized, and the caller is that session-creating loop, it
raises :class:`SessionCacheUnavailable` (a ``RuntimeError``, as Django's own) at once,
naming the fix. Every other caller of ``add()`` keeps the fail-open answer (``False``).
"""

from __future__ import annotations

import sys
from types import CodeType

__all__ = ["SessionCacheUnavailable", "cache_down", "creating_session", "unwritable_session"]

#: How many frames above the backend to look for the session engine's loop (the backend's
#: own frames, a SessionStore subclass's ``save`` calling ``super().save``, ...).
_DEPTH = 12

_loops: list[frozenset[CodeType]] = []


class SessionCacheUnavailable(RuntimeError):
    """Django's cache session engine cannot create a session: the cache cannot store it."""


def _create_loops() -> frozenset[CodeType]:
    """The code of the cache session engine's ``create`` and ``acreate`` (Django 5.0+)."""
    if not _loops:
        from django.contrib.sessions.backends.cache import SessionStore

        codes = {SessionStore.create.__code__}
        acreate = getattr(SessionStore, "acreate", None)
        if acreate is not None:
            codes.add(acreate.__code__)
        _loops.append(frozenset(codes))
    return _loops[0]


def creating_session() -> bool:
    """Whether Django's cache session engine is creating a session further up this call (its
    ``create`` or ``acreate`` loop; an awaiting coroutine's frame counts). Looked up only
    after a failed ``add``, so it costs nothing while the cache works."""
    loops = _create_loops()
    frame = sys._getframe(1)
    for _ in range(_DEPTH):
        if frame.f_code in loops:
            return True
        if frame.f_back is None:
            return False
        frame = frame.f_back
    return False


def cache_down(where: str, reason: str) -> SessionCacheUnavailable:
    """The error for a session the cache ``where`` cannot store now (``reason``)."""
    return SessionCacheUnavailable(
        f"Django's cache session engine cannot create a session: the cache {where} cannot "
        f"store it now ({reason}). Sessions kept only in a cache cannot outlive its outage; "
        "use SESSION_ENGINE = 'django.contrib.sessions.backends.cached_db' (the database keeps "
        "the sessions, the cache speeds them up). BridgeCache raises this at once instead of "
        "letting Django try 10,000 session keys."
    )


def unwritable_session(where: str, reason: str) -> SessionCacheUnavailable:
    """The error for a session the serializer of the cache ``where`` cannot write."""
    return SessionCacheUnavailable(
        f"Django's cache session engine cannot create a session: {reason} (the session's "
        f"cache is {where}). Keep JSON values in the session, or use the pickle serializer on "
        "the session's cache alias."
    )
