"""System checks for BridgeCache aliases (``manage.py check``): configuration mistakes show
as messages with ids and hints rather than tracebacks."""

from __future__ import annotations

import importlib.util
from typing import Any

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

from cache_bridge import config
from cache_bridge.errors import ConfigurationError
from cache_bridge.scaling_config import ClusterSettings, SentinelSettings
from django_cache_bridge.options import BridgeConfig, parse_config

__all__ = ["bridge_aliases", "check_caches"]

_BACKEND = "django_cache_bridge.cache.BridgeCache"


def _is_bridge(backend: object) -> bool:
    if backend == _BACKEND:
        return True
    if not isinstance(backend, str):
        return False
    try:
        from django_cache_bridge.cache import BridgeCache

        cls = import_string(backend)
        return isinstance(cls, type) and issubclass(cls, BridgeCache)
    except ImportError:
        return False


def bridge_aliases() -> list[str]:
    """The names of the CACHES aliases whose BACKEND is BridgeCache (or a subclass)."""
    return [alias for alias, conf in settings.CACHES.items() if _is_bridge(conf.get("BACKEND"))]


def _check_alias(alias: str, conf: dict[str, Any]) -> list[checks.CheckMessage]:
    location = conf.get("LOCATION", "")
    where = f"CACHES[{alias!r}]"
    try:
        parse_config(location, {})
    except ConfigurationError as exc:
        return [
            checks.Error(
                f"{where} has a malformed LOCATION: {exc}",
                hint="Write memory://, memory://NAME, redis://HOST:6379/DB, rediss://..., "
                "unix:///path/redis.sock?db=N, redis+cluster://HOST:PORT,HOST:PORT or "
                "redis+sentinel://HOST:26379,HOST:26379/SERVICE/DB.",
                id="django_cache_bridge.E001",
            )
        ]
    try:
        bridge = parse_config(location, conf.get("OPTIONS"), conf.get("KEY_PREFIX", ""))
    except ConfigurationError as exc:
        return [
            checks.Error(
                f"{where}: {exc}",
                hint="Fix or remove the option; see docs/django.md, 'OPTIONS reference'.",
                id="django_cache_bridge.E002",
            )
        ]
    messages: list[checks.CheckMessage] = []
    if bridge.is_redis and importlib.util.find_spec("redis") is None:
        messages.append(
            checks.Error(
                f"{where} uses Redis but redis-py is not installed.",
                hint="pip install 'cache-bridge[redis]'",
                id="django_cache_bridge.E003",
            )
        )
    if bridge.is_redis and bridge.serializer == "pickle" and not bridge.sign:
        messages.append(
            checks.Warning(
                f"{where} stores unsigned pickles on a Redis server: anyone who can write to "
                "that server can make this site run code when it reads the cache.",
                hint="Remove OPTIONS['sign'] (signing is on by default) or use "
                "OPTIONS['serializer'] = 'json'.",
                id="django_cache_bridge.W001",
            )
        )
    if bridge.is_redis and not bridge.key_prefix:
        messages.append(
            checks.Warning(
                f"{where} has no KEY_PREFIX, so cache.clear() empties the whole Redis database "
                "(FLUSHDB), other applications' keys included.",
                hint="Set KEY_PREFIX to a name for this site.",
                id="django_cache_bridge.W002",
            )
        )
    return messages


def _store(bridge: BridgeConfig) -> tuple[Any, ...]:
    """What identifies the store an alias writes to (one memory store, one Redis database)."""
    where = bridge.settings
    if isinstance(where, config.MemorySettings):
        return ("memory", where.name or "")
    if isinstance(where, ClusterSettings):
        return ("cluster", *sorted(where.nodes))
    if isinstance(where, SentinelSettings):
        return ("sentinel", where.service_name, where.node.db, *sorted(where.sentinels))
    if where.path is not None:
        return ("redis", where.path, where.db)
    return ("redis", where.host.lower(), where.port, where.db)


def _nests(inner: str, outer: str) -> bool:
    return inner.startswith(outer + ":")


def _check_nested_prefixes(aliases: list[str]) -> list[checks.CheckMessage]:
    """W003: two aliases on one store whose KEY_PREFIXes nest (``site`` and ``site:x``)."""
    stores: dict[tuple[Any, ...], list[tuple[str, str]]] = {}
    for alias in aliases:
        conf = settings.CACHES[alias]
        try:
            bridge = parse_config(
                conf.get("LOCATION", ""), conf.get("OPTIONS"), conf.get("KEY_PREFIX", "")
            )
        except ConfigurationError:
            continue  # reported as E001/E002
        stores.setdefault(_store(bridge), []).append((alias, bridge.key_prefix))
    messages: list[checks.CheckMessage] = []
    for members in stores.values():
        for outer_alias, outer in members:
            for inner_alias, inner in members:
                if not _nests(inner, outer):
                    continue
                messages.append(
                    checks.Warning(
                        f"CACHES[{inner_alias!r}] (KEY_PREFIX {inner!r}) nests under "
                        f"CACHES[{outer_alias!r}] (KEY_PREFIX {outer!r}) on the same store: "
                        f"their keys collide when what follows {outer + ':'!r} is a number "
                        f"(a VERSION of {outer!r}), and with a custom KEY_FUNCTION clearing "
                        f"{outer_alias!r} removes {inner_alias!r}'s keys.",
                        hint="Give aliases that share a store prefixes where none is another "
                        "followed by ':' (e.g. 'site' and 'site_x'), or separate databases.",
                        id="django_cache_bridge.W003",
                    )
                )
    return messages


def check_caches(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Check every BridgeCache alias in settings.CACHES."""
    messages: list[checks.CheckMessage] = []
    aliases = bridge_aliases()
    for alias in aliases:
        messages.extend(_check_alias(alias, settings.CACHES[alias]))
    messages.extend(_check_nested_prefixes(aliases))
    return messages
