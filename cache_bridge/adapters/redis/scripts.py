"""Lua scripts by digest: ``EVALSHA`` sends 40 hex digits instead of the script's text
(about 2 KB for the rate-limit script), and ``EVAL`` is the fallback when the server answers
``NOSCRIPT`` (after a restart, a ``SCRIPT FLUSH`` or a failover), which also loads the script
again for the next ``EVALSHA``.

Plans (:func:`cache_bridge.adapters.redis.plan.plan`) keep saying ``EVAL``; the plan sender
(:mod:`cache_bridge.adapters.redis.sending`, for the Redis and Sentinel adapters) turns that into
``EVALSHA`` with :func:`as_evalsha` and sends the plain plan on
``redis.exceptions.NoScriptError``. A script only reads and writes its own keys and either
runs whole or not at all, so running it again after ``NOSCRIPT`` (which ran nothing) is safe.
"""

from __future__ import annotations

import hashlib

from cache_bridge.adapters.redis.plan import Args

__all__ = ["as_evalsha", "digest"]

_digests: dict[str, str] = {}


def digest(script: str) -> str:
    """The SHA-1 hex digest Redis files ``script`` under (cached: scripts are constants)."""
    found = _digests.get(script)
    if found is None:
        found = _digests[script] = hashlib.sha1(script.encode("utf-8")).hexdigest()
    return found


def as_evalsha(args: Args) -> Args:
    """``("EVAL", script, ...)`` as ``("EVALSHA", digest, ...)``."""
    script = args[1]
    if args[0] != "EVAL" or not isinstance(script, str):
        raise ValueError(f"not an EVAL plan: {args[0]!r}")
    return ("EVALSHA", digest(script), *args[2:])
