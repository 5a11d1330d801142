"""Cache URLs and options, checked once at construction.

Every mistake raises :class:`~cache_bridge.errors.ConfigurationError` (a ``ValueError``) whose
message names the problem and what to write instead. Options may be given as keyword
arguments or as URL query parameters (``redis://host/0?timeout=0.5``); keywords win, except
that a ``key_prefix`` given both ways must be the same (two namespaces for one cache are a
mistake, not a preference).

Portable settings: a ``memory://`` URL accepts every network option (timeouts, pool size,
breaker, TLS, credentials, sentinel credentials), checks its value the same way, and ignores
it, so one set of options serves whichever URL comes from the environment.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from cache_bridge.breaker import DEFAULT_COOLDOWN, DEFAULT_THRESHOLD, CircuitBreaker
from cache_bridge.errors import ConfigurationError

if TYPE_CHECKING:
    from cache_bridge.scaling_config import ClusterSettings, SentinelSettings

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_TIMEOUT",
    "MEMORY_OPTIONS",
    "NETWORK_OPTIONS",
    "REDIS_OPTIONS",
    "MemorySettings",
    "RedisSettings",
    "check_key_prefix",
    "merge_options",
    "parse",
    "parse_as",
    "resolve_key_prefix",
    "url_options",
]

#: Entries an in-memory store holds before it evicts the least recently used.
DEFAULT_MAX_ENTRIES = 10_000
#: Seconds to wait for a TCP/TLS connection to Redis.
DEFAULT_CONNECT_TIMEOUT = 1.0
#: Seconds to wait for a Redis reply, and for a free pooled connection.
DEFAULT_TIMEOUT = 1.0
#: Connections one Redis adapter may open (per event loop for the async face).
DEFAULT_MAX_CONNECTIONS = 50

_REDIS_SCHEMES = ("redis", "rediss", "unix")
# Redis Cluster and Sentinel URLs: cache_bridge.scaling_config parses them.
_SCALED_SCHEMES = ("redis+cluster", "rediss+cluster", "redis+sentinel")
_SCHEMES = ("memory", *_REDIS_SCHEMES, *_SCALED_SCHEMES)


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
_REDIS: dict[str, Callable[[str, object], Any]] = {
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
}


#: Every option a redis://, rediss:// or unix:// URL takes (for integrations that check them).
REDIS_OPTIONS = tuple(_REDIS)
#: The sentinels' own credentials, taken by redis+sentinel:// URLs.
SENTINEL_AUTH: dict[str, Callable[[str, object], Any]] = {
    "sentinel_username": _optional_text,
    "sentinel_password": _optional_text,
}
_NETWORK: dict[str, Callable[[str, object], Any]] = {
    **{name: check for name, check in _REDIS.items() if name != "key_prefix"},
    **SENTINEL_AUTH,
}
#: Options only a network adapter uses. A memory:// URL accepts them, checked as a network
#: URL checks them, and ignores them: one settings file serves memory:// and Redis alike.
NETWORK_OPTIONS = tuple(_NETWORK)
_MEMORY: dict[str, Callable[[str, object], Any]] = {
    **_COMMON,
    "max_entries": _positive_int,
    "clock": _clock,
    **_NETWORK,
}
#: Every option a memory:// URL takes (the network ones have no effect there).
MEMORY_OPTIONS = tuple(_MEMORY)


def _options(
    scheme: str, spec: Mapping[str, Callable[[str, object], Any]], given: Mapping[str, object]
) -> dict[str, Any]:
    checked = {}
    for name, value in given.items():
        check = spec.get(name)
        if check is None:
            close = difflib.get_close_matches(name, list(spec), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(
                f"unknown option {name!r} for {scheme}:// caches.{hint} "
                f"Valid options: {', '.join(sorted(spec))}."
            )
        checked[name] = check(name, value)
    return checked


@dataclass(frozen=True)
class MemorySettings:
    """A checked ``memory://[NAME]`` configuration."""

    name: str | None
    key_prefix: str | None = None
    max_entries: int = DEFAULT_MAX_ENTRIES
    clock: Callable[[], float] = time.time

    def describe(self) -> str:
        return f"memory://{self.name or ''}" + (
            f" prefix={self.key_prefix!r}" if self.key_prefix else ""
        )


