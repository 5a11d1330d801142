"""Random sequences of operations against a plain-Python model of the cache contract.

One state machine describes the contract; it runs against the in-memory adapter with a fake
clock (so that expiry is checked to the quarter second) and against the Redis adapter on the
test-started server (where time cannot be stopped, so TTLs are long and compared loosely).
Each run namespaces its keys under a prefix full of glob characters and keeps a neighbouring
namespace whose key must survive every ``flush`` and ``delete_pattern``.
"""

from __future__ import annotations

import fnmatch
import json
import math
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from returns.result import Failure, Result, Success

from cache_bridge.adapters.memory import SyncInMemoryCache
from cache_bridge.adapters.redis import SyncRedisCache
from cache_bridge.engine.keys import INT64_MAX
from cache_bridge.errors import CacheSerializationError, CacheValueError, DomainError
from cache_bridge.faces import SyncCache

T = TypeVar("T")

INT64_MIN = -INT64_MAX - 1

# Few keys, so that operations keep landing on the same ones; "é" is two bytes in Redis.
KEYS = ["a", "b", "aa", "ab", "ba", "\xe9", "a:b"]
# Integers, near-integers Redis refuses ("01", "-0", "+1", " 2", an Arabic-Indic one), the
# 64-bit limits and one past the top, JSON that is and is not an object, and the empty string.
VALUES = [
    *("", "x", "\xe9", "0", "1", "-7", "41", "01", "-0", "+1", " 2", "1.5", "\u0661"),
    *(str(INT64_MAX), str(INT64_MIN), str(INT64_MAX + 1)),
    *('{"n":1}', "{}", "[1]", "null"),
]
# Patterns whose Redis meaning is plain fnmatch on bytes (no "\\", "^" or "!" quirks).
PATTERNS = [
    "*",
    "a*",
    "*a",
    "*b*",
    "?",
    "??",
    "a?",
    "[ab]",
    "[ab]*",
    "[a-b]?",
    "\xe9",
    "a:*",
    "zz*",
]
NEIGHBOUR_KEY, NEIGHBOUR_VALUE = "a", "the neighbour's"

keys = st.sampled_from(KEYS)
values = st.sampled_from(VALUES)
amounts = st.integers(-3, 3) | st.sampled_from([INT64_MAX, -INT64_MAX, 2**62])
# TTLs are drawn in units; each machine says how many seconds a unit is.
ttl_units = st.none() | st.integers(1, 5)
json_objects = st.dictionaries(
    st.text(max_size=3),
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=4),
    max_size=3,
)


def ok(result: Result[T, DomainError]) -> T:
    assert isinstance(result, Success), f"expected a Success, got {result!r}"
    value: T = result.unwrap()
    return value


def refused(result: Result[Any, DomainError], kind: type[DomainError]) -> None:
    assert isinstance(result, Failure), f"expected a Failure({kind.__name__}), got {result!r}"
    assert isinstance(result.failure(), kind), f"expected {kind.__name__}, got {result!r}"


def as_int64(text: str) -> int | None:
    """The integer Redis's INCRBY sees in ``text``: canonical decimal that fits in 64 bits."""
    try:
        number = int(text)
    except ValueError:
        return None
    if str(number) != text or not INT64_MIN <= number <= INT64_MAX:
        return None
    return number


@dataclass
class Entry:
    value: str
    expires_at: float | None


