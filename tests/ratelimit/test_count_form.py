"""The count form of a fixed window on Redis (lua/rate_limit.lua): a limit on the server's
clock keeps its window's count as an integer under a key of its own that expires at the
window's end, so a check is an ``INCRBY`` and reads no clock but for a new window. Its
decisions, its expiry, its numbers with this process's clock off the server's, limiters
given a clock, refunds, a server out of memory, and the same key reached through the group
path, all on test-started servers."""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterator

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_bridge.adapters.memory import SyncInMemoryCache
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.engine.commands import LimitEntry
from cache_bridge.ratelimit import AsyncRateLimiter, RateLimiter, ahit_all, hit_all, refund
from cache_bridge.ratelimit.steps import counted_reply
from cache_bridge.testing import RedisServer

pytestmark = pytest.mark.redis

#: A day: no test here runs across one of its (UTC-aligned) windows but by a very rare chance,
#: which the assertions on the window's end would then report.
DAY_MS = 86_400_000
#: A fresh limit name for each example of the property test.
_EXAMPLES = itertools.count()


@pytest.fixture
def cache(redis_url: str) -> Iterator[SyncRedisCache]:
    with SyncRedisCache(redis_url, key_prefix="cf") as adapter:
        yield adapter


def _server_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def _stored(client: redis.Redis, limiter: RateLimiter, key: str) -> bytes | None:
    found = client.get(f"cf:{limiter.policy.storage_key(key)}")
    return found if isinstance(found, bytes) else None


