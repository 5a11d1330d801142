"""The plans of the django-redis compatible methods of BridgeCache (``ttl``, ``expire``,
``set(..., nx=True)``, ``iter_keys``, ``delete_pattern``, ...): their stored keys, the
cache_bridge operation and how its Result becomes django-redis's return value.

Failures answer as django-redis does with ``IGNORE_EXCEPTIONS``: ``ttl`` 0, booleans False,
counts 0, key walks stop (and the alias's log says so), unless ``fail_open`` is off.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, default_key_func

from cache_bridge.engine import bytes_operations as ops
from cache_bridge.engine import key_operations as keyops
from cache_bridge.engine import operations
from cache_bridge.engine.bytes_operations import UNPREFIXED, escape_glob
from django_cache_bridge.base import EXPIRE_NOW
from django_cache_bridge.plans import BridgePlans, Plan

__all__ = ["KeyWalk", "RedisPlans"]


def _seconds_left(millis: int) -> int | None:
    # django-redis: 0 for a missing key, None for one without expiry; a live key never 0.
    if millis == -1:
        return None
    return 0 if millis < 0 else -(-millis // 1000)


def _millis_left(millis: int) -> int | None:
    if millis == -1:
        return None
    return max(millis, 0)


def _unix_ms(when: Any, unit: int) -> float:
    """``when`` (a datetime, or Unix time in ``unit`` milliseconds) as Unix milliseconds. A
    naive datetime is local time, as redis-py reads it."""
    if isinstance(when, datetime.datetime):
        return when.timestamp() * 1000
    if isinstance(when, bool) or not isinstance(when, int | float):
        raise TypeError(f"when must be a datetime or a Unix time, not {when!r}")
    return float(when) * unit


@dataclass
class KeyWalk:
    """The state of an ``iter_keys`` walk: where SCAN is, and the keys already given."""

    match: str
    itersize: int | None
    reverse: Callable[[str], str]
    cursor: int | None = 0
    seen: set[str] = field(default_factory=set)

    def keys(self, page: tuple[int, list[str]] | None) -> list[str]:
        """The Django keys of a page (each once: SCAN may repeat a key); a failed page
        (``None``) ends the walk."""
        if page is None:
            self.cursor = None
            return []
        cursor, found = page
        self.cursor = None if cursor == 0 else cursor
        fresh = [key for key in found if key not in self.seen]
        self.seen.update(fresh)
        return [self.reverse(key) for key in fresh]


class RedisPlans(BridgePlans):
    """The plans of the django-redis API (``_plan_ttl`` for ``ttl`` and ``attl``, ...)."""

    def _plan_pttl(self, key: Any, version: int | None, seconds: bool) -> Plan:
        made = self._key(key, version)
        convert = _seconds_left if seconds else _millis_left
        return keyops.pttl(UNPREFIXED, made), self._finish(0, convert)

    def _plan_expire_ms(self, key: Any, ttl_ms: int | None, version: int | None) -> Plan:
        made = self._key(key, version)
        if ttl_ms == EXPIRE_NOW:
            return operations.delete(UNPREFIXED, made), self._finish(False)
        return ops.touch(UNPREFIXED, made, ttl_ms), self._finish(False)

    def _plan_expire(self, key: Any, timeout: Any, version: int | None, unit: int) -> Plan:
        """``timeout`` in seconds (``unit`` 1000) or milliseconds (``unit`` 1)."""
        if timeout is DEFAULT_TIMEOUT or timeout is None or unit == 1000:
            return self._plan_expire_ms(key, self._ttl_ms(timeout), version)
        return self._plan_expire_ms(key, self._ttl_ms(timeout / 1000), version)

    def _plan_expire_at(self, key: Any, when: Any, version: int | None, unit: int) -> Plan:
        """Expire at ``when``: a datetime, or Unix seconds (``unit`` 1000) or ms (1)."""
        left = _unix_ms(when, unit) - time.time() * 1000
        return self._plan_expire_ms(key, self._ttl_ms(left / 1000), version)

    def _plan_store(
        self, key: Any, value: Any, timeout: Any, version: int | None, *, nx: bool, xx: bool
    ) -> Plan:
        """``set`` as django-redis: with ``nx`` only over no value, with ``xx`` only over a
        value; whether it was stored."""
        made = self._key(key, version)
        ttl = self._ttl_ms(timeout)
        data = self._encode(made, value, "set")
        if ttl == EXPIRE_NOW and nx:
            # As django-redis: "would have been set" if nothing is there; nothing is written.
            return ops.has_readable(UNPREFIXED, made, self._codec), self._finish(
                False, lambda found: not found
            )
        if ttl == EXPIRE_NOW or data is None:
            # Expired at once (True if a value went), or not writable: no old value stays.
            stored = ttl == EXPIRE_NOW
            return operations.delete(UNPREFIXED, made), self._finish(
                False, lambda deleted: stored and bool(deleted)
            )
        if nx:
            return ops.add_readable(UNPREFIXED, made, data, ttl, self._codec), self._finish(False)
        if xx:
            return keyops.replace_bytes(UNPREFIXED, made, data, ttl), self._finish(False)
        return ops.set_bytes(UNPREFIXED, made, data, ttl), self._finish(False, lambda _: True)

    def _plan_increment(
        self, key: Any, delta: Any, version: int | None, ignore_key_check: bool
    ) -> Plan:
        """``incr``; with ``ignore_key_check`` a missing key starts at 0, without expiry."""
        op, finish = self._plan_incr(key, delta, version)  # checks delta; answers failures
        if not ignore_key_check:
            return op, finish
        return keyops.increment_or_create(UNPREFIXED, self._key(key, version), delta), finish

    def _plan_delete_many_count(self, keys: Iterable[Any], version: int | None) -> Plan:
        """``delete_many`` as django-redis: how many keys were removed (``None`` for none)."""
        made = [self._key(key, version) for key in keys]
        if not made:
            return None, lambda _: None
        return ops.delete_many(UNPREFIXED, made), self._finish(0)

    # -- key patterns ---------------------------------------------------------------------

    def make_pattern(
        self, pattern: str, version: int | None = None, prefix: str | None = None
    ) -> str:
        """The Redis glob over stored keys for the Django key glob ``pattern`` (as
        django-redis's ``make_pattern``: the KEY_FUNCTION applied to the glob, with the
        prefix and version escaped)."""
        if not isinstance(pattern, str):
            raise TypeError(f"pattern must be a str, not {type(pattern).__name__}")
        prefix = self.key_prefix if prefix is None else prefix
        version = self.version if version is None else version
        return str(self.key_func(pattern, escape_glob(prefix), escape_glob(str(version))))

    def reverse_key(self, key: str, strip: str | None = None) -> str:
        """The Django key of a stored key (``KEY_PREFIX:VERSION:key`` -> ``key``)."""
        if strip is not None and self.key_func is default_key_func and key.startswith(strip):
            return key[len(strip) :]
        return key.split(":", 2)[-1]

    def _plan_delete_pattern(
        self, pattern: str, version: int | None, prefix: str | None, itersize: int | None
    ) -> Plan:
        match = self.make_pattern(pattern, version, prefix)
        return keyops.delete_matching(UNPREFIXED, match, None, itersize), self._finish(0)

    def _key_walk(self, search: str, itersize: int | None, version: int | None) -> KeyWalk:
        version = self.version if version is None else version
        strip = f"{self.key_prefix}:{version}:"
        match = self.make_pattern(search, version)
        return KeyWalk(match, itersize, lambda key: self.reverse_key(key, strip))

    def _plan_scan_page(self, walk: KeyWalk) -> Plan | None:
        """The plan of the walk's next SCAN page; ``None`` when the walk is over."""
        if walk.cursor is None:
            return None
        op = keyops.scan_page(UNPREFIXED, walk.cursor, walk.match, walk.itersize)
        return op, self._finish(None)
