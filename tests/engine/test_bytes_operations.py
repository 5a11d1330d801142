"""The bytes-level operations (cache_bridge.engine.bytes_operations) behave alike on every
adapter and face, refuse bad input before any I/O, and return Failures from a dead server."""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from returns.result import Success

from cache_bridge import (
    CacheConnectionError,
    CacheInvalidArgumentError,
    CacheSerializationError,
    CacheValueError,
)
from cache_bridge.adapters.memory import SyncInMemoryCache
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.engine import bytes_operations as raw
from cache_bridge.engine.commands import Get, MGet, Scan, SetBytes, SetManyBytes, Touch, Unlink
from cache_bridge.engine.keys import KeySpace
from cache_bridge.testing import Harness
from tests.engine.scripted import run

NS = KeySpace("ns")
MakeCache = Callable[..., Harness]


def _adapter(harness: Harness) -> Any:
    return harness.adapter


def _failure(result: Any) -> Any:
    return result.failure()


def test_set_get_and_the_protocol_see_the_same_bytes(cache: Harness) -> None:
    run = cache.run_operation
    assert run(raw.set_bytes(NS, "k", b"\x00\xff")) == Success(None)
    assert run(raw.get_bytes(NS, "k")) == Success(b"\x00\xff")
    assert run(raw.get_bytes(NS, "missing")) == Success(None)
    protocol = _adapter(cache).with_prefix("ns")
    harness = Harness(protocol, cache.name)
    try:
        assert isinstance(harness.get("k").failure(), CacheSerializationError)
        assert harness.set("text", "héllo") == Success(None)
        assert run(raw.get_bytes(NS, "text")) == Success("héllo".encode())
        run(raw.set_bytes(NS, "n", b"41"))
        assert harness.increment("n") == Success(42)
        assert run(raw.increment_existing(NS, "n", 8)) == Success(50)
    finally:
        harness.close()
    # Closing the prefixed face leaves the adapter working.
    assert run(raw.get_bytes(NS, "n")) == Success(b"50")


def test_add_only_writes_a_missing_key(cache: Harness) -> None:
    run = cache.run_operation
    assert run(raw.add_bytes(NS, "k", b"first", 60_000)) == Success(True)
    assert run(raw.add_bytes(NS, "k", b"second")) == Success(False)
    assert run(raw.get_bytes(NS, "k")) == Success(b"first")


def test_expiries_in_milliseconds_and_touch(cache: Harness) -> None:
    run = cache.run_operation
    protocol = Harness(_adapter(cache).with_prefix("ns"), cache.name)
    try:
        run(raw.set_bytes(NS, "k", b"v", 1500))
        assert protocol.ttl("k") == Success(2)
        assert run(raw.touch(NS, "k", 100_000)) == Success(True)
        assert protocol.ttl("k") == Success(100)
        assert run(raw.touch(NS, "k", None)) == Success(True)
        assert protocol.ttl("k") == Success(None)
        assert run(raw.touch(NS, "missing", 1000)) == Success(False)
        assert run(raw.touch(NS, "missing", None)) == Success(False)
        run(raw.set_bytes(NS, "k", b"v", 5000))
        run(raw.set_bytes(NS, "k", b"v"))
        assert protocol.ttl("k") == Success(None)  # SET without expiry clears it
    finally:
        protocol.close()


def test_increment_existing_leaves_missing_keys_missing(cache: Harness) -> None:
    run = cache.run_operation
    assert run(raw.increment_existing(NS, "n", 1)) == Success(None)
    assert run(raw.has_key(NS, "n")) == Success(False)
    run(raw.set_bytes(NS, "text", b"abc"))
    assert isinstance(_failure(run(raw.increment_existing(NS, "text", 1))), CacheValueError)
    assert run(raw.get_bytes(NS, "text")) == Success(b"abc")
    run(raw.set_bytes(NS, "big", str(2**63 - 1).encode()))
    error = _failure(run(raw.increment_existing(NS, "big", 1)))
    assert isinstance(error, CacheValueError)
    assert "64 bits" in error.message


