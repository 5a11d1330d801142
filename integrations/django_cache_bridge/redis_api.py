"""The django-redis API of BridgeCache: ``ttl``, ``pttl``, ``expire``, ``pexpire``,
``expire_at``, ``pexpire_at``, ``persist``, ``delete_pattern``, ``iter_keys`` and ``keys``, each
with a natively async ``a*`` form (django-redis's own ``a*`` forms run the blocking call in a
thread).

Each method runs its plan (:mod:`django_cache_bridge.redis_plans`) on the blocking adapter or
awaits it on the async one; keys are the alias's (KEY_PREFIX, VERSION, KEY_FUNCTION), and key
walks use SCAN, never KEYS.
"""

# Django's async cache API names its parameters ``timeout``; the signatures must match.
# ruff: noqa: ASYNC109

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from returns.result import Success

from cache_bridge.engine.bytes_operations import MISSING, UNPREFIXED
from cache_bridge.locks import AsyncCacheLock, CacheLock
from django_cache_bridge.compat import DjangoRedisClient
from django_cache_bridge.plans import Plan
from django_cache_bridge.raw_client import raw_client
from django_cache_bridge.redis_plans import RedisPlans

__all__ = ["RedisApi"]


class RedisApi(RedisPlans):
    """The django-redis methods (see the module); :class:`BridgeCache` adds Django's."""

    def _run(self, plan: Plan) -> Any:
        op, finish = plan
        return finish(Success(None) if op is None else self.adapters().sync.run_operation(op))

    async def _arun(self, plan: Plan) -> Any:
        op, finish = plan
        return finish(
            Success(None) if op is None else await self.adapters().async_.run_operation(op)
        )

    @property
    def client(self) -> DjangoRedisClient:
        """A stand-in for django-redis's ``cache.client`` (see
        :mod:`django_cache_bridge.compat`); the same object for the cache's life."""
        shim = self.__dict__.get("_django_redis_client")
        if shim is None:
            shim = self.__dict__["_django_redis_client"] = DjangoRedisClient(self)
        return shim

    def encode_value(self, key: str, value: Any) -> bytes:
        """``value`` as this alias stores it at the stored key ``key``."""
        return self._codec.dumps(key, value)

    def decode_value(self, key: str, data: bytes) -> Any:
        """What this alias reads from ``data`` at the stored key ``key`` (``None`` if it is
        unreadable)."""
        value = self._codec.loads(key, data)
        return None if value is MISSING else value

    def get_client(self, key: Any = None, write: bool = True) -> Any:
        """The raw blocking redis-py client on this alias's Redis (its own pool, made once per
        process): an escape hatch **outside every guarantee** of BridgeCache. Keys are not
        prefixed or versioned (use ``make_key``), values are not encoded or signed, and
        failures raise redis-py's exceptions (no fail-open, no circuit breaker). memory://
        raises ``NotImplementedError``."""
        return raw_client(self.bridge_config)

    def lock(  # noqa: PLR0917 (django-redis's signature)
        self,
        key: Any,
        version: Any = None,
        timeout: float | None = None,
        sleep: float = 0.1,
        blocking_timeout: float | None = None,
        client: Any = None,
        thread_local: bool = True,
        *,
        blocking: bool = True,
    ) -> CacheLock:
        """A lock at this alias's key ``key`` (django-redis's and redis-py's ``Lock``): ``with
        cache.lock("report", timeout=30): ...``. It expires after ``timeout`` seconds
        (``None``: never). Not fail-open: a cache that cannot be reached raises."""
        made = self._key(key, version)
        return CacheLock(
            self.adapters().sync, UNPREFIXED, made, timeout=timeout, sleep=sleep,
            blocking=blocking, blocking_timeout=blocking_timeout, thread_local=thread_local,
        )  # fmt: skip

    def alock(  # noqa: PLR0917 (django-redis's signature)
        self,
        key: Any,
        version: Any = None,
        timeout: float | None = None,
        sleep: float = 0.1,
        blocking_timeout: float | None = None,
        client: Any = None,
        thread_local: bool = True,
        *,
        blocking: bool = True,
    ) -> AsyncCacheLock:
        """:meth:`lock` for async code: ``async with cache.alock("report", timeout=30): ...``."""
        made = self._key(key, version)
        return AsyncCacheLock(
            self.adapters().async_, UNPREFIXED, made, timeout=timeout, sleep=sleep,
            blocking=blocking, blocking_timeout=blocking_timeout, thread_local=thread_local,
        )  # fmt: skip

    def ttl(self, key: Any, version: Any = None) -> int | None:
        """Seconds left (rounded up), ``None`` without expiry, ``0`` for a missing key."""
        return self._run(self._plan_pttl(key, version, seconds=True))  # type: ignore[no-any-return]

    async def attl(self, key: Any, version: Any = None) -> int | None:
        return await self._arun(self._plan_pttl(key, version, seconds=True))  # type: ignore[no-any-return]

    def pttl(self, key: Any, version: Any = None) -> int | None:
        """Milliseconds left, ``None`` without expiry, ``0`` for a missing key."""
        return self._run(self._plan_pttl(key, version, seconds=False))  # type: ignore[no-any-return]

    async def apttl(self, key: Any, version: Any = None) -> int | None:
        return await self._arun(self._plan_pttl(key, version, seconds=False))  # type: ignore[no-any-return]

    def expire(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        """Make ``key`` expire in ``timeout`` seconds (``None``: never; ``<= 0``: now); whether
        the key existed."""
        return bool(self._run(self._plan_expire(key, timeout, version, 1000)))

    async def aexpire(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return bool(await self._arun(self._plan_expire(key, timeout, version, 1000)))

    def pexpire(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        """As :meth:`expire`, ``timeout`` in milliseconds."""
        return bool(self._run(self._plan_expire(key, timeout, version, 1)))

    async def apexpire(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return bool(await self._arun(self._plan_expire(key, timeout, version, 1)))

    def expire_at(self, key: Any, when: Any, version: Any = None) -> bool:
        """Make ``key`` expire at ``when`` (a datetime, or Unix seconds); whether it existed."""
        return bool(self._run(self._plan_expire_at(key, when, version, 1000)))

    async def aexpire_at(self, key: Any, when: Any, version: Any = None) -> bool:
        return bool(await self._arun(self._plan_expire_at(key, when, version, 1000)))

    def pexpire_at(self, key: Any, when: Any, version: Any = None) -> bool:
        """As :meth:`expire_at`, ``when`` in Unix milliseconds (or a datetime)."""
        return bool(self._run(self._plan_expire_at(key, when, version, 1)))

    async def apexpire_at(self, key: Any, when: Any, version: Any = None) -> bool:
        return bool(await self._arun(self._plan_expire_at(key, when, version, 1)))

    def persist(self, key: Any, version: Any = None) -> bool:
        """Remove ``key``'s expiry; whether the key existed (as Django's ``touch(key, None)``)."""
        return bool(self._run(self._plan_expire(key, None, version, 1000)))

    async def apersist(self, key: Any, version: Any = None) -> bool:
        return bool(await self._arun(self._plan_expire(key, None, version, 1000)))

    def delete_pattern(
        self, pattern: str, version: Any = None, prefix: Any = None, itersize: Any = None, **kw: Any
    ) -> int:
        """Delete the alias's keys matching the glob ``pattern`` (SCAN ``itersize`` keys a
        call, 1000 by default; UNLINK per batch); how many were deleted."""
        return int(self._run(self._plan_delete_pattern(pattern, version, prefix, itersize)))

    async def adelete_pattern(
        self, pattern: str, version: Any = None, prefix: Any = None, itersize: Any = None, **kw: Any
    ) -> int:
        return int(await self._arun(self._plan_delete_pattern(pattern, version, prefix, itersize)))

    def iter_keys(self, search: str, itersize: Any = None, version: Any = None) -> Iterator[str]:
        """The Django keys of this alias's VERSION (or ``version``) matching the glob
        ``search``, walked with SCAN; each key once."""
        walk = self._key_walk(search, itersize, version)
        while (plan := self._plan_scan_page(walk)) is not None:
            for key in walk.keys(self._run(plan)):  # noqa: UP028 (the async twin's shape)
                yield key

    async def aiter_keys(
        self, search: str, itersize: Any = None, version: Any = None
    ) -> AsyncIterator[str]:
        walk = self._key_walk(search, itersize, version)
        while (plan := self._plan_scan_page(walk)) is not None:
            for key in walk.keys(await self._arun(plan)):
                yield key

    def keys(self, search: str, version: Any = None) -> list[str]:
        """:meth:`iter_keys` as a list (SCAN, not KEYS: it never blocks the server)."""
        return [key for key in self.iter_keys(search, version=version)]  # noqa: C416

    async def akeys(self, search: str, version: Any = None) -> list[str]:
        return [key async for key in self.aiter_keys(search, version=version)]
