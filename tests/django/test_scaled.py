"""BridgeCache on Redis Cluster and Redis Sentinel LOCATIONs: Django's cache API, the views of
the test site under WSGI, protocol access through get_cache / get_sync_cache, and the system
checks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.checks import Error
from django.test import Client
from pytest_django import Settings as SettingsWrapper
from returns.result import Success

from django_cache_bridge import get_cache, get_sync_cache
from django_cache_bridge.cache import BridgeCache
from django_cache_bridge.checks import check_caches
from tests.support.django_helpers import alias, bridge
from tests.support.scaled_servers import SENTINEL_PASSWORD


@pytest.fixture(params=["cluster", "sentinel"])
def scaled(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """A LOCATION and OPTIONS for the session's cluster, then for its sentinel set-up (whose
    sentinel password goes in OPTIONS, the data nodes' one in the URL)."""
    if request.param == "cluster":
        return str(request.getfixturevalue("cluster_url")), {"timeout": 2.0}
    url = str(request.getfixturevalue("sentinel_url")).split("?")[0]
    return url, {"sentinel_password": SENTINEL_PASSWORD, "timeout": 2.0}


@pytest.fixture
def dj(settings: SettingsWrapper, scaled: tuple[str, dict[str, Any]]) -> Iterator[BridgeCache]:
    location, options = scaled
    settings.CACHES = {
        "default": alias(location, KEY_PREFIX="site", OPTIONS=options),
        "other": alias(location, KEY_PREFIX="other", OPTIONS=options),
    }
    yield bridge()
    bridge().clear()


def test_django_cache_api(dj: BridgeCache) -> None:
    keys = {f"item:{n}": {"n": n} for n in range(200)}  # spread over the cluster's slots
    dj.set_many(keys, timeout=60)
    assert dj.get_many(list(keys)) == keys
    assert dj.add("counter", 1) is True
    assert dj.incr("counter", 5) == 6
    assert dj.touch("counter", 30) is True
    dj.delete_many(list(keys)[:100])
    assert len(dj.get_many(list(keys))) == 100
    bridge("other").set("mine", "kept")
    dj.clear()  # KEY_PREFIX: only this alias's keys, on every primary
    assert dj.get_many(list(keys)) == {}
    assert dj.get("counter") is None
    assert bridge("other").get("mine") == "kept"
    bridge("other").clear()


def test_views_and_protocol_access(dj: BridgeCache) -> None:
    client = Client()
    assert client.get("/sync-counter/").json() == {"hits": 1}
    assert client.get("/async-counter/").json() == {"hits": 2, "last": {"hits": 2}}
    assert client.get("/async-protocol/").json() == {"hits": 1}
    assert get_sync_cache().increment("protocol-hits") == Success(2)
    assert asyncio.run(get_cache().get("protocol-hits")) == Success("2")


def test_system_checks(settings: SettingsWrapper, scaled: tuple[str, dict[str, Any]]) -> None:
    location, options = scaled
    settings.CACHES = {"default": alias(location, KEY_PREFIX="site", OPTIONS=options)}
    assert [m for m in check_caches() if isinstance(m, Error)] == []
    settings.CACHES = {
        "default": alias(location, KEY_PREFIX="site", OPTIONS={**options, "sentinel_pasword": "x"})
    }
    (message,) = check_caches()
    assert message.id == "django_cache_bridge.E002"
    assert "Did you mean 'sentinel_password'" in message.msg
    settings.CACHES = {"default": alias(location.replace("127.0.0.1:", "127.0.0.1:x"))}
    (message,) = check_caches()
    assert message.id == "django_cache_bridge.E001"
    assert "redis+cluster://" in str(message.hint)
