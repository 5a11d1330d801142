"""Turning stored bytes into text and JSON objects, strictly.

Strict JSON: objects with string keys, arrays, strings, finite numbers, booleans and null.
NaN, Infinity, non-string keys, tuples, sets and other Python objects are refused rather than
silently converted, so that what ``set_json`` stores ``get_json`` gives back unchanged.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["Undecodable", "decode_text", "dumps_object", "loads_object"]

_MAX_DEPTH = 500


class Undecodable(Exception):
    """A value could not be encoded as, or decoded from, what the operation promises."""


def decode_text(raw: str | bytes) -> str:
    """A stored value as text; bytes that are not UTF-8 raise :class:`Undecodable`."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Undecodable(f"the stored value is not UTF-8 text (byte {exc.start})") from None


def _reject_constant(name: str) -> Any:
    raise Undecodable(f"the stored JSON contains {name}, which strict JSON does not allow")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise Undecodable(f"the stored JSON contains {text}, which does not fit a float")
    return number


def loads_object(text: str) -> dict[str, Any]:
    """The JSON object in ``text``; anything else raises :class:`Undecodable`."""
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, Undecodable):
            raise
        raise Undecodable(f"the stored value is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise Undecodable(f"the stored JSON is a {type(value).__name__}, not an object")
    return value


def _check_json(value: object, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise Undecodable(f"value nests deeper than {_MAX_DEPTH} levels")
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Undecodable(f"value contains {value!r}, which strict JSON does not allow")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise Undecodable(f"JSON object keys must be str, found {type(k).__name__}")
            _check_json(v, depth + 1)
        return
    if isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)
        return
    raise Undecodable(f"{type(value).__name__} is not a JSON type")


def dumps_object(value: object) -> str:
    """``value`` as compact JSON text if it is a dict of strict JSON, else raise."""
    if not isinstance(value, dict):
        raise Undecodable(f"set_json stores JSON objects (dict), not {type(value).__name__}")
    _check_json(value, 0)
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (ValueError, TypeError, RecursionError) as exc:
        # Integers past Python's digit limit, or a container that changed while it was read.
        raise Undecodable(f"value cannot be written as JSON ({exc})") from None
