"""The plans of BridgeCache's set and hash methods (django-redis 6's ``sadd`` ... ``hlen``):
the stored keys (KEY_PREFIX, VERSION and KEY_FUNCTION apply, as to every key), the members'
stored form and how replies become django-redis's answers.

Members are stored as values are (an ``int`` as decimal text, anything else pickled or JSON
and signed), but signed for the alias, not for one key, so that ``smove`` and the ``*store``
commands can move them between sets on the server. ``sismember``, ``srem`` and friends compare
stored bytes, so a member must always encode to the same bytes: ints, strings, and tuples or
frozensets of them do with pickle; the JSON serializer always does. A member the alias cannot
read (foreign, tampered) is left out of the answers.

Hash *names* are keys; their fields are plain strings and their values are stored as values,
bound to the hash and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from returns.result import Failure, Result

from cache_bridge.engine.bytes_operations import MISSING, UNPREFIXED
from cache_bridge.engine.collection_operations import collection, scan_members
from cache_bridge.errors import DomainError
from django_cache_bridge.base import holds_another_kind
from django_cache_bridge.plans import Plan
from django_cache_bridge.redis_api import RedisApi

__all__ = ["CollectionPlans"]


def _check_count(name: str, count: Any) -> None:
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        raise TypeError(f"count must be an int or None, not {count!r}")
    if name == "SPOP" and count is not None and count < 0:
        raise ValueError(f"spop's count must be 0 or more, not {count}")


class CollectionPlans(RedisApi):
    """The plans of the set and hash methods (``_plan_set_command`` for ``sadd``, ...)."""

    # -- members and fields ------------------------------------------------------------------

    def _member_context(self) -> str:
        return f"{self.key_prefix}:set-member"

    def _member(self, value: Any) -> bytes:
        return self._codec.dumps(self._member_context(), value)

    def _members(self, stored: Sequence[bytes]) -> list[Any]:
        context = self._member_context()
        values = (self._codec.loads(context, data) for data in stored)
        return [value for value in values if value is not MISSING]

    def _one_member(self, stored: bytes | None) -> Any:
        found = self._members([stored]) if stored is not None else []
        return found[0] if found else None

    # -- plans ------------------------------------------------------------------------------

    def _plan_command(
        self,
        name: str,
        made: Sequence[str],
        args: Sequence[Any],
        fallback: Any,
        convert: Callable[[Any], Any] = lambda reply: reply,
    ) -> Plan:
        finish = self._finish(fallback, convert)

        def refuse_another_kind(result: Result[Any, DomainError]) -> Any:
            match result:
                case Failure(error) if holds_another_kind(error):
                    raise TypeError(
                        f"{name.lower()}: a key of {[str(key) for key in made]} holds another "
                        "kind of value (a value, a set or a hash) than this command works on"
                    ) from error
            return finish(result)

        return collection(UNPREFIXED, name, made, args), refuse_another_kind

    def _plan_set_command(
        self, name: str, key: Any, members: Sequence[Any], version: int | None
    ) -> Plan:
        """``sadd``, ``srem``, ``sismember``, ``smismember``, ``scard``, ``smembers``."""
        made = [self._key(key, version)]
        args = [self._member(member) for member in members]
        match name:
            case "SMEMBERS":
                return self._plan_command(name, made, args, set(), lambda r: set(self._members(r)))
            case "SISMEMBER":
                return self._plan_command(name, made, args, False)
            case "SMISMEMBER":
                return self._plan_command(name, made, args, [False] * len(args))
        return self._plan_command(name, made, args, 0)

    def _plan_pick(self, name: str, key: Any, count: Any, version: int | None) -> Plan:
        """``spop`` / ``srandmember``: one member (or ``None``), or ``count`` of them (a set
        for ``spop``, a list for ``srandmember``)."""
        _check_count(name, count)
        made = [self._key(key, version)]
        if count is None:
            return self._plan_command(name, made, (), None, self._one_member)
        many: Callable[[list[Any]], Any] = set if name == "SPOP" else list
        fallback = many([])
        return self._plan_command(name, made, (count,), fallback, lambda r: many(self._members(r)))

    def _plan_smove(self, source: Any, destination: Any, member: Any, version: int | None) -> Plan:
        made = [self._key(source, version), self._key(destination, version)]
        return self._plan_command("SMOVE", made, [self._member(member)], False)

    def _plan_combine(self, name: str, keys: Sequence[Any], version: int | None) -> Plan:
        """``sdiff``, ``sinter``, ``sunion``: a set."""
        made = [self._key(key, version) for key in keys]
        return self._plan_command(name, made, (), set(), lambda r: set(self._members(r)))

    def _plan_combine_store(
        self, name: str, dest: Any, keys: Sequence[Any], version_dest: Any, version_keys: Any
    ) -> Plan:
        """``sdiffstore``, ``sinterstore``, ``sunionstore``: the size of the stored set."""
        made = [self._key(dest, version_dest), *(self._key(key, version_keys) for key in keys)]
        return self._plan_command(name, made, (), 0)

    def _plan_sscan(self, key: Any, match: str | None, count: Any, version: int | None) -> Plan:
        """Every member (as a set), those matching the glob ``match`` with one (matched
        against the member's text, as SSCAN's MATCH cannot see inside signed members)."""
        made = self._key(key, version)

        def convert(stored: list[bytes]) -> set[Any]:
            found = set(self._members(stored))
            if match is None:
                return found
            from fnmatch import fnmatchcase

            return {member for member in found if fnmatchcase(str(member), match)}

        op = scan_members(UNPREFIXED, made, 1000 if count is None else count)
        return op, self._finish(set(), convert)

    def _plan_hash(self, name: str, key: Any, fields: Sequence[str], version: int | None) -> Plan:
        """``hdel``, ``hexists``, ``hkeys``, ``hlen``."""
        for field in fields:
            if not isinstance(field, str):
                raise TypeError(f"hash fields are str, not {type(field).__name__}")
        made = [self._key(key, version)]
        match name:
            case "HEXISTS":
                return self._plan_command(name, made, fields, False)
            case "HKEYS":
                return self._plan_command(
                    name, made, (), [], lambda r: [f.decode("utf-8", "replace") for f in r]
                )
        return self._plan_command(name, made, fields, 0)

    def _plan_hset(self, key: Any, field: str, value: Any, version: int | None) -> Plan:
        made = self._key(key, version)
        if not isinstance(field, str):
            raise TypeError(f"hash fields are str, not {type(field).__name__}")
        data = self._codec.dumps(f"{made}\x00{field}", value)
        return self._plan_command("HSET", [made], (field, data), 0)

    def _plan_hget(self, key: Any, field: str, default: Any, version: int | None) -> Plan:
        made = self._key(key, version)
        if not isinstance(field, str):
            raise TypeError(f"hash fields are str, not {type(field).__name__}")

        def convert(stored: bytes | None) -> Any:
            if stored is None:
                return default
            value = self._codec.loads(f"{made}\x00{field}", stored)
            return default if value is MISSING else value

        return self._plan_command("HGET", [made], (field,), default, convert)
