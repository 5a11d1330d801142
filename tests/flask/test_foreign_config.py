"""Flask-Caching and flask-limiter keys are never read: an app that set ``CACHE_BRIDGE_URL``
but still holds such a key without its ``CACHE_BRIDGE_*`` counterpart is told, once, at
``init_app``, which key to set (names only, never values)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from flask_cache_bridge import CacheBridge

LOGGER = "flask_cache_bridge"


@pytest.fixture
def init(caplog: pytest.LogCaptureFixture) -> Iterator[Any]:
    bridge = CacheBridge()
    apps: list[Flask] = []

    def init(**config: Any) -> list[str]:
        app = Flask(f"foreign_{len(apps)}")
        app.config.update(CACHE_BRIDGE_URL="memory://", **config)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            bridge.init_app(app)
        apps.append(app)
        return [r.getMessage() for r in caplog.records if r.name == LOGGER]

    yield init
    for app in apps:
        bridge.close(app)


@pytest.mark.parametrize(
    ("foreign", "ours"),
    [
        ({"CACHE_KEY_PREFIX": "shop_"}, "CACHE_BRIDGE_KEY_PREFIX instead of CACHE_KEY_PREFIX"),
        (
            {"CACHE_DEFAULT_TIMEOUT": 60},
            "CACHE_BRIDGE_DEFAULT_TTL instead of CACHE_DEFAULT_TIMEOUT",
        ),
        (
            {"RATELIMIT_DEFAULT": "100/hour"},
            'CACHE_BRIDGE_RATELIMIT["DEFAULT_LIMITS"] instead of RATELIMIT_DEFAULT',
        ),
    ],
)
def test_a_foreign_key_without_its_counterpart_is_named(
    init: Any, foreign: dict[str, Any], ours: str
) -> None:
    [message] = init(**foreign)
    assert ours in message
    assert "shop_" not in message  # names only


def test_keys_whose_counterpart_is_set_are_not_warned_about(init: Any) -> None:
    assert init(CACHE_TYPE="RedisCache", CACHE_REDIS_URL="redis://h:6379/0") == []
    assert init(CACHE_KEY_PREFIX="a_", CACHE_BRIDGE_KEY_PREFIX="a") == []
    assert (
        init(
            RATELIMIT_DEFAULT="1/second",
            CACHE_BRIDGE_RATELIMIT={"DEFAULT_LIMITS": ["1/second"]},
        )
        == []
    )
