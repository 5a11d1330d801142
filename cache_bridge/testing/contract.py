"""The contract every cache_bridge adapter keeps, as a pytest test class.

Subclass :class:`CacheContract` in a test module and provide two fixtures:

- ``make_cache(**options) -> Harness``: a new adapter on the store under test, accepting at
  least ``key_prefix``; every adapter made in one test shares one store or database, which
  starts empty;
- ``cache``: ``make_cache()`` without a prefix.

Each test is written once and runs against whatever face the harness wraps.
"""

from __future__ import annotations

import enum
import json
import math
import time
from collections.abc import Callable
from typing import Any

import pytest
from returns.result import Failure, Result, Success

from cache_bridge.engine.keys import INT64_MAX, MAX_KEY_LENGTH, MAX_TTL
from cache_bridge.errors import (
    CacheClosedError,
    CacheError,
    CacheInvalidArgumentError,
    CacheSerializationError,
    CacheValueError,
    DomainError,
)
from cache_bridge.testing.harness import Harness

__all__ = ["CacheContract"]

MakeCache = Callable[..., Harness]

BAD_KEYS: list[Any] = ["", 1, None, b"key", 1.5, ["k"], "lone\ud800", "x" * (MAX_KEY_LENGTH + 1)]
BAD_VALUES: list[Any] = [1, 1.5, None, b"bytes", ["v"], {"v": 1}, True, "lone\udfff"]
BAD_TTLS: list[Any] = [
    0,
    -1,
    1.5,
    True,
    False,
    "10",
    MAX_TTL + 1,
    float("nan"),
    pytest.param(-(10**5000), id="-10**5000"),
]
NOT_INTEGERS = [
    " 5",
    "5 ",
    "+5",
    "05",
    "-0",
    "1_000",
    "\u0663",
    "1.0",
    "abc",
    "",
    "9223372036854775808",
]
BAD_AMOUNTS: list[Any] = [
    True,
    1.5,
    "1",
    None,
    2**63,
    -(2**63),
    pytest.param(10**5000, id="10**5000"),
]

# Every protocol method with arguments that are valid for it.
CALLS: list[tuple[str, tuple[Any, ...]]] = [
    ("get", ("k",)),
    ("get_json", ("k",)),
    ("set", ("k", "v")),
    ("set_json", ("k", {"a": 1})),
    ("delete", ("k",)),
    ("exists", ("k",)),
    ("expire", ("k", 10)),
    ("ttl", ("k",)),
    ("increment", ("k",)),
    ("decrement", ("k",)),
    ("flush", ()),
    ("ping", ()),
    ("delete_pattern", ("k*",)),
    ("get_many", (["k"],)),
    ("set_many", ({"k": "v"},)),
]


def failure(result: Result[Any, DomainError], kind: type[CacheError]) -> CacheError:
    """The error inside ``result``, asserting that it is a Failure of ``kind``."""
    assert isinstance(result, Failure), f"expected a Failure, got {result!r}"
    error = result.failure()
    assert isinstance(error, kind), f"expected {kind.__name__}, got {error!r}"
    assert isinstance(error, DomainError)
    assert str(error.message)
    return error


class _Seconds(enum.IntEnum):
    MINUTE = 60


class _Text(str):
    """A str subclass that behaves like its plain value."""


class _LyingText(str):
    """A str subclass whose methods lie about its content."""

    def isascii(self) -> bool:
        return True

    def __len__(self) -> int:
        return 1

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return b"v"


class _LyingInt(int):
    def __neg__(self) -> int:
        return 2**70

    def __ge__(self, other: object) -> bool:
        return True

    def __le__(self, other: object) -> bool:
        return True


