"""BridgeCache's set and hash methods, as django-redis 6 names them (``sadd``, ``srem``,
``smembers``, ``sismember``, ``smismember``, ``scard``, ``spop``, ``srandmember``, ``smove``,
``sdiff``/``sinter``/``sunion`` and their ``*store`` forms, ``sscan``/``sscan_iter``, ``hset``,
``hget``, ``hdel``, ``hexists``, ``hkeys``, ``hlen``), each with a natively async ``a*`` form.

The stored forms are described in :mod:`django_cache_bridge.collection_plans`. When the
cache is down they fail open: counts 0, sets empty, booleans False, a member ``None``. A key
that holds another kind of value (a value, or the other collection) raises ``TypeError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from django_cache_bridge.collection_plans import CollectionPlans

__all__ = ["CollectionApi"]


class CollectionApi(CollectionPlans):
    """The set and hash methods (see the module)."""

    def sadd(self, key: Any, *values: Any, version: Any = None) -> int:
        """Add ``values`` to the set at ``key``; how many were not there."""
        return int(self._run(self._plan_set_command("SADD", key, values, version)))

    async def asadd(self, key: Any, *values: Any, version: Any = None) -> int:
        return int(await self._arun(self._plan_set_command("SADD", key, values, version)))

    def srem(self, key: Any, *members: Any, version: Any = None) -> int:
        """Remove ``members``; how many were there."""
        return int(self._run(self._plan_set_command("SREM", key, members, version)))

    async def asrem(self, key: Any, *members: Any, version: Any = None) -> int:
        return int(await self._arun(self._plan_set_command("SREM", key, members, version)))

    def smembers(self, key: Any, version: Any = None) -> set[Any]:
        return set(self._run(self._plan_set_command("SMEMBERS", key, (), version)))

    async def asmembers(self, key: Any, version: Any = None) -> set[Any]:
        return set(await self._arun(self._plan_set_command("SMEMBERS", key, (), version)))

    def sismember(self, key: Any, member: Any, version: Any = None) -> bool:
        return bool(self._run(self._plan_set_command("SISMEMBER", key, (member,), version)))

    async def asismember(self, key: Any, member: Any, version: Any = None) -> bool:
        return bool(await self._arun(self._plan_set_command("SISMEMBER", key, (member,), version)))

    def smismember(self, key: Any, *members: Any, version: Any = None) -> list[bool]:
        return list(self._run(self._plan_set_command("SMISMEMBER", key, members, version)))

    async def asmismember(self, key: Any, *members: Any, version: Any = None) -> list[bool]:
        return list(await self._arun(self._plan_set_command("SMISMEMBER", key, members, version)))

    def scard(self, key: Any, version: Any = None) -> int:
        return int(self._run(self._plan_set_command("SCARD", key, (), version)))

    async def ascard(self, key: Any, version: Any = None) -> int:
        return int(await self._arun(self._plan_set_command("SCARD", key, (), version)))

    def spop(self, key: Any, count: Any = None, version: Any = None) -> Any:
        """Remove and return a random member (``None`` if empty), or a set of ``count``."""
        return self._run(self._plan_pick("SPOP", key, count, version))

    async def aspop(self, key: Any, count: Any = None, version: Any = None) -> Any:
        return await self._arun(self._plan_pick("SPOP", key, count, version))

    def srandmember(self, key: Any, count: Any = None, version: Any = None) -> Any:
        """A random member (``None`` if empty), or a list of ``count`` (negative: repeats)."""
        return self._run(self._plan_pick("SRANDMEMBER", key, count, version))

    async def asrandmember(self, key: Any, count: Any = None, version: Any = None) -> Any:
        return await self._arun(self._plan_pick("SRANDMEMBER", key, count, version))

    def smove(self, source: Any, destination: Any, member: Any, version: Any = None) -> bool:
        """Move ``member`` between two sets; whether it was in ``source``."""
        return bool(self._run(self._plan_smove(source, destination, member, version)))

    async def asmove(self, source: Any, destination: Any, member: Any, version: Any = None) -> bool:
        return bool(await self._arun(self._plan_smove(source, destination, member, version)))

    def sdiff(self, *keys: Any, version: Any = None) -> set[Any]:
        return set(self._run(self._plan_combine("SDIFF", keys, version)))

    async def asdiff(self, *keys: Any, version: Any = None) -> set[Any]:
        return set(await self._arun(self._plan_combine("SDIFF", keys, version)))

    def sinter(self, *keys: Any, version: Any = None) -> set[Any]:
        return set(self._run(self._plan_combine("SINTER", keys, version)))

    async def asinter(self, *keys: Any, version: Any = None) -> set[Any]:
        return set(await self._arun(self._plan_combine("SINTER", keys, version)))

    def sunion(self, *keys: Any, version: Any = None) -> set[Any]:
        return set(self._run(self._plan_combine("SUNION", keys, version)))

    async def asunion(self, *keys: Any, version: Any = None) -> set[Any]:
        return set(await self._arun(self._plan_combine("SUNION", keys, version)))

    def sdiffstore(
        self, dest: Any, *keys: Any, version_dest: Any = None, version_keys: Any = None
    ) -> int:
        plan = self._plan_combine_store("SDIFFSTORE", dest, keys, version_dest, version_keys)
        return int(self._run(plan))

    async def asdiffstore(
        self, dest: Any, *keys: Any, version_dest: Any = None, version_keys: Any = None
    ) -> int:
        plan = self._plan_combine_store("SDIFFSTORE", dest, keys, version_dest, version_keys)
        return int(await self._arun(plan))

    def sinterstore(
        self, dest: Any, *keys: Any, version_dest: Any = None, version_keys: Any = None
    ) -> int:
        plan = self._plan_combine_store("SINTERSTORE", dest, keys, version_dest, version_keys)
        return int(self._run(plan))

    async def asinterstore(
        self, dest: Any, *keys: Any, version_dest: Any = None, version_keys: Any = None
    ) -> int:
        plan = self._plan_combine_store("SINTERSTORE", dest, keys, version_dest, version_keys)
        return int(await self._arun(plan))

    def sunionstore(
        self, dest: Any, *keys: Any, version_dest: Any = None, version_keys: Any = None
    ) -> int:
        plan = self._plan_combine_store("SUNIONSTORE", dest, keys, version_dest, version_keys)
        return int(self._run(plan))

    async def asunionstore(
        self, dest: Any, *keys: Any, version_dest: Any = None, version_keys: Any = None
    ) -> int:
        plan = self._plan_combine_store("SUNIONSTORE", dest, keys, version_dest, version_keys)
        return int(await self._arun(plan))

    def sscan(
        self, key: Any, match: str | None = None, count: Any = None, version: Any = None
    ) -> set[Any]:
        """Every member (SSCAN, ``count`` a call), those whose text matches ``match``."""
        return set(self._run(self._plan_sscan(key, match, count, version)))

    async def asscan(
        self, key: Any, match: str | None = None, count: Any = None, version: Any = None
    ) -> set[Any]:
        return set(await self._arun(self._plan_sscan(key, match, count, version)))

    def sscan_iter(
        self, key: Any, match: str | None = None, count: Any = None, version: Any = None
    ) -> Iterator[Any]:
        """:meth:`sscan`'s members one by one."""
        for member in self._run(self._plan_sscan(key, match, count, version)):  # noqa: UP028
            yield member

    async def asscan_iter(
        self, key: Any, match: str | None = None, count: Any = None, version: Any = None
    ) -> AsyncIterator[Any]:
        for member in await self._arun(self._plan_sscan(key, match, count, version)):
            yield member

    def hset(self, name: Any, key: str, value: Any, version: Any = None) -> int:
        """Set field ``key`` of the hash ``name`` to ``value``; 1 if the field is new."""
        return int(self._run(self._plan_hset(name, key, value, version)))

    async def ahset(self, name: Any, key: str, value: Any, version: Any = None) -> int:
        return int(await self._arun(self._plan_hset(name, key, value, version)))

    def hget(self, name: Any, key: str, default: Any = None, version: Any = None) -> Any:
        return self._run(self._plan_hget(name, key, default, version))

    async def ahget(self, name: Any, key: str, default: Any = None, version: Any = None) -> Any:
        return await self._arun(self._plan_hget(name, key, default, version))

    def hdel(self, name: Any, key: str, version: Any = None) -> int:
        return int(self._run(self._plan_hash("HDEL", name, (key,), version)))

    async def ahdel(self, name: Any, key: str, version: Any = None) -> int:
        return int(await self._arun(self._plan_hash("HDEL", name, (key,), version)))

    def hexists(self, name: Any, key: str, version: Any = None) -> bool:
        return bool(self._run(self._plan_hash("HEXISTS", name, (key,), version)))

    async def ahexists(self, name: Any, key: str, version: Any = None) -> bool:
        return bool(await self._arun(self._plan_hash("HEXISTS", name, (key,), version)))

    def hkeys(self, name: Any, version: Any = None) -> list[str]:
        return list(self._run(self._plan_hash("HKEYS", name, (), version)))

    async def ahkeys(self, name: Any, version: Any = None) -> list[str]:
        return list(await self._arun(self._plan_hash("HKEYS", name, (), version)))

    def hlen(self, name: Any, version: Any = None) -> int:
        return int(self._run(self._plan_hash("HLEN", name, (), version)))

    async def ahlen(self, name: Any, version: Any = None) -> int:
        return int(await self._arun(self._plan_hash("HLEN", name, (), version)))
