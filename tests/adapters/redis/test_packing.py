"""cache_bridge.adapters.redis.packing against redis-py's own packer, on both faces'
connection classes: the same bytes for every argument list the adapters send (str, bytes,
int), redis-py's packing (and its errors) for anything else, and pack_many's buffers as
redis-py's pack_commands makes them (large values alone). No server: packing needs none."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis import exceptions as rx
from redis.asyncio.connection import Connection as AsyncConnection
from redis.connection import Connection

from cache_bridge.adapters.redis import packing
from cache_bridge.adapters.redis.packing import pack, pack_many

CONNECTIONS: list[Any] = [Connection(), AsyncConnection()]  # type: ignore[no-untyped-call]
IDS = ["blocking", "async"]

_arg = st.one_of(
    st.text(max_size=30),
    st.binary(max_size=30),
    st.integers(min_value=-(2**70), max_value=2**70),
)
_command = st.tuples(st.sampled_from(["GET", "SET", "EVALSHA", "MGET"]), st.lists(_arg, max_size=6))


def _joined(chunks: Any) -> bytes:
    return b"".join(bytes(chunk) for chunk in chunks)


@pytest.mark.parametrize("conn", CONNECTIONS, ids=IDS)
@given(command=_command)
def test_the_same_bytes_as_redis_py(conn: Any, command: tuple[str, list[Any]]) -> None:
    args = (command[0], *command[1])
    assert _joined(pack(conn, args)) == _joined(conn.pack_command(*args))


@pytest.mark.parametrize("conn", CONNECTIONS, ids=IDS)
def test_the_adapters_arguments_take_hiredis(conn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    real = packing._hiredis_pack
    assert real is not None

    def spy(args: tuple[Any, ...]) -> bytes:
        calls.append(args)
        return real(args)

    monkeypatch.setattr(packing, "_hiredis_pack", spy)
    args = ("SET", "ключ", b"\r\n\x00value", "PX", 1500)
    assert _joined(pack(conn, args)) == _joined(conn.pack_command(*args))
    assert calls == [args]


@pytest.mark.parametrize("conn", CONNECTIONS, ids=IDS)
@pytest.mark.parametrize(
    "args",
    [
        ("INCRBYFLOAT", "k", 1.5),  # a float: redis-py's repr
        ("CLIENT SETNAME", "name"),  # a command name of two words: redis-py splits it
        ("SET", "k", memoryview(b"value")),
        ("SET", "k", bytearray(b"value")),
    ],
)
def test_other_arguments_are_packed_by_redis_py(conn: Any, args: tuple[Any, ...]) -> None:
    assert _joined(pack(conn, args)) == _joined(conn.pack_command(*args))


@pytest.mark.parametrize("conn", CONNECTIONS, ids=IDS)
def test_a_bool_is_refused_as_redis_py_refuses_it(conn: Any) -> None:
    with pytest.raises(rx.DataError):
        pack(conn, ("SET", "k", True))


def test_another_encoding_is_left_to_redis_py() -> None:
    conn: Any = Connection(encoding="latin-1")  # type: ignore[no-untyped-call]
    args = ("SET", "k", "café")
    assert _joined(pack(conn, args)) == _joined(conn.pack_command(*args))
    assert b"caf\xe9" in _joined(pack(conn, args))


@pytest.mark.parametrize("conn", CONNECTIONS, ids=IDS)
def test_pack_many_makes_redis_pys_buffers(conn: Any) -> None:
    large = b"x" * 10_000
    commands = [
        ("MULTI",),
        *(("SET", f"k{i}", b"v" * 50, "PX", 100) for i in range(200)),
        ("SET", "big", large),
        ("GET", "k1"),
        ("EXEC",),
    ]
    ours, theirs = pack_many(conn, commands), conn.pack_commands(commands)
    assert _joined(ours) == _joined(theirs)
    assert [len(chunk) for chunk in ours] == [len(chunk) for chunk in theirs]
