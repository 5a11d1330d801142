"""The extension on the test-started Redis: async views in Flask's per-request event loops,
apps kept apart by their prefixes, view caching, and failing open when Redis is down."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import redis
from flask import Flask
from returns.result import Failure, Success

from cache_bridge import CacheConnectionError
from cache_bridge.testing import RedisServer
from cache_bridge.testing.redis_server import free_port
from flask_cache_bridge import CacheBridge
from tests.support.flask_fixtures import MakeApp, bridge_fixture, make_app_fixture, stored_key  # noqa: F401

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_app(make_app: MakeApp, redis_url: str, redis_client: redis.Redis) -> Flask:
    return make_app(
        CACHE_BRIDGE_URL=redis_url,
        CACHE_BRIDGE_KEY_PREFIX="shop",
        CACHE_BRIDGE_OPTIONS={"client_name": f"flask-{uuid.uuid4().hex[:12]}"},
    )


def _connections(client: redis.Redis, name: str) -> int:
    return sum(1 for entry in client.client_list() if entry.get("name") == name)


def test_async_views_reuse_one_pool_across_per_request_loops(
    redis_app: Flask, bridge: CacheBridge, redis_client: redis.Redis
) -> None:
    @redis_app.get("/hit")
    async def hit() -> str:
        counted = await bridge.async_cache.increment("hits")
        await bridge.async_cache.set("last", str(counted.value_or(-1)), ttl=60)
        echoed = await bridge.async_cache.get("last")
        return f"{counted} {echoed}"

    client = redis_app.test_client()
    bodies = [client.get("/hit").text for _ in range(30)]
    assert bodies[0] == "<Success: 1> <Success: 1>"
    assert bodies[-1] == "<Success: 30> <Success: 30>"
    assert all("Failure" not in body for body in bodies)
    assert redis_client.get("shop:hits") == b"30"
    name = redis_app.config["CACHE_BRIDGE_OPTIONS"]["client_name"]
    # 30 requests ran in 30 event loops, yet they shared the background loop's one pool.
    assert _connections(redis_client, name) == 1


def test_async_views_in_many_threads_share_the_pool(
    redis_app: Flask, bridge: CacheBridge, redis_client: redis.Redis
) -> None:
    @redis_app.get("/count")
    async def count() -> str:
        return "ok" if isinstance(await bridge.async_cache.increment("threads"), Success) else "no"

    def worker() -> list[str]:
        client = redis_app.test_client()
        return [client.get("/count").text for _ in range(10)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = [text for batch in pool.map(lambda _: worker(), range(8)) for text in batch]
    assert answers == ["ok"] * 80
    assert redis_client.get("shop:threads") == b"80"
    name = redis_app.config["CACHE_BRIDGE_OPTIONS"]["client_name"]
    assert 1 <= _connections(redis_client, name) <= 8


def test_sync_and_async_faces_see_the_same_data(redis_app: Flask, bridge: CacheBridge) -> None:
    @redis_app.get("/read")
    async def read() -> str:
        return str(await bridge.async_cache.get_json("user"))

    with redis_app.app_context():
        assert bridge.cache.set_json("user", {"name": "Ada"}) == Success(None)
    assert redis_app.test_client().get("/read").text == "<Success: {'name': 'Ada'}>"


def test_two_apps_with_different_prefixes_stay_apart(
    make_app: MakeApp, bridge: CacheBridge, redis_url: str, redis_client: redis.Redis
) -> None:
    blue = make_app(CACHE_BRIDGE_URL=redis_url, CACHE_BRIDGE_KEY_PREFIX="blue")
    green = make_app(CACHE_BRIDGE_URL=redis_url, CACHE_BRIDGE_KEY_PREFIX="green")
    for app in (blue, green):

        @app.get("/")
        @bridge.cached()
        def home() -> str:
            from flask import current_app

            return f"home of {current_app.config['CACHE_BRIDGE_KEY_PREFIX']}"

    assert blue.test_client().get("/").text == "home of blue"
    assert green.test_client().get("/").text == "home of green"
    with blue.app_context():
        bridge.cache.set("colour", "blue")
    with green.app_context():
        assert bridge.cache.get("colour") == Success(None)
        bridge.cache.set("colour", "green")
        assert bridge.cache.flush() == Success(None)
    assert sorted(redis_client.keys()) == [b"blue:colour", f"blue:{stored_key(blue, '/')}".encode()]
    assert blue.test_client().get("/").text == "home of blue"


def test_the_cached_decorator_serves_the_second_request_from_redis(
    redis_app: Flask, bridge: CacheBridge, redis_client: redis.Redis
) -> None:
    runs: list[int] = []

    @redis_app.get("/report")
    @bridge.cached(ttl=30)
    def report() -> tuple[str, int, dict[str, str]]:
        runs.append(1)
        return "the report", 200, {"X-Report": "yes"}

    @redis_app.get("/async-report")
    @bridge.cached(ttl=30)
    async def async_report() -> str:
        runs.append(2)
        return "the async report"

    client = redis_app.test_client()
    for _ in range(3):
        answer = client.get("/report")
        assert (answer.text, answer.headers["X-Report"]) == ("the report", "yes")
        assert client.get("/async-report").text == "the async report"
    assert runs == [1, 2]
    assert redis_client.ttl(f"shop:{stored_key(redis_app, '/report')}") == 30
    assert redis_client.exists(f"shop:{stored_key(redis_app, '/async-report')}") == 1


@pytest.fixture
def dead_app(make_app: MakeApp) -> Flask:
    return make_app(
        CACHE_BRIDGE_URL=f"redis://127.0.0.1:{free_port()}/0",
        CACHE_BRIDGE_OPTIONS={"connect_timeout": 0.5, "timeout": 0.5},
    )


def test_views_run_normally_when_redis_is_down_and_the_outage_is_logged_once(
    dead_app: Flask, bridge: CacheBridge, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[int] = []

    @dead_app.get("/")
    @bridge.cached()
    def home() -> str:
        runs.append(1)
        return "still here"

    @dead_app.get("/async")
    @bridge.cached()
    async def async_home() -> str:
        runs.append(2)
        return "async still here"

    client = dead_app.test_client()
    with caplog.at_level(logging.DEBUG):
        for _ in range(5):
            assert client.get("/").text == "still here"
            assert client.get("/async").text == "async still here"
    assert len(runs) == 10
    lines = [(r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]
    # The adapter logs the outage, once per face (the first failure and the circuit
    # opening); the extension does not log it a second time.
    assert 1 <= len(lines) <= 4, lines
    assert {name for name, _ in lines} == {"cache_bridge"}
    assert "could not be reached" in lines[0][1]


def test_the_caches_report_the_outage_as_a_result(dead_app: Flask, bridge: CacheBridge) -> None:
    with dead_app.app_context():
        got = bridge.cache.get("k")
        assert isinstance(got, Failure)
        assert isinstance(got.failure(), CacheConnectionError)


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def test_caching_stops_while_redis_is_stopped_and_resumes_after(
    make_app: MakeApp,
    bridge: CacheBridge,
    own_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(
        CACHE_BRIDGE_URL=own_server.url,
        CACHE_BRIDGE_KEY_PREFIX="restart",
        CACHE_BRIDGE_OPTIONS={"breaker_cooldown": 0.1},
    )
    runs: list[int] = []

    @app.get("/")
    @bridge.cached()
    async def home() -> str:
        runs.append(1)
        return f"run {len(runs)}"

    client = app.test_client()
    with caplog.at_level(logging.DEBUG):
        assert client.get("/").text == "run 1"
        assert client.get("/").text == "run 1"
        own_server.stop()
        assert [client.get("/").text for _ in range(3)] == ["run 2", "run 3", "run 4"]
        own_server.start()  # empty again: nothing is persisted
        time.sleep(0.15)  # the circuit breaker, open after the failures, lets a probe through
        assert client.get("/").text == "run 5"
        assert client.get("/").text == "run 5"
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    # The async face's outage: its first failure (which opened the circuit), the recovery.
    assert len(messages) == 2, messages
    assert "could not be reached" in messages[0]
    assert "circuit open" in messages[0]
    assert "the cache answers again; circuit closed" in messages[1]


def test_closing_the_app_stops_its_background_loop(redis_app: Flask, bridge: CacheBridge) -> None:
    @redis_app.get("/")
    async def home() -> str:
        return str(await bridge.async_cache.ping())

    before = set(threading.enumerate())
    assert redis_app.test_client().get("/").text == "<Success: True>"
    started = [t for t in set(threading.enumerate()) - before if t.name.startswith("cache_bridge")]
    assert len(started) == 1
    bridge.close(redis_app)
    assert not started[0].is_alive()
    assert redis_app.test_client().get("/").text == "<Failure: ping: the adapter is closed>"


def test_a_value_json_cannot_hold_is_a_failure_and_not_an_outage(
    redis_app: Flask, bridge: CacheBridge, caplog: pytest.LogCaptureFixture
) -> None:
    """The extension has no serializer to configure: set_json of something strict JSON cannot
    hold is a Failure in the view (never a 500), and is not logged as an outage nor followed
    by "the cache answers again"."""

    @redis_app.get("/store")
    def store() -> str:
        refused = bridge.cache.set_json("k", {"price": Decimal("1.5")})
        listed = bridge.cache.set_json("k", [1, 2])  # type: ignore[arg-type]
        return f"{type(refused.failure()).__name__} {type(listed.failure()).__name__}"

    @redis_app.get("/async-store")
    async def async_store() -> str:
        refused = await bridge.async_cache.set_json("k", {"at": object()})
        return type(refused.failure()).__name__

    client = redis_app.test_client()
    with caplog.at_level(logging.DEBUG):
        assert client.get("/store").text == "CacheSerializationError CacheSerializationError"
        assert client.get("/async-store").text == "CacheSerializationError"
        with redis_app.app_context():
            assert bridge.cache.set("k", "v") == Success(None)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == []
