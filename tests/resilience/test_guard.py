"""The registry of shared guards (cache_bridge/resilience/guard.py) against the garbage collector:
an
adapter dropped without close() leaves its guard from a weakref finalizer, which the
collector may run in any thread at any allocation, including one made while that thread
holds the registry's lock (in shared_guard, building a guard). That used to deadlock:
make test hung in tests/config/test_settings.py, whose async adapters are never closed, with
every probe thread of the process waiting on the lock too."""

from __future__ import annotations

import gc
import threading
from typing import Any

from cache_bridge.resilience import guard as guard_module
from cache_bridge.resilience.guard import Guard, shared_guard


class _Cyclic:
    """An owner that only the cyclic collector frees (it refers to itself)."""

    def __init__(self) -> None:
        self.me = self


def test_a_finalizer_run_inside_shared_guard_does_not_deadlock() -> None:
    registry: Any = guard_module._registry  # the process's registry, to look into it
    owner: Any = _Cyclic()
    first, _ = shared_guard(owner, ("test", "dropped"), lambda: Guard("dropped", None))
    del owner  # in a cycle: freed by the next collection, which runs its finalizer

    def make() -> Guard:
        gc.collect()  # as an allocation may trigger it, with the registry's lock held
        return Guard("new", None)

    done: list[Guard] = []
    other = _Cyclic()
    thread = threading.Thread(
        target=lambda: done.append(shared_guard(other, ("test", "new"), make)[0]), daemon=True
    )
    gc.disable()  # the collection must come from make(), not earlier
    try:
        thread.start()
        thread.join(5)
    finally:
        gc.enable()
    if thread.is_alive():  # deadlocked: free the lock so the rest of the suite can run
        registry.lock.release()
        thread.join(5)
    assert done, "shared_guard deadlocked on a finalizer run inside it"
    # The dropped adapter's guard was left (and stopped) once the lock was free again.
    assert ("test", "dropped") not in registry.guards
    assert first._stopped.is_set()
    assert registry.guards[("test", "new")] is done[0]
