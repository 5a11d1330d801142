"""The argument rules (cache_bridge.engine.keys): a namespace turns caller keys into stored
keys and globs, and every check refuses bad input with a message saying what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from cache_bridge.engine.keys import (
    INT64_MAX,
    MAX_KEY_LENGTH,
    MAX_PATTERN_LENGTH,
    MAX_TTL,
    InvalidArgument,
    KeySpace,
    check_amount,
    check_seconds,
    check_text,
    escape_glob,
)


class _Key(str):
    def __add__(self, other: Any) -> str:  # pragma: no cover - must not be used
        raise AssertionError("a str subclass's methods are not trusted")


def test_a_prefix_is_joined_with_a_colon() -> None:
    ns = KeySpace("app")
    assert ns.prefix == "app:"
    assert ns.key("user:1") == "app:user:1"
    assert ns.keys(["a", "é"]) == ("app:a", "app:é")
    assert ns.keys(("a",)) == ("app:a",)
    assert KeySpace(None).key("user:1") == "user:1"


def test_keys_are_checked() -> None:
    ns = KeySpace("app")
    assert ns.key("k" * MAX_KEY_LENGTH) == "app:" + "k" * MAX_KEY_LENGTH
    assert type(ns.key(_Key("é"))) is str
    for bad, message in [
        (1, "key must be a str, not int"),
        ("", "key must not be empty"),
        ("k" * (MAX_KEY_LENGTH + 1), f"the maximum is {MAX_KEY_LENGTH}"),
        ("\udc80", "not valid Unicode \\(lone surrogate at index 0\\)"),
    ]:
        with pytest.raises(InvalidArgument, match=message):
            ns.key(bad)
    with pytest.raises(InvalidArgument, match="keys must be a list of str, not str"):
        ns.keys("abc")
    with pytest.raises(InvalidArgument, match="key must not be empty"):
        ns.keys(["a", ""])


def test_patterns_match_inside_the_namespace_only() -> None:
    ns = KeySpace("a*[b]")
    assert ns.glob_prefix == "a\\*\\[b\\]:"
    assert ns.pattern("user:*") == "a\\*\\[b\\]:user:*"
    assert ns.everything() == "a\\*\\[b\\]:*"
    assert KeySpace(None).everything() == "*"
    with pytest.raises(InvalidArgument, match="must not be empty"):
        ns.pattern("")
    with pytest.raises(InvalidArgument, match=f"the maximum is {MAX_PATTERN_LENGTH}"):
        ns.pattern("*" * (MAX_PATTERN_LENGTH + 1))


def test_escape_glob_escapes_every_special_character() -> None:
    assert escape_glob("plain:text") == "plain:text"
    assert escape_glob("*?[]\\") == "\\*\\?\\[\\]\\\\"


def test_seconds_are_whole_and_bounded() -> None:
    assert check_seconds(1, "ttl") == 1
    assert check_seconds(MAX_TTL, "ttl") == MAX_TTL
    for bad, message in [
        (0, f"between 1 and {MAX_TTL} seconds, not 0"),
        (MAX_TTL + 1, "between 1"),
        (True, "int number of seconds, not bool"),
        (1.5, "int number of seconds, not float"),
        (2**200, "not a 201-bit integer"),
    ]:
        with pytest.raises(InvalidArgument, match=message):
            check_seconds(bad, "ttl")


def test_amounts_fit_in_signed_64_bits() -> None:
    assert check_amount(-INT64_MAX) == -INT64_MAX
    assert check_amount(INT64_MAX) == INT64_MAX
    for bad, message in [
        (INT64_MAX + 1, "fit in signed 64 bits"),
        (False, "amount must be an int, not bool"),
        ("1", "amount must be an int, not str"),
    ]:
        with pytest.raises(InvalidArgument, match=message):
            check_amount(bad)


def test_text_must_be_encodable_str() -> None:
    assert check_text("héllo", "value") == "héllo"
    with pytest.raises(InvalidArgument, match="value must be a str, not bytes"):
        check_text(b"x", "value")
    with pytest.raises(InvalidArgument, match="value is not valid Unicode"):
        check_text("a\ud800", "value")
