"""The extension's configuration keys, read and checked once per app at ``init_app``.

Every mistake raises :class:`~cache_bridge.ConfigurationError` (a ``ValueError``) naming the
config key and what to write instead, so a misconfigured app fails at start-up, not on the
first request.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cache_bridge import MAX_TTL, ConfigurationError, values
from cache_bridge.config import did_you_mean, is_written, resolve_key_prefix

__all__ = [
    "DEFAULTS",
    "FOREIGN_KEYS",
    "LIMITER_KEYS",
    "BridgeSettings",
    "changed_keys",
    "foreign_keys_left",
    "limiter_keys_left",
    "read_settings",
    "snapshot",
    "unasked_memory_store",
]

#: Every key the extension reads, with its default.
DEFAULTS: dict[str, Any] = {
    "CACHE_BRIDGE_URL": "memory://",
    "CACHE_BRIDGE_KEY_PREFIX": None,
    "CACHE_BRIDGE_DEFAULT_TTL": 300,
    "CACHE_BRIDGE_OPTIONS": {},
    "CACHE_BRIDGE_VIEW_CACHE": True,
    "CACHE_BRIDGE_MAX_RESPONSE_BYTES": 1024 * 1024,
    "CACHE_BRIDGE_LOG_INTERVAL": 60.0,
    # The value codec of memoize, cached functions and fragments (docs/values.md).
    "CACHE_BRIDGE_SERIALIZER": "pickle",
    "CACHE_BRIDGE_COMPRESSOR": None,
    "CACHE_BRIDGE_COMPRESS_MIN_BYTES": values.DEFAULT_COMPRESS_MIN_BYTES,
    # Read and checked by flask_cache_bridge.limits (see docs/ratelimit.md).
    "CACHE_BRIDGE_RATELIMIT": None,
}


#: Keys of Flask-Caching and flask-limiter that an app may have set meaning to configure its
#: cache, and the key that does that here (the extension never reads theirs).
FOREIGN_KEYS: dict[str, str] = {
    "CACHE_TYPE": "CACHE_BRIDGE_URL",
    "CACHE_REDIS_URL": "CACHE_BRIDGE_URL",
    "CACHE_REDIS_HOST": "CACHE_BRIDGE_URL",
    "CACHE_REDIS_PORT": "CACHE_BRIDGE_URL",
    "CACHE_REDIS_DB": "CACHE_BRIDGE_URL",
    "CACHE_REDIS_PASSWORD": "CACHE_BRIDGE_URL",
    "CACHE_REDIS_SENTINELS": "CACHE_BRIDGE_URL",
    "CACHE_REDIS_CLUSTER": "CACHE_BRIDGE_URL",
    "RATELIMIT_STORAGE_URI": "CACHE_BRIDGE_URL",
    "RATELIMIT_STORAGE_URL": "CACHE_BRIDGE_URL",
    "CACHE_KEY_PREFIX": "CACHE_BRIDGE_KEY_PREFIX",
    "CACHE_DEFAULT_TIMEOUT": "CACHE_BRIDGE_DEFAULT_TTL",
    "CACHE_OPTIONS": "CACHE_BRIDGE_OPTIONS",
    "RATELIMIT_DEFAULT": 'CACHE_BRIDGE_RATELIMIT["DEFAULT_LIMITS"]',
}

_RL = "CACHE_BRIDGE_RATELIMIT"

#: flask-limiter's other config keys (FOREIGN_KEYS has its storage and default ones): what
#: to write here instead, a ``CACHE_BRIDGE_*`` key (no warning once it is set) or, for a key
#: without one, why (in parentheses).
LIMITER_KEYS: dict[str, str] = {
    "RATELIMIT_ENABLED": f'{_RL}["ENABLED"]',
    "RATELIMIT_KEY_FUNC": f'{_RL}["KEY"]',
    "RATELIMIT_KEY_PREFIX": f'{_RL}["KEY_PREFIX"]',
    "RATELIMIT_SWALLOW_ERRORS": f'{_RL}["FAIL_OPEN"]',
    "RATELIMIT_STRATEGY": f'{_RL}["ALGORITHM"]',
    "RATELIMIT_STORAGE_OPTIONS": "CACHE_BRIDGE_OPTIONS",
    "RATELIMIT_HEADERS_ENABLED": f'{_RL}["LEGACY_HEADERS"]',
    "RATELIMIT_APPLICATION": f'{_RL}["APPLICATION_LIMITS"]',
    "RATELIMIT_APPLICATION_PER_METHOD": f'"PER_METHOD" in each {_RL}["APPLICATION_LIMITS"] entry',
    "RATELIMIT_APPLICATION_EXEMPT_WHEN": f'"EXEMPT_WHEN" in each {_RL}["APPLICATION_LIMITS"] entry',
    "RATELIMIT_APPLICATION_DEDUCT_WHEN": f'"DEDUCT_WHEN" in each {_RL}["APPLICATION_LIMITS"] entry',
    "RATELIMIT_APPLICATION_COST": f'"COST" in each {_RL}["APPLICATION_LIMITS"] entry',
    "RATELIMIT_DEFAULTS_PER_METHOD": f'"PER_METHOD" in each {_RL}["DEFAULT_LIMITS"] entry',
    "RATELIMIT_DEFAULTS_EXEMPT_WHEN": f'"EXEMPT_WHEN" in each {_RL}["DEFAULT_LIMITS"] entry',
    "RATELIMIT_DEFAULTS_DEDUCT_WHEN": f'"DEDUCT_WHEN" in each {_RL}["DEFAULT_LIMITS"] entry',
    "RATELIMIT_DEFAULTS_COST": f'"COST" in each {_RL}["DEFAULT_LIMITS"] entry',
    "RATELIMIT_FAIL_ON_FIRST_BREACH": "(no counterpart: a request's limits are decided together)",
    "RATELIMIT_ON_BREACH_CALLBACK": "(no counterpart: use @app.errorhandler(429))",
    "RATELIMIT_REQUEST_IDENTIFIER": "(no counterpart: a limit is named by its endpoint or name=)",
    "RATELIMIT_HEADER_LIMIT": f'{_RL}["HEADER_NAMES"]["LIMIT"]',
    "RATELIMIT_HEADER_REMAINING": f'{_RL}["HEADER_NAMES"]["REMAINING"]',
    "RATELIMIT_HEADER_RESET": f'{_RL}["HEADER_NAMES"]["RESET"]',
    "RATELIMIT_HEADER_RETRY_AFTER": f'{_RL}["HEADER_NAMES"]["RETRY_AFTER"]',
    "RATELIMIT_HEADER_RETRY_AFTER_VALUE": f'{_RL}["RETRY_AFTER_FORMAT"]',
    "RATELIMIT_IN_MEMORY_FALLBACK": (
        f'(write {_RL}["FALLBACK"] = "memory": the same limits then hold in memory while the '
        "cache is down; other limits for the fallback are not supported)"
    ),
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": f'{_RL}["FALLBACK"]',
    "RATELIMIT_META": "(no counterpart)",
    "RATELIMIT_ON_META_BREACH_CALLBACK": "(no counterpart)",
}


@dataclass(frozen=True)
class BridgeSettings:
    """One app's checked configuration."""

    # The URL and the options may hold a password: neither is in the repr (the extension's
    # ``description`` shows the URL with the password masked).
    url: str = field(default="memory://", repr=False)
    key_prefix: str | None = None
    default_ttl: int = 300
    options: dict[str, Any] = field(default_factory=dict, repr=False)
    view_cache: bool = True
    max_response_bytes: int = 1024 * 1024
    log_interval: float = 60.0
    serializer: str = "pickle"
    compressor: str | None = None
    compress_min_bytes: int = values.DEFAULT_COMPRESS_MIN_BYTES

    def adapter_options(self) -> dict[str, Any]:
        """Keyword arguments for ``create_sync_cache`` / ``create_cache``."""
        options = dict(self.options)
        if self.key_prefix is not None:
            options["key_prefix"] = self.key_prefix
        return options


