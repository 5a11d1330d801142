"""Cost and ``deduct_when`` for the framework integrations, written once for both.

A limit may count a request as several units (``cost``: an int, or a callable giving one per
request), and may count a request only when its response matches (``deduct_when``: a callable
of the response, e.g. :func:`when_status` for failed logins). Such a limit is **peeked** before
the view (decided with its cost in the same command as the request's other limits, nothing
written) and, only when the predicate holds for the response, counted after it by one more
command that never refuses (mode ``"force"``). A request that is not counted costs no second
round trip. As in flask-limiter, the after-count is not re-checked: concurrent requests can
push a count past the limit by at most their number.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cache_bridge.errors import ConfigurationError
from cache_bridge.ratelimit.rate import Rate

__all__ = [
    "BAD_COST",
    "Deferred",
    "check_cost",
    "check_deduct_when",
    "deductions",
    "request_cost",
    "when_status",
]

logger = logging.getLogger("cache_bridge.ratelimit")

#: What :func:`request_cost` gives for a cost callable that raised: the limit refuses the
#: request with ``reason="bad-cost"``.
BAD_COST: Any = "bad-cost"

Cost = int | Callable[..., Any]


def check_cost(cost: object, rates: Sequence[Rate]) -> Cost:
    """``cost`` if it is an int from 0 to the smallest of ``rates``' limits, or a callable;
    raises :class:`~cache_bridge.errors.ConfigurationError` saying why not (a cost above a
    limit could never be allowed)."""
    if callable(cost):
        return cost
    if isinstance(cost, bool) or not isinstance(cost, int) or cost < 0:
        raise ConfigurationError(
            f"cost must be an int of 0 or more or a callable giving one, not {cost!r}"
        )
    for rate in rates:
        if cost > rate.limit:
            raise ConfigurationError(
                f"cost {cost} is larger than the limit of rate {rate}: no request could ever be "
                f"allowed; lower the cost or raise the limit"
            )
    return cost


def check_deduct_when(predicate: object) -> Callable[[Any], Any] | None:
    """``predicate`` if it is ``None`` or a callable of the response."""
    if predicate is not None and not callable(predicate):
        raise ConfigurationError(
            f"deduct_when must be a callable of the response (such as "
            f"cache_bridge.ratelimit.when_status(400, 599)), not {predicate!r}"
        )
    return predicate


def request_cost(cost: Cost, *args: Any) -> Any:
    """The cost of this request: ``cost`` itself, or what the callable gives for ``args`` (the
    request in Django; nothing in Flask); :data:`BAD_COST` when it raises (logged)."""
    if not callable(cost):
        return cost
    try:
        return cost(*args)
    except Exception:
        logger.exception("a rate limit's cost callable raised; the request is refused")
        return BAD_COST


def when_status(low: int, high: int | None = None) -> Callable[[Any], bool]:
    """A ``deduct_when`` predicate: the response's status code is from ``low`` to ``high``
    (default: ``low`` only), read from ``status_code`` (Django, Flask/werkzeug)."""
    top = low if high is None else high

    def matches(response: Any) -> bool:
        return low <= int(getattr(response, "status_code", 0)) <= top

    matches.__qualname__ = f"when_status({low}, {top})"
    return matches


@dataclass(frozen=True, slots=True)
class Deferred:
    """A limit peeked before the view, to count after it if ``predicate(response)`` holds."""

    limiter: Any
    key: str
    cost: int
    predicate: Callable[[Any], Any]


def deductions(deferred: Sequence[Deferred], response: Any) -> list[tuple[Any, str, int, str]]:
    """The checks that count the deferred limits whose predicate holds for ``response``
    (mode ``"force"``: counted, never refused); a predicate that raises counts nothing
    (logged)."""
    checks = []
    for item in deferred:
        try:
            holds = bool(item.predicate(response))
        except Exception:
            logger.exception("a rate limit's deduct_when raised; the request is not counted")
            continue
        if holds:
            checks.append((item.limiter, item.key, item.cost, "force"))
    return checks
