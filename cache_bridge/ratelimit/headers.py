"""HTTP headers for decisions: the IETF draft's ``RateLimit-Policy`` and ``RateLimit``
(draft-ietf-httpapi-ratelimit-headers, structured-field form), ``Retry-After``, and optionally
the older ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` trio.

Decisions whose cache could not be asked (``decision.failed``) carry no numbers and add no
headers.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable

from cache_bridge.ratelimit.decision import Decision

__all__ = ["rate_limit_headers", "retry_after_seconds"]


@functools.lru_cache(maxsize=1024)
def _sf_string(name: str) -> str:
    # A structured-field string: printable ASCII, with backslash and quote escaped.
    text = "".join(ch if " " <= ch <= "~" else "_" for ch in name)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _seconds(value: float) -> int:
    return max(0, math.ceil(value))


def retry_after_seconds(decisions: Iterable[Decision]) -> int:
    """Whole seconds for ``Retry-After``: the longest wait among the denied decisions, at
    least 1."""
    waits = [d.retry_after for d in decisions if not d.allowed and not d.failed]
    return max(1, *(_seconds(w) for w in waits)) if waits else 1


def rate_limit_headers(decisions: Iterable[Decision], *, legacy: bool = False) -> dict[str, str]:
    """``RateLimit-Policy`` and ``RateLimit`` listing every decision (a request checked against
    several limits lists each), plus the ``X-RateLimit-*`` trio of the most restrictive one when
    ``legacy``. ``X-RateLimit-Reset`` is in seconds from now, like ``RateLimit``'s ``t``."""
    known = [d for d in decisions if d.error is None]  # (not d.failed)
    if not known:
        return {}
    if len(known) == 1 and not legacy:  # the usual case, without the joins
        d = known[0]
        name = _sf_string(d.name)
        return {
            "RateLimit-Policy": f"{name};q={d.limit};w={d.rate.period}",
            "RateLimit": f"{name};r={d.remaining};t={_seconds(d.reset_after)}",
        }
    headers = {
        "RateLimit-Policy": ", ".join(
            f"{_sf_string(d.name)};q={d.limit};w={d.rate.period}" for d in known
        ),
        "RateLimit": ", ".join(
            f"{_sf_string(d.name)};r={d.remaining};t={_seconds(d.reset_after)}" for d in known
        ),
    }
    if legacy:
        tightest = min(known, key=lambda d: (d.remaining, -d.reset_after))
        headers["X-RateLimit-Limit"] = str(tightest.limit)
        headers["X-RateLimit-Remaining"] = str(tightest.remaining)
        headers["X-RateLimit-Reset"] = str(_seconds(tightest.reset_after))
    return headers