_CODEC_KEYS = ("SERIALIZER", "COMPRESSOR", "COMPRESS_MIN_BYTES")
_CODEC_OPTIONS = ("serializer", "compressor", "compress_min_bytes")


def _bad(key: str, expected: str, value: object) -> ConfigurationError:
    return ConfigurationError(f"{key} must be {expected}, not {value!r}")


def _bad_type(key: str, expected: str, value: object) -> ConfigurationError:
    # For values that may hold a password (the URL, the options): the type, never the value.
    return ConfigurationError(f"{key} must be {expected}, not a {type(value).__name__}")


def _int(key: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(key, f"an int from {low} to {high}", value)
    return value


def _check_unknown(config: Mapping[str, Any]) -> None:
    for name in config:
        if name.startswith("CACHE_BRIDGE_") and name not in DEFAULTS:
            raise ConfigurationError(
                f"unknown config key {name}.{did_you_mean(name, list(DEFAULTS))} "
                f"Known keys: {', '.join(DEFAULTS)}."
            )


def read_settings(config: Mapping[str, Any]) -> BridgeSettings:
    """The checked settings of an app's ``config``; raises ``ConfigurationError``."""
    _check_unknown(config)
    get = {name: config.get(name, default) for name, default in DEFAULTS.items()}
    url = get["CACHE_BRIDGE_URL"]
    if not isinstance(url, str) or not url:
        raise _bad_type(
            "CACHE_BRIDGE_URL", "a cache URL such as memory:// or redis://host:6379/0", url
        )
    prefix = get["CACHE_BRIDGE_KEY_PREFIX"]
    if prefix is not None and (not isinstance(prefix, str) or not prefix):
        raise _bad("CACHE_BRIDGE_KEY_PREFIX", "a non-empty str (or None for no namespace)", prefix)
    options = get["CACHE_BRIDGE_OPTIONS"]
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise _bad_type("CACHE_BRIDGE_OPTIONS", "a dict of option names to values", options)
    if "key_prefix" in options:
        raise ConfigurationError(
            "set the namespace with CACHE_BRIDGE_KEY_PREFIX, not CACHE_BRIDGE_OPTIONS['key_prefix']"
        )
    # A ?key_prefix= in the URL is the namespace too; one that differs is a mistake.
    prefix = resolve_key_prefix(url, prefix, "CACHE_BRIDGE_KEY_PREFIX")
    view_cache = get["CACHE_BRIDGE_VIEW_CACHE"]
    if not isinstance(view_cache, bool):
        raise _bad("CACHE_BRIDGE_VIEW_CACHE", "True or False", view_cache)
    interval = get["CACHE_BRIDGE_LOG_INTERVAL"]
    if isinstance(interval, bool) or not isinstance(interval, int | float) or not interval > 0:
        raise _bad("CACHE_BRIDGE_LOG_INTERVAL", "a number of seconds above 0", interval)
    codec = [get[f"CACHE_BRIDGE_{name}"] for name in _CODEC_KEYS]
    try:
        values.check_codec_options(*codec)
    except ConfigurationError as exc:
        message = str(exc)
        for option, name in zip(_CODEC_OPTIONS, _CODEC_KEYS, strict=True):
            message = message.replace(option, f"CACHE_BRIDGE_{name}", 1)
        raise ConfigurationError(message) from None
    return BridgeSettings(
        serializer=codec[0],
        compressor=None if codec[1] in (None, "none") else codec[1],
        compress_min_bytes=codec[2],
        url=url,
        key_prefix=prefix,
        default_ttl=_int("CACHE_BRIDGE_DEFAULT_TTL", get["CACHE_BRIDGE_DEFAULT_TTL"], 1, MAX_TTL),
        options=dict(options),
        view_cache=view_cache,
        max_response_bytes=_int(
            "CACHE_BRIDGE_MAX_RESPONSE_BYTES", get["CACHE_BRIDGE_MAX_RESPONSE_BYTES"], 1, 2**29
        ),
        log_interval=float(interval),
    )


def unasked_memory_store(config: Mapping[str, Any], app_name: str) -> str | None:
    """Why ``config`` runs the app on a per-process memory store it did not ask for (no
    ``CACHE_BRIDGE_URL``), naming the keys to set; ``None`` if it asked for its store.
    Names keys only, never their values (a URL may hold a password)."""
    if "CACHE_BRIDGE_URL" in config:
        return None
    message = (
        f"app {app_name!r} has no CACHE_BRIDGE_URL, so cache_bridge uses memory://, a store "
        "private to each process: with several worker processes each one caches and counts "
        "rate limits on its own (a 10/minute limit allows 10 per minute per process)."
    )
    foreign = [name for name in FOREIGN_KEYS if name in config]
    if foreign:
        instead: dict[str, list[str]] = {}
        for name in foreign:
            instead.setdefault(FOREIGN_KEYS[name], []).append(name)
        moves = "; ".join(
            f"{ours} instead of {', '.join(theirs)}" for ours, theirs in instead.items()
        )
        message += (
            f" It sets {', '.join(foreign)}, which belong to Flask-Caching or flask-limiter "
            f"and which cache_bridge does not read: set {moves}."
        )
    return (
        message + " Set CACHE_BRIDGE_URL = 'redis://HOST:6379/0' for a shared store, or "
        "CACHE_BRIDGE_URL = 'memory://' to keep this one without this warning; set it before "
        "CacheBridge(app) or init_app(app) runs."
    )


def foreign_keys_left(config: Mapping[str, Any], app_name: str) -> str | None:
    """Why an app that set ``CACHE_BRIDGE_URL`` still holds Flask-Caching or flask-limiter
    keys whose ``CACHE_BRIDGE_*`` counterpart it did not set (they are never read), naming
    both; None if there are none (or no ``CACHE_BRIDGE_URL``: :func:`unasked_memory_store`
    names them then). Names keys only, never values."""
    if "CACHE_BRIDGE_URL" not in config:
        return None
    left = [
        f"{ours} instead of {name}"
        for name, ours in FOREIGN_KEYS.items()
        if name in config and not is_written(config, ours)
    ]
    if not left:
        return None
    return (
        f"app {app_name!r} sets keys of Flask-Caching or flask-limiter that cache_bridge "
        f"never reads: set {'; '.join(left)} (see docs/migrations/flask-caching.md)."
    )


def limiter_keys_left(config: Mapping[str, Any], app_name: str) -> str | None:
    """Which of flask-limiter's other ``RATELIMIT_*`` keys (:data:`LIMITER_KEYS`) ``config``
    sets without their counterpart, each with what to write instead (or that there is
    nothing); None if none. Names keys only, never values."""
    left = []
    for name, ours in LIMITER_KEYS.items():
        if name not in config:
            continue
        if ours.startswith("("):
            left.append(f"{name} {ours}")
        elif not ours.startswith("CACHE_BRIDGE_") or not is_written(config, ours):
            left.append(f"{name} (write {ours})")
    if not left:
        return None
    return (
        f"app {app_name!r} sets flask-limiter keys that cache_bridge never reads: "
        f"{'; '.join(left)} (see docs/ratelimit.md)."
    )


def _watched(config: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: value
        for name, value in config.items()
        if name.startswith("CACHE_BRIDGE_") or name in FOREIGN_KEYS
    }


def snapshot(config: Mapping[str, Any]) -> dict[str, Any]:
    """The keys ``init_app`` read (and other extensions' cache keys), copied, to tell later
    whether they changed."""
    watched = _watched(config)
    try:
        return copy.deepcopy(watched)
    except Exception:  # a value that cannot be copied: compare it by identity and equality
        return dict(watched)


def changed_keys(before: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """The watched keys of ``config`` that differ from ``before`` (set, changed or removed)."""
    now = _watched(config)
    names = sorted(set(before) | set(now))
    missing = object()
    changed = []
    for name in names:
        old, new = before.get(name, missing), now.get(name, missing)
        try:
            same = old is new or bool(old == new)
        except Exception:
            same = False
        if not same:
            changed.append(name)
    return changed
