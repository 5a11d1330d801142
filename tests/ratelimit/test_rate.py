"""Limit strings (issue 15 item 5): the spellings flask-limiter and django-ratelimit users
write, lists of limits, weeks, months and years, ambiguous single letters refused with what to
write, and the product rule binding only the algorithms that multiply."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cache_bridge.adapters.memory import SyncInMemoryCache
from cache_bridge.engine.keys import MAX_TTL
from cache_bridge.errors import ConfigurationError
from cache_bridge.ratelimit import MAX_LIMIT, Rate, RateLimiter, parse_rate
from cache_bridge.ratelimit.rate import MONTH, WEEK, YEAR, parse_rates
from cache_bridge.ratelimit.settings import check_rates

DAY = 86400


@pytest.mark.parametrize(
    ("text", "limit", "period"),
    [
        ("5/w", 5, WEEK),
        ("5/week", 5, WEEK),
        ("5 per 2 weeks", 5, 2 * WEEK),
        ("1000 per month", 1000, 30 * DAY),
        ("1000/Months", 1000, 30 * DAY),
        ("3/mo", 3, 30 * DAY),
        ("1000000/year", 1_000_000, 365 * DAY),
        ("7/y", 7, 365 * DAY),
        ("10/MINUTE", 10, 60),
        ("10/Hour", 10, 3600),
        ("10 PER 2 Hours", 10, 7200),
        ("7 per minutes", 7, 60),
    ],
)
def test_long_periods_and_words_in_any_case(text: str, limit: int, period: int) -> None:
    assert parse_rate(text) == Rate(limit, period)


def test_a_year_is_365_days_a_month_30_and_a_week_7() -> None:
    # The documented choice (docs/ratelimit.md, "Rates"): limits counts a year as 360 days.
    assert (WEEK, MONTH, YEAR) == (7 * DAY, 30 * DAY, 365 * DAY)


@pytest.mark.parametrize("letter", ["M", "S", "H", "D", "W", "Y"])
def test_upper_case_single_letters_are_refused_with_what_to_write(letter: str) -> None:
    with pytest.raises(ConfigurationError, match=r"ambiguous rate .*'m' or 'minute'.*'month'"):
        parse_rate(f"100/{letter}")
    with pytest.raises(ConfigurationError, match=rf"write '{letter.lower()}'"):
        parse_rates(f"1/s; 100/{letter}")


@pytest.mark.parametrize(
    ("rates", "expected"),
    [
        ("200 per day;50 per hour", (Rate(200, DAY), Rate(50, 3600))),
        ("200 per day; 50 per hour", (Rate(200, DAY), Rate(50, 3600))),
        ("10/second, 100/minute", (Rate(10, 1), Rate(100, 60))),
        ("1/s|2/m|3/h", (Rate(1, 1), Rate(2, 60), Rate(3, 3600))),
        (["200/d", "50/h"], (Rate(200, DAY), Rate(50, 3600))),
        (["200/d; 50/h", Rate(1, 1)], (Rate(200, DAY), Rate(50, 3600), Rate(1, 1))),
        ((5, 60), (Rate(5, 60),)),
        ([(5, 60), "1/s"], (Rate(5, 60), Rate(1, 1))),
        (Rate(3, 4), (Rate(3, 4),)),
        ("100/m", (Rate(100, 60),)),
    ],
)
def test_lists_of_limits(rates: object, expected: tuple[Rate, ...]) -> None:
    assert parse_rates(rates) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rates", "message"),
    [
        ("200/d;;50/h", "empty entry"),
        ("200/d;", "empty entry"),
        ([], "at least one rate"),
        ([["1/s"]], "a rate must be a str"),
        ((True, 1), "a rate must be a str"),
        ("5/fortnight", "malformed rate"),
        ({"RATE": "1/s"}, "a rate must be a str"),
    ],
)
def test_wrong_lists_say_what_to_write(rates: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_rates(rates)  # type: ignore[arg-type]


def test_one_rate_where_one_is_expected_hints_at_a_list() -> None:
    with pytest.raises(ConfigurationError, match=r"holds several rates.*\['200/d', '50/h'\]"):
        parse_rate("200 per day;50 per hour")
    with pytest.raises(ConfigurationError, match="holds several rates"):
        RateLimiter(SyncInMemoryCache(), "200/d;50/h")


def test_common_yearly_and_monthly_quotas_work_with_fixed_windows() -> None:
    cache = SyncInMemoryCache()
    for text in ("1000000 per year", "1000000/month", "1000000 per 10 years"):
        limiter = RateLimiter(cache, text, name="plan", clock=lambda: 1_700_000_000.0)
        decision = limiter.hit("user:1")
        assert decision.allowed
        assert decision.remaining == 999_999


@pytest.mark.parametrize("algorithm", ["sliding-window", "token-bucket"])
def test_the_product_rule_names_itself_where_it_binds(algorithm: str) -> None:
    with pytest.raises(ConfigurationError, match=r"product rule.*use fixed-window"):
        RateLimiter(SyncInMemoryCache(), "1000000/year", algorithm=algorithm)
    with pytest.raises(ConfigurationError, match="too fine-grained"):
        check_rates("10/s; 1000000/year", algorithm)
    # Below the rule: 71,000 a year still fits both.
    RateLimiter(SyncInMemoryCache(), "71000/year", algorithm=algorithm)


limits_lib = pytest.importorskip("limits")


@pytest.mark.parametrize(
    "text",
    [
        "200 per day;50 per hour",
        "10/second, 100/minute",
        "5 per 2 hours|1/minute",
        "1 per month",
        "3/years",
        "7 per minutes",
        "10/Second",
    ],
)
def test_what_limits_parses_means_the_same_here_except_the_year(text: str) -> None:
    theirs = [(item.amount, item.get_expiry()) for item in limits_lib.parse_many(text)]
    ours = [(rate.limit, rate.period) for rate in parse_rates(text)]
    # limits' year is 360 days, ours 365.
    assert [(n, YEAR if s == 360 * DAY else s) for n, s in theirs] == ours


@given(
    limit=st.integers(1, MAX_LIMIT),
    unit=st.sampled_from([1, 60, 3600, DAY, WEEK, MONTH, YEAR]),
    multiple=st.integers(1, 20),
)
def test_a_rate_prints_back_to_itself(limit: int, unit: int, multiple: int) -> None:
    period = min(unit * multiple, MAX_TTL)
    rate = Rate(limit, period)
    assert parse_rate(str(rate)) == rate
    assert parse_rates(f"{rate}; {rate}") == (rate, rate)
