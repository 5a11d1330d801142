"""The protocol operations (cache_bridge.engine.operations) on scripted replies: the commands
they send, the values they make of the replies, the flags their calls carry, and the one SCAN
walk every pattern operation uses."""

from __future__ import annotations

from returns.result import Success

from cache_bridge.engine import operations as ops
from cache_bridge.engine.commands import FlushDb, Get, MGet, Ping, PTtl, Scan, Unlink
from cache_bridge.engine.keys import KeySpace
from cache_bridge.engine.operations import SCAN_BATCH, Op, scan_matching
from cache_bridge.errors import CacheSerializationError
from tests.engine.scripted import run

NS = KeySpace("app")


def _walk(delete: bool, keep: object = None) -> Op[int]:
    return Op("walk", None, scan_matching("app:*", delete=delete, keep=keep))  # type: ignore[arg-type]


def test_scan_matching_counts_every_batch_until_the_cursor_is_zero() -> None:
    result, sent = run(_walk(False), (7, ["app:a", "app:b"]), (0, [b"app:c"]))
    assert result == Success(3)
    assert sent == [Scan(0, "app:*", SCAN_BATCH), Scan(7, "app:*", SCAN_BATCH)]


def test_scan_matching_deletes_each_batch_with_one_unlink() -> None:
    result, sent = run(_walk(True), (7, ["app:a", "app:b"]), 2, (0, []))
    assert result == Success(2)
    assert sent == [
        Scan(0, "app:*", SCAN_BATCH),
        Unlink(("app:a", "app:b")),
        Scan(7, "app:*", SCAN_BATCH),
    ]


def test_scan_matching_keeps_only_what_the_filter_accepts() -> None:
    def keep(key: str | bytes) -> bool:
        return (key if isinstance(key, str) else key.decode()).endswith("1")

    result, sent = run(_walk(True, keep), (0, ["app:x1", b"app:y1", "app:z2"]), 2)
    assert result == Success(2)
    assert sent[1] == Unlink(("app:x1", b"app:y1"))
    result, sent = run(_walk(False, keep), (0, ["app:z2"]))
    assert (result, len(sent)) == (Success(0), 1)  # nothing kept: no UNLINK


def test_pattern_operations_walk_inside_the_namespace() -> None:
    result, sent = run(ops.delete_pattern(NS, "user:*"), (0, ["app:user:1"]), 1)
    assert result == Success(1)
    assert sent == [Scan(0, "app:user:*", SCAN_BATCH), Unlink(("app:user:1",))]
    assert run(ops.flush(NS), (0, [])) == (Success(None), [Scan(0, "app:*", SCAN_BATCH)])
    assert run(ops.flush(KeySpace(None)), True) == (Success(None), [FlushDb()])


def test_calls_carry_their_flags() -> None:
    assert ops.delete_pattern(NS, "*").unbounded
    assert ops.flush(NS).unbounded
    assert ops.ping(NS).health_check
    get = ops.get(NS, "k")
    assert (get.name, get.key, get.unbounded, get.health_check) == ("get", "k", False, False)
    assert not ops.ping(NS).unbounded
    for op in (ops.delete_pattern(NS, "*"), ops.flush(NS), ops.ping(NS), get):
        op.steps.close()


def test_ping_wants_a_pong() -> None:
    assert run(ops.ping(NS), True)[0] == Success(True)
    result, sent = run(ops.ping(NS), None)
    assert isinstance(result.failure(), CacheSerializationError)
    assert sent == [Ping()]


def test_replies_become_values() -> None:
    assert run(ops.get(NS, "k"), b"v") == (Success("v"), [Get("app:k")])
    assert run(ops.get_json(NS, "k"), '{"a":1}')[0] == Success({"a": 1})
    result, sent = run(ops.get_many(NS, ["a", "b"]), [b"1", None])
    assert (result, sent) == (Success({"a": "1", "b": None}), [MGet(("app:a", "app:b"))])
    assert isinstance(run(ops.get_many(NS, ["a"]), [b"\xff"])[0].failure(), CacheSerializationError)
    # A live key never reports 0 seconds left; no expiry and no key are None.
    assert run(ops.ttl(NS, "k"), 1)[0] == Success(1)
    assert run(ops.ttl(NS, "k"), 1001)[0] == Success(2)
    assert run(ops.ttl(NS, "k"), -1) == (Success(None), [PTtl("app:k")])
