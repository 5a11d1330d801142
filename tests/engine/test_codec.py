"""Stored bytes become text and JSON objects strictly (cache_bridge.engine.codec): what
``set_json`` writes, ``get_json`` gives back unchanged, and anything else is refused."""

from __future__ import annotations

from typing import Any

import pytest

from cache_bridge.engine.codec import Undecodable, decode_text, dumps_object, loads_object


def test_text_comes_back_from_str_or_utf8_bytes() -> None:
    assert decode_text("héllo") == "héllo"
    assert decode_text("héllo".encode()) == "héllo"
    with pytest.raises(Undecodable, match=r"not UTF-8 text \(byte 1\)"):
        decode_text(b"a\xffb")


def test_a_json_object_round_trips_compactly() -> None:
    value = {"a": [1, 2.5, None, True], "é": {"nested": "x"}}
    text = dumps_object(value)
    assert text == '{"a":[1,2.5,null,true],"é":{"nested":"x"}}'
    assert loads_object(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "is a list, not an object"),
        ('"text"', "is a str, not an object"),
        ("{not json", "is not JSON"),
        ('{"a": NaN}', "contains NaN"),
        ('{"a": Infinity}', "contains Infinity"),
        ('{"a": 1e999}', "does not fit a float"),
    ],
)
def test_loads_refuses_what_is_not_a_strict_json_object(text: str, message: str) -> None:
    with pytest.raises(Undecodable, match=message):
        loads_object(text)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1], "stores JSON objects \\(dict\\), not list"),
        ({"a": (1, 2)}, "tuple is not a JSON type"),
        ({"a": {1}}, "set is not a JSON type"),
        ({1: "a"}, "keys must be str, found int"),
        ({"a": float("nan")}, "strict JSON does not allow"),
        ({"a": float("inf")}, "strict JSON does not allow"),
    ],
)
def test_dumps_refuses_what_would_not_come_back_unchanged(value: Any, message: str) -> None:
    with pytest.raises(Undecodable, match=message):
        dumps_object(value)


def test_nesting_is_bounded() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(600):
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(Undecodable, match="nests deeper than 500 levels"):
        dumps_object(deep)
    shallow: dict[str, Any] = {"x": {"y": {"z": []}}}
    assert loads_object(dumps_object(shallow)) == shallow