def test_many_keys_at_once(cache: Harness) -> None:
    run = cache.run_operation
    assert run(raw.set_many_bytes(NS, {"a": b"1", "b": b"2"})) == Success(None)
    assert run(raw.set_many_bytes(NS, {"c": b"3"}, 60_000)) == Success(None)
    assert run(raw.set_many_bytes(NS, {})) == Success(None)
    assert run(raw.get_many_bytes(NS, ["a", "b", "c", "x"])) == Success(
        {"a": b"1", "b": b"2", "c": b"3"}
    )
    assert run(raw.get_many_bytes(NS, [])) == Success({})
    assert run(raw.count_pattern(NS, "*")) == Success(3)
    assert run(raw.count_pattern(NS, "[ab]")) == Success(2)
    assert run(raw.delete_many(NS, ["a", "b", "x"])) == Success(2)
    assert run(raw.delete_many(NS, [])) == Success(0)
    assert run(raw.get_many_bytes(NS, ["a", "b", "c"])) == Success({"c": b"3"})


@pytest.mark.parametrize(
    "op",
    [
        lambda: raw.set_bytes(NS, "k", "text"),
        lambda: raw.set_bytes(NS, "k", b"v", 0),
        lambda: raw.set_bytes(NS, "k", b"v", 1.5),
        lambda: raw.set_bytes(NS, "k", b"v", True),
        lambda: raw.set_bytes(NS, "k", b"v", raw.MAX_TTL_MS + 1),
        lambda: raw.set_bytes(NS, "", b"v"),
        lambda: raw.add_bytes(NS, 5, b"v"),
        lambda: raw.touch(NS, "k", -1),
        lambda: raw.increment_existing(NS, "k", 1.0),
        lambda: raw.increment_existing(NS, "k", 2**63),
        lambda: raw.set_many_bytes(NS, [("k", b"v")]),
        lambda: raw.set_many_bytes(NS, {"a": b"1", "b": "2"}),
        lambda: raw.get_many_bytes(NS, "k"),
        lambda: raw.delete_many(NS, ["ok", ""]),
        lambda: raw.count_pattern(NS, ""),
        lambda: raw.has_key(NS, None),
    ],
)
def test_bad_input_fails_and_writes_nothing(cache: Harness, op: Any) -> None:
    assert isinstance(_failure(cache.run_operation(op())), CacheInvalidArgumentError)
    assert cache.run_operation(raw.count_pattern(NS, "*")) == Success(0)


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.mark.parametrize("face", ["sync", "async"])
def test_a_dead_server_gives_failures(face: str) -> None:
    options: dict[str, Any] = {"timeout": 0.2, "connect_timeout": 0.2}
    adapter: Any = (SyncRedisCache if face == "sync" else RedisCache)(_dead_url(), **options)
    harness = Harness(adapter, face)
    try:
        for op in (
            raw.get_bytes(NS, "k"),
            raw.set_bytes(NS, "k", b"v"),
            raw.add_bytes(NS, "k", b"v"),
            raw.touch(NS, "k", 1000),
            raw.increment_existing(NS, "k", 1),
            raw.get_many_bytes(NS, ["k"]),
            raw.set_many_bytes(NS, {"k": b"v"}, 1000),
            raw.delete_many(NS, ["k"]),
            raw.count_pattern(NS, "*"),
            raw.has_key(NS, "k"),
        ):
            assert isinstance(_failure(harness.run_operation(op)), CacheConnectionError), op
        prefixed = Harness(adapter.with_prefix("p"), face)
        assert isinstance(_failure(prefixed.get("k")), CacheConnectionError)
    finally:
        harness.shutdown()


def test_a_closed_adapter_refuses_raw_operations(make_cache: MakeCache) -> None:
    harness = make_cache()
    harness.close()
    assert "closed" in str(_failure(harness.run_operation(raw.get_bytes(NS, "k"))))


def test_memory_incr_reads_bytes_as_redis_does() -> None:
    cache = SyncInMemoryCache()
    for data, expected in ((b"7", Success(8)), (b"07", None), (b"\xff", None), (b"-0", None)):
        cache.run_operation(raw.set_bytes(NS, "k", data)).unwrap()
        result = cache.run_operation(raw.increment_existing(NS, "k", 1))
        if expected is None:
            assert isinstance(_failure(result), CacheValueError)
        else:
            assert result == expected


# -- reads through a decoder, on scripted replies (no server) ----------------------------------


