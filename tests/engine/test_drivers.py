"""The drivers (cache_bridge.engine.drivers) run an operation's steps on scripted replies:
values come back as Success, every exception as a Failure naming the operation and key,
interrupts pass through, and a gate admits the operation and learns how it ended."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

import pytest
from returns.result import Failure, Result, Success

from cache_bridge.engine.codec import Undecodable
from cache_bridge.engine.commands import CommandRefused, Get, Ping
from cache_bridge.engine.drivers import drive_async, drive_sync, register_translator
from cache_bridge.engine.keys import InvalidArgument
from cache_bridge.engine.operations import Op
from cache_bridge.errors import (
    CacheConnectionError,
    CacheError,
    CacheInvalidArgumentError,
    CacheSerializationError,
    CacheTimeoutError,
    CacheUnavailableError,
    CacheValueError,
    DomainError,
)
from tests.engine.scripted import Script


def _two_gets(closed: list[bool]) -> Generator[Any, Any, str]:
    try:
        first = yield Get("a")
        second = yield Get("b")
        return f"{first}+{second}"
    finally:
        closed.append(True)


def _op(closed: list[bool] | None = None) -> Op[str]:
    return Op("pair", "a", _two_gets([] if closed is None else closed))


def test_each_reply_goes_back_into_the_steps_in_order() -> None:
    script = Script(["x", "y"])
    assert drive_sync(_op(), script) == Success("x+y")
    assert script.sent == [Get("a"), Get("b")]


def test_an_async_executor_gives_the_same_result() -> None:
    script = Script(["x", "y"])
    assert asyncio.run(drive_async(_op(), script.execute_async)) == Success("x+y")
    assert script.sent == [Get("a"), Get("b")]


def test_an_operation_that_refuses_its_arguments_sends_nothing() -> None:
    def steps() -> Generator[Any, Any, None]:
        raise InvalidArgument("key must not be empty")
        yield Ping()  # pragma: no cover

    script = Script()
    result = drive_sync(Op("get", None, steps()), script)
    assert script.sent == []
    error = result.failure()
    assert isinstance(error, CacheInvalidArgumentError)
    assert (error.message, error.operation) == ("key must not be empty", "get")


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ConnectionError("reset"), CacheConnectionError),
        (OSError("no route"), CacheConnectionError),
        (TimeoutError(), CacheTimeoutError),
        (CommandRefused("not_integer", "value is not an integer"), CacheValueError),
        (Undecodable("not UTF-8"), CacheSerializationError),
        (RuntimeError("a bug"), CacheError),
    ],
)
def test_every_executor_exception_becomes_a_failure_naming_the_call(
    raised: Exception, expected: type[CacheError]
) -> None:
    closed: list[bool] = []
    result = drive_sync(_op(closed), Script([raised]))
    error = result.failure()
    assert type(error) is expected
    assert (error.operation, error.key) == ("pair", "a")
    assert closed == [True]  # the steps were closed, their clean-up ran


def test_a_cache_error_from_an_executor_gets_the_call_named() -> None:
    raised = CacheUnavailableError("circuit open", operation="")
    error = drive_sync(_op(), Script([raised])).failure()
    assert type(error) is CacheUnavailableError
    assert (error.message, error.operation, error.key) == ("circuit open", "pair", "a")


def test_an_unknown_exception_says_what_it_was() -> None:
    error = drive_sync(_op(), Script([LookupError("odd")])).failure()
    assert isinstance(error, CacheError)
    assert "unexpected LookupError: odd" in error.message
    assert isinstance(error.cause, LookupError)


def test_a_registered_translator_maps_its_client_exceptions() -> None:
    class ClientGone(Exception):
        pass

    def translate(exc: Exception, operation: str, key: str | None) -> CacheError | None:
        if isinstance(exc, ClientGone):
            return CacheConnectionError("client gone", operation=operation, key=key)
        return None

    # (It stays registered: it only knows this test's exception.)
    register_translator(translate)
    error = drive_sync(_op(), Script([ClientGone()])).failure()
    assert isinstance(error, CacheError)
    assert (type(error), error.message) == (CacheConnectionError, "client gone")


def test_interrupts_are_never_swallowed() -> None:
    with pytest.raises(KeyboardInterrupt):
        drive_sync(_op(), Script([KeyboardInterrupt()]))
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(drive_async(_op(), Script([asyncio.CancelledError()]).execute_async))


class _Gate:
    """Records what the drivers tell it; refuses when given a refusal."""

    def __init__(self, refusal: Failure[DomainError] | None = None) -> None:
        self.refusal = refusal
        self.admitted: list[str] = []
        self.settled: list[Result[Any, DomainError] | None] = []

    def admit(self, op: Op[Any]) -> Failure[DomainError] | None:
        self.admitted.append(op.name)
        if self.refusal is not None:
            op.steps.close()
        return self.refusal

    def settle(self, result: Result[Any, DomainError] | None) -> None:
        self.settled.append(result)


def test_a_gate_learns_each_outcome() -> None:
    gate = _Gate()
    assert drive_sync(_op(), Script(["x", "y"]), gate) == Success("x+y")
    failed = drive_sync(_op(), Script([ConnectionError("reset")]), gate)
    assert gate.admitted == ["pair", "pair"]
    assert gate.settled == [Success("x+y"), failed]


def test_a_refused_operation_never_reaches_the_executor() -> None:
    refusal: Failure[DomainError] = Failure(CacheUnavailableError("open", operation="pair"))
    gate = _Gate(refusal)
    script = Script()
    assert drive_sync(_op(), script, gate) is refusal
    assert asyncio.run(drive_async(_op(), script.execute_async, gate)) is refusal
    assert script.sent == []
    assert gate.settled == []


def test_an_interrupted_operation_settles_as_nothing() -> None:
    gate = _Gate()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(drive_async(_op(), Script([asyncio.CancelledError()]).execute_async, gate))
    with pytest.raises(KeyboardInterrupt):
        drive_sync(_op(), Script([KeyboardInterrupt()]), gate)
    assert gate.settled == [None, None]
