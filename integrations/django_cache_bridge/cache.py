"""``django_cache_bridge.cache.BridgeCache``: Django's cache API over cache_bridge adapters.

Each Django method is planned once (:meth:`BridgeCache._plan_get` and friends: the key, the
cache_bridge operation and how its Result becomes Django's return value) and then run by the
blocking adapter (``get``) or awaited on the async adapter (``aget``): the async API is
natively async, with no thread hop.
"""

# Django's async cache API names its parameters ``timeout``; the signatures must match.
# ruff: noqa: ASYNC109

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

from django.core.cache.backends.base import (
    DEFAULT_TIMEOUT,
    MEMCACHE_MAX_KEY_LENGTH,
    BaseCache,
    InvalidCacheKey,
    default_key_func,
)
from django.core.exceptions import ImproperlyConfigured
from returns.result import Failure, Result, Success

from cache_bridge.engine import bytes_operations, operations
from cache_bridge.engine.bytes_operations import MAX_TTL_MS
from cache_bridge.engine.commands import Get, MGet, Scan, SetBytes, Touch, Unlink
from cache_bridge.engine.keys import InvalidArgument, KeySpace, escape_glob
from cache_bridge.engine.operations import SCAN_BATCH, Op, Steps
from cache_bridge.errors import (
    CacheConnectionError,
    CacheInvalidArgumentError,
    CacheSerializationError,
    CacheUnavailableError,
    CacheValueError,
    ConfigurationError,
    DomainError,
)
from cache_bridge.resilience.outage_log import is_outage
from django_cache_bridge.options import BridgeConfig, parse_config
from django_cache_bridge.registry import SharedAdapters, shared_adapters
from django_cache_bridge.sessions import cache_down, creating_session, unwritable_session
from django_cache_bridge.values import MISSING, ValueCodec

__all__ = ["BridgeCache"]

_RAW = KeySpace(None)  # Django makes the full keys itself (KEY_PREFIX:VERSION:key).
# The characters Django's validate_key warns about (memcached_error_chars_re).
_MEMCACHED_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
_EXPIRE_NOW = 0

Finish: TypeAlias = Callable[[Result[Any, DomainError]], Any]
Plan: TypeAlias = tuple[Op[Any] | None, Finish]


def _as_bytes(raw: str | bytes | None) -> bytes | None:
    # The in-memory store keeps text written by the protocol as str; Redis replies bytes.
    return raw.encode("utf-8") if isinstance(raw, str) else raw


def _drop(keys: Sequence[str]) -> Steps[None]:
    """Delete keys holding values this alias cannot read (tampered, foreign, signed with a
    retired SECRET_KEY, another serializer's format). Left in place they would block the key:
    ``add`` would refuse to write over them and ``get_or_set`` would recompute forever.

    A cache may always drop an entry. The read and this delete are two commands, so a valid
    value written by another client in between is deleted too: that costs that client a miss
    (a recomputation), never a wrong value."""
    yield Unlink(tuple(keys))


def _unwritable(value: Any, exc: BaseException | None) -> str:
    """Why the JSON serializer cannot write ``value``, naming types only, never contents."""
    reason = str(exc) if exc is not None else ""
    if not re.fullmatch(r"Object of type \w+ is not JSON serializable", reason):
        reason = type(exc).__name__ if exc is not None else ""
    detail = f" ({reason})" if reason else ""
    return f"the JSON serializer cannot write this {type(value).__name__}{detail}"


