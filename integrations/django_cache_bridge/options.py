"""A BridgeCache alias's LOCATION and OPTIONS, checked without any I/O.

Every mistake raises :class:`~cache_bridge.errors.ConfigurationError` with a message that says
what to write instead; the system checks (:mod:`django_cache_bridge.checks`) report the same
messages through ``manage.py check``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cache_bridge import config, values
from cache_bridge.errors import ConfigurationError
from django_cache_bridge.django_redis_options import translate

__all__ = ["BRIDGE_OPTIONS", "AliasSettings", "parse_config"]

#: Options the backend itself reads (the rest go to the cache_bridge adapter).
BRIDGE_OPTIONS = ("serializer", "sign", "fail_open", "compressor", "compress_min_bytes")
#: Options Django's BaseCache reads; MAX_ENTRIES sizes a memory:// store and CULL_FREQUENCY
#: says how it culls when full (as LocMemCache; ignored on Redis).
DJANGO_OPTIONS = ("MAX_ENTRIES", "CULL_FREQUENCY")
# A memory:// LOCATION takes the network options too (and ignores them), so OPTIONS can stay
# the same whichever URL LOCATION comes from.
_CORE_MEMORY = tuple(name for name in config.MEMORY_OPTIONS if name != "key_prefix")
_CORE_NETWORK = config.NETWORK_OPTIONS


@dataclass(frozen=True)
class AliasSettings:
    """A checked alias configuration: the adapter settings and the value encoding."""

    # Neither the raw LOCATION nor the options are in the repr: either may hold a password
    # (``settings`` shows the URL with it masked).
    location: str = field(repr=False)
    settings: config.Settings
    core_options: tuple[tuple[str, Any], ...] = field(repr=False)
    serializer: str = "pickle"
    sign: bool = True
    fail_open: bool = True
    compressor: str | None = None
    compress_min_bytes: int = values.DEFAULT_COMPRESS_MIN_BYTES
    #: The alias's namespace: KEY_PREFIX, or the LOCATION's ``?key_prefix=`` ("" for none).
    key_prefix: str = ""
    #: A full memory:// store evicts 1/CULL_FREQUENCY of its entries (0: all), as LocMemCache.
    cull_frequency: int = 3
    #: django-redis options read under new names: (old name, new spelling), for the checks.
    django_redis: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def is_redis(self) -> bool:
        """Whether the alias uses Redis (one server, a cluster or sentinels)."""
        return self.settings.is_network


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"OPTIONS[{name!r}] must be True or False, not {value!r}")
    return value


def parse_config(
    location: object, options: Mapping[str, Any] | None, key_prefix: object = ""
) -> AliasSettings:
    """Check an alias's LOCATION, OPTIONS and KEY_PREFIX; raise ConfigurationError on any
    mistake. A ``?key_prefix=`` in LOCATION is the alias's KEY_PREFIX; a KEY_PREFIX that
    says otherwise is a mistake."""
    if location in ("", None):
        location = "memory://"
    if not isinstance(location, str):
        raise ConfigurationError(
            f"LOCATION must be a cache URL string such as 'memory://' or "
            f"'redis://127.0.0.1:6379/0', not {type(location).__name__}"
        )
    if options is not None and not isinstance(options, Mapping):
        raise ConfigurationError(f"OPTIONS must be a dict, not {type(options).__name__}")
    given, django_redis = translate(dict(options or {}))
    if "key_prefix" in given:
        raise ConfigurationError(
            "OPTIONS['key_prefix'] is not used by BridgeCache; set KEY_PREFIX next to LOCATION"
        )
    scheme = location.split(":", 1)[0].lower()
    core_names = _CORE_MEMORY if scheme == "memory" else _CORE_NETWORK
    known = (*BRIDGE_OPTIONS, *DJANGO_OPTIONS, *core_names)
    for name in given:
        if name not in known:
            hint = config.did_you_mean(name, known)
            raise ConfigurationError(
                # Not the LOCATION itself: it may hold a password.
                f"unknown option {name!r} in OPTIONS for a {scheme}:// LOCATION.{hint} "
                f"Valid options: {', '.join(sorted(known))}."
            )
    serializer = given.pop("serializer", "pickle")
    compressor = given.pop("compressor", None)
    compress_min_bytes = given.pop("compress_min_bytes", values.DEFAULT_COMPRESS_MIN_BYTES)
    values.check_codec_options(serializer, compressor, compress_min_bytes, "OPTIONS")
    sign = _flag("sign", given.pop("sign", True))
    fail_open = _flag("fail_open", given.pop("fail_open", True))
    max_entries = given.pop("MAX_ENTRIES", None)
    cull_frequency = given.pop("CULL_FREQUENCY", 3)
    if (
        isinstance(cull_frequency, bool)
        or not isinstance(cull_frequency, int)
        or cull_frequency < 0
    ):
        raise ConfigurationError(
            f"OPTIONS['CULL_FREQUENCY'] must be an int from 0 up, not {cull_frequency!r}"
        )
    if max_entries is not None and scheme == "memory":
        given.setdefault("max_entries", max_entries)
    settings = config.parse(location, given)
    # Django formats KEY_PREFIX with %s, whatever its type.
    given_prefix = "" if key_prefix is None else str(key_prefix)
    prefix = config.resolve_key_prefix(location, given_prefix, "KEY_PREFIX")
    return AliasSettings(
        location=location,
        settings=settings,
        core_options=tuple(sorted(given.items())),
        serializer=serializer,
        sign=sign,
        compressor=None if compressor == "none" else compressor,
        compress_min_bytes=compress_min_bytes,
        fail_open=fail_open,
        key_prefix=prefix or "",
        cull_frequency=cull_frequency,
        django_redis=django_redis,
    )