class _Decoder:
    """Reads b"ok:..." as the text after the marker; anything else is unreadable."""

    def loads(self, key: str, data: bytes) -> Any:
        return data[3:].decode() if data.startswith(b"ok:") else raw.MISSING

    def loads_many(
        self, keys: Sequence[str], raws: Sequence[bytes | None]
    ) -> tuple[dict[str, Any], list[str]]:
        found: dict[str, Any] = {}
        unreadable: list[str] = []
        for key, data in zip(keys, raws, strict=True):
            if data is not None:
                value = self.loads(key, data)
                if value is raw.MISSING:
                    unreadable.append(key)
                else:
                    found[key] = value
        return found, unreadable


DECODER = _Decoder()


def test_a_readable_value_is_read_and_an_unreadable_one_deleted() -> None:
    assert run(raw.get_readable(NS, "k", DECODER), b"ok:v") == (Success("v"), [Get("ns:k")])
    assert run(raw.get_readable(NS, "k", DECODER), "ok:text")[0] == Success("text")
    assert run(raw.get_readable(NS, "k", DECODER), None)[0] == Success(raw.MISSING)
    result, sent = run(raw.get_readable(NS, "k", DECODER), b"tampered", 1)
    assert (result, sent) == (Success(raw.MISSING), [Get("ns:k"), Unlink(("ns:k",))])
    assert run(raw.has_readable(NS, "k", DECODER), b"tampered", 1)[0] == Success(False)
    assert run(raw.has_readable(NS, "k", DECODER), b"ok:")[0] == Success(True)


def test_many_readable_values_come_back_by_caller_key() -> None:
    op = raw.get_many_readable(NS, ["a", "b", "c"], DECODER)
    result, sent = run(op, [b"ok:1", None, b"bad"], 1)
    assert result == Success({"a": "1"})
    assert sent == [MGet(("ns:a", "ns:b", "ns:c")), Unlink(("ns:c",))]
    unprefixed = raw.get_many_readable(raw.UNPREFIXED, ["x:a"], DECODER)
    assert run(unprefixed, [b"ok:2"]) == (Success({"x:a": "2"}), [MGet(("x:a",))])
    assert run(raw.get_many_readable(NS, [], DECODER)) == (Success({}), [])


def test_add_writes_over_an_unreadable_value_once() -> None:
    add = SetBytes("ns:k", b"ok:new", 5000, only_if_missing=True)
    assert run(raw.add_readable(NS, "k", b"ok:new", 5000, DECODER), 1) == (Success(True), [add])
    result, sent = run(raw.add_readable(NS, "k", b"ok:new", 5000, DECODER), 0, b"ok:old")
    assert (result, sent) == (Success(False), [add, Get("ns:k")])
    result, sent = run(raw.add_readable(NS, "k", b"ok:new", 5000, DECODER), 0, b"bad", 1, 1)
    assert (result, sent) == (Success(True), [add, Get("ns:k"), Unlink(("ns:k",)), add])


def test_touch_counts_only_a_readable_value() -> None:
    result, sent = run(raw.touch_readable(NS, "k", None, DECODER), 0)
    assert (result, sent) == (Success(False), [Touch("ns:k", None)])
    assert run(raw.touch_readable(NS, "k", 10, DECODER), 1, b"ok:v")[0] == Success(True)
    assert run(raw.touch_readable(NS, "k", 10, DECODER), 1, b"bad", 1)[0] == Success(False)


def test_set_many_deletes_what_could_not_be_written() -> None:
    op = raw.set_many_bytes(NS, {"a": b"1"}, 1000, ["b"])
    result, sent = run(op, True, 1)
    assert result == Success(None)
    assert sent == [SetManyBytes((("ns:a", b"1"),), 1000), Unlink(("ns:b",))]
    assert run(raw.set_many_bytes(NS, {}, None, ["b"]), 0)[1] == [Unlink(("ns:b",))]


def test_pattern_walks_take_a_key_filter() -> None:
    op = raw.count_pattern(raw.UNPREFIXED, "p:*", lambda key: key != "p:x")
    assert run(op, (0, ["p:a", "p:x"]))[0] == Success(1)
    op = raw.delete_pattern(raw.UNPREFIXED, "p:*")
    assert op.unbounded
    assert run(op, (0, ["p:a"]), 1) == (Success(1), [Scan(0, "p:*", 1000), Unlink(("p:a",))])
