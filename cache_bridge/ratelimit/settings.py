"""The rate-limit settings schema that both framework integrations wrap.

Django (``settings.CACHE_BRIDGE_RATELIMIT``) and Flask (``app.config["CACHE_BRIDGE_RATELIMIT"]``)
share the keys below, their defaults and how each is checked (``ENABLED``: ``False`` turns every
limit off, no cache call, no header, no refusal); each framework adds its own keys (Django:
``CACHE``, ``VIEW``, ``TEMPLATE``, ``RULES``; Flask: ``DEFAULT_LIMITS``, ``USER_ID``), keeps its
own setting name and error wording, and raises its own exception type (the checks here raise
:class:`~cache_bridge.errors.ConfigurationError` with the detail; the framework says where).

Also here: the keys of one limit both accept, and :class:`LimiterCache`, the bounded store of
limiters an integration reuses across requests.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any, Final, Generic, TypeVar

from cache_bridge.config import did_you_mean
from cache_bridge.engine.limit_algorithms import ALGORITHMS
from cache_bridge.errors import ConfigurationError
from cache_bridge.ratelimit.clientip import ClientAddress
from cache_bridge.ratelimit.memory_fallback import check_fallback
from cache_bridge.ratelimit.rate import Rate, parse_rate, parse_rates

__all__ = [
    "LIMIT_KEYS",
    "MAX_LIMITERS",
    "SHARED_DEFAULTS",
    "LimiterCache",
    "check_algorithm",
    "check_fallback",
    "check_methods",
    "check_rate",
    "check_rates",
    "client_address",
    "is_flag",
    "is_prefix",
    "parenthesised",
    "unknown_name",
]

#: The top-level keys both frameworks accept, with their defaults.
SHARED_DEFAULTS: Final[Mapping[str, Any]] = {
    "ENABLED": True,
    "KEY": "ip",
    "ALGORITHM": "fixed-window",
    "FAIL_OPEN": True,
    "KEY_PREFIX": "ratelimit",
    "TRUSTED_PROXIES": (),
    "UNKNOWN_CLIENT": "shared",
    "IPV6_PREFIX": 64,
    "IPV4_PREFIX": 32,
    "HEADERS": True,
    "LEGACY_HEADERS": False,
    # Checked by cache_bridge.ratelimit.headers.header_settings.
    "HEADER_NAMES": {},
    "RETRY_AFTER_FORMAT": "seconds",
    "EXEMPT": (),
    "EXEMPT_WHEN": None,
    "APPLICATION_LIMITS": (),
    "DYNAMIC_FAIL_OPEN": True,
    # None, or "memory": limits hold per process while the cache cannot be asked.
    "FALLBACK": None,
}

#: The keys of one limit (a Django rule, a Flask default limit) both frameworks accept.
LIMIT_KEYS: Final = (
    "NAME",
    "RATE",
    "METHODS",
    "ALGORITHM",
    "KEY",
    "FAIL_OPEN",
    "COST",
    "DEDUCT_WHEN",
    "EXEMPT_WHEN",
)

#: How many limiters an integration keeps per store before it forgets them all (a bound,
#: never reached by an app with fewer limits and routes).
MAX_LIMITERS: Final = 1024


def unknown_name(given: Iterable[object], known: tuple[str, ...]) -> tuple[str, str] | None:
    """The first name of ``given`` that is not in ``known``, with the did-you-mean hint
    (:func:`cache_bridge.config.did_you_mean`: ``" Did you mean 'X'?"`` or ``""``); ``None``
    when every name is known."""
    for name in given:
        if name not in known:
            return str(name), did_you_mean(str(name), known)
    return None


def parenthesised(hint: str) -> str:
    """A did-you-mean hint as a parenthesis in a sentence: ``" (did you mean 'X'?)"``."""
    hint = hint.strip()
    return f" ({hint[:1].lower()}{hint[1:]})" if hint else ""


def check_rate(rate: object) -> Rate:
    """``rate`` parsed (a str such as ``"100/m"`` or a :class:`Rate`)."""
    return parse_rate(rate)  # type: ignore[arg-type]


def check_rates(rates: object, algorithm: str | None = None) -> tuple[Rate, ...]:
    """Every rate of ``rates`` (one rate, ``"200 per day; 50 per hour"``, a list, a
    ``(count, seconds)`` pair), each checked against ``algorithm`` when it is known (the
    product rule of :meth:`Rate.check_algorithm`)."""
    parsed = parse_rates(rates)  # type: ignore[arg-type]
    if algorithm is not None:
        for rate in parsed:
            rate.check_algorithm(algorithm)
    return parsed


def check_algorithm(algorithm: object, label: str) -> str:
    """``algorithm`` if it is one of the algorithms (``label``: how the framework names it)."""
    if algorithm not in ALGORITHMS:
        raise ConfigurationError(f"{label} {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    return str(algorithm)


def check_methods(methods: object, label: str) -> frozenset[str] | None:
    """HTTP methods in upper case (one str or a collection of them); ``None``: every method."""
    if methods is None:
        return None
    if isinstance(methods, str):
        methods = [methods]
    if (
        not isinstance(methods, Collection)
        or isinstance(methods, Mapping)
        or not all(isinstance(m, str) for m in methods)
    ):
        raise ConfigurationError(f"{label} must be a list such as ['POST']")
    return frozenset(m.upper() for m in methods)


def is_flag(value: object) -> bool:
    """Whether ``value`` is ``True`` or ``False``."""
    return isinstance(value, bool)


def is_prefix(value: object) -> bool:
    """Whether ``value`` is a valid ``KEY_PREFIX``: a non-empty str."""
    return isinstance(value, str) and bool(value)


def client_address(values: Mapping[str, Any]) -> ClientAddress:
    """The :class:`ClientAddress` of ``TRUSTED_PROXIES``, ``IPV6_PREFIX``, ``IPV4_PREFIX`` and
    ``UNKNOWN_CLIENT`` (defaults where missing)."""
    values = {**SHARED_DEFAULTS, **values}
    try:
        return ClientAddress(
            tuple(values["TRUSTED_PROXIES"]),
            ipv6_prefix=values["IPV6_PREFIX"],
            ipv4_prefix=values["IPV4_PREFIX"],
            unknown_client=values["UNKNOWN_CLIENT"],
        )
    except TypeError as exc:
        raise ConfigurationError(str(exc)) from exc


K = TypeVar("K")
V = TypeVar("V")


class LimiterCache(Generic[K, V]):
    """Limiters kept for reuse across requests (building one per request costs more than
    the check itself), at most ``bound``: when full, every one is forgotten and the next
    requests rebuild those they use."""

    def __init__(self) -> None:
        self._kept: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._kept.get(key)

    def put(self, key: K, value: V, bound: int = MAX_LIMITERS) -> V:
        """Keep ``value`` under ``key`` (forgetting every other one first when ``bound`` are
        kept) and return it."""
        if len(self._kept) >= bound:
            self._kept.clear()
        self._kept[key] = value
        return value

    def full(self, bound: int = MAX_LIMITERS) -> bool:
        """Whether the next :meth:`put` of a new key forgets the others."""
        return len(self._kept) >= bound

    def clear(self) -> None:
        self._kept.clear()

    def values(self) -> Iterator[V]:
        return iter(list(self._kept.values()))

    def __len__(self) -> int:
        return len(self._kept)
