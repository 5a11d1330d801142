"""Rate limiting on any cache_bridge adapter, framework-free.

::

    from cache_bridge import create_sync_cache
    from cache_bridge.ratelimit import RateLimiter

    limiter = RateLimiter(create_sync_cache("redis://localhost:6379/0"), "100/m",
                          algorithm="sliding-window", name="api")
    decision = limiter.hit("203.0.113.7")
    if not decision.allowed:
        ...  # 429, Retry-After: decision.retry_after

Several limits of one request are decided together, all or nothing, by :func:`hit_all` (a
refused request costs no limit)::

    decisions = hit_all([(per_minute, "ip:203.0.113.7"), (per_hour, "ip:203.0.113.7")])

On the bundled adapters one check, or one group of checks, is one atomic command (one Lua
``EVAL`` on Redis); on any other adapter the limiter falls back to ``increment`` and
``expire``. See docs/ratelimit.md.
"""

from __future__ import annotations

from cache_bridge.engine.limit_algorithms import ALGORITHMS
from cache_bridge.ratelimit.clientip import UNKNOWN, ClientAddress, parse_ip
from cache_bridge.ratelimit.decision import Decision
from cache_bridge.ratelimit.deduct import when_status
from cache_bridge.ratelimit.group import ahit_all, arefund, hit_all, refund
from cache_bridge.ratelimit.headers import rate_limit_headers, retry_after_seconds
from cache_bridge.ratelimit.limiter import AsyncRateLimiter, RateLimiter, limit_log
from cache_bridge.ratelimit.memory_fallback import reset_fallback_store
from cache_bridge.ratelimit.rate import MAX_LIMIT, Rate, parse_rate

__all__ = [
    "ALGORITHMS",
    "MAX_LIMIT",
    "UNKNOWN",
    "AsyncRateLimiter",
    "ClientAddress",
    "Decision",
    "Rate",
    "RateLimiter",
    "ahit_all",
    "arefund",
    "hit_all",
    "limit_log",
    "parse_ip",
    "parse_rate",
    "rate_limit_headers",
    "refund",
    "reset_fallback_store",
    "retry_after_seconds",
    "when_status",
]
