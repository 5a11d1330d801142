"""What the Flask rate-limit hooks keep between requests (one limiter per limit, route and
cache, rebuilt when the app's cache changes, bounded in number) and the headers a view sets
itself, which the hooks never overwrite."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

import flask_cache_bridge.limiters as limiters_module
import flask_cache_bridge.limits as limits_module
from cache_bridge.adapters.memory import SyncInMemoryCache
from flask_cache_bridge.limits import install_limits, limit, make_limit

START = 1_700_006_400.0  # the start of a minute


def _app(caches: list[SyncInMemoryCache], **setting: Any) -> Flask:
    app = Flask("reuse_app")
    app.config["TESTING"] = True
    app.config["CACHE_BRIDGE_RATELIMIT"] = setting
    install_limits(app, lambda: caches[0])
    built = make_limit("test", "2/m")

    @app.route("/own-headers")
    def own_headers() -> tuple[str, int, dict[str, str]]:
        return "mine", 200, {"ratelimit": "set by the view", "Retry-After": "999"}

    def counted() -> str:
        return "counted"

    app.add_url_rule("/counted", "counted", limit(counted, built))
    return app


def _clock() -> float:
    return START


def test_a_header_the_view_set_is_kept_on_200_and_on_429() -> None:
    caches = [SyncInMemoryCache(clock=_clock)]
    client = _app(caches, DEFAULT_LIMITS=["1/m"]).test_client()
    first = client.get("/own-headers")
    assert first.status_code == 200
    assert first.headers.getlist("RateLimit") == ["set by the view"]
    assert first.headers["RateLimit-Policy"] == '"default0";q=1;w=60'
    refused = client.get("/own-headers")
    assert refused.status_code == 429
    # A 429 comes from the error handler, not the view: the hook's headers are all there.
    assert refused.headers["RateLimit"] == '"default0";r=0;t=60'
    assert refused.headers["Retry-After"] == "60"


def test_limiters_are_reused_and_rebuilt_for_a_new_cache() -> None:
    caches = [SyncInMemoryCache(clock=_clock)]
    app = _app(caches)
    client = app.test_client()
    assert [client.get("/counted").status_code for _ in range(3)] == [200, 200, 429]
    built = getattr(app.view_functions["counted"], limits_module._LIMITS_ATTR)[0]
    assert len(built.limiters) == 1
    (limiter,) = built.limiters.values()
    assert limiter.cache is caches[0]
    # The app's cache changes (e.g. re-configured): counting starts over in the new one.
    caches[0] = SyncInMemoryCache(clock=_clock)
    assert [client.get("/counted").status_code for _ in range(3)] == [200, 200, 429]
    (rebuilt,) = built.limiters.values()  # the old cache is not kept alive
    assert rebuilt.cache is caches[0]


def test_the_limiters_kept_per_limit_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limiters_module, "_MAX_LIMITERS", 2)
    caches = [SyncInMemoryCache(clock=_clock)]
    app = _app(caches, DEFAULT_LIMITS=["1/m"])
    for n in range(5):
        app.add_url_rule(f"/r{n}", f"r{n}", lambda: "r")
    client = app.test_client()
    # Each route still counts apart (per-route default limit), whatever was forgotten.
    assert [client.get(f"/r{n}").status_code for n in range(5)] == [200] * 5
    statuses = [client.get(f"/r{n}").status_code for n in range(5)]
    assert statuses == [429] * 5
    (default,) = app.extensions[limits_module.LIMITS_KEY][0].default_limits
    assert 1 <= len(default.limiters) <= 2


def test_the_limiters_found_last_are_not_reused_for_another_counter_or_settings() -> None:
    """A limit on two routes whose scope names a counter per route: each request finds its
    own route's limiter (the last ones found are kept for the next request), and new
    settings get new limiters."""
    caches = [SyncInMemoryCache(clock=_clock)]
    app = Flask("scoped_app")
    app.config["TESTING"] = True
    install_limits(app, lambda: caches[0])
    shared = make_limit("test", "2/m", scope=lambda endpoint: f"per-{endpoint}")
    for route in ("a", "b"):
        app.add_url_rule(f"/{route}", route, limit(lambda: "ok", shared))
    client = app.test_client()
    alternating = [client.get(f"/{route}").status_code for _ in range(3) for route in "ab"]
    assert alternating == [200, 200, 200, 200, 429, 429]
    assert sorted(lim.policy.name for lim in shared.limiters.values()) == ["per-a", "per-b"]
    # New settings (here a new key prefix): new limiters, counting in new state keys.
    _, cache_of, first = app.extensions[limits_module.LIMITS_KEY]
    other = limits_module.read_limit_settings({"CACHE_BRIDGE_RATELIMIT": {"KEY_PREFIX": "other"}})
    app.extensions[limits_module.LIMITS_KEY] = (other, cache_of, first)
    assert [client.get("/a").status_code for _ in range(3)] == [200, 200, 429]
    assert {lim.policy.prefix for lim in shared.limiters.values()} == {"ratelimit", "other"}