def test_the_count_is_an_integer_expiring_at_the_servers_window_end(
    cache: SyncRedisCache, redis_client: redis.Redis
) -> None:
    limiter = RateLimiter(cache, "5/d", name="count")
    decisions = [limiter.hit("client") for _ in range(7)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0, 0]
    # A refused request counts nothing: the count stays at the limit.
    assert _stored(redis_client, limiter, "client") == b"5"
    now = _server_ms(redis_client)
    window_end = (now // DAY_MS + 1) * DAY_MS
    ttl = redis_client.pttl(f"cf:{limiter.policy.storage_key('client')}")
    assert abs((now + ttl) - window_end) < 2000
    # The reset and the retry are the window's end, read on this process's clock.
    assert abs(decisions[0].reset_after * 1000 - (window_end - now)) < 2000
    assert decisions[-1].retry_after == decisions[-1].reset_after > 0
    assert decisions[0].counted
    assert not decisions[-1].counted


def test_costs_count_in_units_and_a_refused_cost_counts_nothing(
    cache: SyncRedisCache, redis_client: redis.Redis
) -> None:
    limiter = RateLimiter(cache, "5/d", name="units")
    seen = [(d.allowed, d.remaining) for d in (limiter.hit("c", cost) for cost in (3, 3, 2, 1))]
    assert seen == [(True, 2), (False, 2), (True, 0), (False, 0)]
    assert _stored(redis_client, limiter, "c") == b"5"


def test_peek_and_force_through_a_group_of_one(
    cache: SyncRedisCache, redis_client: redis.Redis
) -> None:
    limiter = RateLimiter(cache, "2/d", name="modes")
    # deduct_when's two steps: a peek decides without counting, a force counts regardless.
    peeked = hit_all([(limiter, "c", 1, "peek")])[0]
    assert (peeked.allowed, peeked.remaining, peeked.counted) == (True, 2, False)
    assert _stored(redis_client, limiter, "c") is None
    forced = [hit_all([(limiter, "c", 2, "force")])[0] for _ in range(2)]
    assert [d.allowed for d in forced] == [True, True]
    assert _stored(redis_client, limiter, "c") == b"4"
    late = hit_all([(limiter, "c", 1, "peek")])[0]
    assert (late.allowed, late.remaining) == (False, 0)


def test_a_limiter_given_a_clock_counts_apart(
    cache: SyncRedisCache, redis_client: redis.Redis
) -> None:
    """The count form has state keys of its own: a limiter given a clock (the older 'WINDOW
    COUNT' form, as every version before the count form wrote) never reads nor resets it."""
    now = _server_ms(redis_client) / 1000
    served = RateLimiter(cache, "3/d", name="mixed")
    clocked = RateLimiter(cache, "3/d", name="mixed", clock=lambda: now)
    assert served.policy.storage_key("c") != clocked.policy.storage_key("c")
    assert [served.hit("c").allowed for _ in range(4)] == [True, True, True, False]
    assert [clocked.hit("c").allowed for _ in range(4)] == [True, True, True, False]
    assert served.hit("c").allowed is False
    assert _stored(redis_client, served, "c") == b"3"


@pytest.mark.parametrize("skew", [-2.0, 2.0])
def test_the_numbers_are_the_servers_with_this_clock_off_by_seconds(
    cache: SyncRedisCache, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch, skew: float
) -> None:
    """The window's end is the count's expiry, whatever this process's clock says; and the
    decision's receipt names the server's window, so a refund finds it."""
    real = time.time
    monkeypatch.setattr("cache_bridge.ratelimit.steps.time.time", lambda: real() + skew)
    limiter = RateLimiter(cache, "2/d", name=f"skew{skew}")
    first = limiter.hit("c")
    ttl = redis_client.pttl(f"cf:{limiter.policy.storage_key('c')}")
    assert abs(first.reset_after * 1000 - ttl) < 100
    second, refused = limiter.hit("c"), limiter.hit("c")
    assert refused.allowed is False
    assert abs(refused.retry_after * 1000 - ttl) < 200
    assert first.receipt is not None
    assert first.receipt[1] // DAY_MS == _server_ms(redis_client) // DAY_MS
    refund([(limiter, second)])
    assert _stored(redis_client, limiter, "c") == b"1"


def test_a_server_out_of_memory_fails_the_check_and_keeps_the_count() -> None:
    """Under ``maxmemory`` with ``noeviction`` the INCRBY is refused: the check fails, as any
    cache failure does (here it fails closed), and the count is untouched."""
    with RedisServer() as server, SyncRedisCache(server.url, breaker_threshold=0) as cache:
        client = redis.Redis.from_url(server.url)
        limiter = RateLimiter(cache, "3/d", name="full", fail_open=False)
        assert [limiter.hit("c").allowed for _ in range(4)] == [True, True, True, False]
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", "1")
        try:
            decisions = [limiter.hit("c") for _ in range(3)]
        finally:
            client.config_set("maxmemory", "0")
        assert all(d.failed and not d.allowed for d in decisions)
        assert client.get(f"{limiter.policy.storage_key('c')}") == b"3"
        client.close()


def test_a_refund_takes_back_the_count_of_this_window_only(
    cache: SyncRedisCache, redis_client: redis.Redis
) -> None:
    limiter = RateLimiter(cache, "3/d", name="refund")
    first, second = limiter.hit("c"), limiter.hit("c")
    refund([(limiter, second)])
    assert _stored(redis_client, limiter, "c") == b"1"
    # A receipt from a window that is over takes nothing from this one's count.
    receipt = first.receipt
    assert receipt is not None
    old = dataclasses.replace(first, receipt=(receipt[0], receipt[1] - DAY_MS))
    refund([(limiter, old)])
    assert _stored(redis_client, limiter, "c") == b"1"


def test_the_group_path_and_the_single_check_share_one_count(
    cache: SyncRedisCache, redis_client: redis.Redis
) -> None:
    per_day = RateLimiter(cache, "4/d", name="day")
    other = RateLimiter(cache, "100/d", name="wide")
    for _ in range(2):
        assert all(d.allowed for d in hit_all([(per_day, "c"), (other, "c")]))
    assert _stored(redis_client, per_day, "c") == b"2"  # the loop writes the count form too
    assert per_day.hit("c").remaining == 1
    assert [d.allowed for d in hit_all([(per_day, "c"), (other, "c")])] == [True, True]
    refused = hit_all([(per_day, "c"), (other, "c")])
    assert [d.allowed for d in refused] == [False, True]
    assert _stored(redis_client, other, "c") == b"3"  # the refused request cost it nothing
    ttl = redis_client.pttl(f"cf:{per_day.policy.storage_key('c')}")
    assert 0 < ttl <= DAY_MS


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.integers(1, 6),
    steps_=st.lists(
        st.tuples(st.integers(0, 4), st.sampled_from(["hit", "hit", "peek", "force"])),
        min_size=1,
        max_size=12,
    ),
)
def test_the_count_form_decides_as_the_memory_store_and_a_counter(
    cache: SyncRedisCache, limit: int, steps_: list[tuple[int, str]]
) -> None:
    """Against the memory store's rules (the Python transitions, engine/limit_algorithms.py)
    and a plain counter: allowed when the count plus the cost fits (force: always), counted
    when allowed and not a peek, remaining what is left after it."""
    name = f"prop-{next(_EXAMPLES)}"
    limiter = RateLimiter(cache, f"{limit}/d", name=name)
    memory = RateLimiter(SyncInMemoryCache(), f"{limit}/d", name=name)
    count = 0
    for cost, mode in steps_:
        if cost > limit:
            continue  # refused at the client, never sent (tests/ratelimit/test_cost.py)
        decision = hit_all([(limiter, "c", cost, mode)])[0]
        oracle = hit_all([(memory, "c", cost, mode)])[0]
        seen = (decision.allowed, decision.remaining, decision.counted)
        assert seen == (oracle.allowed, oracle.remaining, oracle.counted), (count, cost, mode)
        allowed = count + cost <= limit or mode == "force"
        assert decision.allowed == allowed, (count, cost, mode)
        assert decision.counted == (allowed and mode != "peek")
        if decision.counted:
            count += cost
        assert decision.remaining == max(0, limit - count)
        assert 0 < decision.reset_after <= DAY_MS / 1000


