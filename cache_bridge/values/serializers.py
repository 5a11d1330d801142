"""The serializers a stored value may be written with: pickle, JSON and msgpack (an extra).

Each is a pair of functions between a Python value and bytes. What does not round-trip:

- ``json``: dicts with str keys only (others raise ``TypeError``: ``json`` would silently turn
  ``1`` into ``"1"``); tuples come back as lists; no NaN or infinities; no bytes, datetimes,
  Decimals or sets.
- ``msgpack``: tuples come back as lists; dict keys must be str or bytes on read; integers
  must fit 64 bits; no datetimes, Decimals or sets; bytes and str stay distinct.
- ``pickle``: everything picklable round-trips, and unpickling runs code: pickles are read
  only when the codec's serializer is pickle and, by default, only when signed.
"""

from __future__ import annotations

import importlib
import json
import pickle
from collections.abc import Callable
from typing import Any

__all__ = ["SERIALIZERS", "Serializer", "check_json_keys", "load_msgpack", "serializer"]

#: The serializer names, in the order the docs list them.
SERIALIZERS = ("pickle", "json", "msgpack")


class Serializer:
    """One serializer: its name, its header letter, and its two functions."""

    __slots__ = ("dumps", "letter", "loads", "name")

    def __init__(
        self,
        name: str,
        letter: bytes,
        dumps: Callable[[Any], bytes],
        loads: Callable[[bytes], Any],
    ) -> None:
        self.name = name
        self.letter = letter
        self.dumps = dumps
        self.loads = loads


def check_json_keys(value: Any) -> None:
    """Raise TypeError if any dict in ``value`` has a key that is not a ``str``."""
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if id(item) in seen:
                continue
            seen.add(id(item))
            for name, inner in item.items():
                if not isinstance(name, str):
                    raise TypeError(
                        "the JSON serializer stores dicts with str keys only, not "
                        f"{type(name).__name__} key {name!r:.40}"
                    )
                stack.append(inner)
        elif isinstance(item, list | tuple):
            if id(item) in seen:
                continue
            seen.add(id(item))
            stack.extend(item)


def _dump_json(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    check_json_keys(value)
    return text.encode("utf-8")


def _dump_pickle(value: Any) -> bytes:
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def load_msgpack() -> Any:
    """The ``msgpack`` module; ImportError when the ``[msgpack]`` extra is not installed."""
    return importlib.import_module("msgpack")


def _dump_msgpack(value: Any) -> bytes:
    packed: bytes = load_msgpack().packb(value, use_bin_type=True)
    return packed


def _load_msgpack(data: bytes) -> Any:
    return load_msgpack().unpackb(data, raw=False)


_BY_NAME = {
    "pickle": Serializer("pickle", b"p", _dump_pickle, pickle.loads),
    "json": Serializer("json", b"j", _dump_json, json.loads),
    "msgpack": Serializer("msgpack", b"m", _dump_msgpack, _load_msgpack),
}
_BY_LETTER = {each.letter: each for each in _BY_NAME.values()}


def serializer(name_or_letter: str | bytes) -> Serializer | None:
    """The serializer called ``name`` (str) or written as ``letter`` (bytes); None if none."""
    if isinstance(name_or_letter, bytes):
        return _BY_LETTER.get(name_or_letter)
    return _BY_NAME.get(name_or_letter)
