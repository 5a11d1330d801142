"""The two faces (cache_bridge.faces) over a scripted executor (no server): each method runs
its operation through ``run_operation``, in the face's namespace, past the guard; a closed face
refuses at once; ``with_prefix`` shares the executor and guard."""

from __future__ import annotations

import asyncio
from typing import Any

from returns.result import Failure, Result, Success

from cache_bridge.engine.commands import Get, Ping, Set
from cache_bridge.engine.operations import Op
from cache_bridge.errors import CacheClosedError, CacheUnavailableError, DomainError
from cache_bridge.faces import AsyncCache, FaceProber, SyncCache
from tests.engine.scripted import Script


class _Gate:
    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.admitted: list[tuple[str, str | None]] = []
        self.settled: list[Result[Any, DomainError] | None] = []
        self.breaker = None

    def admit(self, op: Op[Any]) -> Failure[DomainError] | None:
        self.admitted.append((op.name, op.key))
        if not self.refuse:
            return None
        op.steps.close()
        return Failure(CacheUnavailableError("open", operation=op.name, key=op.key))

    def settle(self, result: Result[Any, DomainError] | None) -> None:
        self.settled.append(result)


def _gate(refuse: bool = False) -> Any:
    # Typed Any: a stand-in for the Guard a face takes.
    return _Gate(refuse)


def test_methods_run_in_the_namespace_past_the_guard() -> None:
    script, gate = Script([b"v", True]), _gate()
    face = SyncCache(script, "app", "scripted", gate)
    assert face.get("k") == Success("v")
    assert face.set("k", "w", 5) == Success(None)
    assert script.sent == [Get("app:k"), Set("app:k", "w", b"w", 5)]
    assert gate.admitted == [("get", "k"), ("set", "k")]
    assert gate.settled == [Success("v"), Success(None)]
    assert (face.key_prefix, face.keyspace.prefix, face.guard) == ("app", "app:", gate)
    assert face.executor is script
    assert repr(face) == "<SyncCache scripted>"


def test_a_refused_call_never_reaches_the_executor() -> None:
    script = Script()
    face = AsyncCache(script.execute_async, None, "scripted", _gate(refuse=True))
    result = asyncio.run(face.get("k"))
    assert isinstance(result.failure(), CacheUnavailableError)
    assert script.sent == []


def test_a_closed_face_refuses_every_call_at_once() -> None:
    script = Script()
    face = SyncCache(script, None, "scripted")
    with face:
        pass
    assert face.closed
    assert repr(face) == "<SyncCache scripted closed>"
    error = face.get("k").failure()
    assert isinstance(error, CacheClosedError)
    assert (error.operation, error.key) == ("get", "k")
    async_face = AsyncCache(script.execute_async, None, "scripted")
    asyncio.run(async_face.aclose())
    assert isinstance(asyncio.run(async_face.ping()).failure(), CacheClosedError)
    assert script.sent == []


def test_with_prefix_shares_the_connections_not_the_closing() -> None:
    script, gate = Script([None, b"1"]), _gate()
    face = SyncCache(script, "app", "scripted", gate)
    other = face.with_prefix("other")
    assert (other.executor, other.guard, other.key_prefix) == (script, gate, "other")
    assert repr(other) == "<SyncCache scripted as 'other'>"
    other.close()
    assert isinstance(other.get("k").failure(), CacheClosedError)
    assert face.get("k") == Success(None)
    async_face = AsyncCache(script.execute_async, "app", "scripted", gate)
    assert asyncio.run(async_face.with_prefix(None).get("k")) == Success("1")
    assert script.sent == [Get("app:k"), Get("k")]


def test_the_prober_pings_past_the_guard() -> None:
    script, gate = Script([True]), _gate(refuse=True)
    prober = FaceProber(SyncCache(script, None, "scripted", gate))
    assert prober.probe() == Success(True)
    assert (script.sent, gate.admitted) == ([Ping()], [])
    prober.close()