async def test_the_async_face_keeps_the_same_count(
    redis_url: str, redis_client: redis.Redis
) -> None:
    cache = RedisCache(redis_url, key_prefix="cf")
    try:
        limiter = AsyncRateLimiter(cache, "2/d", name="async")
        seen = [(await limiter.hit("c")).allowed for _ in range(3)]
        grouped = await ahit_all([(limiter, "c", 1, "peek")])
    finally:
        await cache.aclose()
    assert seen == [True, True, False]
    assert (grouped[0].allowed, grouped[0].remaining) == (False, 0)
    assert redis_client.get(f"cf:{limiter.policy.storage_key('c')}") == b"2"


_GROUP_MODES = st.sampled_from(["hit", "hit", "hit", "peek", "force"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limits=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    requests=st.lists(
        st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), _GROUP_MODES), max_size=4),
        min_size=1,
        max_size=8,
    ),
)
def test_a_group_in_the_count_form_decides_as_the_memory_store(
    cache: SyncRedisCache,
    redis_client: redis.Redis,
    limits: list[int],
    requests: list[list[tuple[int, int, str]]],
) -> None:
    """Stacked fixed windows on the server's clock: the whole group in the count form (one
    ``{n, pttl}`` per limit), all or nothing, with the same decisions as the memory store's
    rules, whatever the mix of modes and costs and a limit named twice in one check."""
    prefix = f"grp-{next(_EXAMPLES)}"
    ours = [RateLimiter(cache, f"{n}/d", name=f"{prefix}-{i}") for i, n in enumerate(limits)]
    memory = SyncInMemoryCache()  # one store: a group on two adapters is decided in parts
    oracle = [RateLimiter(memory, f"{n}/d", name=f"{prefix}-{i}") for i, n in enumerate(limits)]
    counts = [0] * len(limits)
    for request in requests:
        picked = [(i % len(limits), cost, mode) for i, cost, mode in request]
        if len(picked) < 2 or any(cost > limits[i] for i, cost, _ in picked):
            continue  # a group of one is the single form; a cost over its limit never sent
        got = hit_all([(ours[i], "c", cost, mode) for i, cost, mode in picked])
        want = hit_all([(oracle[i], "c", cost, mode) for i, cost, mode in picked])
        seen = [(d.allowed, d.remaining, d.counted, d.failed) for d in got]
        assert seen == [(d.allowed, d.remaining, d.counted, False) for d in want], picked
        assert all(0 < d.reset_after <= DAY_MS / 1000 for d in got)
        for (i, cost, _), decision in zip(picked, got, strict=True):
            counts[i] += cost if decision.counted else 0
    for i, limiter in enumerate(ours):  # what was counted, each count with its expiry
        key = f"cf:{limiter.policy.storage_key('c')}"
        assert int(redis_client.get(key) or 0) == counts[i]
        assert redis_client.pttl(key) > 0 or not redis_client.exists(key)


def test_a_group_in_the_count_form_is_one_integer_per_limit() -> None:
    """Three stacked fixed windows: INCRBYs on integer counts (no state string read or
    written); a refusal by one is taken back from all."""
    with RedisServer() as server, SyncRedisCache(server.url, key_prefix="cf") as cache:
        client = redis.Redis.from_url(server.url)
        a, b, c = (RateLimiter(cache, f"{n}/d", name=f"stack{n}") for n in (5, 2, 9))
        for _ in range(2):
            assert all(d.allowed for d in hit_all([(a, "k"), (b, "k"), (c, "k")]))
        refused = hit_all([(a, "k"), (b, "k"), (c, "k")])
        assert [(d.allowed, d.remaining, d.counted) for d in refused] == [
            (True, 3, False),
            (False, 0, False),
            (True, 7, False),
        ]
        assert [_stored(client, lim, "k") for lim in (a, b, c)] == [b"2", b"2", b"2"]
        stats = client.info("commandstats")
        assert stats["cmdstat_incrby"]["calls"] == 9
        assert stats["cmdstat_decrby"]["calls"] == 3  # b's at once, then a's and c's
        assert "cmdstat_set" not in stats
        client.close()


