"""Every option a cache URL takes, with the check each value passes and the defaults.

Pure data and pure functions: each mistake raises :class:`~cache_bridge.errors.ConfigurationError`
with a message that says what to write instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any, Final

from cache_bridge.errors import ConfigurationError

__all__ = [
    "CLUSTER_SPEC",
    "DEFAULT_BREAKER_COOLDOWN",
    "DEFAULT_BREAKER_THRESHOLD",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_TIMEOUT",
    "MAX_CONNECTIONS",
    "MEMORY_OPTIONS",
    "MEMORY_SPEC",
    "NEAR_CACHE_OPTIONS",
    "NETWORK_OPTIONS",
    "NETWORK_SPEC",
    "REDIS_OPTIONS",
    "REDIS_SPEC",
    "SENTINEL_AUTH",
    "SENTINEL_OPTIONS",
    "SENTINEL_SPEC",
    "Spec",
    "check_key_prefix",
    "check_options",
    "did_you_mean",
]

#: A checker per option name: ``check(name, value)`` returns the value or raises.
Spec = Mapping[str, Callable[[str, object], Any]]

#: Entries an in-memory store holds before it evicts the least recently used.
DEFAULT_MAX_ENTRIES = 10_000
#: Seconds to wait for a TCP/TLS connection to Redis.
DEFAULT_CONNECT_TIMEOUT = 1.0
#: Seconds to wait for a Redis reply, and for a free pooled connection.
DEFAULT_TIMEOUT = 1.0
#: Connections one Redis adapter may open (per event loop for the async face).
DEFAULT_MAX_CONNECTIONS = 50
#: Failures in a row after which a breaker probes only once per cool-down (0: no breaker).
DEFAULT_BREAKER_THRESHOLD: Final = 5
#: Seconds between two probes of an open breaker.
DEFAULT_BREAKER_COOLDOWN: Final = 2.0


def _positive_int(name: str, value: object) -> int:
    number = _coerce_int(name, value)
    if number < 1:
        raise ConfigurationError(f"option {name} must be at least 1, not {number}")
    return number


def _non_negative_int(name: str, value: object) -> int:
    number = _coerce_int(name, value)
    if number < 0:
        raise ConfigurationError(f"option {name} must be 0 or more, not {number}")
    return number


def _coerce_int(name: str, value: object) -> int:
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise ConfigurationError(
                f"option {name} must be a whole number, not {value!r}"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"option {name} must be an int, not {type(value).__name__}")
    return value


#: The largest pool accepted: redis-py's blocking pool reserves a slot per connection up front.
MAX_CONNECTIONS = 10_000


def _pool_size(name: str, value: object) -> int:
    size = _positive_int(name, value)
    if size > MAX_CONNECTIONS:
        raise ConfigurationError(f"option {name} must be at most {MAX_CONNECTIONS}, not {size}")
    return size


def _seconds(name: str, value: object) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ConfigurationError(
                f"option {name} must be a number of seconds, not {value!r}"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(
            f"option {name} must be seconds (a number), not {type(value).__name__}"
        )
    seconds = float(value)
    if not 0 < seconds <= 3600:
        raise ConfigurationError(
            f"option {name} must be more than 0 and at most 3600 seconds, not {value} "
            "(cache_bridge never waits forever)"
        )
    return seconds


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(f"option {name} must be a str, not {type(value).__name__}")
    return value


def _optional_text(name: str, value: object) -> str | None:
    return None if value is None else _text(name, value)


def _key_prefix(name: str, value: object) -> str | None:
    if value is None:
        return None
    prefix = _text(name, value)
    if not prefix:
        raise ConfigurationError("option key_prefix must not be empty; leave it out instead")
    try:
        prefix.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigurationError("option key_prefix is not valid Unicode") from None
    return prefix


def check_key_prefix(value: object) -> str | None:
    """``value`` as a key prefix (``None``: no namespace); :class:`ConfigurationError` if it is
    not a non-empty str that encodes as UTF-8."""
    return _key_prefix("key_prefix", value)


def _flag(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in (
        "1",
        "true",
        "yes",
        "on",
        "0",
        "false",
        "no",
        "off",
    ):
        return value.lower() in ("1", "true", "yes", "on")
    raise ConfigurationError(f"option {name} must be true or false, not {value!r}")


def _cert_reqs(name: str, value: object) -> str:
    text = _text(name, value).lower()
    if text not in ("required", "optional", "none"):
        raise ConfigurationError(
            f"option {name} must be 'required', 'optional' or 'none', not {value!r}"
        )
    return text


def _clock(name: str, value: object) -> Callable[[], float]:
    if not callable(value):
        raise ConfigurationError(f"option {name} must be a callable returning seconds")
    return value


_COMMON: dict[str, Callable[[str, object], Any]] = {"key_prefix": _key_prefix}
REDIS_SPEC: dict[str, Callable[[str, object], Any]] = {
    **_COMMON,
    "db": _non_negative_int,
    "username": _optional_text,
    "password": _optional_text,
    "connect_timeout": _seconds,
    "timeout": _seconds,
    "max_connections": _pool_size,
    "retries": _non_negative_int,
    "breaker_threshold": _non_negative_int,
    "breaker_cooldown": _seconds,
    "client_name": _optional_text,
    "ssl_ca_certs": _optional_text,
    "ssl_certfile": _optional_text,
    "ssl_keyfile": _optional_text,
    "ssl_cert_reqs": _cert_reqs,
    "ssl_check_hostname": _flag,
    "near_cache": _flag,
    "near_cache_max_entries": _positive_int,
    "near_cache_max_bytes": _positive_int,
}
#: The near cache's options: one Redis server only (docs/near-cache.md).
NEAR_CACHE_OPTIONS = ("near_cache", "near_cache_max_entries", "near_cache_max_bytes")
#: Why the schemes that refuse the near cache's options do.
_NEAR_CACHE_ELSEWHERE = {
    "redis+cluster": "invalidations would have to be tracked on every node and followed "
    "through slot migrations",
    "rediss+cluster": "invalidations would have to be tracked on every node and followed "
    "through slot migrations",
    "redis+sentinel": "a failover would have to be noticed before any read is served locally",
}


#: Every option a redis://, rediss:// or unix:// URL takes (for integrations that check them).
REDIS_OPTIONS = tuple(REDIS_SPEC)
#: The sentinels' own credentials, taken by redis+sentinel:// URLs.
SENTINEL_AUTH: dict[str, Callable[[str, object], Any]] = {
    "sentinel_username": _optional_text,
    "sentinel_password": _optional_text,
}
NETWORK_SPEC: dict[str, Callable[[str, object], Any]] = {
    **{name: check for name, check in REDIS_SPEC.items() if name != "key_prefix"},
    **SENTINEL_AUTH,
}
#: Options only a network adapter uses. A memory:// URL accepts them, checked as a network
#: URL checks them, and ignores them: one settings file serves memory:// and Redis alike.
NETWORK_OPTIONS = tuple(NETWORK_SPEC)
MEMORY_SPEC: dict[str, Callable[[str, object], Any]] = {
    **_COMMON,
    "max_entries": _positive_int,
    "clock": _clock,
    **NETWORK_SPEC,
}
#: Every option a memory:// URL takes (the network ones have no effect there).
MEMORY_OPTIONS = tuple(MEMORY_SPEC)
#: Options a sentinel URL takes on top of the data nodes' ones.
SENTINEL_OPTIONS = tuple(SENTINEL_AUTH)
#: Everything a redis:// URL takes, except a database: a cluster has only database 0.
CLUSTER_SPEC: dict[str, Callable[[str, object], Any]] = {
    name: check
    for name, check in REDIS_SPEC.items()
    if name != "db" and name not in NEAR_CACHE_OPTIONS
}
# No ssl_* options: TLS to a sentinel-managed primary is not supported, and an option
# accepted and then ignored would leave a user who asked for TLS on plain TCP.
SENTINEL_SPEC: dict[str, Callable[[str, object], Any]] = {
    **{
        name: check
        for name, check in REDIS_SPEC.items()
        if not name.startswith("ssl_") and name not in NEAR_CACHE_OPTIONS
    },
    **SENTINEL_AUTH,
}


def did_you_mean(name: str, known: list[str] | tuple[str, ...]) -> str:
    """`` Did you mean 'x'?`` for the known name closest to ``name``, or ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def is_written(config: Mapping[str, Any], setting: str) -> bool:
    """Whether ``config`` sets ``setting``, spelt as the warnings about a peer library's
    settings name what to write instead: ``KEY`` or ``KEY["A"]["B"]`` (``config["KEY"]["A"]
    ["B"]``); anything else (a sentence saying there is no counterpart) is never set."""
    name, *entries = setting.split("[")
    found: Any = config
    for entry in (name, *(e.strip('"]') for e in entries)):
        if not isinstance(found, Mapping) or entry not in found:
            return False
        found = found[entry]
    return True


def check_options(scheme: str, spec: Spec, given: Mapping[str, object]) -> dict[str, Any]:
    """``given`` checked against ``spec``: each value as its checker returns it."""
    checked = {}
    for name, value in given.items():
        check = spec.get(name)
        if check is None and name in NEAR_CACHE_OPTIONS:
            raise ConfigurationError(
                f"option {name!r}: the near cache is not supported on {scheme}:// caches "
                f"({_NEAR_CACHE_ELSEWHERE.get(scheme, 'it needs one Redis server')}). "
                "Remove the near_cache options, or point a redis://, rediss:// or unix:// "
                "URL at one server (docs/near-cache.md)."
            )
        if check is None:
            raise ConfigurationError(
                f"unknown option {name!r} for {scheme}:// caches.{did_you_mean(name, list(spec))} "
                f"Valid options: {', '.join(sorted(spec))}."
            )
        checked[name] = check(name, value)
    return checked
