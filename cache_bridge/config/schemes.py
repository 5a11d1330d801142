"""The URL schemes, each with the parser that turns its URL and options into settings.

Adding a kind of store adds its parser and its row to :data:`SCHEMES` here, and its settings
class to :mod:`cache_bridge.config.settings`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from cache_bridge.config.options import (
    CLUSTER_SPEC,
    MEMORY_SPEC,
    NETWORK_SPEC,
    REDIS_SPEC,
    SENTINEL_OPTIONS,
    SENTINEL_SPEC,
    check_options,
)
from cache_bridge.config.settings import (
    ClusterSettings,
    MemorySettings,
    RedisSettings,
    SentinelSettings,
    Settings,
)
from cache_bridge.config.url import credentials, merge_options, split_hosts, url_options
from cache_bridge.errors import ConfigurationError

__all__ = ["SCHEMES", "Parser"]

#: ``parse(scheme, parts, options)``: the checked settings of one URL (``parts`` from urlsplit).
Parser = Callable[[str, Any, Mapping[str, object]], Settings]

_SENTINEL_PORT = 26379


def _memory(scheme: str, parts: Any, options: Mapping[str, object]) -> MemorySettings:
    if parts.path not in ("", "/") or "@" in parts.netloc:
        raise ConfigurationError("write an in-memory cache URL as memory:// or memory://NAME")
    query = url_options("memory", MEMORY_SPEC, parts)
    checked = check_options("memory", MEMORY_SPEC, merge_options(query, options))
    kept = {name: value for name, value in checked.items() if name not in NETWORK_SPEC}
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
    query = url_options(scheme, REDIS_SPEC, parts)
    checked = check_options(scheme, REDIS_SPEC, merge_options(query, options, given))
    place: dict[str, Any] = {"path": path}
    if scheme != "unix":
        place["host"] = parts.hostname or "localhost"
        place["port"] = port or 6379
        if port == 0:
            raise ConfigurationError("the port in the Redis URL must be from 1 to 65535")
    return RedisSettings(scheme=scheme, **place, **checked)


def _cluster(scheme: str, parts: Any, options: Mapping[str, object]) -> ClusterSettings:
    userinfo, _, hosts_text = parts.netloc.rpartition("@")
    nodes = split_hosts(scheme, hosts_text, 6379)
    if parts.path not in ("", "/", "/0"):
        raise ConfigurationError(
            f"a {scheme}:// URL has no path (a cluster has only database 0): write "
            f"{scheme}://host1:6379,host2:6379?key_prefix=app"
        )
    query = url_options(scheme, {**CLUSTER_SPEC, "db": REDIS_SPEC["db"]}, parts)
    given = merge_options(query, options, credentials(userinfo))
    if "db" in given:
        raise ConfigurationError(
            f"option db does not apply to {scheme}:// caches: a cluster has only database 0; "
            "give each application a key_prefix instead"
        )
    checked = check_options(scheme, CLUSTER_SPEC, given)
    host, port = nodes[0]
    node_scheme = "rediss" if scheme.startswith("rediss") else "redis"
    node = RedisSettings(scheme=node_scheme, host=host, port=port, **checked)
    return ClusterSettings(scheme=scheme, nodes=nodes, node=node)


def _sentinel(scheme: str, parts: Any, options: Mapping[str, object]) -> SentinelSettings:
    userinfo, _, hosts_text = parts.netloc.rpartition("@")
    sentinels = split_hosts(scheme, hosts_text, _SENTINEL_PORT)
    segments = [unquote(s) for s in parts.path.split("/")[1:]]
    if segments and segments[-1] == "":
        segments.pop()
    if not segments or not segments[0] or len(segments) > 2:
        raise ConfigurationError(
            f"a {scheme}:// URL names the monitored service and optionally a database: "
            f"{scheme}://10.0.0.1:26379,10.0.0.2:26379/mymaster/0"
        )
    given: dict[str, object] = credentials(userinfo)
    if len(segments) == 2:
        db_text = segments[1]
        if not (db_text.isascii() and db_text.isdigit()):
            raise ConfigurationError(
                "the database after the service name must be a number, as in "
                f"{scheme}://10.0.0.1:26379/mymaster/0"
            )
        given["db"] = int(db_text)
    query = url_options(scheme, SENTINEL_SPEC, parts)
    checked = check_options(scheme, SENTINEL_SPEC, merge_options(query, options, given))
    sentinel_auth = {name: checked.pop(name) for name in SENTINEL_OPTIONS if name in checked}
    host, port = sentinels[0]
    node = RedisSettings(scheme="redis", host=host, port=port, **checked)
    return SentinelSettings(
        scheme=scheme,
        sentinels=sentinels,
        service_name=segments[0],
        node=node,
        **sentinel_auth,
    )


#: Every scheme a cache URL may have, and its parser (in the order messages list them).
SCHEMES: dict[str, Parser] = {
    "memory": _memory,
    "redis": _redis,
    "rediss": _redis,
    "unix": _redis,
    "redis+cluster": _cluster,
    "rediss+cluster": _cluster,
    "redis+sentinel": _sentinel,
}
