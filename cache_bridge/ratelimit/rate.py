"""Rates: ``"100/m"``, ``"10/s"``, ``"5000/h"``, ``"20/10s"``, ``"1000/d"``, ``"10/minute"``,
``"10 per 2 hours"``, ``"5/week"``, ``"1000 per month"``, ``"1000000/year"``, or the typed
:class:`Rate`; several at once as ``"200 per day; 50 per hour"`` or a list
(:func:`parse_rates`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cache_bridge.engine.keys import MAX_TTL
from cache_bridge.errors import ConfigurationError

__all__ = ["DAY", "MAX_LIMIT", "MONTH", "WEEK", "YEAR", "Rate", "parse_rate", "parse_rates"]

#: The largest number of requests a rate may allow per period.
MAX_LIMIT = 1_000_000
#: ``limit * period`` in milliseconds stays below this for the algorithms that multiply them
#: (``sliding-window``, ``token-bucket``), so that their integer arithmetic is exact in Redis's
#: Lua (whose numbers are doubles). ``fixed-window`` only counts: any rate is exact there.
MAX_PRODUCT = 2**51
#: The algorithms whose arithmetic multiplies the limit by the period.
_MULTIPLYING = ("sliding-window", "token-bucket")

DAY = 86400
#: A week is 7 days; a month 30 days (as limits/flask-limiter); a year 365 days (limits uses
#: 360 = 12 x 30: "1000/year" here allows the same number over 5 more days).
WEEK, MONTH, YEAR = 7 * DAY, 30 * DAY, 365 * DAY

#: Units by lower-case spelling. Single letters are lower-case only (``"100/M"`` is refused:
#: django-ratelimit silently reads it as per second, others as per minute or per month).
_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": DAY, "day": DAY, "days": DAY,
    "w": WEEK, "wk": WEEK, "wks": WEEK, "week": WEEK, "weeks": WEEK,
    "mo": MONTH, "month": MONTH, "months": MONTH,
    "y": YEAR, "yr": YEAR, "yrs": YEAR, "year": YEAR, "years": YEAR,
}  # fmt: skip
# Longer counts or periods are out of range anyway (and Python refuses to read an int of more
# than 4,300 digits from text).
_MAX_DIGITS = 30
# How a rate prints (and is named in state keys: existing spellings must never change).
_SHORT = {86400: "d", 3600: "h", 60: "m", 1: "s"}
_RATE = re.compile(r"\s*([0-9]+)\s*(?:/|[Pp][Ee][Rr]\s)\s*([0-9]*)\s*([A-Za-z]+)\s*")
#: What separates the rates of a multi-rate string (as limits' ``parse_many``).
_SEPARATORS = re.compile(r"[;,|]")
_FORMS = "'100/m', '10/s', '5000/h', '20/10s', '1000/d', '10 per minute' or '5/week'"


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

    @property
    def period_ms(self) -> int:
        """The period in milliseconds."""
        return self.period * 1000

    def check_algorithm(self, algorithm: str) -> None:
        """Raise :class:`~cache_bridge.errors.ConfigurationError` when ``algorithm`` cannot
        count this rate exactly (the product rule of :data:`MAX_PRODUCT`)."""
        if algorithm in _MULTIPLYING and self.limit * self.period_ms >= MAX_PRODUCT:
            raise ConfigurationError(
                f"rate {self} is too fine-grained for {algorithm}: limit x period in "
                f"milliseconds must stay below 2**51 (the product rule: exact arithmetic in "
                f"Redis's Lua), and {self.limit} x {self.period_ms} is not; use fixed-window "
                "(any rate), a smaller count or a shorter period"
            )

    @classmethod
    def parse(cls, text: str) -> Rate:
        """The rate a string such as ``"100/m"`` or ``"20/10s"`` means; raises
        :class:`~cache_bridge.errors.ConfigurationError` for anything else (a string of
        several rates is for :func:`parse_rates`)."""
        if not isinstance(text, str):
            shown = _brief(text) if isinstance(text, int) else repr(text)
            raise ConfigurationError(f"a rate must be a str such as '100/m', not {shown}")
        found = _RATE.fullmatch(text)
        if found is None and _SEPARATORS.search(text):
            raise ConfigurationError(
                f"{text[:80]!r} holds several rates; give them where a list of limits is "
                "accepted (a rule's or a decorator's rate, parse_rates) or as a list such as "
                "['200/d', '50/h']"
            )
        unit = _unit(found[3], text) if found else None
        if found is None or unit is None:
            raise ConfigurationError(
                f"malformed rate {text[:80]!r}; write COUNT/PERIOD such as {_FORMS}"
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


def _unit(spelling: str, text: str) -> int | None:
    """The seconds of a unit; ``None`` for an unknown one. An upper-case single letter is a
    mistake whose meaning differs between libraries: refused with what to write."""
    if len(spelling) == 1 and not spelling.islower():
        raise ConfigurationError(
            f"ambiguous rate {text[:80]!r}: single-letter units are lower case; write "
            f"'{spelling.lower()}' or its word ('m' or 'minute' for minutes, 'month' for 30 "
            "days, 's' or 'second', 'h' or 'hour', 'd' or 'day', 'w' or 'week', 'y' or 'year')"
        )
    return _UNITS.get(spelling.lower())


def _brief(number: int) -> str:
    # Python refuses to print integers of more than 4,300 digits.
    return str(number) if number.bit_length() < 128 else f"a {number.bit_length()}-bit integer"


def parse_rate(rate: str | Rate) -> Rate:
    """``rate`` as a :class:`Rate` (strings are parsed, rates pass through)."""
    return rate if isinstance(rate, Rate) else Rate.parse(rate)


RateSpec = str | Rate | tuple[int, int] | Sequence["str | Rate | tuple[int, int]"]


def parse_rates(rates: RateSpec) -> tuple[Rate, ...]:
    """Every rate of ``rates``, in order: one rate (``"100/m"``, a :class:`Rate`, a
    ``(count, seconds)`` pair as django-ratelimit takes), a string of several separated by
    ``;``, ``,`` or ``|`` (``"200 per day; 50 per hour"``), or a list of any of these. Raises
    :class:`~cache_bridge.errors.ConfigurationError` for anything else, or for no rate."""
    found = tuple(_rates(rates, 0))
    if not found:
        raise ConfigurationError("a rate list must hold at least one rate such as '100/m'")
    return found


def _rates(rates: object, depth: int) -> list[Rate]:
    if isinstance(rates, Rate):
        return [rates]
    if isinstance(rates, str):
        parts = _SEPARATORS.split(rates)
        if len(parts) > 1 and any(not p.strip() for p in parts):
            raise ConfigurationError(
                f"rate list {rates[:80]!r} has an empty entry; separate rates with one ';', "
                "',' or '|' such as '200 per day; 50 per hour'"
            )
        return [Rate.parse(part) for part in parts]
    if isinstance(rates, tuple) and _is_pair(rates):
        return [Rate(rates[0], rates[1])]
    if depth == 0 and isinstance(rates, list | tuple):
        try:
            items = list(rates)
        except Exception as exc:  # a hostile sequence: a mistake all the same
            raise ConfigurationError(f"a rate list could not be read ({exc!r})") from None
        return [rate for item in items for rate in _rates(item, 1)]
    shown = _brief(rates) if isinstance(rates, int) else repr(rates)[:80]
    raise ConfigurationError(
        f"a rate must be a str such as '100/m', a Rate, a (count, seconds) pair or a list of "
        f"these, not {shown}"
    )


def _is_pair(value: object) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )
