"""System checks for BridgeCache aliases (``manage.py check``): configuration mistakes show
as messages with ids and hints rather than tracebacks."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from django.conf import settings
from django.core import checks

from cache_bridge.errors import ConfigurationError
from django_cache_bridge.aliases import bridge_aliases
from django_cache_bridge.django_redis_options import DjangoRedisOptionError
from django_cache_bridge.options import AliasSettings, parse_config

__all__ = ["bridge_aliases", "check_caches", "check_ratelimit_store", "check_sessions"]


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
    except DjangoRedisOptionError as exc:
        return [checks.Error(f"{where}: {exc}", hint=exc.hint, id="django_cache_bridge.E020")]
    except ConfigurationError as exc:
        return [
            checks.Error(
                f"{where}: {exc}",
                hint="Fix or remove the option; see docs/django.md, 'OPTIONS reference'.",
                id="django_cache_bridge.E002",
            )
        ]
    messages: list[checks.CheckMessage] = [
        checks.Info(
            f"{where}: OPTIONS[{old!r}] is django-redis's spelling; BridgeCache reads it as {new}.",
            hint=f"Write {new} instead (or silence this with SILENCED_SYSTEM_CHECKS = "
            "['django_cache_bridge.I020']).",
            id="django_cache_bridge.I020",
        )
        for old, new in bridge.django_redis
    ]
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


def _store(bridge: AliasSettings) -> tuple[Any, ...]:
    """What identifies the store an alias writes to (one memory store, one Redis database)."""
    return bridge.settings.store_identity()


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


_CACHE_SESSIONS = "django.contrib.sessions.backends.cache"
_CACHED_DB_SESSIONS = "django.contrib.sessions.backends.cached_db"


def _keeps_sessions_in_cache_only(engine: object) -> bool:
    """Whether the SESSION_ENGINE is the cache engine (or a subclass of its SessionStore)."""
    if engine == _CACHE_SESSIONS:
        return True
    if not isinstance(engine, str):
        return False
    try:
        from django.contrib.sessions.backends.cache import SessionStore

        store = importlib.import_module(engine).SessionStore
        return isinstance(store, type) and issubclass(store, SessionStore)
    except (ImportError, AttributeError):
        return False  # a broken SESSION_ENGINE is Django's to report


def check_sessions(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """W004: the cache session engine keeps sessions in a BridgeCache alias and nowhere else."""
    engine = getattr(settings, "SESSION_ENGINE", None)
    alias = getattr(settings, "SESSION_CACHE_ALIAS", "default")
    if not _keeps_sessions_in_cache_only(engine) or alias not in bridge_aliases():
        return []
    try:
        bridge = parse_config(settings.CACHES[alias].get("LOCATION", ""), {})
    except ConfigurationError:
        return []  # reported as E001
    if bridge.is_redis:
        why = (
            "while Redis is down no session can be kept or created: signed-in users are "
            "signed out and logging in fails (BridgeCache raises RuntimeError at once rather "
            "than let Django try 10,000 session keys)"
        )
    else:
        why = (
            "a memory:// store belongs to one process: other worker processes do not see its "
            "sessions, and a restart signs everyone out"
        )
    return [
        checks.Warning(
            f"SESSION_ENGINE {engine!r} keeps sessions only in CACHES[{alias!r}], a "
            f"BridgeCache: {why}.",
            hint=f"Use SESSION_ENGINE = {_CACHED_DB_SESSIONS!r}: the database keeps the "
            "sessions and the cache speeds them up, so sessions survive a cache outage. See "
            "docs/django.md, 'Sessions while Redis is down'.",
            id="django_cache_bridge.W004",
        )
    ]


_RATE_LIMIT_MIDDLEWARE = "django_cache_bridge.middleware.RateLimitMiddleware"
#: How deep to follow ``__wrapped__`` from a URL's view to a @ratelimit wrapper.
_UNWRAP = 10


def _walk(patterns: Any, depth: int = 0) -> Any:
    """Every view callback of a URLconf's patterns, includes followed."""
    for pattern in patterns:
        nested = getattr(pattern, "url_patterns", None)
        if nested is not None:
            if depth < 20:
                yield from _walk(nested, depth + 1)
        else:
            yield getattr(pattern, "callback", None)


def _rate_limited(view: Any, where: str) -> bool:
    """Whether ``view`` (or what it wraps, or its class's ``dispatch``) is a @ratelimit
    wrapper, recognised by its code's file: the module defining ``ratelimit``."""
    for _ in range(_UNWRAP):
        if view is None:
            return False
        for candidate in (view, getattr(getattr(view, "view_class", None), "dispatch", None)):
            code = getattr(candidate, "__code__", None)
            if code is not None and code.co_filename == where:
                return True
        view = getattr(view, "__wrapped__", None)
    return False


def _has_rate_limited_views() -> bool:
    """Whether the URLconf routes to a view under ``@ratelimit``. A URLconf that does not
    load is Django's own check to report (urls.E...)."""
    from django.urls import get_resolver

    from django_cache_bridge.ratelimit import ratelimit

    where = ratelimit.__code__.co_filename
    try:
        patterns = get_resolver().url_patterns
    except Exception:
        return False
    return any(_rate_limited(view, where) for view in _walk(patterns))


def _memory_aliases(aliases: list[str]) -> list[tuple[str, str]]:
    bridges = set(bridge_aliases())
    found = []
    for alias in dict.fromkeys(aliases):
        if alias not in bridges:
            continue  # E011 says so
        try:
            bridge = parse_config(settings.CACHES[alias].get("LOCATION", ""), {})
        except ConfigurationError:
            continue  # E001
        if not bridge.is_redis:
            found.append((alias, bridge.settings.describe()))
    return found


def check_ratelimit_store(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """W005: rate limiting counts requests in a memory:// alias: RateLimitMiddleware's rules,
    or views under ``@ratelimit`` (which count in CACHE_BRIDGE_RATELIMIT['CACHE'] unless they
    name an alias: those are not seen here)."""
    from django.core.exceptions import ImproperlyConfigured

    from django_cache_bridge.ratelimit_config import SETTING, parse_setting

    try:
        config = parse_setting(getattr(settings, SETTING, None))
    except ImproperlyConfigured:
        return []  # E010
    used: dict[str, list[str]] = {}
    if _RATE_LIMIT_MIDDLEWARE in (getattr(settings, "MIDDLEWARE", None) or ()):
        for rule in config.rules:
            used.setdefault(rule.spec.cache, []).append("RateLimitMiddleware's rules")
    if _has_rate_limited_views():
        used.setdefault(config.cache, []).append("@ratelimit views")
    messages: list[checks.CheckMessage] = []
    for alias, described in _memory_aliases(list(used)):
        users = " and ".join(dict.fromkeys(used[alias]))
        messages.append(
            checks.Warning(
                f"rate limiting counts requests in CACHES[{alias!r}] ({described}), used by "
                f"{users}: a memory:// store belongs to one process, so with several worker "
                "processes every limit allows its rate once per process (10/minute under "
                "gunicorn -w 3 lets 30 through).",
                hint="Point CACHE_BRIDGE_RATELIMIT['CACHE'] (and each rule's CACHE) at a Redis "
                "alias. memory:// is right for a single process (runserver, tests): silence "
                "this with SILENCED_SYSTEM_CHECKS = ['django_cache_bridge.W005'].",
                id="django_cache_bridge.W005",
            )
        )
    return messages
