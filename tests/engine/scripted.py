"""Run an operation on scripted replies, with no server: each command it yields is recorded
and answered by the next reply (an exception in the script is raised instead)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from returns.result import Result

from cache_bridge.engine.commands import Command
from cache_bridge.engine.drivers import drive_sync
from cache_bridge.engine.operations import Op
from cache_bridge.errors import DomainError

T = TypeVar("T")


class Script:
    """An executor that answers commands from a list and records them in ``sent``."""

    def __init__(self, replies: Iterable[Any] = ()) -> None:
        self.replies = list(replies)
        self.sent: list[Command] = []

    def __call__(self, command: Command) -> Any:
        self.sent.append(command)
        if not self.replies:
            raise AssertionError(f"no scripted reply for {command!r}")
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    async def execute_async(self, command: Command) -> Any:
        return self(command)


def run(op: Op[T], *replies: Any) -> tuple[Result[T, DomainError], list[Command]]:
    """``op``'s Result on these replies, and the commands it sent; every reply is used."""
    script = Script(replies)
    result = drive_sync(op, script)
    assert not script.replies, f"unused replies: {script.replies!r}"
    return result, script.sent
