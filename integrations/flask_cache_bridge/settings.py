"""The extension's configuration keys, read and checked once per app at ``init_app``.

Every mistake raises :class:`~cache_bridge.ConfigurationError` (a ``ValueError``) naming the
config key and what to write instead, so a misconfigured app fails at start-up, not on the
first request.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cache_bridge import MAX_TTL, ConfigurationError
from cache_bridge.config import resolve_key_prefix

__all__ = ["DEFAULTS", "BridgeSettings", "read_settings"]

#: Every key the extension reads, with its default.
DEFAULTS: dict[str, Any] = {
    "CACHE_BRIDGE_URL": "memory://",
    "CACHE_BRIDGE_KEY_PREFIX": None,
    "CACHE_BRIDGE_DEFAULT_TTL": 300,
    "CACHE_BRIDGE_OPTIONS": {},
    "CACHE_BRIDGE_VIEW_CACHE": True,
    "CACHE_BRIDGE_MAX_RESPONSE_BYTES": 1024 * 1024,
    "CACHE_BRIDGE_LOG_INTERVAL": 60.0,
    # Read and checked by flask_cache_bridge.limits (see docs/ratelimit.md).
    "CACHE_BRIDGE_RATELIMIT": None,
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

    def adapter_options(self) -> dict[str, Any]:
        """Keyword arguments for ``create_sync_cache`` / ``create_cache``."""
        options = dict(self.options)
        if self.key_prefix is not None:
            options["key_prefix"] = self.key_prefix
        return options


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
            close = difflib.get_close_matches(name, list(DEFAULTS), n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise ConfigurationError(
                f"unknown config key {name}.{hint} Known keys: {', '.join(DEFAULTS)}."
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
    return BridgeSettings(
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
