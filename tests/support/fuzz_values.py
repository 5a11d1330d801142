"""Hypothesis strategies for hostile arguments, shared by the fuzz tests.

A plain module (not a conftest): the fuzz tests import the strategies they need.
"""

from __future__ import annotations

import datetime
import decimal
import math
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "HUGE",
    "anything",
    "hashables",
    "hostile_objects",
    "hostile_text",
    "huge_text",
    "numbers",
    "scalars",
]

#: Longer than any key the protocol accepts, and much longer than most values.
HUGE = 70_000

# Lone surrogates (Cs), control characters including NUL (Cc), glob characters (Po, Sm),
# spaces, combining marks and letters from outside Latin-1.
_CHARS = st.characters(categories=["Cs", "Cc", "Lu", "Ll", "Nd", "Po", "Sm", "Zs", "Lo", "Mn"])

hostile_text = st.text(_CHARS, max_size=24) | st.sampled_from(
    ["", "\0", "\ud800", "a\udcff", "a\0b", "*", "?", "[", "[^a]", "\\", "\xe9", " ", "k" * 1025]
)

# Built by repetition: asking hypothesis for long text costs seconds per example.
huge_text = st.builds(
    lambda n, tail: "k" * n + tail,
    st.integers(1025, HUGE),
    st.sampled_from(["", "\0", "\ud800", "\xe9"]),
)

numbers = (
    st.integers()
    | st.booleans()
    | st.floats()
    | st.sampled_from(
        [0, -1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, float("nan"), float("-inf")]
    )
    # Integers past Python's 4,300-digit printing limit (made here: hypothesis prints its
    # sampled elements).
    | st.builds(lambda sign, digits: sign * 10**digits, st.sampled_from([1, -1]), st.just(5000))
)


class LyingStr(str):
    """A str whose methods lie or raise, to check that rules read the real content."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints examples with this; the methods below would raise.
        printer.text("<LyingStr>")

    def __str__(self) -> str:
        return "lie"

    def __len__(self) -> int:
        raise RuntimeError("len of a hostile str")

    def encode(self, *args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("encode of a hostile str")

    def __hash__(self) -> int:
        return str.__hash__(self)

    def __eq__(self, other: object) -> bool:
        return str.__eq__(self, other)


class LyingInt(int):
    """An int whose conversions raise."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints examples with this; the methods below would raise.
        printer.text("<LyingInt>")

    def __index__(self) -> int:
        raise RuntimeError("index of a hostile int")

    def __int__(self) -> int:
        return 1


class RaisingDict(dict[Any, Any]):
    """A dict whose iteration raises."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints examples with this; the methods below would raise.
        printer.text("<RaisingDict>")

    def items(self) -> Any:
        raise RuntimeError("items of a hostile dict")

    def __iter__(self) -> Any:
        raise RuntimeError("iter of a hostile dict")


class RaisingList(list[Any]):
    """A list whose iteration raises."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints examples with this; the methods below would raise.
        printer.text("<RaisingList>")

    def __iter__(self) -> Any:
        raise RuntimeError("iter of a hostile list")

    def __len__(self) -> int:
        raise RuntimeError("len of a hostile list")


class Opaque:
    """An object no cache understands."""

    def __repr__(self) -> str:
        return "<Opaque>"


hostile_objects = st.sampled_from(
    [
        Opaque(),
        object(),
        Ellipsis,
        NotImplemented,
        int,
        len,
        1 + 2j,
        decimal.Decimal("NaN"),
        datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        bytearray(b"ab"),
        memoryview(b"ab"),
        frozenset({"a"}),
        {"a", "b"},
        range(3),
        iter([1]),
    ]
) | st.builds(
    lambda kind, text: kind(text),
    st.sampled_from(
        [
            LyingStr,
            lambda t: LyingInt(len(t)),
            lambda t: RaisingDict({t: t}),
            lambda t: RaisingList([t]),
        ]
    ),
    st.text(max_size=5),
)

scalars = (
    hostile_text
    | st.binary(max_size=16)
    | numbers
    | st.none()
    | hostile_objects
    | huge_text
    | st.builds(lambda n: b"b" * n, st.integers(1025, HUGE))
)


def _not_nan(x: object) -> bool:
    return not (isinstance(x, float) and math.isnan(x))


hashables = hostile_text | numbers.filter(_not_nan) | st.none() | st.binary(max_size=4)

anything = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(hashables, inner, max_size=4)
        | st.frozensets(hashables, max_size=3)
    ),
    max_leaves=8,
)
