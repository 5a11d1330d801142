"""Dynamic limits, written once for both frameworks: the rate as a callable (per user, per
plan) returning a rate string, a :class:`~cache_bridge.ratelimit.Rate`, several of them (``"200
per day; 50 per hour"``, a list) or ``None`` (this request is not limited). What it returns is
parsed once and kept (a bounded cache, cleared whole when full, which is logged). Each distinct
rate has its own counter (the rate is in the state key), so a user whose plan changes starts
afresh under the new rate. A callable that raises or returns something that is not a rate is
logged (at most once a minute) and, by the setting ``DYNAMIC_FAIL_OPEN`` (default ``True``),
the limit does not apply to that request, or (``False``) the request is refused (503).
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from cache_bridge.errors import ConfigurationError
from cache_bridge.ratelimit.rate import Rate, parse_rates

__all__ = ["MAX_RATES", "DynamicRate", "takes_arguments"]

logger = logging.getLogger("cache_bridge.ratelimit")

#: How many distinct returned rates one dynamic limit keeps parsed.
MAX_RATES = 1024
#: Seconds between two log lines about one broken rate callable.
_LOG_INTERVAL = 60.0


def takes_arguments(func: Callable[..., Any]) -> int:
    """How many positional arguments ``func`` takes (0 when its signature cannot be read)."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 0
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in parameters if p.kind in kinds and p.default is p.empty)


class DynamicRate:
    """A rate callable and the rates it returned, parsed."""

    def __init__(self, func: Callable[..., Any], label: str) -> None:
        if not callable(func):
            raise ConfigurationError(f"{label}: a dynamic rate must be callable")
        self.func = func
        self.label = label
        self._parsed: dict[Any, tuple[Rate, ...]] = {}
        self._lock = threading.Lock()
        self._logged = 0.0

    def rates(self, *args: Any, fail_open: bool = True) -> tuple[Rate, ...] | None:
        """The rates for this request (``args``: what the framework passes); ``()`` when the
        callable says ``None``; when it fails (logged): ``()`` if ``fail_open`` (the limit
        does not apply), else ``None`` (refuse the request)."""
        try:
            value = self.func(*args)
        except Exception as exc:
            return self._failed(f"raised {exc!r}", fail_open)
        if value is None:
            return ()
        key = value if isinstance(value, str | Rate) else repr(value)
        found = self._parsed.get(key)
        if found is not None:
            return found
        try:
            found = parse_rates(value)
        except ConfigurationError as exc:
            return self._failed(f"returned {value!r}: {exc}", fail_open)
        with self._lock:
            if len(self._parsed) >= MAX_RATES:
                logger.info(
                    "%s: more than %d distinct rates; forgetting them", self.label, MAX_RATES
                )
                self._parsed.clear()
            self._parsed[key] = found
        return found

    def _failed(self, what: str, fail_open: bool) -> tuple[Rate, ...] | None:
        now = time.monotonic()
        if now - self._logged >= _LOG_INTERVAL or not self._logged:
            self._logged = now
            outcome = (
                "the limit does not apply (DYNAMIC_FAIL_OPEN)"
                if fail_open
                else "the request is refused (DYNAMIC_FAIL_OPEN is False)"
            )
            logger.warning("%s: the rate callable %s; %s", self.label, what, outcome)
        return () if fail_open else None
