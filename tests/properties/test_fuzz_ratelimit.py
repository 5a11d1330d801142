"""Rate limiting with hostile input: rate strings, key values, and the framework decorators.

A rate is parsed into a :class:`Rate` or refused with a ``ConfigurationError`` naming the
rate; a key of any value gets a :class:`Decision` (never an exception); the Django and Flask
decorators refuse a bad rate when the app is set up, not on the first request.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pytest_django import Settings as SettingsWrapper

from cache_bridge.adapters.memory import InMemoryCache, SyncInMemoryCache
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.engine.keys import MAX_TTL
from cache_bridge.errors import CacheError, CacheInvalidArgumentError, ConfigurationError
from cache_bridge.ratelimit import (
    MAX_LIMIT,
    AsyncRateLimiter,
    Decision,
    Rate,
    RateLimiter,
    parse_rate,
)
from cache_bridge.ratelimit.rate import parse_rates
from django_cache_bridge.ratelimit import ratelimit
from flask_cache_bridge import CacheBridge
from tests.support.fuzz_values import anything, hostile_text, huge_text

FUZZ = hypothesis_settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
UNITS = ["s", "m", "h", "d", "sec", "min", "hour", "days", "minute", "S", "M", "Hours", "w", ""]
SEPARATORS = ["/", " / ", " per ", "per ", "//", "-", " ", "\t/\n"]

# Rate-like text: digit runs (with leading zeros, signs and other scripts' digits), every
# unit and near-unit, several separators, surrounding space.
digits = st.from_regex(r"[-+]?[0-9]{1,25}", fullmatch=True) | st.sampled_from(["", "\u0663", "1_0"])
rate_like = st.builds(
    lambda count, sep, multiple, unit, pad: f"{pad}{count}{sep}{multiple}{unit}{pad}",
    digits,
    st.sampled_from(SEPARATORS),
    st.sampled_from(["", "0", "10", "1.5"]) | digits,
    st.sampled_from(UNITS) | st.text(max_size=3),
    st.sampled_from(["", " ", "\n", "\0"]),
)


def check_rate_outcome(text: object) -> None:
    """``parse_rate(text)`` is a valid Rate that prints back to itself, or a ConfigurationError
    whose message speaks of the rate."""
    try:
        rate = parse_rate(text)  # type: ignore[arg-type]
    except ConfigurationError as exc:
        message = str(exc)
    else:
        message = ""
    if message:
        assert "rate" in message
        return
    assert 1 <= rate.limit <= MAX_LIMIT
    assert 1 <= rate.period <= MAX_TTL
    assert parse_rate(str(rate)) == rate


@FUZZ
@given(text=rate_like | hostile_text)
def test_any_text_is_a_rate_or_a_configuration_error(text: str) -> None:
    check_rate_outcome(text)


def _printable(value: object) -> bool:
    # Integers past Python's 4,300-digit printing limit: test_a_rate_with_thousands_of_digits.
    try:
        repr(value)
    except ValueError:
        return False
    return True


@FUZZ
@given(value=anything.filter(_printable))
def test_any_object_is_a_rate_or_a_configuration_error(value: object) -> None:
    check_rate_outcome(value)


@pytest.mark.parametrize(
    "make",
    [
        lambda: parse_rate("1" * 5000 + "/s"),
        lambda: parse_rate("5/" + "1" * 5000 + "s"),
        lambda: parse_rate(10**5000),  # type: ignore[arg-type]
        lambda: Rate(10**5000, 1),
    ],
    ids=["count", "period", "int", "Rate"],
)
def test_a_rate_with_thousands_of_digits_is_a_configuration_error(make: Any) -> None:
    with pytest.raises(ConfigurationError, match="rate"):
        make()


# -- key values -------------------------------------------------------------------------------


def _valid_key(key: object) -> bool:
    if type(key) is not str:
        return False
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


keys = hostile_text | huge_text | anything
#: Keys longer than this are stored as their SHA-256 (cache_bridge.ratelimit.limiter).
LONGEST_PLAIN_KEY = 200


@pytest.fixture(params=["memory-sync", "memory-async", "redis-sync", "redis-async"])
def limiters(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[Any, Any, redis.Redis | None]]:
    """A fail-open and a fail-closed limiter over one adapter, a way to call them, and the raw
    client of the Redis database (None for memory)."""
    kind: str = request.param
    client: redis.Redis | None = None
    if kind.startswith("redis"):
        client = request.getfixturevalue("redis_client")
        url = request.getfixturevalue("redis_url")
    runner = asyncio.Runner()
    adapter: Any
    if kind == "memory-sync":
        adapter = SyncInMemoryCache(f"memory://rl-{uuid.uuid4().hex}")
    elif kind == "memory-async":
        adapter = InMemoryCache(f"memory://rl-{uuid.uuid4().hex}")
    elif kind == "redis-sync":
        adapter = SyncRedisCache(url)
    else:
        adapter = RedisCache(url)
    face = AsyncRateLimiter if kind.endswith("async") else RateLimiter
    pair = [face(adapter, "3/m", name=f"fail-{o}", fail_open=o) for o in (True, False)]

    def hit(limiter: Any, key: object) -> Decision:
        decision = limiter.hit(key)
        return runner.run(decision) if asyncio.iscoroutine(decision) else decision  # type: ignore[no-any-return]

    yield pair, hit, client
    if kind.endswith("async"):
        runner.run(adapter.aclose())
    else:
        adapter.close()
    runner.close()


def test_every_key_value_gets_a_decision(limiters: tuple[Any, Any, redis.Redis | None]) -> None:
    pair, hit, client = limiters

    @FUZZ
    @given(key=keys)
    def run(key: object) -> None:
        for limiter in pair:
            decision = hit(limiter, key)
            assert isinstance(decision, Decision)
            if _valid_key(key):
                assert decision.error is None, decision.error
                assert decision.remaining < 3
            elif decision.error is not None:
                # Non-str keys are counted under their text today, or refused (see
                # test_a_key_that_is_not_text_is_refused_as_bad_input): either way a decision.
                assert isinstance(decision.error, CacheError)
                assert decision.allowed is limiter.policy.fail_open
        if client is not None:
            assert all(k.startswith(b"ratelimit:fail-") for k in client.scan_iter(count=1000))

    run()


@pytest.mark.parametrize("key", [None, 5, b"203.0.113.7", ("a",)], ids=repr)
def test_a_key_that_is_not_text_is_refused_as_bad_input(key: object) -> None:
    decision = RateLimiter(SyncInMemoryCache(), "3/m").hit(key)  # type: ignore[arg-type]
    assert isinstance(decision.error, CacheInvalidArgumentError)
    assert "key" in decision.error.message
    assert "str" in decision.error.message


def ok_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


# -- the framework decorators -----------------------------------------------------------------

#: Values no decorator may accept as a rate. A callable (``int``, ``len`` among the hostile
#: objects) is a dynamic rate, checked per request, so it is not one of them.
hostile_rates = (rate_like | hostile_text | anything.filter(_printable)).filter(
    lambda r: not isinstance(r, Rate) and not callable(r)
)


@pytest.mark.parametrize("rate", [int, len], ids=repr)
def test_a_callable_is_accepted_as_a_dynamic_rate(rate: object) -> None:
    CacheBridge().limit(rate)
    ratelimit(rate, name="dynamic")(ok_view)


def _is_rate(value: object) -> bool:
    try:
        parse_rates(value)  # type: ignore[arg-type]
    except ConfigurationError:
        return False
    return True


@FEW
@given(rate=hostile_rates)
def test_flask_refuses_a_bad_rate_when_the_view_is_decorated(rate: object) -> None:
    bridge = CacheBridge()
    if _is_rate(rate):
        bridge.limit(rate)
        return
    with pytest.raises(ConfigurationError, match=r"bridge\.limit: .*rate"):
        bridge.limit(rate)


@FEW
@given(rate=hostile_rates)
def test_flask_refuses_a_bad_default_limit_at_init_app(rate: object) -> None:
    from flask import Flask

    app = Flask("fuzz_rates")
    app.config["CACHE_BRIDGE_RATELIMIT"] = {"DEFAULT_LIMITS": [rate]}
    bridge = CacheBridge()
    if _is_rate(rate):
        bridge.init_app(app)
        bridge.close(app)
        return
    with pytest.raises(ConfigurationError, match=r"DEFAULT_LIMITS'\]\[0\]"):
        bridge.init_app(app)


@pytest.mark.parametrize("rate", ["garbage", "0/m", "5/fortnight", "", "10/\ud800"])
def test_django_refuses_a_bad_rate_when_the_view_is_decorated(rate: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="rate"):
        ratelimit(rate)(ok_view)


def test_django_refuses_a_bad_rate_with_a_clear_message(
    settings: SettingsWrapper,
) -> None:
    """Decorating the view raises, naming the view and the rate."""
    settings.CACHE_BRIDGE_RATELIMIT = {}

    @FEW
    @given(rate=hostile_rates.filter(lambda r: not _is_rate(r)))
    def run(rate: object) -> None:
        with pytest.raises(ImproperlyConfigured, match=r"@ratelimit on fuzzed: .*rate"):
            ratelimit(rate, name="fuzzed")(ok_view)

    run()


@pytest.mark.parametrize("face", ["sync", "async"])
def test_django_key_functions_may_return_anything(settings: SettingsWrapper, face: str) -> None:
    """Whatever a key callable returns, the view answers 200 or 429: ``None`` is not counted,
    other values count under their text, and text no store takes fails open."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_cache_bridge.cache.BridgeCache",
            "LOCATION": f"memory://rl-{uuid.uuid4().hex}",
        }
    }
    settings.CACHE_BRIDGE_RATELIMIT = {}
    returned: list[object] = [None]

    def key(request: HttpRequest) -> object:
        return returned[0]

    if face == "sync":
        call = ratelimit("1/m", key=key, name=f"keys-{face}")(ok_view)
    else:

        async def handler(request: HttpRequest) -> HttpResponse:
            return HttpResponse("ok")

        aview = ratelimit("1/m", key=key, name=f"keys-{face}")(handler)

        def call(request: HttpRequest) -> Any:
            return runner.run(aview(request))

    runner = asyncio.Runner()

    @FEW
    @given(value=keys.filter(_printable))
    def run(value: object) -> None:
        returned[0] = value
        codes = [call(RequestFactory().get("/")).status_code for _ in range(2)]
        if value is None:
            assert codes == [200, 200]
            return
        text = str(value)
        if _valid_key(text) or len(text) > LONGEST_PLAIN_KEY:  # long keys are hashed
            assert codes[1] == 429
        else:
            assert codes == [200, 200]  # the store refuses the key: fail open

    with runner:
        run()


def test_flask_key_functions_may_return_anything() -> None:
    """As for Django: ``None`` is not counted, other values count under their text, text no
    store takes fails open; the view always answers 200 or 429."""
    from flask import Flask

    app = Flask("fuzz_keys")
    app.config["CACHE_BRIDGE_URL"] = f"memory://rl-{uuid.uuid4().hex}"
    bridge = CacheBridge(app)
    returned: list[object] = [None]

    @app.route("/")
    @bridge.limit("1/m", key=lambda: returned[0])
    def index() -> str:
        return "ok"

    client = app.test_client()

    @FEW
    @given(value=keys.filter(_printable))
    def run(value: object) -> None:
        returned[0] = value
        codes = [client.get("/").status_code for _ in range(2)]
        if value is None:
            assert codes == [200, 200]
            return
        text = str(value)
        if _valid_key(text) or len(text) > LONGEST_PLAIN_KEY:
            assert codes[1] == 429
        else:
            assert codes == [200, 200]

    try:
        run()
    finally:
        bridge.close(app)
