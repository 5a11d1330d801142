"""Cache URLs and options, checked once at construction: pure data, no runtime state.

Every mistake raises :class:`~cache_bridge.errors.ConfigurationError` (a ``ValueError``) whose
message names the problem and what to write instead. Options may be given as keyword
arguments or as URL query parameters (``redis://host/0?timeout=0.5``); keywords win, except
that a ``key_prefix`` given both ways must be the same (two namespaces for one cache are a
mistake, not a preference).

Portable settings: a ``memory://`` URL accepts every network option (timeouts, pool size,
breaker, TLS, credentials, sentinel credentials), checks its value the same way, and ignores
it, so one set of options serves whichever URL comes from the environment.

Redis Cluster and Sentinel URLs:
``redis+cluster://[user:password@]host:port[,host:port...][?options]`` (and
``rediss+cluster://`` for TLS) names start-up nodes of a cluster;
``redis+sentinel://[user:password@]host:port[,host:port...]/service_name[/db][?options]``
names the sentinels that watch ``service_name``. User and password are the data nodes'
credentials in both; the sentinels' own are the ``sentinel_username`` / ``sentinel_password``
options.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from cache_bridge.config.options import (
    DEFAULT_BREAKER_COOLDOWN,
    DEFAULT_BREAKER_THRESHOLD,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_ENTRIES,
    DEFAULT_TIMEOUT,
    MEMORY_OPTIONS,
    NETWORK_OPTIONS,
    REDIS_OPTIONS,
    SENTINEL_OPTIONS,
    check_key_prefix,
    did_you_mean,
    is_written,
)
from cache_bridge.config.schemes import SCHEMES
from cache_bridge.config.settings import (
    ClusterSettings,
    MemorySettings,
    NetworkSettings,
    RedisSettings,
    SentinelSettings,
    Settings,
)
from cache_bridge.config.url import merge_options, one_prefix, query_options, split_url, url_options
from cache_bridge.errors import ConfigurationError

__all__ = [
    "DEFAULT_BREAKER_COOLDOWN",
    "DEFAULT_BREAKER_THRESHOLD",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_TIMEOUT",
    "MEMORY_OPTIONS",
    "NETWORK_OPTIONS",
    "REDIS_OPTIONS",
    "SENTINEL_OPTIONS",
    "ClusterSettings",
    "MemorySettings",
    "NetworkSettings",
    "RedisSettings",
    "SentinelSettings",
    "Settings",
    "check_key_prefix",
    "did_you_mean",
    "is_written",
    "merge_options",
    "parse",
    "parse_as",
    "resolve_key_prefix",
    "url_options",
]


def parse(url: object, options: Mapping[str, object]) -> Settings:
    """Check a cache URL and its options; raise :class:`ConfigurationError` on any mistake."""
    scheme, parts = split_url(url, SCHEMES)
    return SCHEMES[scheme](scheme, parts, options)


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


def resolve_key_prefix(url: object, given: object, given_as: str) -> str | None:
    """The namespace of a cache configured by ``url`` and a prefix ``given`` in a framework
    setting named ``given_as`` (``None`` or ``""``: not given): the URL's ``?key_prefix=``,
    or ``given``, or ``None``. Both given and different: :class:`ConfigurationError`."""
    _, parts = split_url(url, SCHEMES)
    from_url = query_options(parts).get("key_prefix")
    one_prefix(from_url, given, given_as)
    return check_key_prefix(from_url if from_url not in (None, "") else given or None)
