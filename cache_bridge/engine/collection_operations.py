"""Redis set and hash operations (``SADD`` ... ``HLEN``) for framework backends that offer
django-redis's set and hash API, on every adapter (the in-memory store carries them out with
Redis's semantics).

One operation, :func:`collection`, checks the command and its keys, yields one
:class:`~cache_bridge.engine.commands.Collection` and turns the reply into plain Python: member
lists as ``list[bytes]``, booleans as ``bool``, counts as ``int``. Members and values are bytes
the framework encoded; they never raise and run on both faces through ``run_operation``.
On Redis Cluster every key of one call must share a hash slot (use a ``{hash tag}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cache_bridge.engine.commands import COLLECTION_COMMANDS, Collection
from cache_bridge.engine.keys import InvalidArgument, KeySpace
from cache_bridge.engine.operations import Op, Steps

__all__ = ["collection", "scan_members"]

#: How each command's reply becomes plain Python.
_BOOLEAN = frozenset({"SISMEMBER", "SMOVE", "HEXISTS"})
_MEMBERS = frozenset({"SMEMBERS", "SDIFF", "SINTER", "SUNION", "HKEYS"})


def _as_bytes(item: Any) -> bytes:
    return item.encode("utf-8") if isinstance(item, str) else bytes(item)


def _plain(name: str, reply: Any, counted: bool) -> Any:
    if name in _BOOLEAN:
        return bool(int(reply))
    if name == "SMISMEMBER":
        return [bool(int(one)) for one in reply]
    if name in _MEMBERS:
        return [_as_bytes(one) for one in reply]
    if name == "SSCAN":
        cursor, found = reply
        return int(cursor), [_as_bytes(one) for one in found]
    if name in {"SPOP", "SRANDMEMBER"}:
        if counted:
            return [_as_bytes(one) for one in reply or ()]
        return None if reply is None else _as_bytes(reply)
    if name == "HGET":
        return None if reply is None else _as_bytes(reply)
    return int(reply)


def _args(args: Sequence[object]) -> tuple[bytes | int | str, ...]:
    checked: list[bytes | int | str] = []
    for arg in args:
        if isinstance(arg, bool) or not isinstance(arg, bytes | int | str):
            raise InvalidArgument(f"arguments must be bytes, int or str, not {type(arg).__name__}")
        checked.append(arg)
    return tuple(checked)


def _steps(
    ns: KeySpace, name: str, keys: tuple[str, ...], args: tuple[bytes | int | str, ...]
) -> Steps[Any]:
    counted = name in {"SPOP", "SRANDMEMBER"} and bool(args)
    return _plain(name, (yield Collection(name, keys, args)), counted)


def collection(
    ns: KeySpace, name: str, keys: Sequence[object], args: Sequence[object] = ()
) -> Op[Any]:
    """The operation that runs the set or hash command ``name`` on ``keys`` (namespaced by
    ``ns``) with ``args`` after them; checking happens here, so a bad call is a ``Failure``
    before any I/O when the operation runs."""
    try:
        if name not in COLLECTION_COMMANDS:
            raise InvalidArgument(f"{name!r} is not a set or hash command")
        if not keys:
            raise InvalidArgument(f"{name} needs at least one key")
        full = tuple(ns.key(key) for key in keys)
        checked = _args(args)
        if name in {"SPOP", "SRANDMEMBER"} and checked:
            _check_count(name, checked[0])
    except InvalidArgument as error:
        return Op(name.lower(), None, _refuse(error))
    return Op(name.lower(), full[0], _steps(ns, name, full, checked))


def _check_count(name: str, count: bytes | int | str) -> None:
    """SPOP's count is 0 or more; SRANDMEMBER's may be negative (members may repeat)."""
    if not isinstance(count, int):
        raise InvalidArgument(f"{name}'s count must be an int, not {type(count).__name__}")
    if name == "SPOP" and count < 0:
        raise InvalidArgument(f"SPOP's count must be 0 or more, not {count}")


def _refuse(error: InvalidArgument) -> Steps[Any]:
    raise error
    yield  # pragma: no cover (a generator: the driver turns the error into a Failure)


def _all_members(key: str, count: int) -> Steps[list[bytes]]:
    members: list[bytes] = []
    cursor = 0
    while True:
        reply = yield Collection("SSCAN", (key,), (cursor, "COUNT", count))
        cursor, found = _plain("SSCAN", reply, False)
        members += found
        if cursor == 0:
            return list(dict.fromkeys(members))  # SSCAN may give a member twice


def scan_members(ns: KeySpace, key: object, count: object = 1000) -> Op[list[bytes]]:
    """Every member of the set at ``key``, walked with SSCAN (``count`` a call), each once."""
    try:
        full = ns.key(key)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidArgument(f"count must be a positive int, not {count!r}")
    except InvalidArgument as error:
        return Op("sscan", None, _refuse(error))
    return Op("sscan", full, _all_members(full, count))