class CacheModel(RuleBasedStateMachine):
    """The contract as a dict; subclasses supply the adapter, the clock and the TTL check."""

    #: Seconds per drawn TTL unit.
    ttl_unit = 1

    def __init__(self, cache: SyncCache, neighbour: SyncCache | None) -> None:
        super().__init__()
        self.cache = cache
        self.neighbour = neighbour
        self.model: dict[str, Entry] = {}
        assert cache.flush() == Success(None)
        if neighbour is not None:
            assert neighbour.set(NEIGHBOUR_KEY, NEIGHBOUR_VALUE) == Success(None)

    # -- what subclasses decide -----------------------------------------------------------

    def now(self) -> float:
        """The model's reading of the adapter's clock."""
        raise NotImplementedError

    def check_ttl(self, got: int | None, expected: int | None) -> None:
        raise NotImplementedError

    # -- the model ------------------------------------------------------------------------

    def live(self) -> dict[str, Entry]:
        now = self.now()
        self.model = {
            key: entry
            for key, entry in self.model.items()
            if entry.expires_at is None or not now > entry.expires_at
        }
        return self.model

    def value(self, key: str) -> str | None:
        entry = self.live().get(key)
        return None if entry is None else entry.value

    def seconds(self, units: int | None) -> int | None:
        return None if units is None else units * self.ttl_unit

    def store(self, key: str, value: str, seconds: int | None) -> None:
        self.model[key] = Entry(value, None if seconds is None else self.now() + seconds)

    # -- rules ----------------------------------------------------------------------------

    @rule(key=keys, value=values, ttl=ttl_units)
    def set(self, key: str, value: str, ttl: int | None) -> None:
        seconds = self.seconds(ttl)
        assert self.cache.set(key, value, seconds) == Success(None)
        self.store(key, value, seconds)

    @rule(mapping=st.dictionaries(keys, values, max_size=3), ttl=ttl_units)
    def set_many(self, mapping: dict[str, str], ttl: int | None) -> None:
        seconds = self.seconds(ttl)
        assert self.cache.set_many(mapping, seconds) == Success(None)
        for key, value in mapping.items():
            self.store(key, value, seconds)

    @rule(key=keys, obj=json_objects, ttl=ttl_units)
    def set_json(self, key: str, obj: dict[str, Any], ttl: int | None) -> None:
        seconds = self.seconds(ttl)
        assert self.cache.set_json(key, obj, seconds) == Success(None)
        self.store(key, json.dumps(obj, ensure_ascii=False, separators=(",", ":")), seconds)

    @rule(key=keys)
    def get(self, key: str) -> None:
        assert self.cache.get(key) == Success(self.value(key))

    @rule(some=st.lists(keys, max_size=4))
    def get_many(self, some: list[str]) -> None:
        assert self.cache.get_many(some) == Success({key: self.value(key) for key in some})

    @rule(key=keys)
    def get_json(self, key: str) -> None:
        result = self.cache.get_json(key)
        text = self.value(key)
        if text is None:
            assert result == Success(None)
            return
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            assert result == Success(decoded)
        else:
            refused(result, CacheSerializationError)

    @rule(key=keys)
    def exists(self, key: str) -> None:
        assert self.cache.exists(key) == Success(key in self.live())

    @rule(key=keys)
    def delete(self, key: str) -> None:
        existed = self.live().pop(key, None) is not None
        assert self.cache.delete(key) == Success(existed)

    @rule(key=keys, amount=amounts, down=st.booleans())
    def increment(self, key: str, amount: int, down: bool) -> None:
        if down:
            result, delta = self.cache.decrement(key, amount), -amount
        else:
            result, delta = self.cache.increment(key, amount), amount
        entry = self.live().get(key)
        if entry is None:
            assert result == Success(delta)
            self.store(key, str(delta), None)
            return
        current = as_int64(entry.value)
        if current is None or not INT64_MIN <= current + delta <= INT64_MAX:
            refused(result, CacheValueError)
            return
        assert result == Success(current + delta)
        entry.value = str(current + delta)  # the TTL stays as it was

    @rule(key=keys, units=st.integers(1, 5))
    def expire(self, key: str, units: int) -> None:
        seconds = units * self.ttl_unit
        entry = self.live().get(key)
        assert self.cache.expire(key, seconds) == Success(entry is not None)
        if entry is not None:
            entry.expires_at = self.now() + seconds

    def expected_ttl(self, key: str) -> int | None:
        entry = self.live().get(key)
        if entry is None or entry.expires_at is None:
            return None
        return max(1, math.ceil(entry.expires_at - self.now()))

    @rule(key=keys)
    def ttl(self, key: str) -> None:
        self.check_ttl(ok(self.cache.ttl(key)), self.expected_ttl(key))

    @rule(pattern=st.sampled_from(PATTERNS))
    def delete_pattern(self, pattern: str) -> None:
        raw = pattern.encode("utf-8")
        doomed = [key for key in self.live() if fnmatch.fnmatchcase(key.encode("utf-8"), raw)]
        assert self.cache.delete_pattern(pattern) == Success(len(doomed))
        for key in doomed:
            del self.model[key]

    @rule()
    def flush(self) -> None:
        assert self.cache.flush() == Success(None)
        self.model.clear()

    # -- after every step -----------------------------------------------------------------

    @invariant()
    def every_key_agrees(self) -> None:
        expected = {key: entry.value for key, entry in self.live().items()}
        stored = ok(self.cache.get_many(KEYS))
        assert {key: value for key, value in stored.items() if value is not None} == expected

    @invariant()
    def every_ttl_agrees(self) -> None:
        for key in KEYS:
            self.check_ttl(ok(self.cache.ttl(key)), self.expected_ttl(key))

    @invariant()
    def the_neighbour_is_untouched(self) -> None:
        if self.neighbour is not None:
            assert self.neighbour.get(NEIGHBOUR_KEY) == Success(NEIGHBOUR_VALUE)

    def teardown(self) -> None:
        self.cache.close()
        if self.neighbour is not None:
            self.neighbour.close()