def test_a_refused_group_leaves_no_count_it_created() -> None:
    """A group refused by one limit writes nothing, as the state-string path: the counts it
    created for the other limits (new clients under an exhausted global limit) are removed,
    not left at 0 until their window ends."""
    with RedisServer() as server, SyncRedisCache(server.url, key_prefix="cf") as cache:
        client = redis.Redis.from_url(server.url)
        everyone = RateLimiter(cache, "1/d", name="global")
        per_ip = RateLimiter(cache, "10/d", name="per-ip")
        assert all(d.allowed for d in hit_all([(everyone, "all"), (per_ip, "10.0.0.1")]))
        keys = client.dbsize()
        for n in range(2, 12):
            decisions = hit_all([(per_ip, f"10.0.0.{n}"), (everyone, "all")])
            assert [d.allowed for d in decisions] == [True, False]
            assert [d.remaining for d in decisions] == [10, 0]
        assert client.dbsize() == keys
        # A limit named twice over a new key: taken back to no key, in reverse order.
        twice = hit_all([(per_ip, "10.0.0.99"), (per_ip, "10.0.0.99"), (everyone, "all")])
        assert [d.allowed for d in twice] == [True, True, False]
        assert client.dbsize() == keys
        client.close()


def test_a_value_that_is_not_a_count_counts_as_none(
    cache: SyncRedisCache, redis_client: redis.Redis
) -> None:
    """As the state-string path reads a state that does not parse: no count. The check goes
    on (nothing counted twice by a failed script), and the key holds the new count with its
    expiry."""
    a, b = RateLimiter(cache, "5/d", name="sound"), RateLimiter(cache, "5/d", name="garbled")
    bad = f"cf:{b.policy.storage_key('k')}"
    for checks in ([(a, "k"), (b, "k")], [(b, "k")]):
        redis_client.set(bad, "not-a-count", px=60_000)
        decisions = hit_all(checks)
        assert all(d.allowed and d.counted and not d.failed for d in decisions)
        assert redis_client.get(bad) == b"1"
        assert 0 < redis_client.pttl(bad) <= DAY_MS
    assert _stored(redis_client, a, "k") == b"1"
    redis_client.set(bad, "garbled", px=60_000)
    (peeked,) = hit_all([(b, "k", 1, "peek")])
    assert (peeked.allowed, peeked.remaining, peeked.failed) == (True, 5, False)


def test_a_key_of_another_type_fails_the_check_and_counts_nothing(
    cache: SyncRedisCache, redis_client: redis.Redis
) -> None:
    """A list at a count's key (written by something else): the check fails (here it fails
    open) and the limits before it in the group keep the count they had."""
    a, b = RateLimiter(cache, "5/d", name="before"), RateLimiter(cache, "5/d", name="listed")
    assert a.hit("k").allowed
    redis_client.rpush(f"cf:{b.policy.storage_key('k')}", "x")
    decisions = hit_all([(a, "k"), (b, "k")])
    assert all(d.failed for d in decisions)
    assert _stored(redis_client, a, "k") == b"1"


@pytest.mark.parametrize("skew_ms", [-300, 0, 300])
@pytest.mark.parametrize("mode", ["hit", "force", "peek"])
def test_a_reply_in_the_windows_last_millisecond_names_that_window(
    monkeypatch: pytest.MonkeyPatch, skew_ms: int, mode: str
) -> None:
    """Redis answers PTTL 0 through a key's last millisecond: the decision is still of that
    window (its time before the window's end, so a refund in the next window finds nothing
    of it), and it resets in a millisecond, not at once."""
    period = 60_000
    end = 1_800_000_000_000 // period * period
    monkeypatch.setattr("cache_bridge.ratelimit.steps.time.time", lambda: (end + skew_ms) / 1000)
    entry = LimitEntry("k", "fixed-window", 5, period, None, 1, mode)
    for n in (3, -4):  # counted, and not counted
        _, _, reset_ms, _, _, now = counted_reply(entry, [n, 0])
        assert now // period == end // period - 1, (n, now - end)
        assert reset_ms == 1
    if mode != "force":  # a refusal in that millisecond: retry after it
        refused = counted_reply(entry, [-6 if mode == "hit" else 5, 0])
        assert (refused[0], refused[3]) == (0, 1)