class CacheContract:
    """The contract tests; see the module docstring for the fixtures they need."""

    # -- get / set -------------------------------------------------------------------------

    def test_get_of_a_missing_key_is_none(self, cache: Harness) -> None:
        assert cache.get("missing") == Success(None)

    @pytest.mark.parametrize("value", ["v", "", "\x00", "line\nbreak", "ключ ✓ 🎉", "x" * 100_000])
    def test_set_then_get_returns_the_same_text(self, cache: Harness, value: str) -> None:
        assert cache.set("k", value) == Success(None)
        assert cache.get("k") == Success(value)

    @pytest.mark.parametrize("key", ["ключ", "🎉", "a b", "a\x00b", "*?[]\\", "x" * MAX_KEY_LENGTH])
    def test_any_utf8_key_up_to_the_maximum_works(self, cache: Harness, key: str) -> None:
        assert cache.set(key, "v") == Success(None)
        assert cache.get(key) == Success("v")
        assert cache.delete(key) == Success(True)

    def test_the_prefix_does_not_count_towards_the_key_length(self, make_cache: MakeCache) -> None:
        cache = make_cache(key_prefix="a-long-namespace" * 10)
        assert cache.set("x" * MAX_KEY_LENGTH, "v") == Success(None)

    @pytest.mark.parametrize("key", BAD_KEYS)
    def test_a_bad_key_fails_every_keyed_method(self, cache: Harness, key: Any) -> None:
        for name, args in CALLS:
            if args and isinstance(args[0], str) and name != "delete_pattern":
                result = getattr(cache, name)(key, *args[1:])
                error = failure(result, CacheInvalidArgumentError)
                assert error.operation == name
                assert error.key == (key if isinstance(key, str) else None)

    @pytest.mark.parametrize("value", BAD_VALUES)
    def test_a_bad_value_fails_and_writes_nothing(self, cache: Harness, value: Any) -> None:
        cache.set("k", "before")
        failure(cache.set("k", value), CacheInvalidArgumentError)
        failure(cache.set("new", value), CacheInvalidArgumentError)
        assert cache.get("k") == Success("before")
        assert cache.exists("new") == Success(False)

    def test_failures_name_the_operation_and_key(self, cache: Harness) -> None:
        error = failure(cache.set("the-key", 5), CacheInvalidArgumentError)
        assert (error.operation, error.key) == ("set", "the-key")
        assert "value" in error.message
        error = failure(cache.get_many("abc"), CacheInvalidArgumentError)
        assert (error.operation, error.key) == ("get_many", None)

    # -- TTLs ------------------------------------------------------------------------------

    @pytest.mark.parametrize("ttl", BAD_TTLS)
    def test_a_bad_ttl_fails_and_writes_nothing(self, cache: Harness, ttl: Any) -> None:
        cache.set("k", "before")
        failure(cache.set("k", "after", ttl=ttl), CacheInvalidArgumentError)
        failure(cache.set_json("j", {"a": 1}, ttl=ttl), CacheInvalidArgumentError)
        failure(cache.set_many({"m": "v"}, ttl=ttl), CacheInvalidArgumentError)
        failure(cache.expire("k", ttl), CacheInvalidArgumentError)
        assert cache.get("k") == Success("before")
        assert cache.ttl("k") == Success(None)
        assert cache.get_many(["j", "m"]) == Success({"j": None, "m": None})

    def test_the_largest_ttl_is_accepted(self, cache: Harness) -> None:
        assert cache.set("k", "v", ttl=MAX_TTL) == Success(None)
        assert cache.ttl("k") == Success(MAX_TTL)

    def test_ttl_reports_whole_seconds_rounded_up(self, cache: Harness) -> None:
        cache.set("k", "v", ttl=100)
        assert cache.ttl("k") == Success(100)
        cache.set("short", "v", ttl=1)
        assert cache.ttl("short") == Success(1)

    def test_ttl_is_none_for_missing_and_persistent_keys(self, cache: Harness) -> None:
        assert cache.ttl("missing") == Success(None)
        cache.set("k", "v")
        assert cache.ttl("k") == Success(None)

    def test_set_without_ttl_clears_an_existing_ttl(self, cache: Harness) -> None:
        cache.set("k", "v", ttl=100)
        cache.set("k", "w")
        assert cache.ttl("k") == Success(None)
        cache.set_many({"k": "x"}, ttl=50)
        assert cache.ttl("k") == Success(50)
        cache.set_many({"k": "y"})
        assert cache.ttl("k") == Success(None)

    def test_a_key_expires_after_its_ttl(self, cache: Harness) -> None:
        cache.set("k", "v", ttl=1)
        cache.set_many({"a": "1", "b": "2"}, ttl=1)
        time.sleep(1.1)
        assert cache.get("k") == Success(None)
        assert cache.exists("k") == Success(False)
        assert cache.get_many(["a", "b"]) == Success({"a": None, "b": None})
        assert cache.ttl("k") == Success(None)

    def test_expire_sets_a_ttl_on_existing_keys_only(self, cache: Harness) -> None:
        assert cache.expire("missing", 10) == Success(False)
        assert cache.exists("missing") == Success(False)
        cache.set("k", "v")
        assert cache.expire("k", 10) == Success(True)
        assert cache.ttl("k") == Success(10)
        assert cache.get("k") == Success("v")

    # -- counters --------------------------------------------------------------------------

    def test_increment_creates_a_missing_key_without_expiry(self, cache: Harness) -> None:
        assert cache.increment("n") == Success(1)
        assert cache.increment("m", 5) == Success(5)
        assert cache.decrement("d", 3) == Success(-3)
        assert cache.ttl("n") == Success(None)
        assert cache.get_many(["n", "m", "d"]) == Success({"n": "1", "m": "5", "d": "-3"})

    def test_increment_keeps_the_ttl_and_stores_decimal_text(self, cache: Harness) -> None:
        cache.set("n", "10", ttl=100)
        assert cache.increment("n", 5) == Success(15)
        assert cache.decrement("n", 20) == Success(-5)
        assert cache.increment("n", -1) == Success(-6)
        assert cache.get("n") == Success("-6")
        assert cache.ttl("n") == Success(100)

    @pytest.mark.parametrize("stored", NOT_INTEGERS)
    def test_increment_of_a_non_integer_fails_and_keeps_the_value(
        self, cache: Harness, stored: str
    ) -> None:
        cache.set("n", stored)
        error = failure(cache.increment("n"), CacheValueError)
        assert (error.operation, error.key) == ("increment", "n")
        failure(cache.decrement("n"), CacheValueError)
        assert cache.get("n") == Success(stored)

    def test_integers_at_the_64_bit_edges(self, cache: Harness) -> None:
        cache.set("hi", str(INT64_MAX - 1))
        assert cache.increment("hi") == Success(INT64_MAX)
        failure(cache.increment("hi"), CacheValueError)
        assert cache.get("hi") == Success(str(INT64_MAX))
        cache.set("lo", str(-INT64_MAX))
        assert cache.decrement("lo") == Success(-INT64_MAX - 1)
        failure(cache.decrement("lo"), CacheValueError)
        assert cache.get("lo") == Success(str(-INT64_MAX - 1))
        assert cache.increment("big", INT64_MAX) == Success(INT64_MAX)

    @pytest.mark.parametrize("amount", BAD_AMOUNTS)
    def test_a_bad_amount_fails_and_writes_nothing(self, cache: Harness, amount: Any) -> None:
        failure(cache.increment("n", amount), CacheInvalidArgumentError)
        failure(cache.decrement("n", amount), CacheInvalidArgumentError)
        assert cache.exists("n") == Success(False)

    # -- delete / exists / ping ------------------------------------------------------------

    def test_delete_and_exists(self, cache: Harness) -> None:
        assert cache.exists("k") == Success(False)
        assert cache.delete("k") == Success(False)
        cache.set("k", "")
        assert cache.exists("k") == Success(True)
        assert cache.delete("k") == Success(True)
        assert cache.exists("k") == Success(False)

    def test_ping(self, cache: Harness) -> None:
        assert cache.ping() == Success(True)

    # -- batches ---------------------------------------------------------------------------

    def test_get_many_reports_every_requested_key(self, cache: Harness) -> None:
        cache.set("a", "1")
        cache.set("c", "")
        assert cache.get_many(["a", "b", "c", "a"]) == Success({"a": "1", "b": None, "c": ""})
        assert cache.get_many([]) == Success({})

    @pytest.mark.parametrize("keys", [["a", 1], ["a", ""], "ab", None, {"a": 1}, ["a", "x\ud800"]])
    def test_get_many_with_a_bad_key_fails_whole(self, cache: Harness, keys: Any) -> None:
        cache.set("a", "1")
        failure(cache.get_many(keys), CacheInvalidArgumentError)

    def test_set_many_writes_all_with_one_ttl(self, cache: Harness) -> None:
        assert cache.set_many({"a": "1", "b": "", "c": "ü"}, ttl=60) == Success(None)
        assert cache.get_many(["a", "b", "c"]) == Success({"a": "1", "b": "", "c": "ü"})
        assert [cache.ttl(k) for k in "abc"] == [Success(60)] * 3
        assert cache.set_many({}) == Success(None)

    @pytest.mark.parametrize(
        "mapping",
        [{"a": "1", "b": 2}, {"a": "1", "": "2"}, {"a": "1", 3: "x"}, {"a": "1", "b": "\ud800"}],
    )
    def test_set_many_checks_everything_before_writing(self, cache: Harness, mapping: Any) -> None:
        failure(cache.set_many(mapping), CacheInvalidArgumentError)
        assert cache.exists("a") == Success(False)

    @pytest.mark.parametrize("mapping", [[("a", "1")], "ab", None])
    def test_set_many_needs_a_dict(self, cache: Harness, mapping: Any) -> None:
        failure(cache.set_many(mapping), CacheInvalidArgumentError)

    # -- JSON ------------------------------------------------------------------------------

    def test_json_round_trip(self, cache: Harness) -> None:
        document = {"id": 1, "name": "Zoë", "tags": ["a", None, True, 1.5], "nested": {"x": {}}}
        assert cache.set_json("doc", document, ttl=30) == Success(None)
        assert cache.get_json("doc") == Success(document)
        assert cache.ttl("doc") == Success(30)
        assert cache.get_json("missing") == Success(None)

    def test_set_json_stores_json_text_and_get_json_reads_it(self, cache: Harness) -> None:
        cache.set_json("doc", {"a": [1, 2]})
        stored = cache.get("doc")
        assert isinstance(stored, Success)
        assert json.loads(stored.unwrap()) == {"a": [1, 2]}
        cache.set("raw", json.dumps({"b": "ß"}))
        assert cache.get_json("raw") == Success({"b": "ß"})

    @pytest.mark.parametrize(
        "value",
        [
            [1, 2],
            "text",
            None,
            {"a": math.nan},
            {"a": [math.inf]},
            {1: "int key"},
            {"a": {2: "nested int key"}},
            {"a": (1, 2)},
            {"a": {1, 2}},
            {"a": b"bytes"},
            {"a": object()},
        ],
    )
    def test_set_json_refuses_what_is_not_a_strict_json_object(
        self, cache: Harness, value: Any
    ) -> None:
        failure(cache.set_json("doc", value), CacheSerializationError)
        assert cache.exists("doc") == Success(False)

    @pytest.mark.parametrize(
        "stored", ["not json", "[1, 2]", '"text"', "1", "null", "NaN", '{"a": NaN}']
    )
    def test_get_json_of_something_else_is_a_serialization_failure(
        self, cache: Harness, stored: str
    ) -> None:
        cache.set("doc", stored)
        error = failure(cache.get_json("doc"), CacheSerializationError)
        assert (error.operation, error.key) == ("get_json", "doc")

    # -- patterns and namespaces -----------------------------------------------------------

    @pytest.mark.parametrize(
        ("pattern", "deleted"),
        [
            ("a*", {"a1", "a2", "ab", "a*b"}),
            ("?1", {"a1", "b1"}),
            ("[ab]1", {"a1", "b1"}),
            ("[^a]1", {"b1"}),
            ("[a-b]2", {"a2"}),
            ("a\\*b", {"a*b"}),
            ("a[*]b", {"a*b"}),
            ("*", {"a1", "a2", "ab", "a*b", "b1", "é", "h?"}),
            ("?", set()),
            ("??", {"a1", "a2", "ab", "b1", "é", "h?"}),
            ("h\\?", {"h?"}),
            ("zzz*", set()),
        ],
    )
    def test_delete_pattern_follows_redis_glob_rules(
        self, cache: Harness, pattern: str, deleted: set[str]
    ) -> None:
        keys = ["a1", "a2", "ab", "a*b", "b1", "é", "h?"]
        cache.set_many(dict.fromkeys(keys, "v"))
        assert cache.delete_pattern(pattern) == Success(len(deleted))
        remaining = cache.get_many(keys).unwrap()
        assert {k for k, v in remaining.items() if v is None} == deleted

    @pytest.mark.parametrize("pattern", ["", None, 5, b"a*", "a\ud800*"])
    def test_delete_pattern_refuses_bad_patterns(self, cache: Harness, pattern: Any) -> None:
        cache.set("a", "v")
        failure(cache.delete_pattern(pattern), CacheInvalidArgumentError)
        assert cache.exists("a") == Success(True)

    def test_delete_pattern_handles_more_keys_than_one_batch(self, cache: Harness) -> None:
        cache.set_many({f"bulk:{i}": "v" for i in range(2500)})
        cache.set("other", "v")
        assert cache.delete_pattern("bulk:*") == Success(2500)
        assert cache.exists("other") == Success(True)

    def test_namespaces_do_not_see_each_other(self, make_cache: MakeCache) -> None:
        first, second = make_cache(key_prefix="one"), make_cache(key_prefix="two")
        first.set("k", "1")
        second.set("k", "2")
        assert first.get("k") == Success("1")
        assert second.delete_pattern("*") == Success(1)
        assert first.get("k") == Success("1")
        assert second.flush() == Success(None)
        assert first.exists("k") == Success(True)

    def test_glob_characters_in_a_prefix_are_literal(self, make_cache: MakeCache) -> None:
        starry, plain = make_cache(key_prefix="p*"), make_cache(key_prefix="pX")
        plain.set("k", "v")
        starry.set("k", "v")
        assert starry.delete_pattern("*") == Success(1)
        starry.set("k", "v")
        assert starry.flush() == Success(None)
        assert plain.get("k") == Success("v")

    def test_flush_without_a_prefix_clears_the_database(self, make_cache: MakeCache) -> None:
        everything, namespaced = make_cache(), make_cache(key_prefix="ns")
        everything.set("a", "1")
        namespaced.set("b", "2")
        assert everything.flush() == Success(None)
        assert namespaced.exists("b") == Success(False)
        assert everything.exists("a") == Success(False)

    def test_flush_with_a_prefix_leaves_unprefixed_keys(self, make_cache: MakeCache) -> None:
        everything, namespaced = make_cache(), make_cache(key_prefix="ns")
        everything.set("plain", "1")
        everything.set("ns", "2")
        namespaced.set("k", "3")
        assert namespaced.flush() == Success(None)
        assert everything.get_many(["plain", "ns", "ns:k"]) == Success(
            {"plain": "1", "ns": "2", "ns:k": None}
        )

    # -- subclasses of str and int ---------------------------------------------------------

    def test_subclasses_of_str_and_int_act_as_their_plain_values(self, cache: Harness) -> None:
        assert cache.set(_Text("k"), _Text("v"), ttl=_Seconds.MINUTE) == Success(None)
        assert cache.get("k") == Success("v")
        assert cache.ttl("k") == Success(60)
        assert cache.expire("k", _Seconds.MINUTE) == Success(True)
        assert cache.increment("n", _Seconds.MINUTE) == Success(60)
        assert cache.decrement("n", _Seconds.MINUTE) == Success(0)
        assert cache.get_many([_Text("k")]) == Success({"k": "v"})

    def test_lying_subclasses_are_judged_by_their_real_content(self, cache: Harness) -> None:
        failure(cache.set(_LyingText("a\ud800"), "v"), CacheInvalidArgumentError)
        failure(cache.set(_LyingText("x" * (MAX_KEY_LENGTH + 1)), "v"), CacheInvalidArgumentError)
        assert cache.set("k", _LyingText("real")) == Success(None)
        assert cache.get("k") == Success("real")
        failure(cache.set("t", "v", ttl=_LyingInt(-5)), CacheInvalidArgumentError)
        assert cache.decrement("n", _LyingInt(1)) == Success(-1)
        assert cache.exists("t") == Success(False)

    def test_json_numbers_must_fit(self, cache: Harness) -> None:
        cache.set("big", '{"a": 1e999}')
        failure(cache.get_json("big"), CacheSerializationError)
        failure(cache.set_json("huge", {"a": 10**5000}), CacheSerializationError)
        assert cache.exists("huge") == Success(False)

    # -- lifecycle -------------------------------------------------------------------------

    def test_every_method_fails_after_close(self, cache: Harness) -> None:
        cache.set("k", "v")
        cache.close()
        for name, args in CALLS:
            error = failure(getattr(cache, name)(*args), CacheClosedError)
            assert error.operation == name