class FakeClock:
    """Seconds that move only when told; quarter steps keep every sum exact in a float."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class MemoryCacheModel(CacheModel):
    """The in-memory adapter, on a clock the machine moves itself."""

    prefix: str | None = "n[s]*"

    def __init__(self) -> None:
        self.clock = FakeClock()
        cache = SyncInMemoryCache(clock=self.clock, key_prefix=self.prefix)
        neighbour = None
        if self.prefix is not None:
            neighbour = SyncInMemoryCache(store=cache.store, key_prefix="ns")
        super().__init__(cache, neighbour)

    def now(self) -> float:
        return self.clock.now

    def check_ttl(self, got: int | None, expected: int | None) -> None:
        assert got == expected

    @rule(seconds=st.sampled_from([0.25, 0.5, 1.0, 1.75, 2.0, 3.0, 5.0]))
    def advance_clock(self, seconds: float) -> None:
        self.clock.now += seconds

    @rule(key=keys, beyond=st.sampled_from([0.0, 0.25]))
    def reach_expiry(self, key: str, beyond: float) -> None:
        """Move the clock to exactly a key's expiry time, where it is still live, or just past."""
        entry = self.live().get(key)
        if entry is not None and entry.expires_at is not None:
            self.clock.now = entry.expires_at + beyond


@settings(max_examples=100, stateful_step_count=30, deadline=None)
class PrefixedMemoryCacheModel(MemoryCacheModel):
    """Keys under a prefix full of glob characters, next to a neighbouring namespace."""


@settings(max_examples=50, stateful_step_count=30, deadline=None)
class UnprefixedMemoryCacheModel(MemoryCacheModel):
    """Without a prefix, ``flush`` empties the whole store (no neighbour can survive it)."""

    prefix = None


TestPrefixedMemoryCache = PrefixedMemoryCacheModel.TestCase
TestUnprefixedMemoryCache = UnprefixedMemoryCacheModel.TestCase

# Slack for Redis TTLs: the server's clock runs while the machine does (a run takes well
# under a second), so a TTL may have shrunk by this much when it is read back.
REDIS_TTL_SLACK = 5


class RedisCacheModel(CacheModel):
    """The Redis adapter: TTLs of 1000-5000 s never expire during a run."""

    ttl_unit = 1000

    def __init__(self, url: str) -> None:
        super().__init__(
            SyncRedisCache(url, key_prefix="n[s]*"), SyncRedisCache(url, key_prefix="ns")
        )

    def now(self) -> float:
        return 0.0  # model time stands still; nothing set here expires within a run

    def check_ttl(self, got: int | None, expected: int | None) -> None:
        if expected is None:
            assert got is None
        else:
            assert got is not None, f"expected about {expected}s, got no TTL"
            assert expected - REDIS_TTL_SLACK <= got <= expected

    def teardown(self) -> None:
        # Leave the shared test database as this run found it.
        self.cache.flush()
        if self.neighbour is not None:
            self.neighbour.delete(NEIGHBOUR_KEY)
        super().teardown()


@pytest.mark.redis
def test_redis_adapter_follows_the_model(redis_url: str) -> None:
    class OnTheTestServer(RedisCacheModel):
        def __init__(self) -> None:
            super().__init__(redis_url)

    run_state_machine_as_test(
        OnTheTestServer,
        settings=settings(max_examples=60, stateful_step_count=30, deadline=None),
    )
