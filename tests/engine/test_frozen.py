"""quick_init: the faster ``__init__`` of the frozen, slotted dataclasses built on every call
builds the same objects as the one ``@dataclass`` writes, and refuses the same calls."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from typing import Any

import pytest

from cache_bridge.engine import commands
from cache_bridge.engine.frozen import quick_init
from cache_bridge.ratelimit import Decision, Rate


def _twin(cls: type[Any]) -> type[Any]:
    """``cls``'s fields in a plain ``@dataclass(frozen=True, slots=True)`` (its own init)."""
    return dataclasses.make_dataclass(
        f"Plain{cls.__name__}",
        [
            (f.name, Any)
            if f.default is dataclasses.MISSING
            else (f.name, Any, dataclasses.field(default=f.default))
            for f in dataclasses.fields(cls)
        ],
        frozen=True,
        slots=True,
    )


QUICK = [
    obj
    for obj in vars(commands).values()
    if isinstance(obj, type)
    and obj.__module__ == commands.__name__
    and "__init__" in vars(obj)
    and dataclasses.is_dataclass(obj)
] + [Decision]


def test_every_command_and_the_decision_have_the_quick_init() -> None:
    assert len(QUICK) > 20
    for cls in QUICK:
        # Its closure holds one setter per field (the one @dataclass writes holds
        # ``__dataclass_builtins_object__``, to call its ``__setattr__``).
        setters = [f"_s_{f.name}" for f in dataclasses.fields(cls)]
        assert sorted(cls.__init__.__code__.co_freevars) == sorted(setters), cls


@pytest.mark.parametrize("cls", QUICK, ids=lambda c: c.__name__)
def test_the_same_signature_and_objects_as_the_dataclass_init(cls: type[Any]) -> None:
    twin = _twin(cls)
    assert [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()] == [
        (p.name, p.kind, p.default) for p in inspect.signature(twin).parameters.values()
    ]
    fields = dataclasses.fields(cls)
    values = [object() for _ in fields]
    required = [f for f in fields if f.default is dataclasses.MISSING]
    for args, kwargs in (
        (values, {}),  # every field positionally
        ([], {f.name: v for f, v in zip(fields, values, strict=True)}),  # every one by name
        (values[: len(required)], {}),  # the defaults left to the class
    ):
        ours, theirs = cls(*args, **kwargs), twin(*args, **kwargs)
        assert [getattr(ours, f.name) for f in fields] == [getattr(theirs, f.name) for f in fields]
    if required:
        with pytest.raises(TypeError):
            cls(*values[: len(required) - 1])
    with pytest.raises(TypeError):
        cls(*values, object())  # one too many
    with pytest.raises(TypeError):
        cls(*values[: len(required)], not_a_field=1)


def test_still_frozen_comparable_replaceable_and_picklable() -> None:
    decision = Decision(True, 10, 9, 1.0, 0.0, "n", Rate(10, 1), receipt=("k", 5))
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.allowed = False  # type: ignore[misc]
    assert dataclasses.replace(decision, remaining=3).remaining == 3
    assert decision == Decision(True, 10, 9, 1.0, 0.0, "n", Rate(10, 1))  # receipt not compared
    assert pickle.loads(pickle.dumps(decision)) == decision
    assert hash(commands.Get("k")) == hash(commands.Get("k"))


def test_refuses_a_class_it_cannot_build_alike() -> None:
    @dataclasses.dataclass(frozen=True)
    class NotSlotted:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(frozen=True, slots=True)
    class WithInitVar:
        a: int
        b: dataclasses.InitVar[int]

    @dataclasses.dataclass(frozen=True, slots=True, init=False)
    class NoInit:
        a: int

    for cls in (NotSlotted, Factory, PostInit, WithInitVar, NoInit):
        with pytest.raises(TypeError, match="quick_init"):
            quick_init(cls)


def test_a_subclass_sets_the_fields_it_inherits() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Base:
        a: int

    @quick_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Child(Base):
        b: int = 2

    child = Child(1)
    assert (child.a, child.b) == (1, 2)
    assert child == Child(1, 2)
