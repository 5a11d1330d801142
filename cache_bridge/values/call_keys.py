"""Cache keys for function calls: a canonical encoding of the bound arguments, hashed.

``f(1, b=2)``, ``f(1, 2)`` and ``f(a=1, b=2)`` bind to the same arguments (defaults filled in),
so they share a key. Only values whose identity is their content are encoded: None, bool,
int, float, str, bytes, tuples, lists, dicts, sets, datetimes, dates, times, Decimals, UUIDs,
Enums, paths, and objects with a ``__cache_key__()`` (or Flask-Caching's ``__caching_id__()``)
method. Anything else raises :class:`Unkeyable`: a key built from ``repr()`` would hold a
memory address for most objects, and give a new key on every call.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import hashlib
import inspect
import json
import pathlib
import uuid
from collections.abc import Callable, Collection
from typing import Any

__all__ = ["Unkeyable", "bound_arguments", "call_digest", "canonical", "source_digest"]


class Unkeyable(TypeError):
    """An argument has no canonical encoding (define ``__cache_key__`` or pass ``key=``)."""


def canonical(value: Any) -> Any:
    """A JSON-able, type-tagged form of ``value``: equal values give equal forms, and values
    of different types (``1`` and ``"1"``, a tuple and a list) give different ones."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return ["e", type(value).__qualname__, canonical(value.value)]
    if isinstance(value, int):
        return ["i", str(value)]
    if isinstance(value, float):
        return ["f", value.hex()]
    if isinstance(value, bytes):
        return ["b", value.hex()]
    if isinstance(value, tuple | list):
        return ["t" if isinstance(value, tuple) else "l", [canonical(v) for v in value]]
    if isinstance(value, dict):
        pairs = [[canonical(k), canonical(v)] for k, v in value.items()]
        return ["d", sorted(pairs, key=_sort_key)]
    if isinstance(value, set | frozenset):
        return ["s", sorted((canonical(v) for v in value), key=_sort_key)]
    if isinstance(value, datetime.date | datetime.time | decimal.Decimal | uuid.UUID):
        return [type(value).__name__, str(value)]
    if isinstance(value, pathlib.PurePath):
        return ["p", str(value)]
    for method in ("__cache_key__", "__caching_id__"):
        own = getattr(value, method, None)
        if callable(own):
            return ["k", type(value).__qualname__, canonical(own())]
    raise Unkeyable(
        f"cannot build a cache key from a {type(value).__module__}.{type(value).__qualname__} "
        "argument: give the class a __cache_key__() method returning plain data, pass "
        "ignore=(its name,), or give the decorator key=..."
    )


def _sort_key(form: Any) -> str:
    return json.dumps(form, separators=(",", ":"))


def bound_arguments(
    function: Callable[..., Any] | inspect.Signature,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    drop_first: bool = False,
    ignore: Collection[str] = (),
) -> dict[str, Any]:
    """The call's arguments by parameter name (``function`` or its signature), defaults
    filled in (``TypeError`` when they do not bind); the first parameter (``self``/``cls``)
    and the ``ignore`` names left out."""
    signature = function if isinstance(function, inspect.Signature) else inspect.signature(function)
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    named = dict(bound.arguments)
    if drop_first and named:
        named.pop(next(iter(named)))
    for name in ignore:
        named.pop(name, None)
    return named


def call_digest(arguments: dict[str, Any]) -> str:
    """A 32-hex-digit SHA-256 digest of the canonical form of ``arguments``."""
    form = json.dumps(canonical(arguments), separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(form.encode("ascii")).hexdigest()[:32]


def source_digest(function: Callable[..., Any]) -> str:
    """A 12-hex-digit digest of ``function``'s source, or of its code object where there is
    no source (frozen apps, the REPL): it changes when the function's code changes."""
    try:
        text = inspect.getsource(function).encode("utf-8")
    except (OSError, TypeError):
        code = getattr(function, "__code__", None)
        text = repr((code.co_code, code.co_consts, code.co_names)).encode() if code else b""
    return hashlib.sha256(text).hexdigest()[:12]