@dataclass(frozen=True)
class RedisSettings:
    """A checked ``redis://``, ``rediss://`` or ``unix://`` configuration."""

    scheme: str
    host: str = "localhost"
    port: int = 6379
    path: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    key_prefix: str | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    timeout: float = DEFAULT_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    retries: int = 0
    breaker_threshold: int = DEFAULT_THRESHOLD
    breaker_cooldown: float = DEFAULT_COOLDOWN
    client_name: str | None = None
    ssl_ca_certs: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_cert_reqs: str = "required"
    ssl_check_hostname: bool = True

    @property
    def tls(self) -> bool:
        return self.scheme == "rediss"

    def masked_url(self) -> str:
        """The URL with any password replaced by ``***``."""
        auth = ""
        if self.username or self.password:
            auth = quote(self.username or "", safe="") + (":***" if self.password else "") + "@"
        if self.path is not None:
            return f"unix://{auth}{self.path}?db={self.db}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{auth}{host}:{self.port}/{self.db}"

    def describe(self) -> str:
        return self.masked_url() + (f" prefix={self.key_prefix!r}" if self.key_prefix else "")

    def breaker(self) -> CircuitBreaker | None:
        """A new circuit breaker for one adapter (``None`` with ``breaker_threshold=0``)."""
        if self.breaker_threshold == 0:
            return None
        return CircuitBreaker(self.breaker_threshold, self.breaker_cooldown)


