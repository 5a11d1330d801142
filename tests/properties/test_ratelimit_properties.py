"""Properties of the rate-limit state transitions over random request times."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from cache_bridge.engine.limit_algorithms import hit

_gaps = st.lists(st.integers(0, 3000), min_size=1, max_size=120)
_limits = st.integers(1, 9)
_periods = st.sampled_from([1000, 3000, 10_000])
_starts = st.integers(0, 10**12)


def _run(algorithm: str, limit: int, period: int, start: int, gaps: list[int]) -> list[int]:
    """The times of the allowed requests."""
    state: str | None = None
    now = start
    allowed = []
    for gap in gaps:
        now += gap
        outcome = hit(algorithm, state, limit, period, now)
        if outcome.allowed:
            allowed.append(now)
            state = outcome.state
        else:
            assert outcome.state is None  # a refusal writes nothing
            assert outcome.retry_ms >= 1
    return allowed


@given(_limits, _periods, _starts, _gaps)
def test_fixed_window_allows_exactly_limit_per_window(
    limit: int, period: int, start: int, gaps: list[int]
) -> None:
    asked: Counter[int] = Counter()
    now = start
    for gap in gaps:
        now += gap
        asked[now // period] += 1
    allowed = Counter(t // period for t in _run("fixed-window", limit, period, start, gaps))
    assert all(allowed[w] == min(limit, n) for w, n in asked.items())


@given(_limits, _periods, _starts, _gaps)
def test_sliding_window_never_exceeds_limit_in_an_aligned_window(
    limit: int, period: int, start: int, gaps: list[int]
) -> None:
    allowed = Counter(t // period for t in _run("sliding-window", limit, period, start, gaps))
    assert all(n <= limit for n in allowed.values())


@given(_limits, _periods, _starts, _gaps)
def test_token_bucket_allows_at_most_a_burst_plus_the_refill(
    limit: int, period: int, start: int, gaps: list[int]
) -> None:
    times = _run("token-bucket", limit, period, start, gaps)
    for i, first in enumerate(times):
        # In any span of d ms after an allowed request: at most limit + d * limit / period.
        for j in range(i, len(times)):
            span = times[j] - first
            assert j - i + 1 <= limit + span * limit // period


@given(_limits, _periods, _starts)
def test_token_bucket_steady_rate_is_always_allowed(limit: int, period: int, start: int) -> None:
    interval = -(-period // limit)  # a hair slower than the rate
    gaps = [0] + [interval] * 50
    assert len(_run("token-bucket", limit, period, start, gaps)) == 51