class BridgeCache(BaseCache):
    """A Django cache backend on a cache_bridge URL (``memory://[NAME]``, ``redis://``, ...).

    Construction does no I/O and never raises for a bad LOCATION or OPTIONS: the system checks
    report those, and the first use raises ``ImproperlyConfigured`` with the same message.
    """

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self._location = location
        self._config: BridgeConfig | None = None
        self._config_error: ConfigurationError | None = None
        try:
            self._config = parse_config(
                location, params.get("OPTIONS"), params.get("KEY_PREFIX", "")
            )
        except ConfigurationError as exc:
            self._config_error = exc
        else:
            self.key_prefix = self._config.key_prefix  # KEY_PREFIX or LOCATION's ?key_prefix=
        self._adapters_: SharedAdapters | None = None
        # Django's own key making and checking, unchanged by a subclass or KEY_FUNCTION: then
        # _key may build the key itself and leave the checks to Django only when they warn.
        # (What an instance reassigns later is checked per call, in _key.)
        self._default_keys = (
            self.key_func is default_key_func
            and type(self).make_key is BaseCache.make_key
            and type(self).validate_key is BaseCache.validate_key
            and type(self).make_and_validate_key is BaseCache.make_and_validate_key
        )
        config = self._config
        self._codec = ValueCodec(
            config.serializer if config else "pickle", config.sign if config else True
        )

    # -- configuration and namespace -----------------------------------------------------

    @property
    def bridge_config(self) -> BridgeConfig:
        """The checked configuration; raises ImproperlyConfigured if LOCATION/OPTIONS are bad."""
        if self._config is None:
            raise ImproperlyConfigured(f"BridgeCache: {self._config_error}")
        return self._config

    def adapters(self) -> SharedAdapters:
        """The process's shared adapters of this alias (both faces), made on first use."""
        if self._adapters_ is None or self._adapters_.sync.closed:
            try:
                self._adapters_ = shared_adapters(self.bridge_config)
            except ConfigurationError as exc:
                raise ImproperlyConfigured(f"BridgeCache: {exc}") from exc
        return self._adapters_

    @property
    def protocol_prefix(self) -> str:
        """The cache_bridge ``key_prefix`` under which protocol keys meet Django's keys:
        ``KEY_PREFIX:VERSION`` (the default key function's layout)."""
        return f"{self.key_prefix}:{self.version}"

    def key_glob(self, pattern: str | None = None) -> str:
        """A Redis glob over stored keys: with ``pattern``, the keys of the current VERSION
        matching it (as Django keys); without, every key of this alias (all versions)."""
        if pattern is None:
            return escape_glob(f"{self.key_prefix}:") + "*"
        return escape_glob(f"{self.key_prefix}:{self.version}:") + pattern

    def ping(self) -> Result[bool, DomainError]:
        """``Success(True)`` if the store answered a PING."""
        return self.adapters().sync.run_operation(operations.ping(_RAW))

    def count_keys(self, glob: str) -> Result[int, DomainError]:
        """How many stored keys match ``glob`` (from :meth:`key_glob`) now."""
        return self.adapters().sync.run_operation(bytes_operations.count_pattern(_RAW, glob))

    def delete_keys(self, glob: str) -> Result[int, DomainError]:
        """Delete the stored keys matching ``glob`` (from :meth:`key_glob`); how many."""
        return self.adapters().sync.run_operation(operations.delete_pattern(_RAW, glob))

    def count_alias_keys(self) -> Result[int, DomainError]:
        """How many keys of this alias (every VERSION) are stored now: those
        ``KEY_PREFIX:<version>:...`` with the default key function, else all under
        ``KEY_PREFIX:``."""
        return self.adapters().sync.run_operation(
            Op("count_pattern", None, self._alias_keys(delete=False))
        )

    def delete_alias_keys(self) -> Result[int, DomainError]:
        """Delete the keys :meth:`count_alias_keys` counts (what ``clear()`` does when a
        KEY_PREFIX is set); how many."""
        return self.adapters().sync.run_operation(
            Op("delete_pattern", None, self._alias_keys(delete=True))
        )

    def alias_keys_description(self) -> str:
        """The keys :meth:`count_alias_keys` counts, for messages."""
        if self.key_func is default_key_func:
            return f"{self.key_prefix}:<VERSION>:*"
        return f"{self.key_prefix}:*"

    # -- running plans ---------------------------------------------------------------------

    def _run(self, plan: Plan) -> Any:
        op, finish = plan
        if op is None:
            return finish(Success(None))
        return finish(self.adapters().sync.run_operation(op))

    async def _arun(self, plan: Plan) -> Any:
        op, finish = plan
        if op is None:
            return finish(Success(None))
        return finish(await self.adapters().async_.run_operation(op))

    def _failed(self, error: DomainError, fallback: Any) -> Any:
        """Django's answer for a Failure: bad input raises, an unusable cache fails open.

        An outage of a Redis adapter is logged by the adapter (``cache_bridge`` logger, a few
        lines per incident); anything else goes to this store's log by the same rule."""
        if isinstance(error, CacheInvalidArgumentError):
            raise InvalidCacheKey(str(error))
        if not self.bridge_config.fail_open:
            raise error
        adapters = self.adapters()
        if not (adapters.logs_outages and is_outage(error)):
            adapters.log.failed(error, "carrying on without the cache")
        return fallback

    def _finish(self, fallback: Any, convert: Callable[[Any], Any] = lambda v: v) -> Finish:
        def finish(result: Result[Any, DomainError]) -> Any:
            match result:
                case Success(value):
                    return convert(value)
                case Failure(error):
                    return self._failed(error, fallback)
            raise AssertionError("unreachable")  # pragma: no cover

        return finish

    def _encode(self, made: str, value: Any, operation: str) -> bytes | None:
        """The stored form of ``value``; ``None`` when the JSON serializer cannot write it and
        the alias fails open: nothing is stored and the store's log says so (quietly). Django
        stores responses, Decimals and datetimes, which JSON cannot hold, and a view must not
        fail for it. Unpicklable values raise, as with Django's own backends."""
        if self._codec.serializer != "json" or not self.bridge_config.fail_open:
            return self._codec.dumps(made, value)
        try:
            return self._codec.dumps(made, value)
        except (TypeError, ValueError, RecursionError) as exc:
            error = CacheSerializationError(
                _unwritable(value, exc), operation=operation, key=made, cause=exc
            )
            self.adapters().log.failed(error, "nothing was stored")
            return None

    def _unwritable_add(self, value: Any) -> Finish:
        """``add``'s answer for a value the serializer cannot write: not added (``False``);
        to Django's cache session engine, which would try 10,000 keys, an exception."""

        def finish(result: Result[Any, DomainError]) -> Any:
            if creating_session():
                where = self.bridge_config.settings.describe()
                raise unwritable_session(where, _unwritable(value, None))
            return False

        return finish

    def _store_many(
        self, encoded: dict[str, bytes], dropped: list[str], ttl: int | None
    ) -> Steps[None]:
        """Store ``encoded`` in one round trip and delete ``dropped`` (values that could not
        be written: the keys must not keep older values)."""
        if encoded:
            yield from bytes_operations.set_many_bytes(_RAW, encoded, ttl).steps
        if dropped:
            yield Unlink(tuple(dropped))

    def _finish_add(self) -> Finish:
        """``add``'s answer: ``False`` when the cache fails (fail open), except to Django's
        cache session engine creating a session while the cache cannot store one: that loop
        would try 10,000 keys, so it gets ``SessionCacheUnavailable`` at once (see
        :mod:`django_cache_bridge.sessions`)."""

        def finish(result: Result[Any, DomainError]) -> Any:
            match result:
                case Success(added):
                    return bool(added)
                case Failure(error):
                    if self._stores_nothing_now(error) and creating_session():
                        raise cache_down(self.bridge_config.settings.describe(), str(error))
                    return self._failed(error, False)
            raise AssertionError("unreachable")  # pragma: no cover

        return finish

    def _stores_nothing_now(self, error: DomainError) -> bool:
        """Whether ``error`` says that no write can succeed now: the circuit breaker is open
        (or, with the breaker off, the server cannot be reached). One failure while the
        breaker is closed may be a blip: the session engine tries another key."""
        if not self.bridge_config.fail_open:
            return False  # the error itself is raised
        if isinstance(error, CacheUnavailableError):
            return True
        return isinstance(error, CacheConnectionError) and self.adapters().sync.breaker is None

    def _key(self, key: Any, version: int | None) -> str:
        """The stored key; Django's warnings for memcached-unsafe keys, and InvalidCacheKey for
        keys no cache_bridge store takes (over 1,024 characters, lone surrogates)."""
        # What code (Django's own tests among it) may reassign on the instance is checked per
        # call: key_func, and the key methods (three lookups in the instance's dict).
        own = self.__dict__
        if (
            self._default_keys
            and self.key_func is default_key_func
            and type(key) is str
            and "make_key" not in own
            and "validate_key" not in own
            and "make_and_validate_key" not in own
        ):
            made = "%s:%s:%s" % (self.key_prefix, self.version if version is None else version, key)  # noqa: UP031 (default_key_func's own formatting)
            if len(made) > MEMCACHE_MAX_KEY_LENGTH or _MEMCACHED_UNSAFE.search(made):
                self.validate_key(made)  # Django's warnings, word for word
        else:
            made = self.make_and_validate_key(key, version=version)
        try:
            return _RAW.key(made)
        except InvalidArgument as exc:
            raise InvalidCacheKey(f"cache key {made!r:.80}: {exc}") from None

    def _ttl_ms(self, timeout: Any) -> int | None:
        """Milliseconds to live, ``None`` for never, or ``_EXPIRE_NOW``."""
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        if timeout is None:
            return None
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise TypeError(f"timeout must be a number of seconds or None, not {timeout!r}")
        if isinstance(timeout, float) and math.isnan(timeout):
            raise ValueError("timeout must be a number of seconds or None, not NaN")
        if timeout <= 0:
            return _EXPIRE_NOW
        if timeout * 1000 >= MAX_TTL_MS:
            # As LocMemCache and RedisCache accept any timeout, a huge one (often used to mean
            # "practically forever") is clamped to the longest expiry stores take: ten years.
            return MAX_TTL_MS
        return max(1, round(timeout * 1000))

    # -- steps of our own: reads that drop what this alias cannot read ---------------------

    def _read(self, made: str) -> Steps[Any]:
        """The value at ``made``, or MISSING; an unreadable value is dropped (see _drop)."""
        data = _as_bytes((yield Get(made)))
        if data is None:
            return MISSING
        value = self._codec.loads(made, data)
        if value is MISSING:
            yield from _drop((made,))
        return value

    def _read_many(self, made: Sequence[str]) -> Steps[dict[str, Any]]:
        """The readable values of ``made`` (one MGET); unreadable ones are dropped."""
        raws = yield MGet(tuple(made))
        found, unreadable = self._codec.loads_many(made, [_as_bytes(raw) for raw in raws])
        if unreadable:
            yield from _drop(unreadable)
        return found

    def _holds(self, made: str) -> Steps[bool]:
        """Whether ``made`` holds a value ``get`` would return (an unreadable value is no
        value: it is dropped and reported absent)."""
        return (yield from self._read(made)) is not MISSING

    def _add(self, made: str, data: bytes, ttl: int | None) -> Steps[bool]:
        if (yield SetBytes(made, data, ttl, only_if_missing=True)):
            return True
        if (yield from self._holds(made)):
            return False
        # What was there was unreadable (now dropped) or expired meanwhile: add once more.
        return bool((yield SetBytes(made, data, ttl, only_if_missing=True)))

    def _touch(self, made: str, ttl: int | None) -> Steps[bool]:
        if int((yield Touch(made, ttl))) <= 0:
            return False
        return (yield from self._holds(made))

    def _alias_keys(self, delete: bool) -> Steps[int]:
        """Count (or delete) this alias's keys, all versions: with the default key function
        only keys shaped ``KEY_PREFIX:<int version>:...``, so an alias whose KEY_PREFIX is
        ``KEY_PREFIX:something`` on the same server keeps its keys."""
        match, mine = self._alias_key_filter()
        total = 0
        cursor = 0
        while True:
            cursor, found = yield Scan(cursor, match, SCAN_BATCH)
            keys = tuple(k for k in found if mine(k))
            if keys:
                total += int((yield Unlink(keys))) if delete else len(keys)
            if int(cursor) == 0:
                return total

    def _alias_key_filter(self) -> tuple[str, Callable[[str | bytes], bool]]:
        prefix = f"{self.key_prefix}:"
        if self.key_func is not default_key_func:
            # A custom KEY_FUNCTION's layout is unknown: everything under KEY_PREFIX: is ours.
            return escape_glob(prefix) + "*", lambda _: True
        text = re.compile(re.escape(prefix) + r"-?[0-9]+:")
        raw = re.compile(re.escape(prefix.encode("utf-8")) + rb"-?[0-9]+:")

        def mine(key: str | bytes) -> bool:
            if isinstance(key, bytes):
                return raw.match(key) is not None
            return text.match(key) is not None

        return escape_glob(prefix) + "[-0-9]*", mine

    # -- plans: each Django method's logic, once -------------------------------------------

    def _plan_add(self, key: Any, value: Any, timeout: Any, version: int | None) -> Plan:
        made = self._key(key, version)
        ttl = self._ttl_ms(timeout)
        data = self._encode(made, value, "add")
        if data is None:
            return None, self._unwritable_add(value)
        if ttl == _EXPIRE_NOW:
            # Added and expired at once: it "would have been added" if nothing was there.
            return Op("has_key", made, self._holds(made)), self._finish(
                False, lambda found: not found
            )
        return Op("add", made, self._add(made, data, ttl)), self._finish_add()

    def _plan_get(self, key: Any, default: Any, version: int | None) -> Plan:
        made = self._key(key, version)

        def convert(value: Any) -> Any:
            return default if value is MISSING else value

        return Op("get", made, self._read(made)), self._finish(default, convert)

    def _plan_set(self, key: Any, value: Any, timeout: Any, version: int | None) -> Plan:
        made = self._key(key, version)
        ttl = self._ttl_ms(timeout)
        data = self._encode(made, value, "set")
        if ttl == _EXPIRE_NOW or data is None:
            # Expired at once, or not writable: either way the key must not keep an old value.
            return operations.delete(_RAW, made), self._finish(None, lambda _: None)
        return bytes_operations.set_bytes(_RAW, made, data, ttl), self._finish(None)

    def _plan_touch(self, key: Any, timeout: Any, version: int | None) -> Plan:
        made = self._key(key, version)
        ttl = self._ttl_ms(timeout)
        if ttl == _EXPIRE_NOW:
            return operations.delete(_RAW, made), self._finish(False)
        return Op("touch", made, self._touch(made, ttl)), self._finish(False)

    def _plan_delete(self, key: Any, version: int | None) -> Plan:
        made = self._key(key, version)
        return operations.delete(_RAW, made), self._finish(False)

    def _plan_get_many(self, keys: Iterable[Any], version: int | None) -> Plan:
        key_map = {self._key(key, version): key for key in keys}
        if not key_map:
            return None, lambda _: {}

        def convert(found: dict[str, Any]) -> dict[Any, Any]:
            return {key_map[made]: value for made, value in found.items()}

        return Op("get_many", None, self._read_many(list(key_map))), self._finish({}, convert)

    def _plan_has_key(self, key: Any, version: int | None) -> Plan:
        made = self._key(key, version)
        return Op("has_key", made, self._holds(made)), self._finish(False)

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
                case Failure(CacheValueError() as error) if "not an integer" in error.message:
                    raise TypeError(f"the value at key '{key}' is not an integer") from error
                case Failure(CacheValueError() as error):
                    raise ValueError(f"incrementing key '{key}' would overflow 64 bits") from error
                case Failure(error):
                    self._failed(error, None)
            raise ValueError(f"Key '{key}' not found (the cache is unavailable).")

        return bytes_operations.increment_existing(_RAW, made, delta), finish

    def _plan_set_many(self, data: dict[Any, Any], timeout: Any, version: int | None) -> Plan:
        if not isinstance(data, Mapping):
            raise TypeError(f"set_many takes a dict of keys to values, not {type(data).__name__}")
        made = {self._key(key, version): key for key in data}
        ttl = self._ttl_ms(timeout)
        if not made:
            return None, lambda _: []
        if ttl == _EXPIRE_NOW:
            finish = self._finish(list(data), lambda _: [])
            return bytes_operations.delete_many(_RAW, list(made)), finish
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
        return Op("set_many", None, self._store_many(encoded, dropped, ttl)), finish

    def _plan_delete_many(self, keys: Iterable[Any], version: int | None) -> Plan:
        made = [self._key(key, version) for key in keys]
        if not made:
            return None, lambda _: None
        return bytes_operations.delete_many(_RAW, made), self._finish(None, lambda _: None)

    def _plan_clear(self) -> Plan:
        finish = self._finish(None, lambda _: None)
        if self.key_prefix:
            return Op("delete_pattern", None, self._alias_keys(delete=True)), finish
        return operations.flush(_RAW), finish

    # -- Django's API ------------------------------------------------------------------------

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        return bool(self._run(self._plan_add(key, value, timeout, version)))

    async def aadd(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        return bool(await self._arun(self._plan_add(key, value, timeout, version)))

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._run(self._plan_get(key, default, version))

    async def aget(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return await self._arun(self._plan_get(key, default, version))

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._run(self._plan_set(key, value, timeout, version))

    async def aset(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        await self._arun(self._plan_set(key, value, timeout, version))

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return bool(self._run(self._plan_touch(key, timeout, version)))

    async def atouch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return bool(await self._arun(self._plan_touch(key, timeout, version)))

    def delete(self, key: Any, version: Any = None) -> bool:
        return bool(self._run(self._plan_delete(key, version)))

    async def adelete(self, key: Any, version: Any = None) -> bool:
        return bool(await self._arun(self._plan_delete(key, version)))

    def get_many(self, keys: Iterable[Any], version: Any = None) -> dict[Any, Any]:
        return dict(self._run(self._plan_get_many(keys, version)))

    async def aget_many(self, keys: Iterable[Any], version: Any = None) -> dict[Any, Any]:
        return dict(await self._arun(self._plan_get_many(keys, version)))

    def has_key(self, key: Any, version: Any = None) -> bool:
        return bool(self._run(self._plan_has_key(key, version)))

    async def ahas_key(self, key: Any, version: Any = None) -> bool:
        return bool(await self._arun(self._plan_has_key(key, version)))

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        return int(self._run(self._plan_incr(key, delta, version)))

    async def aincr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        return int(await self._arun(self._plan_incr(key, delta, version)))

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> list[Any]:
        return list(self._run(self._plan_set_many(data, timeout, version)))

    async def aset_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> list[Any]:
        return list(await self._arun(self._plan_set_many(data, timeout, version)))

    def delete_many(self, keys: Iterable[Any], version: Any = None) -> None:
        self._run(self._plan_delete_many(keys, version))

    async def adelete_many(self, keys: Iterable[Any], version: Any = None) -> None:
        await self._arun(self._plan_delete_many(keys, version))

    def clear(self) -> None:
        """Delete this alias's keys: those under ``KEY_PREFIX:`` when a prefix is set, else
        the whole database or named memory store (as Django's own backends do)."""
        self._run(self._plan_clear())

    async def aclear(self) -> None:
        await self._arun(self._plan_clear())

    def close(self, **kwargs: Any) -> None:
        """Nothing to do: Django calls this after every request, and the connection pools are
        shared by the process (see :mod:`django_cache_bridge.registry`)."""

    async def aclose(self, **kwargs: Any) -> None:
        """Nothing to do (see :meth:`close`)."""
