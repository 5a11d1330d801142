"""Rates: ``"100/m"``, ``"10/s"``, ``"5000/h"``, ``"20/10s"``, ``"1000/d"``, ``"10/minute"``,
``"10 per 2 hours"``, or the typed :class:`Rate`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cache_bridge.engine.keys import MAX_TTL
from cache_bridge.errors import ConfigurationError

__all__ = ["MAX_LIMIT", "Rate", "parse_rate"]

#: The largest number of requests a rate may allow per period.
MAX_LIMIT = 1_000_000
#: ``limit * period`` in milliseconds stays below this, so the algorithms' integer arithmetic is
#: exact in Redis's Lua (whose numbers are doubles).
_MAX_PRODUCT = 2**51

_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}  # fmt: skip
# Longer counts or periods are out of range anyway (and Python refuses to read an int of more
# than 4,300 digits from text).
_MAX_DIGITS = 30
_SHORT = {86400: "d", 3600: "h", 60: "m", 1: "s"}
_RATE = re.compile(r"\s*([0-9]+)\s*(?:/|per\s)\s*([0-9]*)\s*([a-z]+)\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Rate:
    """``limit`` requests per ``period`` seconds."""

    limit: int
    period: int

    def __post_init__(self) -> None:
        for name in ("limit", "period"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigurationError(f"rate {name} must be an int, not {type(value).__name__}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ConfigurationError(
                f"rate limit must be 1 to {MAX_LIMIT}, not {_brief(self.limit)}"
            )
        if not 1 <= self.period <= MAX_TTL:
            raise ConfigurationError(
                f"rate period must be 1 to {MAX_TTL} seconds, not {_brief(self.period)}"
            )
        if self.limit * self.period_ms >= _MAX_PRODUCT:
            raise ConfigurationError(
                f"rate {self.limit}/{self.period}s is too fine-grained: limit x period in "
                f"milliseconds must stay below 2**51; use a shorter period"
            )

    @property
    def period_ms(self) -> int:
        """The period in milliseconds."""
        return self.period * 1000

    @classmethod
    def parse(cls, text: str) -> Rate:
        """The rate a string such as ``"100/m"`` or ``"20/10s"`` means; raises
        :class:`~cache_bridge.errors.ConfigurationError` for anything else."""
        if not isinstance(text, str):
            shown = _brief(text) if isinstance(text, int) else repr(text)
            raise ConfigurationError(f"a rate must be a str such as '100/m', not {shown}")
        found = _RATE.fullmatch(text)
        unit = _UNITS.get(found[3].lower()) if found else None
        if found is None or unit is None:
            raise ConfigurationError(
                f"malformed rate {text!r}; write COUNT/PERIOD such as '100/m', '10/s', "
                "'5000/h', '20/10s' or '1000/d'"
            )
        if len(found[1]) > _MAX_DIGITS or len(found[2]) > _MAX_DIGITS:
            raise ConfigurationError(
                f"rate {text[:40]!r}... has a count or period of more than {_MAX_DIGITS} digits"
            )
        multiple = int(found[2]) if found[2] else 1
        return cls(int(found[1]), multiple * unit)

    def __str__(self) -> str:
        for seconds, unit in _SHORT.items():
            if self.period % seconds == 0:
                count = self.period // seconds
                return f"{self.limit}/{'' if count == 1 else count}{unit}"
        return f"{self.limit}/{self.period}s"  # pragma: no cover - 1 divides everything


def _brief(number: int) -> str:
    # Python refuses to print integers of more than 4,300 digits.
    return str(number) if number.bit_length() < 128 else f"a {number.bit_length()}-bit integer"


def parse_rate(rate: str | Rate) -> Rate:
    """``rate`` as a :class:`Rate` (strings are parsed, rates pass through)."""
    return rate if isinstance(rate, Rate) else Rate.parse(rate)
