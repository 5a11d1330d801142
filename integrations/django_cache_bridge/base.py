"""What every BridgeCache plan needs: the checked configuration, the shared adapters, Django's
keys and timeouts, the value encoding, and how a ``Result`` becomes Django's answer.

Django's answer for a Failure: bad input raises, an unusable cache fails open (a miss, a
quiet log line) unless ``OPTIONS['fail_open']`` is ``False``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from time import perf_counter
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

from cache_bridge.engine.bytes_operations import MAX_TTL_MS, MISSING, UNPREFIXED, InvalidArgument
from cache_bridge.errors import (
    CacheConnectionError,
    CacheInvalidArgumentError,
    CacheSerializationError,
    CacheUnavailableError,
    CacheValueError,
    ConfigurationError,
    DomainError,
)
from cache_bridge.observability import events
from cache_bridge.observability.events import NearCacheEvent, OperationEvent
from cache_bridge.resilience.outage_log import is_outage
from cache_bridge.stampede import envelope
from django_cache_bridge.options import AliasSettings, parse_config
from django_cache_bridge.registry import SharedAdapters, shared_adapters
from django_cache_bridge.sessions import cache_down, creating_session, unwritable_session
from django_cache_bridge.values import ValueCodec

__all__ = ["EXPIRE_NOW", "NOT_LOCAL", "BridgeBase", "Finish", "holds_another_kind"]


class _EnvelopeReadingCodec(ValueCodec):
    """The alias's codec, also reading the value inside a stampede envelope
    (:mod:`cache_bridge.stampede.envelope`), so that ``get`` sees (and never drops as
    unreadable) what ``get_or_set(..., stampede=...)`` and the stampede ``cache_page`` store."""

    def loads(self, key: str, data: bytes) -> Any:
        if data.startswith(envelope.MARKER) and (inside := envelope.unwrap(data)) is not None:
            data = inside.payload
        return super().loads(key, data)


# The characters Django's validate_key warns about (memcached_error_chars_re).
_MEMCACHED_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
# Whole seconds below this are below the clamp of _ttl_ms (MAX_TTL_MS).
_MAX_TTL_S = MAX_TTL_MS // 1000
#: What :meth:`BridgeBase._ttl_ms` returns for a timeout that expires the key at once.
EXPIRE_NOW = 0

#: What :meth:`BridgeBase._local_get` returns when the near cache cannot answer.
NOT_LOCAL: Any = object()

#: Turns an operation's Result into the Django method's return value (or raises).
Finish: TypeAlias = Callable[[Result[Any, DomainError]], Any]


def _unwritable(value: Any, exc: BaseException | None) -> str:
    """Why the JSON serializer cannot write ``value``, naming types only, never contents."""
    reason = str(exc) if exc is not None else ""
    if not re.fullmatch(r"Object of type \w+ is not JSON serializable", reason):
        reason = type(exc).__name__ if exc is not None else ""
    detail = f" ({reason})" if reason else ""
    return f"the JSON serializer cannot write this {type(value).__name__}{detail}"


def holds_another_kind(error: DomainError) -> bool:
    """Whether ``error`` says the key holds another kind of value than the command works on
    (a set or a hash where a value was expected, or the other way round: Redis's WRONGTYPE)."""
    return isinstance(error, CacheValueError) and "WRONGTYPE" in error.message


class BridgeBase(BaseCache):
    """The state and the answers behind :class:`django_cache_bridge.cache.BridgeCache`.

    Construction does no I/O and never raises for a bad LOCATION or OPTIONS: the system checks
    report those, and the first use raises ``ImproperlyConfigured`` with the same message.
    """

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self._location = location
        self._config: AliasSettings | None = None
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
        # (What an instance reassigns later is checked per call, in _key().)
        self._default_keys = (
            self.key_func is default_key_func
            and type(self).make_key is BaseCache.make_key
            and type(self).validate_key is BaseCache.validate_key
            and type(self).make_and_validate_key is BaseCache.make_and_validate_key
        )
        config = self._config
        self._codec = _EnvelopeReadingCodec.for_alias(config)

    @property
    def bridge_config(self) -> AliasSettings:
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

    # -- keys and timeouts -----------------------------------------------------------------

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
            elif made.isascii():
                # Non-empty, ASCII and at most 250 characters: every rule of the stored key's
                # check below (at most 1,024 characters, no lone surrogate) already met.
                return made
        else:
            made = self.make_and_validate_key(key, version=version)
        try:
            return UNPREFIXED.key(made)
        except InvalidArgument as exc:
            raise InvalidCacheKey(f"cache key {made!r:.80}: {exc}") from None

    def _key_map(self, keys: Iterable[Any], version: int | None) -> dict[str, Any]:
        """``{stored key: key}`` for ``keys``, each made (and checked, with Django's
        warnings) as :meth:`_key` makes it; a later key wins over an earlier one with the same
        stored key. Plain ``str`` keys under Django's own key making are made and checked
        together (one pass over all of them) when none needs a warning or a closer check."""
        keys = keys if type(keys) is list or type(keys) is tuple else list(keys)
        own = self.__dict__
        if (
            self._default_keys
            and self.key_func is default_key_func
            and "make_key" not in own
            and "validate_key" not in own
            and "make_and_validate_key" not in own
            and all(type(key) is str for key in keys)
        ):
            head = "%s:%s:" % (self.key_prefix, self.version if version is None else version)  # noqa: UP031 (default_key_func's own formatting)
            made = [head + key for key in keys]
            every = "".join(made)
            if (
                every.isascii()
                and not _MEMCACHED_UNSAFE.search(every)
                and max(map(len, made), default=0) <= MEMCACHE_MAX_KEY_LENGTH
            ):
                return dict(zip(made, keys, strict=True))  # as _key returns each of them
        return {self._key(key, version): key for key in keys}

    def _ttl_ms(self, timeout: Any) -> int | None:
        """Milliseconds to live, ``None`` for never, or :data:`EXPIRE_NOW`."""
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        if timeout is None:
            return None
        if type(timeout) is int and 0 < timeout < _MAX_TTL_S:
            return timeout * 1000  # the common case: whole seconds, below the clamp
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise TypeError(f"timeout must be a number of seconds or None, not {timeout!r}")
        if isinstance(timeout, float) and math.isnan(timeout):
            raise ValueError("timeout must be a number of seconds or None, not NaN")
        if timeout <= 0:
            return EXPIRE_NOW
        if timeout * 1000 >= MAX_TTL_MS:
            # As LocMemCache and RedisCache accept any timeout, a huge one (often used to mean
            # "practically forever") is clamped to the longest expiry stores take: ten years.
            return MAX_TTL_MS
        return max(1, round(timeout * 1000))

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

    # -- the near cache's short path ---------------------------------------------------------

    def _local_get(self, made: str, default: Any, blocking: bool) -> Any:
        """``get``'s answer for the stored key ``made`` from the near cache of the blocking
        (or the async) face, without running the operation; :data:`NOT_LOCAL` whenever the
        operation must run: no near cache, a closed face, no local copy (or none that may be
        served now: the near cache checks that its pushes flow, as for any read it answers),
        or a value not in the current format, signed with a current key (the operation reads
        it again, logs why and drops it). While someone listens, its events are those the
        operation's way gives (:mod:`cache_bridge.observability`): the near cache's hit,
        then the operation's."""
        shared = self.adapters()
        face = shared.sync if blocking else shared.async_
        near = getattr(face, "near_cache", None)
        if near is None or face.closed:
            return NOT_LOCAL
        watched = events.listeners
        started = perf_counter() if watched else 0.0
        raw = near.value(made)
        if raw is None:  # known absent (a push comes when it is written)
            value = MISSING
        elif type(raw) is bytes:
            value = self._codec.loads_current(made, raw)
            if value is MISSING:
                return NOT_LOCAL
        else:
            return NOT_LOCAL
        if watched:  # what the near cache and the driver tell on the operation's way
            events.emit(NearCacheEvent("hit", 1, near.server))
            hit = value is not None and value is not MISSING
            duration = perf_counter() - started
            events.emit(OperationEvent("get", "success", hit, duration, face.origin, made))
        return default if value is MISSING else value

    # -- answers -------------------------------------------------------------------------------

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
        """The value of a Success, converted; :meth:`_failed`'s answer for a Failure. A key
        that holds a set or a hash (django-redis's set and hash API) is no value: the
        fallback, quietly."""

        def finish(result: Result[Any, DomainError]) -> Any:
            if isinstance(result, Success):  # (not match: this runs on every call)
                return convert(result.unwrap())
            match result:
                case Failure(error) if holds_another_kind(error):
                    return fallback
                case Failure(error):
                    return self._failed(error, fallback)
            raise AssertionError("unreachable")  # pragma: no cover

        return finish

    def _unwritable_add(self, value: Any) -> Finish:
        """``add``'s answer for a value the serializer cannot write: not added (``False``);
        to Django's cache session engine, which would try 10,000 keys, an exception."""

        def finish(result: Result[Any, DomainError]) -> Any:
            if creating_session():
                where = self.bridge_config.settings.describe()
                raise unwritable_session(where, _unwritable(value, None))
            return False

        return finish

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
