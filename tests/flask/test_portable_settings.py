"""One Flask config for memory:// and Redis: CACHE_BRIDGE_OPTIONS written for Redis work on a
memory:// URL, and a ``?key_prefix=`` in CACHE_BRIDGE_URL is the app's namespace on every face
and in the CLI (a CACHE_BRIDGE_KEY_PREFIX that says otherwise is an error)."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from returns.result import Success

from cache_bridge import ConfigurationError
from flask_cache_bridge import CacheBridge
from tests.support.flask_fixtures import MakeApp, bridge_fixture, make_app_fixture  # noqa: F401

REDIS_OPTIONS = {"timeout": 0.5, "connect_timeout": 0.5, "max_connections": 20}


def _memory(query: str = "") -> str:
    return f"memory://flask-portable-{uuid.uuid4().hex}{query}"


def test_redis_options_on_a_memory_url_work(make_app: MakeApp, bridge: CacheBridge) -> None:
    app = make_app(CACHE_BRIDGE_OPTIONS=REDIS_OPTIONS, CACHE_BRIDGE_KEY_PREFIX="app")
    with app.app_context():
        assert bridge.cache.set("k", "v") == Success(None)
        assert bridge.cache.get("k") == Success("v")


def test_the_url_prefix_is_the_namespace_of_both_faces(
    make_app: MakeApp, bridge: CacheBridge
) -> None:
    app = make_app(CACHE_BRIDGE_URL=_memory("?key_prefix=site"))

    @app.get("/async")
    async def read_async() -> dict[str, object]:
        return {"value": (await bridge.async_cache.get("k")).unwrap()}

    with app.app_context():
        assert bridge.cache.set("k", "written by the sync face") == Success(None)
        assert "prefix='site'" in bridge.description
    assert app.test_client().get("/async").json == {"value": "written by the sync face"}


def test_the_cli_flushes_the_url_prefix_namespace(make_app: MakeApp, bridge: CacheBridge) -> None:
    app = make_app(CACHE_BRIDGE_URL=_memory("?key_prefix=site"))
    with app.app_context():
        assert bridge.cache.set("k", "v") == Success(None)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["cache", "flush", "--dry-run"])
    assert "namespace 'site'" in dry.output, dry.output
    done = runner.invoke(args=["cache", "flush", "--yes"])
    assert done.exit_code == 0, done.output
    with app.app_context():
        assert bridge.cache.get("k") == Success(None)


def test_the_same_prefix_in_the_url_and_the_config_is_fine(
    make_app: MakeApp, bridge: CacheBridge
) -> None:
    app = make_app(CACHE_BRIDGE_URL=_memory("?key_prefix=site"), CACHE_BRIDGE_KEY_PREFIX="site")
    with app.app_context():
        assert bridge.cache.set("k", "v") == Success(None)


@pytest.mark.parametrize("url", ["memory://?key_prefix=site", "redis://h:6379/0?key_prefix=site"])
def test_a_url_prefix_and_a_different_config_prefix_fail_at_init_app(url: str) -> None:
    app = Flask("conflicting")
    app.config.update(CACHE_BRIDGE_URL=url, CACHE_BRIDGE_KEY_PREFIX="blog")
    with pytest.raises(
        ConfigurationError, match=r"\?key_prefix= and CACHE_BRIDGE_KEY_PREFIX \('blog'\) differ"
    ):
        CacheBridge(app)


@pytest.mark.redis
def test_one_config_serves_memory_and_redis(redis_url: str, redis_client: object) -> None:
    for url in (_memory(), redis_url):
        app = Flask("portable")
        app.config.update(
            CACHE_BRIDGE_URL=f"{url}?key_prefix=portable", CACHE_BRIDGE_OPTIONS=REDIS_OPTIONS
        )
        bridge = CacheBridge(app)
        try:
            with app.app_context():
                assert bridge.cache.set("k", url) == Success(None)
                assert bridge.cache.get("k") == Success(url)
        finally:
            bridge.close(app)
