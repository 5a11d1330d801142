"""Flask-Caching and flask-limiter keys are never read: an app that set ``CACHE_BRIDGE_URL``
but still holds such a key without its ``CACHE_BRIDGE_*`` counterpart is told, once, at
``init_app``, which key to set (names only, never values)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.flask_fixtures import InitLogged, init_logged_fixture  # noqa: F401


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
    init_logged: InitLogged, foreign: dict[str, Any], ours: str
) -> None:
    [message] = init_logged(**foreign)
    assert ours in message
    assert "shop_" not in message  # names only


def test_keys_whose_counterpart_is_set_are_not_warned_about(init_logged: InitLogged) -> None:
    assert init_logged(CACHE_TYPE="RedisCache", CACHE_REDIS_URL="redis://h:6379/0") == []
    assert init_logged(CACHE_KEY_PREFIX="a_", CACHE_BRIDGE_KEY_PREFIX="a") == []
    assert (
        init_logged(
            RATELIMIT_DEFAULT="1/second",
            CACHE_BRIDGE_RATELIMIT={"DEFAULT_LIMITS": ["1/second"]},
        )
        == []
    )
