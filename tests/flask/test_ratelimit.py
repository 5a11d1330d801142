"""Rate limits in Flask (flask_cache_bridge.limits) with Flask's test client: route limits,
default limits, exemptions, keys, trusted proxies, headers, 429 through the error handler,
and the failure policy with Redis unreachable."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask, request
from flask.testing import FlaskClient

from cache_bridge import ConfigurationError, SyncCacheProtocol
from cache_bridge.adapters.memory import SyncInMemoryCache
from cache_bridge.adapters.redis import SyncRedisCache
from cache_bridge.testing.redis_server import free_port
from flask_cache_bridge.limits import (
    RateLimitExceeded,
    decisions,
    exempt,
    install_limits,
    limit,
    make_limit,
    read_limit_settings,
)
from tests.support.clocks import ManualClock

START = 1_700_006_400.0  # the start of a minute


class Clock(ManualClock):
    start = START


def limited(rate: str, **options: Any) -> Callable[[Any], Any]:
    built = make_limit("test", rate, **options)
    return lambda view: limit(view, built)


def build(cache: SyncCacheProtocol, **setting: Any) -> Flask:
    app = Flask("ratelimit_app")
    app.config["TESTING"] = True
    app.config["CACHE_BRIDGE_RATELIMIT"] = setting
    install_limits(app, lambda: cache)

    @app.route("/open")
    def open_view() -> str:
        return "open"

    @app.route("/two")
    @limited("2/m")
    def two() -> str:
        return "two"

    @app.route("/async")
    @limited("1/m", algorithm="token-bucket")
    async def async_view() -> str:
        return "async"

    @app.route("/posts", methods=["GET", "POST"])
    @limited("1/m", methods=["POST"])
    def posts() -> str:
        return "posts"

    @app.route("/keyed")
    @limited("1/m", key="header:X-Api-Key")
    def keyed() -> str:
        return "keyed"

    @app.route("/tenant")
    @limited("1/m", key=lambda: request.args.get("tenant"))
    def tenant() -> str:
        return "tenant"

    @app.route("/user")
    @limited("1/m", key="user")
    def user() -> str:
        return "user"

    @exempt
    @app.route("/exempt")
    def exempt_view() -> str:
        return "exempt"

    @app.route("/exempt-own")
    @exempt
    @limited("1/m")
    def exempt_own() -> str:
        return "exempt-own"

    @app.route("/seen")
    @limited("5/m", name="seen")
    def seen() -> dict[str, Any]:
        return {"remaining": [d.remaining for d in decisions()]}

    return app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def memory(clock: Clock) -> Iterator[SyncInMemoryCache]:
    cache = SyncInMemoryCache(clock=clock)
    yield cache
    cache.close()


@pytest.fixture
def client(memory: SyncInMemoryCache) -> FlaskClient:
    return build(memory).test_client()


def codes(client: FlaskClient, path: str, n: int, **kw: Any) -> list[int]:
    return [client.get(path, **kw).status_code for _ in range(n)]


def test_a_route_limit_with_headers_on_200_and_429(client: FlaskClient, clock: Clock) -> None:
    first = client.get("/two")
    assert first.status_code == 200
    name = "two"  # the endpoint
    assert first.headers["RateLimit-Policy"] == f'"{name}";q=2;w=60'
    assert first.headers["RateLimit"] == f'"{name}";r=1;t=60'
    clock.now += 15
    assert client.get("/two").status_code == 200
    denied = client.get("/two")
    assert denied.status_code == 429
    assert denied.headers["Retry-After"] == "45"
    assert denied.headers["RateLimit"] == f'"{name}";r=0;t=45'
    assert codes(client, "/open", 5) == [200] * 5
    assert "RateLimit" not in client.get("/open").headers
    clock.now = START + 60
    assert client.get("/two").status_code == 200


def test_async_views_methods_and_keys(client: FlaskClient) -> None:
    assert codes(client, "/async", 2) == [200, 429]
    assert codes(client, "/posts", 3) == [200] * 3
    assert [client.post("/posts").status_code for _ in range(2)] == [200, 429]
    assert codes(client, "/keyed", 3) == [200] * 3  # no header: not limited
    assert codes(client, "/keyed", 2, headers={"X-Api-Key": "a"}) == [200, 429]
    assert codes(client, "/keyed", 1, headers={"X-Api-Key": "b"}) == [200]
    assert codes(client, "/tenant?tenant=x", 2) == [200, 429]
    assert codes(client, "/tenant?tenant=y", 1) == [200]
    assert client.get("/seen").get_json() == {"remaining": [4]}


def test_user_keys_use_the_configured_user_id(memory: SyncInMemoryCache) -> None:
    app = build(memory, USER_ID=lambda: request.headers.get("X-User"))
    client = app.test_client()
    assert codes(client, "/user", 3) == [200] * 3  # anonymous: not counted
    assert codes(client, "/user", 2, headers={"X-User": "7"}) == [200, 429]
    assert codes(client, "/user", 1, headers={"X-User": "8"}) == [200]


def test_default_limits_count_each_route_and_exempt_skips_them(
    memory: SyncInMemoryCache,
) -> None:
    app = build(memory, DEFAULT_LIMITS=["2/m"], LEGACY_HEADERS=True)
    client = app.test_client()
    assert codes(client, "/open", 3) == [200, 200, 429]
    assert codes(client, "/tenant", 3) == [200, 200, 429]  # its own default counter
    assert codes(client, "/exempt", 4) == [200] * 4
    assert codes(client, "/exempt-own", 2) == [200, 429]
    response = client.get("/seen")
    assert response.headers["RateLimit-Policy"] == '"default0";q=2;w=60, "seen";q=5;w=60'
    assert response.headers["X-RateLimit-Remaining"] == "1"


def test_headers_off_and_the_error_handler_customises_429(memory: SyncInMemoryCache) -> None:
    app = build(memory, HEADERS=False)

    @app.errorhandler(429)
    def too_many(error: RateLimitExceeded) -> tuple[str, int]:
        return f"slow down ({error.decisions[0].limit})", 429

    client = app.test_client()
    ok = client.get("/two")
    assert "RateLimit" not in ok.headers
    client.get("/two")
    denied = client.get("/two")
    assert (denied.status_code, denied.get_data(as_text=True)) == (429, "slow down (2)")
    assert denied.headers["Retry-After"] == "60"
    assert "RateLimit" in denied.headers


def test_spoofed_forwarded_for_is_ignored_without_trusted_proxies(client: FlaskClient) -> None:
    statuses = [
        client.get("/two", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
        for i in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_trusted_proxies_and_ipv6_groups(memory: SyncInMemoryCache) -> None:
    app = build(memory, TRUSTED_PROXIES=["127.0.0.1/32", "10.0.0.0/8"])
    client = app.test_client()

    def get(forwarded: str, remote: str = "127.0.0.1") -> int:
        response = client.get(
            "/exempt-own",
            headers={"X-Forwarded-For": forwarded},
            environ_base={"REMOTE_ADDR": remote},
        )
        return response.status_code

    assert get("198.51.100.7, 10.0.0.5") == 200
    assert get("6.6.6.6, 198.51.100.7, 10.0.0.9") == 429  # the fake left entry is skipped
    assert get("198.51.100.8") == 200
    assert get("198.51.100.9", remote="192.0.2.1") == 200  # untrusted peer: header ignored
    assert get("198.51.100.10", remote="192.0.2.1") == 429
    assert get("", remote="2001:db8:5:6::1") == 200
    assert get("", remote="2001:db8:5:6:aaaa::2") == 429  # the same /64
    assert get("", remote="2001:db8:5:7::1") == 200


def _dead() -> SyncRedisCache:
    return SyncRedisCache(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2, connect_timeout=0.2)


@pytest.mark.parametrize(("fail_open", "status"), [(True, 200), (False, 503)])
def test_redis_unreachable_follows_the_failure_policy(fail_open: bool, status: int) -> None:
    cache = _dead()
    try:
        client = build(cache, FAIL_OPEN=fail_open).test_client()
        responses = [client.get("/two") for _ in range(3)]
    finally:
        cache.close()
    assert [r.status_code for r in responses] == [status] * 3
    assert "RateLimit" not in responses[0].headers
    if not fail_open:
        assert responses[0].headers["Retry-After"] == "1"


@pytest.mark.redis
def test_on_redis_one_eval_per_limit(redis_url: str, redis_client: redis.Redis) -> None:
    cache = SyncRedisCache(redis_url, key_prefix="app")
    try:
        client = build(cache, ALGORITHM="sliding-window").test_client()
        redis_client.config_resetstat()
        # /two's limit is 2 per minute on the server's clock: a sliding window keeps the
        # count across a minute boundary, so the third request is refused whenever it runs.
        assert codes(client, "/two", 3) == [200, 200, 429]
        stats = redis_client.info("commandstats")
        evals = int(stats["cmdstat_evalsha"]["calls"]) - int(
            stats["cmdstat_evalsha"]["failed_calls"]
        )
        evals += int(stats.get("cmdstat_eval", {}).get("calls", 0))
    finally:
        cache.close()
    assert evals == 3


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"DEFAULT_LIMIT": []}, "Did you mean 'DEFAULT_LIMITS'"),
        ({"DEFAULT_LIMITS": ["5/fortnight"]}, "malformed rate"),
        ({"DEFAULT_LIMITS": [{"RATE": "5/m", "METHOD": "GET"}]}, "did you mean 'METHODS'"),
        ({"DEFAULT_LIMITS": [{"KEY": "ip"}]}, "has no RATE"),
        ({"KEY": "cookie"}, "key 'cookie'"),
        ({"ALGORITHM": "leaky"}, "algorithm 'leaky'"),
        ({"TRUSTED_PROXIES": ["nope"]}, "not an IP address or CIDR"),
        ({"FAIL_OPEN": "yes"}, "True or False"),
    ],
)
def test_configuration_mistakes(setting: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        read_limit_settings({"CACHE_BRIDGE_RATELIMIT": setting})


def test_limit_arguments_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="malformed rate"):
        make_limit("here", "ten per minute")
    with pytest.raises(ConfigurationError, match="methods"):
        make_limit("here", "1/m", methods=[1])
