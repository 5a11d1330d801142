"""Fixtures for the tests of BridgeCache's django-redis API: an alias on each kind of store
(memory://, Redis, Redis Cluster, Sentinel), with a second alias under another KEY_PREFIX."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.cache import BridgeCache
from tests.support.django_helpers import alias, bridge
from tests.support.scaled_servers import SENTINEL_PASSWORD

__all__ = ["dj", "location_memory", "where"]


@pytest.fixture(params=["memory", "redis", "cluster", "sentinel"])
def where(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """A LOCATION and OPTIONS for each kind of store in turn."""
    match request.param:
        case "memory":
            return str(request.getfixturevalue("location_memory")), {}
        case "redis":
            request.getfixturevalue("redis_client")
            return str(request.getfixturevalue("redis_url")), {}
        case "cluster":
            return str(request.getfixturevalue("cluster_url")), {"timeout": 2.0}
    url = str(request.getfixturevalue("sentinel_url")).split("?")[0]
    return url, {"sentinel_password": SENTINEL_PASSWORD, "timeout": 2.0}


@pytest.fixture
def location_memory() -> str:
    return f"memory://redis-api-{time.monotonic_ns()}"


@pytest.fixture
def dj(settings: SettingsWrapper, where: tuple[str, dict[str, Any]]) -> Iterator[BridgeCache]:
    location, options = where
    settings.CACHES = {
        "default": alias(location, KEY_PREFIX="site", OPTIONS=options),
        "other": alias(location, KEY_PREFIX="other", OPTIONS=options),
    }
    yield bridge()
    bridge().clear()
    bridge("other").clear()