def _split(url: object) -> tuple[str, Any]:
    if not isinstance(url, str):
        raise ConfigurationError(f"the cache URL must be a str, not {type(url).__name__}")
    try:
        parts = urlsplit(url)
    except ValueError:
        # Not urlsplit's message: it quotes the part it choked on, which may be a password.
        raise ConfigurationError(
            "malformed cache URL: check the host (IPv6 addresses go in [brackets]) and "
            "percent-encode special characters in the user name and password (%5B for '[')"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ConfigurationError(
            f"unsupported cache URL scheme {parts.scheme!r}; "
            "use memory://, redis://, rediss://, unix://, redis+cluster:// or redis+sentinel://"
        )
    return scheme, parts


def _query(parts: Any) -> dict[str, str]:
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        # Not parse_qsl's message: it quotes the field, which may be the rest of a password.
        raise ConfigurationError(
            "malformed query string in the cache URL: write name=value pairs joined by '&', "
            "and percent-encode '&', '=' and '#' inside a value (a password: %26, %3D, %23)"
        ) from None
    query: dict[str, str] = {}
    for name, value in pairs:
        if name in query:
            raise ConfigurationError(f"option {name!r} is given twice in the cache URL")
        query[name] = value
    return query


def url_options(
    scheme: str, spec: Mapping[str, Callable[[str, object], Any]], parts: Any
) -> dict[str, str]:
    """The options in the query string of a Redis-family URL (``parts`` from ``urlsplit``),
    checked against ``spec`` before anything is shown of them when the URL holds credentials:
    a bad option there may be a password's tail cut off at an unescaped '?', '&' or '#'."""
    query = _query(parts)
    if "@" in parts.geturl() or "password" in query or "sentinel_password" in query:
        try:
            _options(scheme, spec, query)
        except ConfigurationError:
            raise ConfigurationError(
                "an option in the cache URL's query string is unknown or invalid; it is not "
                "shown because the URL holds credentials: percent-encode '?', '&', '#' and '/' "
                "in a password (%3F, %26, %23, %2F)"
            ) from None
    return query


def _one_prefix(from_url: object, given: object, given_as: str) -> None:
    """Raise unless the URL's ``key_prefix`` and one given elsewhere agree (or one is absent).
    The message shows the value given elsewhere only: the URL's may be the tail of a password
    cut off at an unescaped '?'."""
    if from_url in (None, "") or given in (None, "") or from_url == given:
        return
    raise ConfigurationError(
        f"the cache URL's ?key_prefix= and {given_as} ({given!r}) differ: a cache has one "
        "namespace, so give the prefix in one place (or the same in both)"
    )


def merge_options(
    query: Mapping[str, object],
    options: Mapping[str, object],
    base: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """``base`` (parts of the URL), then the URL's query options, then keyword ``options``:
    later ones win, except that a ``key_prefix`` in both the query and the keywords must be
    the same (:class:`ConfigurationError` otherwise)."""
    _one_prefix(query.get("key_prefix"), options.get("key_prefix"), "the key_prefix option")
    return {**(base or {}), **query, **options}


def resolve_key_prefix(url: object, given: object, given_as: str) -> str | None:
    """The namespace of a cache configured by ``url`` and a prefix ``given`` in a framework
    setting named ``given_as`` (``None`` or ``""``: not given): the URL's ``?key_prefix=``,
    or ``given``, or ``None``. Both given and different: :class:`ConfigurationError`."""
    _, parts = _split(url)
    from_url = _query(parts).get("key_prefix")
    _one_prefix(from_url, given, given_as)
    return check_key_prefix(from_url if from_url not in (None, "") else given or None)


def _memory(parts: Any, options: Mapping[str, object]) -> MemorySettings:
    if parts.path not in ("", "/") or "@" in parts.netloc:
        raise ConfigurationError("write an in-memory cache URL as memory:// or memory://NAME")
    query = url_options("memory", _MEMORY, parts)
    checked = _options("memory", _MEMORY, merge_options(query, options))
    kept = {name: value for name, value in checked.items() if name not in _NETWORK}
    return MemorySettings(name=unquote(parts.netloc) or None, **kept)


def _redis(scheme: str, parts: Any, options: Mapping[str, object]) -> RedisSettings:
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(
            "the port in the Redis URL must be a number from 1 to 65535"
        ) from None
    given: dict[str, object] = {}
    if parts.username:
        given["username"] = unquote(parts.username)
    if parts.password is not None:
        given["password"] = unquote(parts.password)
    path: str | None = None
    if scheme == "unix":
        path = unquote(parts.path)
        if not path:
            raise ConfigurationError(
                "a unix:// URL needs a socket path: unix:///run/redis.sock?db=0"
            )
    elif parts.path not in ("", "/"):
        db_text = parts.path.lstrip("/")
        if not (db_text.isascii() and db_text.isdigit()):
            # The path may be the tail of a password (a '#' or '/' in it, or 'redis:/' typed
            # for 'redis://'): show it only when the URL holds no credentials at all.
            clean = "@" not in parts.geturl() and not parts.password
            shown = repr(parts.path) if clean else "what follows the host"
            raise ConfigurationError(
                "the path of a Redis URL is the database number (redis://host:6379/0), "
                f"not {shown}; percent-encode a '/' in a password as %2F"
            )
        given["db"] = int(db_text)
    query = url_options(scheme, _REDIS, parts)
    checked = _options(scheme, _REDIS, merge_options(query, options, given))
    place: dict[str, Any] = {"path": path}
    if scheme != "unix":
        place["host"] = parts.hostname or "localhost"
        place["port"] = port or 6379
        if port == 0:
            raise ConfigurationError("the port in the Redis URL must be from 1 to 65535")
    return RedisSettings(scheme=scheme, **place, **checked)


def parse(
    url: object, options: Mapping[str, object]
) -> MemorySettings | RedisSettings | ClusterSettings | SentinelSettings:
    """Check a cache URL and its options; raise :class:`ConfigurationError` on any mistake."""
    scheme, parts = _split(url)
    if scheme == "memory":
        return _memory(parts, options)
    if scheme in _SCALED_SCHEMES:
        from cache_bridge.scaling_config import parse_scaled

        return parse_scaled(scheme, parts, options)
    return _redis(scheme, parts, options)


_Settings = TypeVar("_Settings")


def parse_as(
    url: object, options: Mapping[str, object], kind: type[_Settings], takes: str
) -> _Settings:
    """:func:`parse`, for an adapter that takes one kind of URL: ``takes`` says which, in the
    :class:`ConfigurationError` for any other."""
    settings = parse(url, options)
    if not isinstance(settings, kind):
        raise ConfigurationError(
            f"{takes}; use create_cache() / create_sync_cache() to pick the adapter for any URL"
        )
    return settings
