"""The Lua scripts behind :class:`~cache_bridge.engine.commands.RateLimitHit` and
:class:`~cache_bridge.engine.commands.RateLimitRefund` on Redis.

The scripts (``lua/rate_limit.lua``, ``lua/rate_limit_refund.lua``) are ports of
:func:`cache_bridge.engine.limit_algorithms.hit_all` and
:func:`cache_bridge.engine.limit_algorithms.refund` (a differential test keeps them alike). One
``EVAL`` decides every limit of a group, then writes every new state with its expiry (``SET ...
PX``) only if all allow: one round trip for all of a request's limits, atomic on the server, and
no state ever left without an expiry. A limit without a caller's time (``''``) takes the
server's ``TIME``, so every process sharing the server shares one clock.

Hit: KEYS the state keys; ARGV one per limit, ``"algorithm limit period_ms cost mode[ now_ms]"``
(one argument rather than six: each costs redis-py an encoding and the server a string).
Reply: six integers per limit: allowed, remaining, reset_ms, retry_ms, counted, now_ms.

Refund: KEYS the state keys; ARGV one per limit, ``"algorithm limit period_ms cost mode
hit_ms"``. Reply: how many states changed (each keeps its expiry).
"""

from __future__ import annotations

from cache_bridge.adapters.redis.lua import load

__all__ = ["RATE_LIMIT_REFUND_SCRIPT", "RATE_LIMIT_SCRIPT"]

RATE_LIMIT_SCRIPT = load("rate_limit")
RATE_LIMIT_REFUND_SCRIPT = load("rate_limit_refund")
