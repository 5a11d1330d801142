"""``django_cache_bridge.cache.BridgeCache``: Django's cache API over cache_bridge adapters.

Each Django method is planned once (:mod:`django_cache_bridge.plans`: the key, the
cache_bridge operation and how its Result becomes Django's return value) and then run by the
blocking adapter (``get``) or awaited on the async adapter (``aget``): the async API is
natively async, with no thread hop. The helpers of the management commands are in
:mod:`django_cache_bridge.admin`.
"""

# Django's async cache API names its parameters ``timeout``; the signatures must match.
# ruff: noqa: ASYNC109

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT

from cache_bridge.stampede import StampedeSettings
from django_cache_bridge.base import NOT_LOCAL
from django_cache_bridge.collection_api import CollectionApi

__all__ = ["BridgeCache"]


class BridgeCache(CollectionApi):
    """A Django cache backend on a cache_bridge URL (``memory://[NAME]``, ``redis://``, ...).

    Construction does no I/O and never raises for a bad LOCATION or OPTIONS: the system checks
    report those, and the first use raises ``ImproperlyConfigured`` with the same message.
    """

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
        """Django's ``get``; with the near cache on, a local copy is read (and its signature
        checked once per copy) without running the operation (docs/near-cache.md)."""
        made = self._key(key, version)
        found = self._local_get(made, default, True)
        if found is NOT_LOCAL:
            return self._run(self._plan_get_made(made, default))
        return found

    async def aget(self, key: Any, default: Any = None, version: Any = None) -> Any:
        made = self._key(key, version)
        found = self._local_get(made, default, False)
        if found is NOT_LOCAL:
            return await self._arun(self._plan_get_made(made, default))
        return found

    def set(  # type: ignore[override]
        self,
        key: Any,
        value: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: Any = None,
        *,
        client: Any = None,
        nx: bool = False,
        xx: bool = False,
    ) -> bool:
        """Django's ``set``; as django-redis, ``nx=True`` stores only over no value, ``xx=True``
        only over a value, and the answer says whether it was stored."""
        return bool(self._run(self._plan_store(key, value, timeout, version, nx=nx, xx=xx)))

    async def aset(  # type: ignore[override]
        self,
        key: Any,
        value: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: Any = None,
        *,
        client: Any = None,
        nx: bool = False,
        xx: bool = False,
    ) -> bool:
        return bool(await self._arun(self._plan_store(key, value, timeout, version, nx=nx, xx=xx)))

    def get_or_set(
        self,
        key: Any,
        default: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: Any = None,
        *,
        stampede: bool | StampedeSettings | None = None,
    ) -> Any:
        """Django's ``get_or_set``; with ``stampede=True`` (or a :class:`StampedeSettings`)
        one computation of ``default`` per key across processes, stale-while-revalidate and
        early refresh as configured (docs/stampede.md). Off by default: Django's semantics."""
        plan = self._plan_stampede(key, default, timeout, version, stampede)
        if plan is None:
            return self._get_or_add(key, default, timeout, version)
        return plan.run()

    def _get_or_add(self, key: Any, default: Any, timeout: Any, version: Any) -> Any:
        return super().get_or_set(key, default, timeout, version)

    async def aget_or_set(
        self,
        key: Any,
        default: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: Any = None,
        *,
        stampede: bool | StampedeSettings | None = None,
    ) -> Any:
        plan = self._plan_stampede(key, default, timeout, version, stampede)
        if plan is None:
            return await self._aget_or_add(key, default, timeout, version)
        return await plan.arun()

    async def _aget_or_add(self, key: Any, default: Any, timeout: Any, version: Any) -> Any:
        """Django's own ``aget_or_set`` on the async face. (Django 6.1's runs an overridden
        ``get_or_set`` in a thread through ``sync_to_async``: the blocking face, a thread
        per call; so it is written out here.)"""
        value = await self.aget(key, self._missing_key, version=version)
        if value is not self._missing_key:
            return value
        if callable(default):
            default = default()
        await self.aadd(key, default, timeout=timeout, version=version)
        # another caller may have added a value between the aget and the aadd
        return await self.aget(key, default, version=version)

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

    def incr(
        self, key: Any, delta: int = 1, version: Any = None, ignore_key_check: bool = False
    ) -> int:
        """Django's ``incr`` (a missing key raises ValueError); with ``ignore_key_check`` (as
        django-redis) a missing key starts at 0, without expiry."""
        return int(self._run(self._plan_increment(key, delta, version, ignore_key_check)))

    async def aincr(
        self, key: Any, delta: int = 1, version: Any = None, ignore_key_check: bool = False
    ) -> int:
        return int(await self._arun(self._plan_increment(key, delta, version, ignore_key_check)))

    def decr(
        self, key: Any, delta: int = 1, version: Any = None, ignore_key_check: bool = False
    ) -> int:
        return int(self._run(self._plan_increment(key, -delta, version, ignore_key_check)))

    async def adecr(
        self, key: Any, delta: int = 1, version: Any = None, ignore_key_check: bool = False
    ) -> int:
        return int(await self._arun(self._plan_increment(key, -delta, version, ignore_key_check)))

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> list[Any]:
        return list(self._run(self._plan_set_many(data, timeout, version)))

    async def aset_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> list[Any]:
        return list(await self._arun(self._plan_set_many(data, timeout, version)))

    def delete_many(self, keys: Iterable[Any], version: Any = None) -> int | None:  # type: ignore[override]
        """Django's ``delete_many``; as django-redis, how many keys were removed (``None``
        when no keys are given)."""
        return self._run(self._plan_delete_many_count(keys, version))  # type: ignore[no-any-return]

    async def adelete_many(self, keys: Iterable[Any], version: Any = None) -> int | None:  # type: ignore[override]
        return await self._arun(self._plan_delete_many_count(keys, version))  # type: ignore[no-any-return]

    def clear(self) -> None:
        """Delete this alias's keys: those under ``KEY_PREFIX:`` when a prefix is set, else
        the whole database or named memory store (as Django's own backends do)."""
        self._run(self._plan_clear())

    async def aclear(self) -> None:
        await self._arun(self._plan_clear())

    def close(self, **kwargs: Any) -> None:
        """Nothing to do: Django calls this after every request, and the connection pools are
        shared by the process (see :mod:`django_cache_bridge.registry`). (``client.close()``,
        which django-redis calls here, does nothing either.)"""
        self.client.close(**kwargs)

    async def aclose(self, **kwargs: Any) -> None:
        """Nothing to do (see :meth:`close`)."""
        self.client.close(**kwargs)
