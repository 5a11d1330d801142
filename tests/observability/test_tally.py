"""The shared tally (cache_bridge/observability/tally.py): every exporter is a view on one
tally of the process, so two of them cost a call one update; each counts only what happened
while it ran, and its runs add up."""

from __future__ import annotations

from cache_bridge import create_sync_cache
from cache_bridge.observability import RateLimitEvent, emit
from cache_bridge.observability import events as event_stream
from cache_bridge.observability.tally import TallyView
from cache_bridge.resilience.breaker import CircuitBreaker


def _calls(view: TallyView, prefix: str) -> dict[tuple[str, bool | None], float]:
    return {
        (op, hit): row[0]
        for (op, _, hit, origin), row in view.counts().calls.items()
        if origin.prefix == prefix
    }


def test_two_views_share_one_listener_and_count_their_own_windows() -> None:
    cache = create_sync_cache("memory://tally", key_prefix="t1")
    early, late = TallyView(), TallyView()
    before = len(event_stream.listeners)
    with early:
        cache.get("k")
        with late:
            assert len(event_stream.listeners) == before + 1  # one tally for both
            cache.get("k")
            emit(RateLimitEvent("api", allowed=False))
        cache.get("k")
    assert len(event_stream.listeners) == before
    assert _calls(early, "t1") == {("get", False): 3}
    assert _calls(late, "t1") == {("get", False): 1}
    assert late.counts().decisions == {("api", "refused", ""): 1}
    assert early.counts().decisions == {("api", "refused", ""): 1}


def test_runs_add_up_and_nothing_counts_between_them() -> None:
    cache = create_sync_cache("memory://tally", key_prefix="t2")
    view = TallyView()
    cache.set("k", "v")  # before any run
    with view:
        cache.get("k")
    cache.get("k")  # between runs
    with view:
        cache.get("k")
        cache.get("absent")
    assert _calls(view, "t2") == {("get", True): 2, ("get", False): 1}


def test_breaker_states_are_those_of_the_run() -> None:
    view = TallyView()
    old = CircuitBreaker(server="redis://tally-old:6379/0")
    old.failed()  # opened before the run: not this view's
    with view:
        breaker = CircuitBreaker(server="redis://tally-new:6379/0")
        breaker.failed()
    counts = view.counts()
    assert counts.open == {"redis://tally-new:6379/0": True}
    assert counts.transitions == {("redis://tally-new:6379/0", "open"): 1}


def test_breaker_labels_carry_no_user_name_as_call_labels() -> None:
    view = TallyView()
    with view:
        CircuitBreaker(server="redis://someone:***@tally-auth:6379/0").failed()
    assert view.counts().open == {"redis://tally-auth:6379/0": True}


def test_stampede_and_near_cache_events_count_in_their_views_windows() -> None:
    from cache_bridge.observability import NearCacheEvent, StampedeEvent
    from cache_bridge.observability.events import make_origin

    origin = make_origin("SyncRedisCache", "redis://tally:6379/0", "p")
    early, late = TallyView(), TallyView()
    with early:
        emit(StampedeEvent("computed", 0.5, origin, "k"))
        with late:
            emit(StampedeEvent("computed", 0.25, origin, "k"))
            emit(StampedeEvent("fresh", None, origin, "k"))
            emit(NearCacheEvent("invalidation", 3, "redis://u:pw@tally:6379/0"))
        emit(NearCacheEvent("hit", 1, "redis://tally:6379/0"))
    computed = ("computed", "redis://tally:6379/0", "p")
    fresh = ("fresh", "redis://tally:6379/0", "p")
    assert early.counts().stampede == {computed: 2, fresh: 1}
    assert late.counts().stampede == {computed: 1, fresh: 1}
    assert late.counts().compute_seconds == {computed: 0.25}
    assert early.counts().compute_seconds == {computed: 0.75}
    # the server label never carries credentials
    assert late.counts().near == {("invalidation", "redis://tally:6379/0"): 3}
    assert early.counts().near == {
        ("invalidation", "redis://tally:6379/0"): 3,
        ("hit", "redis://tally:6379/0"): 1,
    }
