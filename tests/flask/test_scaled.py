"""The extension on Redis Cluster and Redis Sentinel URLs: sync and async views through the
test client, cached views, bridge.cache, and ``flask cache ping`` / ``flask cache flush``."""

from __future__ import annotations

import pytest
from flask import Flask
from returns.result import Success

from flask_cache_bridge import CacheBridge
from tests.support.flask_fixtures import MakeApp, bridge_fixture, make_app_fixture  # noqa: F401
from tests.support.scaled_servers import SENTINEL_PASSWORD


@pytest.fixture(params=["cluster", "sentinel"])
def scaled_app(request: pytest.FixtureRequest, make_app: MakeApp) -> Flask:
    """An app on the session's cluster, then on its sentinel set-up (the sentinel password in
    CACHE_BRIDGE_OPTIONS)."""
    options: dict[str, object] = {"timeout": 2.0}
    if request.param == "cluster":
        url = str(request.getfixturevalue("cluster_url"))
    else:
        url = str(request.getfixturevalue("sentinel_url")).split("?")[0]
        options["sentinel_password"] = SENTINEL_PASSWORD
    return make_app(
        CACHE_BRIDGE_URL=url, CACHE_BRIDGE_KEY_PREFIX="shop", CACHE_BRIDGE_OPTIONS=options
    )


def test_views_bridge_cache_and_cli(scaled_app: Flask, bridge: CacheBridge) -> None:
    calls: list[int] = []

    @scaled_app.get("/sync")
    def sync_view() -> str:
        items = {f"item:{n}": str(n) for n in range(100)}  # spread over the cluster's slots
        bridge.cache.set_many(items, ttl=60)
        found = bridge.cache.get_many(list(items)).unwrap()
        return f"{sum(int(v) for v in found.values() if v is not None)}"

    @scaled_app.get("/async")
    async def async_view() -> str:
        return str(await bridge.async_cache.increment("hits"))

    @scaled_app.get("/cached")
    @bridge.cached(ttl=60)
    def cached_view() -> str:
        calls.append(1)
        return f"computed {len(calls)}"

    client = scaled_app.test_client()
    assert client.get("/sync").text == str(sum(range(100)))
    assert [client.get("/async").text for _ in range(3)] == [
        "<Success: 1>",
        "<Success: 2>",
        "<Success: 3>",
    ]
    assert client.get("/cached").text == client.get("/cached").text == "computed 1"
    with scaled_app.app_context():
        assert bridge.cache.get("hits") == Success("3")
        assert bridge.cache.ping() == Success(True)

    runner = scaled_app.test_cli_runner()
    ping = runner.invoke(args=["cache", "ping"])
    assert ping.exit_code == 0, ping.output
    assert "s3cret" not in ping.output
    flushed = runner.invoke(args=["cache", "flush", "--yes"])
    assert flushed.exit_code == 0, flushed.output
    with scaled_app.app_context():
        assert bridge.cache.get_many(["hits", "item:1"]) == Success({"hits": None, "item:1": None})
