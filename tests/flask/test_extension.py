"""CacheBridge set-up: both initialisation forms, several apps, configuration checks, the
errors that say what to do, and who owns (and closes) the app's adapters."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest
from flask import Flask
from returns.result import Failure, Success

from cache_bridge import CacheClosedError, CacheProtocol, ConfigurationError, SyncCacheProtocol
from flask_cache_bridge import CacheBridge
from flask_cache_bridge.state import AppCache
from tests.support.flask_fixtures import MakeApp, bridge_fixture, make_app_fixture  # noqa: F401


def test_the_direct_form_initialises_the_app_and_keeps_state_on_it() -> None:
    app = Flask("direct")
    bridge = CacheBridge(app)
    assert isinstance(app.extensions["cache_bridge"], AppCache)
    assert vars(bridge) == {}  # no per-app state on the extension object
    with app.app_context():
        assert isinstance(bridge.cache, SyncCacheProtocol)
        assert isinstance(bridge.async_cache, CacheProtocol)
        assert bridge.cache.set("k", "v") == Success(None)
        assert bridge.cache.get("k") == Success("v")
        assert bridge.settings.url == "memory://"
    bridge.close(app)


def test_one_extension_serves_several_apps_each_with_its_own_config(
    make_app: MakeApp, bridge: CacheBridge
) -> None:
    shared = "memory://flask-shared-store"
    one = make_app(CACHE_BRIDGE_URL=shared, CACHE_BRIDGE_KEY_PREFIX="one")
    two = make_app(CACHE_BRIDGE_URL=shared, CACHE_BRIDGE_KEY_PREFIX="two")
    with one.app_context():
        bridge.cache.set("name", "first")
    with two.app_context():
        assert bridge.cache.get("name") == Success(None)
        bridge.cache.set("name", "second")
        assert bridge.settings.key_prefix == "two"
    with one.app_context():
        assert bridge.cache.get("name") == Success("first")
        assert bridge.cache.flush() == Success(None)
    with two.app_context():
        assert bridge.cache.get("name") == Success("second")


def test_outside_an_app_context_the_error_says_what_to_do(bridge: CacheBridge) -> None:
    with pytest.raises(RuntimeError, match=r"application context.*app\.app_context\(\)"):
        _ = bridge.cache
    with pytest.raises(RuntimeError, match="application context"):
        _ = bridge.async_cache


def test_an_app_that_never_called_init_app_gets_an_error_naming_it(bridge: CacheBridge) -> None:
    app = Flask("forgotten")
    with app.app_context(), pytest.raises(RuntimeError, match=r"'forgotten'.*init_app\(app\)"):
        _ = bridge.cache


def test_init_app_twice_on_one_app_is_refused(make_app: MakeApp, bridge: CacheBridge) -> None:
    app = make_app()
    with pytest.raises(RuntimeError, match="already initialised"):
        bridge.init_app(app)
    with pytest.raises(RuntimeError, match="already initialised"):
        CacheBridge(app)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"CACHE_BRIDGE_URL": "memcached://x"}, "unsupported cache URL scheme"),
        ({"CACHE_BRIDGE_URL": 6379}, "CACHE_BRIDGE_URL must be a cache URL"),
        ({"CACHE_BRIDGE_URL": ""}, "CACHE_BRIDGE_URL must be a cache URL"),
        ({"CACHE_BRIDGE_KEY_PREFIX": ""}, "CACHE_BRIDGE_KEY_PREFIX must be a non-empty str"),
        ({"CACHE_BRIDGE_KEY_PREFIX": 7}, "CACHE_BRIDGE_KEY_PREFIX must be a non-empty str"),
        ({"CACHE_BRIDGE_DEFAULT_TTL": 0}, "CACHE_BRIDGE_DEFAULT_TTL must be an int from 1"),
        ({"CACHE_BRIDGE_DEFAULT_TTL": "60"}, "CACHE_BRIDGE_DEFAULT_TTL must be an int from 1"),
        ({"CACHE_BRIDGE_DEFAULT_TTL": True}, "CACHE_BRIDGE_DEFAULT_TTL must be an int from 1"),
        ({"CACHE_BRIDGE_OPTIONS": ["timeout"]}, "CACHE_BRIDGE_OPTIONS must be a dict"),
        ({"CACHE_BRIDGE_OPTIONS": {"key_prefix": "x"}}, "set the namespace with CACHE_BRIDGE_KEY"),
        (
            {"CACHE_BRIDGE_URL": "redis://localhost/0", "CACHE_BRIDGE_OPTIONS": {"timout": 1}},
            "Did you mean 'timeout'",
        ),
        (
            {"CACHE_BRIDGE_OPTIONS": {"timout": 1}},
            r"unknown option 'timout' for memory:// caches\. Did you mean 'timeout'\?",
        ),
        (
            {"CACHE_BRIDGE_URL": "redis://localhost/0", "CACHE_BRIDGE_OPTIONS": {"bogus": 1}},
            r"Valid options: breaker_cooldown, breaker_threshold, client_name, connect_timeout, "
            r"db, max_connections, near_cache, near_cache_max_bytes, near_cache_max_entries, "
            r"password,",
        ),
        (
            {"CACHE_BRIDGE_URL": "redis://localhost/0", "CACHE_BRIDGE_OPTIONS": {"timeout": 0}},
            "timeout must be more than 0",
        ),
        ({"CACHE_BRIDGE_VIEW_CACHE": "yes"}, "CACHE_BRIDGE_VIEW_CACHE must be True or False"),
        ({"CACHE_BRIDGE_LOG_INTERVAL": 0}, "CACHE_BRIDGE_LOG_INTERVAL must be a number"),
        ({"CACHE_BRIDGE_MAX_RESPONSE_BYTES": -1}, "CACHE_BRIDGE_MAX_RESPONSE_BYTES must be"),
        ({"CACHE_BRIDGE_TTL": 60}, "unknown config key CACHE_BRIDGE_TTL"),
        ({"CACHE_BRIDGE_KEYPREFIX": "x"}, "Did you mean 'CACHE_BRIDGE_KEY_PREFIX'"),
    ],
)
def test_bad_configuration_fails_at_init_app_with_a_clear_message(
    config: dict[str, Any], message: str
) -> None:
    app = Flask("misconfigured")
    app.config.update(config)
    with pytest.raises(ConfigurationError, match=message):
        CacheBridge(app)
    assert "cache_bridge" not in app.extensions  # nothing half-built is left behind


def test_a_password_in_the_url_is_not_shown_in_errors() -> None:
    app = Flask("secret")
    app.config["CACHE_BRIDGE_URL"] = "redis://:hunter2@localhost/0"
    app.config["CACHE_BRIDGE_OPTIONS"] = {"timeout": -1}
    with pytest.raises(ConfigurationError) as raised:
        CacheBridge(app)
    assert "hunter2" not in str(raised.value)


def test_options_reach_the_adapter(make_app: MakeApp, bridge: CacheBridge) -> None:
    app = make_app(CACHE_BRIDGE_URL="memory://", CACHE_BRIDGE_OPTIONS={"max_entries": 2})
    with app.app_context():
        for key in ("a", "b", "c"):
            bridge.cache.set(key, key)
        assert bridge.cache.get_many(["a", "b", "c"]) == Success({"a": None, "b": "b", "c": "c"})


def test_both_faces_share_one_private_memory_store(make_app: MakeApp, bridge: CacheBridge) -> None:
    app = make_app(CACHE_BRIDGE_URL="memory://")

    @app.get("/async")
    async def read_async() -> str:
        return str((await bridge.async_cache.get("k")).value_or("failed"))

    with app.app_context():
        bridge.cache.set("k", "written by the sync face")
    assert app.test_client().get("/async").text == "written by the sync face"


def test_closing_the_handed_out_faces_does_not_close_the_app_cache(
    make_app: MakeApp, bridge: CacheBridge
) -> None:
    app = make_app()

    async def use_async() -> None:
        async with bridge.async_cache as cache:
            await cache.set("a", "1")
        await bridge.async_cache.aclose()

    with app.app_context():
        with bridge.cache as cache:
            cache.set("s", "1")
        bridge.cache.close()
        asyncio.run(use_async())
        assert bridge.cache.get_many(["s", "a"]) == Success({"s": "1", "a": "1"})


def test_bridge_close_releases_the_app_cache(make_app: MakeApp, bridge: CacheBridge) -> None:
    app = make_app()
    bridge.close(app)
    bridge.close(app)  # idempotent
    with app.app_context():
        assert isinstance(bridge.cache.get("k").failure(), CacheClosedError)
        closed = asyncio.run(bridge.async_cache.get("k"))
        assert isinstance(closed, Failure)
        assert isinstance(closed.failure(), CacheClosedError)


def test_an_app_that_is_garbage_collected_has_its_cache_closed() -> None:
    app = Flask("short_lived")
    CacheBridge(app)
    state = app.extensions["cache_bridge"]
    assert isinstance(state, AppCache)
    alive = weakref.ref(app)
    del app
    gc.collect()
    assert alive() is None
    assert state.closed
