"""bridge.limit, bridge.exempt and CACHE_BRIDGE_RATELIMIT through the CacheBridge extension,
with Flask's test client."""

from __future__ import annotations

from typing import Any

import pytest

from cache_bridge import ConfigurationError
from flask_cache_bridge import CacheBridge
from tests.support.flask_fixtures import MakeApp, bridge_fixture, make_app_fixture

__all__ = ["bridge_fixture", "make_app_fixture"]


def test_bridge_limit_and_exempt(make_app: MakeApp, bridge: CacheBridge) -> None:
    app = make_app(CACHE_BRIDGE_RATELIMIT={"DEFAULT_LIMITS": ["3/h"]})

    @app.route("/limited")
    @bridge.limit("1/hour", algorithm="token-bucket")
    def limited() -> str:
        return "limited"

    @app.route("/async")
    @bridge.limit("1/h", key="ip", methods=["GET"])
    async def async_view() -> str:
        return "async"

    @app.route("/free")
    @bridge.exempt
    def free() -> str:
        return "free"

    @app.route("/default")
    def default() -> str:
        return "default"

    client = app.test_client()
    first = client.get("/limited")
    assert first.status_code == 200
    assert '"limited";r=0' in first.headers["RateLimit"]
    refused = client.get("/limited")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert [client.get("/async").status_code for _ in range(2)] == [200, 429]
    assert [client.get("/free").status_code for _ in range(5)] == [200] * 5
    assert [client.get("/default").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_rate_limit_config_is_checked_at_init_app(make_app: MakeApp) -> None:
    with pytest.raises(ConfigurationError, match="DEFAULT_LIMITS"):
        make_app(CACHE_BRIDGE_RATELIMIT={"DEFAULT_LIMIT": ["1/m"]})


def test_bridge_limit_checks_its_arguments(bridge: CacheBridge) -> None:
    with pytest.raises(ConfigurationError, match="malformed rate"):
        bridge.limit("often")
    options: dict[str, Any] = {"algorithm": "leaky"}
    with pytest.raises(ConfigurationError, match="algorithm"):
        bridge.limit("1/m", **options)
