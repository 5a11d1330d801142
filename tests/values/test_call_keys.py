"""cache_bridge.values.call_keys: equal calls share a digest, different ones do not, and the
digest is the same in another process (no address, no hash randomisation)."""

from __future__ import annotations

import datetime
import decimal
import enum
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cache_bridge.values.call_keys import Unkeyable, bound_arguments, call_digest, canonical

ROOT = Path(__file__).resolve().parents[2]


class Color(enum.Enum):
    RED = 1


def f(a: int, b: int = 2, *rest: int, **extra: int) -> None: ...


def test_bound_arguments_normalise_the_spellings_of_one_call() -> None:
    one = [
        bound_arguments(f, (1, 2), {}),
        bound_arguments(f, (1,), {"b": 2}),
        bound_arguments(f, (), {"a": 1, "b": 2}),
        bound_arguments(f, (1,), {}),
    ]
    assert len({call_digest(each) for each in one}) == 1
    assert call_digest(bound_arguments(f, (1, 2), {"x": 1, "y": 2})) == call_digest(
        bound_arguments(f, (1, 2), {"y": 2, "x": 1})
    )


def test_values_of_different_types_never_share_a_form() -> None:
    values: list[Any] = [
        1, "1", 1.0, True, None, b"1", (1,), [1], {1}, frozenset(), {"1": 1}, {1: 1},
        decimal.Decimal(1), Color.RED, datetime.date(2020, 1, 1), "2020-01-01",
        uuid.UUID(int=1), Path("1"),
    ]  # fmt: skip
    forms = [repr(canonical(v)) for v in values]
    assert len(set(forms)) == len(values)
    with pytest.raises(Unkeyable, match="__cache_key__"):
        canonical(object())


@given(st.dictionaries(st.text(), st.integers() | st.text() | st.lists(st.integers())))
def test_equal_values_give_equal_digests(value: dict[str, Any]) -> None:
    assert call_digest({"v": value}) == call_digest({"v": dict(reversed(list(value.items())))})


def test_the_digest_is_stable_across_processes() -> None:
    value = {"a": {3, 1, 2}, "b": ("x", 1.5), "c": Color.RED, "d": frozenset({"p", "q"})}
    code = (
        "import enum\n"
        "from cache_bridge.values.call_keys import call_digest\n"
        "class Color(enum.Enum):\n    RED = 1\n"
        "print(call_digest({'a': {3, 1, 2}, 'b': ('x', 1.5), 'c': Color.RED,"
        " 'd': frozenset({'p', 'q'})}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "12345"},
    )
    assert out.stdout.strip() == call_digest(value)
