"""The operations behind the django-redis API (key_operations, collection_operations,
lock_operations) on scripted replies: what each sends, how replies of either client style
(raw RESP or redis-py's callbacks) become values, and bad input as a Failure before any I/O."""

from __future__ import annotations

import pytest
from returns.result import Failure, Success

from cache_bridge.engine import collection_operations as cops
from cache_bridge.engine import key_operations as kops
from cache_bridge.engine import lock_operations as lops
from cache_bridge.engine.commands import (
    Collection,
    CompareAndDelete,
    CompareAndExpire,
    IncrBy,
    PTtl,
    Scan,
    SetBytes,
)
from cache_bridge.engine.keys import KeySpace
from cache_bridge.errors import CacheInvalidArgumentError
from tests.engine.scripted import run

NS = KeySpace(None)


def test_pttl_passes_redis_conventions_through() -> None:
    assert run(kops.pttl(NS, "k"), -2) == (Success(-2), [PTtl("k")])
    assert run(kops.pttl(NS, "k"), b"1500")[0] == Success(1500)


def test_replace_bytes_is_set_xx() -> None:
    result, sent = run(kops.replace_bytes(NS, "k", b"v", 500), None)
    assert result == Success(False)
    assert sent == [SetBytes("k", b"v", 500, only_if_present=True)]
    assert isinstance(
        run(kops.replace_bytes(NS, "k", "text"))[0].failure(), CacheInvalidArgumentError
    )


def test_increment_or_create_is_incrby() -> None:
    assert run(kops.increment_or_create(NS, "n", 3), 3) == (Success(3), [IncrBy("n", 3)])


def test_scan_page_decodes_keys_and_checks_itersize() -> None:
    result, sent = run(kops.scan_page(NS, 0, "a:*", 7), (b"12", [b"a:1", "a:2"]))
    assert result == Success((12, ["a:1", "a:2"]))
    assert sent == [Scan(0, "a:*", 7)]
    for bad in (0, -1, True, "10"):
        assert isinstance(
            run(kops.scan_page(NS, 0, "*", bad))[0].failure(), CacheInvalidArgumentError
        )


def test_delete_matching_unlinks_each_batch() -> None:
    result, sent = run(kops.delete_matching(NS, "a:*", None, 2), (5, [b"a:1"]), 1, (0, []))
    assert result == Success(1)
    assert sent[0] == Scan(0, "a:*", 2)


@pytest.mark.parametrize(
    ("name", "reply", "value"),
    [
        ("SISMEMBER", 1, True),
        ("SISMEMBER", False, False),
        ("SMEMBERS", {b"a", b"b"}, [b"a", b"b"]),
        ("SMISMEMBER", [1, 0], [True, False]),
        ("SCARD", b"3", 3),
        ("HGET", None, None),
        ("HGET", "x", b"x"),
        ("SSCAN", [b"0", [b"m"]], (0, [b"m"])),
    ],
)
def test_collection_replies_become_plain_values(name: str, reply: object, value: object) -> None:
    result, sent = run(cops.collection(NS, name, ["k"], ()), reply)
    got = result.unwrap()
    assert (sorted(got) if name == "SMEMBERS" else got) == value
    assert sent == [Collection(name, ("k",), ())]


def test_pop_with_and_without_count() -> None:
    assert run(cops.collection(NS, "SPOP", ["k"]), b"a")[0] == Success(b"a")
    assert run(cops.collection(NS, "SPOP", ["k"], (2,)), [b"a", b"b"])[0] == Success([b"a", b"b"])
    assert run(cops.collection(NS, "SRANDMEMBER", ["k"], (2,)), None)[0] == Success([])


def test_a_bad_collection_call_fails_before_any_io() -> None:
    for op in (
        cops.collection(NS, "DEL", ["k"]),
        cops.collection(NS, "SADD", []),
        cops.collection(NS, "SADD", ["k"], (1.5,)),
        cops.collection(NS, "SPOP", ["k"], (-1,)),  # Redis: out of range; memory: crashed
        cops.collection(NS, "SPOP", ["k"], ("2",)),
        cops.collection(NS, "SRANDMEMBER", ["k"], (True,)),
        cops.scan_members(NS, "k", 0),
    ):
        result, sent = run(op)
        assert isinstance(result.failure(), CacheInvalidArgumentError)
        assert sent == []


def test_scan_members_walks_until_the_cursor_is_zero() -> None:
    result, sent = run(cops.scan_members(NS, "k", 2), (3, [b"a", b"b"]), (0, [b"b", b"c"]))
    assert result == Success([b"a", b"b", b"c"])
    assert sent == [
        Collection("SSCAN", ("k",), (0, "COUNT", 2)),
        Collection("SSCAN", ("k",), (3, "COUNT", 2)),
    ]


def test_lock_steps() -> None:
    token = lops.new_token()
    assert lops.is_lock_token(token)
    assert not lops.is_lock_token(token + b"x")
    assert not lops.is_lock_token(b"cb:lock:")
    assert run(lops.take_lock(NS, "l", token, 1000), True) == (
        Success(True),
        [SetBytes("l", token, 1000, only_if_missing=True)],
    )
    assert run(lops.release_lock(NS, "l", token), 0) == (
        Success(False),
        [CompareAndDelete("l", token)],
    )
    assert run(lops.extend_lock(NS, "l", token, 500), -1) == (
        Success(-1),
        [CompareAndExpire("l", token, 500, True)],
    )
    assert run(lops.lock_owned(NS, "l", token), token.decode())[0] == Success(True)
    assert isinstance(run(lops.take_lock(NS, "l", b"not-a-token"))[0], Failure)
    assert isinstance(run(lops.extend_lock(NS, "l", token, None))[0], Failure)
