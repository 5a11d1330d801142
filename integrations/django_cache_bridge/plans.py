"""Each Django cache method's logic, once: its stored keys, the cache_bridge operation that
does it and how the operation's ``Result`` becomes Django's return value (a *plan*).

:class:`~django_cache_bridge.cache.BridgeCache` runs a plan on the blocking adapter (``get``)
or awaits it on the async one (``aget``). The operations are the engine's bytes operations
(:mod:`cache_bridge.engine.bytes_operations`) in the unprefixed namespace: Django makes the
full keys itself (``KEY_PREFIX:VERSION:key``). Reads go through the alias's value codec, so a
value this alias cannot read is a miss and is deleted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from django.core.cache.backends.base import default_key_func
from returns.result import Failure, Result, Success

from cache_bridge.engine import bytes_operations as ops
from cache_bridge.engine import operations
from cache_bridge.engine.bytes_operations import MISSING, UNPREFIXED, KeyFilter, Op, escape_glob
from cache_bridge.errors import CacheValueError, DomainError
from cache_bridge.faces import AsyncCache, SyncCache
from cache_bridge.stampede import StampedeSettings, ValueFormat, aget_or_compute, get_or_compute
from django_cache_bridge.base import EXPIRE_NOW, BridgeBase, Finish, holds_another_kind
from django_cache_bridge.registry import SharedAdapters

__all__ = ["BridgePlans", "Plan", "StampedePlan"]

#: An operation to run (``None``: nothing to run, the answer is ``Finish(Success(None))``)
#: and how its Result becomes Django's answer.
Plan: TypeAlias = tuple[Op[Any] | None, Finish]


@dataclass(frozen=True, slots=True)
class StampedePlan:
    """``get_or_set(..., stampede=...)``: the stampede recipe's call on an alias's faces."""

    faces: SharedAdapters
    key: str
    compute: Callable[[], Any]
    ttl: float | None
    settings: StampedeSettings
    codec: ValueFormat

    def run(self) -> Any:
        return get_or_compute(self.sync_face, *self.arguments(), **self.options())

    async def arun(self) -> Any:
        return await aget_or_compute(self.async_face, *self.arguments(), **self.options())

    @property
    def sync_face(self) -> SyncCache:
        return self.faces.sync

    @property
    def async_face(self) -> AsyncCache:
        return self.faces.async_

    def arguments(self) -> tuple[str, Callable[[], Any], float | None]:
        return self.key, self.compute, self.ttl

    def options(self) -> dict[str, Any]:
        return {"settings": self.settings, "codec": self.codec, "ns": UNPREFIXED}


class BridgePlans(BridgeBase):
    """The plan of every Django cache method (``_plan_get`` for ``get`` and ``aget``, ...)."""

    def _plan_stampede(
        self, key: Any, default: Any, timeout: Any, version: int | None, stampede: Any
    ) -> StampedePlan | None:
        """``get_or_set`` with stampede protection, or ``None`` for Django's own (stampede
        off, or a timeout that expires the value at once: nothing to protect)."""
        settings = StampedeSettings.coerce(stampede)
        if settings is None:
            return None
        made = self._key(key, version)
        ttl = self._ttl_ms(timeout)
        if ttl == EXPIRE_NOW:
            return None
        compute = default if callable(default) else (lambda: default)
        seconds = None if ttl is None else ttl / 1000
        return StampedePlan(self.adapters(), made, compute, seconds, settings, self._codec)

    def _plan_add(self, key: Any, value: Any, timeout: Any, version: int | None) -> Plan:
        made = self._key(key, version)
        ttl = self._ttl_ms(timeout)
        data = self._encode(made, value, "add")
        if data is None:
            return None, self._unwritable_add(value)
        if ttl == EXPIRE_NOW:
            # Added and expired at once: it "would have been added" if nothing was there.
            return ops.has_readable(UNPREFIXED, made, self._codec), self._finish(
                False, lambda found: not found
            )
        return ops.add_readable(UNPREFIXED, made, data, ttl, self._codec), self._finish_add()

    def _plan_get(self, key: Any, default: Any, version: int | None) -> Plan:
        return self._plan_get_made(self._key(key, version), default)

    def _plan_get_made(self, made: str, default: Any) -> Plan:
        """``get`` of the stored key ``made`` (what :meth:`_key` made)."""

        def convert(value: Any) -> Any:
            return default if value is MISSING else value

        return ops.get_readable(UNPREFIXED, made, self._codec), self._finish(default, convert)

    def _plan_set(self, key: Any, value: Any, timeout: Any, version: int | None) -> Plan:
        made = self._key(key, version)
        ttl = self._ttl_ms(timeout)
        data = self._encode(made, value, "set")
        if ttl == EXPIRE_NOW or data is None:
            # Expired at once, or not writable: either way the key must not keep an old value.
            return operations.delete(UNPREFIXED, made), self._finish(None, lambda _: None)
        return ops.set_bytes(UNPREFIXED, made, data, ttl), self._finish(None)

    def _plan_touch(self, key: Any, timeout: Any, version: int | None) -> Plan:
        made = self._key(key, version)
        ttl = self._ttl_ms(timeout)
        if ttl == EXPIRE_NOW:
            return operations.delete(UNPREFIXED, made), self._finish(False)
        return ops.touch_readable(UNPREFIXED, made, ttl, self._codec), self._finish(False)

    def _plan_delete(self, key: Any, version: int | None) -> Plan:
        made = self._key(key, version)
        return operations.delete(UNPREFIXED, made), self._finish(False)

    def _plan_get_many(self, keys: Iterable[Any], version: int | None) -> Plan:
        key_map = self._key_map(keys, version)
        if not key_map:
            return None, lambda _: {}

        def convert(found: dict[str, Any]) -> dict[Any, Any]:
            return {key_map[made]: value for made, value in found.items()}

        op = ops.get_many_readable(UNPREFIXED, list(key_map), self._codec)
        return op, self._finish({}, convert)

    def _plan_has_key(self, key: Any, version: int | None) -> Plan:
        made = self._key(key, version)
        finish = self._finish(False)

        def found(result: Result[Any, DomainError]) -> Any:
            match result:
                case Failure(error) if holds_another_kind(error):
                    return True  # a set or a hash at the key: a key, though no value
            return finish(result)

        return ops.has_readable(UNPREFIXED, made, self._codec), found

    def _plan_incr(self, key: Any, delta: Any, version: int | None) -> Plan:
        made = self._key(key, version)
        if isinstance(delta, bool) or not isinstance(delta, int):
            raise TypeError(f"delta must be an int, not {type(delta).__name__}")
        if not -(2**63) < delta < 2**63:
            raise ValueError("delta must fit in signed 64 bits")

        def finish(result: Result[int | None, DomainError]) -> int:
            match result:
                case Success(None):
                    raise ValueError(f"Key '{key}' not found.")
                case Success(int() as value):
                    return value
                case Failure(error) if holds_another_kind(error):
                    raise TypeError(
                        f"key '{key}' holds another kind of value (a set or a hash), not a number"
                    ) from error
                case Failure(CacheValueError() as error) if "not an integer" in error.message:
                    raise TypeError(f"the value at key '{key}' is not an integer") from error
                case Failure(CacheValueError() as error):
                    raise ValueError(f"incrementing key '{key}' would overflow 64 bits") from error
                case Failure(error):
                    self._failed(error, None)
            raise ValueError(f"Key '{key}' not found (the cache is unavailable).")

        return ops.increment_existing(UNPREFIXED, made, delta), finish

    def _plan_set_many(self, data: dict[Any, Any], timeout: Any, version: int | None) -> Plan:
        if not isinstance(data, Mapping):
            raise TypeError(f"set_many takes a dict of keys to values, not {type(data).__name__}")
        made = self._key_map(data, version)
        ttl = self._ttl_ms(timeout)
        if not made:
            return None, lambda _: []
        if ttl == EXPIRE_NOW:
            finish = self._finish(list(data), lambda _: [])
            return ops.delete_many(UNPREFIXED, list(made)), finish
        encoded: dict[str, bytes] = {}
        dropped: list[str] = []
        for m, key in made.items():
            written = self._encode(m, data[key], "set_many")
            if written is None:
                dropped.append(m)
            else:
                encoded[m] = written
        not_stored = [made[m] for m in dropped]
        finish = self._finish(list(data), lambda _: not_stored)
        return ops.set_many_bytes(UNPREFIXED, encoded, ttl, dropped), finish

    def _plan_delete_many(self, keys: Iterable[Any], version: int | None) -> Plan:
        made = [self._key(key, version) for key in keys]
        if not made:
            return None, lambda _: None
        return ops.delete_many(UNPREFIXED, made), self._finish(None, lambda _: None)

    def _plan_clear(self) -> Plan:
        finish = self._finish(None, lambda _: None)
        if self.key_prefix:
            return self.alias_keys_op(delete=True), finish
        return operations.flush(UNPREFIXED), finish

    # -- every key of the alias ----------------------------------------------------------------

    def alias_keys_op(self, delete: bool) -> Op[int]:
        """Count (or delete) this alias's keys, all versions: with the default key function
        only keys shaped ``KEY_PREFIX:<int version>:...``, so an alias whose KEY_PREFIX is
        ``KEY_PREFIX:something`` on the same server keeps its keys."""
        match, mine = self._alias_key_filter()
        run = ops.delete_pattern if delete else ops.count_pattern
        return run(UNPREFIXED, match, mine)

    def _alias_key_filter(self) -> tuple[str, KeyFilter | None]:
        prefix = f"{self.key_prefix}:"
        if self.key_func is not default_key_func:
            # A custom KEY_FUNCTION's layout is unknown: everything under KEY_PREFIX: is ours.
            return escape_glob(prefix) + "*", None
        text = re.compile(re.escape(prefix) + r"-?[0-9]+:")
        raw = re.compile(re.escape(prefix.encode("utf-8")) + rb"-?[0-9]+:")

        def mine(key: str | bytes) -> bool:
            if isinstance(key, bytes):
                return raw.match(key) is not None
            return text.match(key) is not None

        return escape_glob(prefix) + "[-0-9]*", mine
