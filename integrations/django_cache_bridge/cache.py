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
from returns.result import Success

from django_cache_bridge.plans import BridgePlans, Plan

__all__ = ["BridgeCache"]


class BridgeCache(BridgePlans):
    """A Django cache backend on a cache_bridge URL (``memory://[NAME]``, ``redis://``, ...).

    Construction does no I/O and never raises for a bad LOCATION or OPTIONS: the system checks
    report those, and the first use raises ``ImproperlyConfigured`` with the same message.
    """

    def _run(self, plan: Plan) -> Any:
        op, finish = plan
        return finish(Success(None) if op is None else self.adapters().sync.run_operation(op))

    async def _arun(self, plan: Plan) -> Any:
        op, finish = plan
        return finish(
            Success(None) if op is None else await self.adapters().async_.run_operation(op)
        )

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
