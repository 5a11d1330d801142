"""Flask turns the near cache on through CACHE_BRIDGE_OPTIONS: repeated reads of a view stay
off the server."""

from __future__ import annotations

import time

import redis
from flask import Flask

from flask_cache_bridge import CacheBridge


def _gets(client: redis.Redis) -> int:
    stats = client.info("commandstats").get("cmdstat_get", {})
    return int(stats.get("calls", 0))


def test_flask_options_turn_it_on(redis_client: redis.Redis, redis_url: str) -> None:
    app = Flask(__name__)
    app.config.update(CACHE_BRIDGE_URL=redis_url, CACHE_BRIDGE_OPTIONS={"near_cache": True})
    bridge = CacheBridge(app)

    @app.get("/")
    def read() -> dict[str, object]:
        return {"value": bridge.cache.get("k").unwrap()}

    with app.app_context():
        bridge.cache.set("k", "v").unwrap()
    client = app.test_client()
    deadline = time.monotonic() + 5
    while True:  # until the invalidation connection is up, every read goes to the server
        before = _gets(redis_client)
        for _ in range(20):
            assert client.get("/").json == {"value": "v"}
        if _gets(redis_client) - before < 20:
            break
        assert time.monotonic() < deadline, "the reads never stayed off the server"
    redis_client.set("k", "w")
    deadline = time.monotonic() + 5
    while client.get("/").json != {"value": "w"}:
        assert time.monotonic() < deadline
