"""The Django health views (integrations/django_cache_bridge/health.py, urls.py), through
Django's test client: ready (200) with a real Redis up, 503 with a dead one, within the
bound, with the breaker as JSON; live is 200 either way."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django import Settings as SettingsWrapper

from tests.support.django_helpers import alias, dead_redis_url, fresh_memory

pytestmark = pytest.mark.urls("tests.observability.health_urls")


def test_ready_with_every_cache_up(
    settings: SettingsWrapper, client: Client, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue("redis_client")
    settings.CACHES = {
        "default": alias(str(request.getfixturevalue("redis_url")), KEY_PREFIX="h"),
        "local": alias(fresh_memory()),
    }
    response = client.get("/health/ready/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["caches"]["default"]["breaker"]["state"] == "closed"
    assert body["caches"]["local"]["breaker"] is None
    assert client.get("/health/live/").status_code == 200


def test_unavailable_when_a_cache_is_down_but_still_alive(
    settings: SettingsWrapper, client: Client
) -> None:
    settings.CACHES = {
        "default": alias(fresh_memory()),
        "sessions": alias(dead_redis_url(), OPTIONS={"connect_timeout": 0.2, "timeout": 0.2}),
    }
    response = client.get("/health/ready/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["caches"]["sessions"]["status"] == "unavailable"
    assert body["caches"]["default"]["status"] == "ready"
    live = client.get("/health/live/")
    assert live.status_code == 200
    assert live.json() == {"status": "alive"}
