"""The in-memory store's CULL_FREQUENCY culling, side by side with Django's LocMemCache: the
same writes and reads leave the same keys."""

from __future__ import annotations

import time

import pytest
from django.core.cache.backends.locmem import LocMemCache

from cache_bridge.adapters.memory.store import MemoryStore
from cache_bridge.engine.commands import Exists, Get, SetBytes


def _locmem(max_entries: int, cull_frequency: int) -> LocMemCache:
    options = {"MAX_ENTRIES": max_entries, "CULL_FREQUENCY": cull_frequency}
    return LocMemCache(f"cull-{time.monotonic_ns()}", {"OPTIONS": options, "KEY_PREFIX": ""})


@pytest.mark.parametrize("cull_frequency", [0, 1, 2, 3, 7])
@pytest.mark.parametrize("max_entries", [1, 5, 30])
def test_the_same_keys_survive_as_in_locmem(max_entries: int, cull_frequency: int) -> None:
    theirs = _locmem(max_entries, cull_frequency)
    ours = MemoryStore(max_entries, time.time, cull_frequency=cull_frequency)
    names = [f"k{n}" for n in range(60)]
    for step, name in enumerate(names):
        theirs.set(name, 1, None)
        ours.execute(SetBytes(name, b"1", None))
        if step % 4 == 0:  # reads move a key to the front in both
            read = names[step // 2]
            theirs.get(read)
            ours.execute(Get(read))
        if step % 9 == 0:  # an overwrite culls too when the cache is full
            theirs.set(names[0], 2, None)
            ours.execute(SetBytes(names[0], b"2", None))
    kept = {name for name in names if theirs.has_key(name)}
    assert {name for name in names if ours.execute(Exists(name))} == kept


def test_without_cull_frequency_one_entry_goes_per_write() -> None:
    store = MemoryStore(3, time.time)
    for name in "abcd":
        store.execute(SetBytes(name, b"1", None))
    assert [name for name in "abcd" if store.execute(Exists(name))] == ["b", "c", "d"]
