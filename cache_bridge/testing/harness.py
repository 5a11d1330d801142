"""Drive either face of an adapter through one blocking interface, so that each contract test
is written once and runs against async and sync faces alike."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from cache_bridge.protocol import CacheProtocol, SyncCacheProtocol

__all__ = ["Harness", "Harnesses"]


class Harness:
    """Call ``harness.get("k")`` and get the adapter's Result, whatever its face.

    An async adapter runs on one private event loop owned by the harness, so its connections
    stay on one loop for the harness's life.
    """

    def __init__(self, adapter: CacheProtocol | SyncCacheProtocol, name: str) -> None:
        self.adapter = adapter
        self.name = name
        self.is_async = isinstance(adapter, CacheProtocol) and inspect.iscoroutinefunction(
            adapter.get
        )
        self._runner = asyncio.Runner() if self.is_async else None

    def run(self, awaitable: Any) -> Any:
        """Run a coroutine on the harness's loop (async adapters only)."""
        assert self._runner is not None, "run() is for async adapters"
        return self._runner.run(awaitable)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.adapter, name)
        if self._runner is None:
            return method  # type: ignore[no-any-return]

        def call(*args: Any, **kwargs: Any) -> Any:
            return self.run(method(*args, **kwargs))

        return call

    def close(self) -> None:
        """Close the adapter (the harness's loop stays, so calls still return Failures)."""
        if self._runner is not None:
            self._runner.run(self.adapter.aclose())  # type: ignore[union-attr]
        else:
            self.adapter.close()  # type: ignore[union-attr]

    def shutdown(self) -> None:
        """Close the adapter and then the harness's loop."""
        self.close()
        if self._runner is not None:
            self._runner.close()

    def __repr__(self) -> str:
        return f"<Harness {self.name}>"


class Harnesses:
    """Harnessed adapters made during one test, all shut down at its end: call it like the
    adapter factory it wraps. As a context manager (``with Harnesses(build, "sync") as make:``
    in a pytest fixture), it shuts down every adapter it made on exit.
    """

    def __init__(self, build: Callable[..., CacheProtocol | SyncCacheProtocol], name: str) -> None:
        self._build = build
        self.name = name
        self._made: list[Harness] = []

    def __call__(self, *args: Any, **options: Any) -> Harness:
        harness = Harness(self._build(*args, **options), self.name)
        self._made.append(harness)
        return harness

    def shutdown(self) -> None:
        made, self._made = self._made, []
        for harness in made:
            harness.shutdown()

    def __enter__(self) -> Harnesses:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
