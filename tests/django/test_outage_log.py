"""What a Redis outage writes to the log through Django: a few lines per incident, however
many cache calls fail (the quiet-log rule of the core, applied once, by the adapter)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.test import Client
from pytest_django import Settings as SettingsWrapper

from cache_bridge.testing.faulty_server import FaultyRedisServer
from django_cache_bridge.cache import BridgeCache
from tests.support.django_helpers import alias, bridge

pytestmark = [pytest.mark.redis, pytest.mark.urls("tests.django.outage_urls")]

#: Short timeouts and a quick breaker: a killed server refuses connections at once anyway.
OPTIONS = {"timeout": 0.2, "connect_timeout": 0.2, "breaker_threshold": 3}
#: The first failure and the circuit opening; a recovery or a count would be a third.
FEW = 3


@pytest.fixture
def killed(settings: SettingsWrapper) -> Iterator[BridgeCache]:
    """The default alias on a test-started redis-server, killed after one successful call."""
    server = FaultyRedisServer()
    try:
        server.start()
        settings.CACHES = {"default": alias(server.url, KEY_PREFIX="site", OPTIONS=OPTIONS)}
        cache = bridge()
        cache.set("warm", "up")  # a pooled connection, which the kill then breaks
        server.kill()
        yield cache
    finally:
        server.cleanup()


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]


def test_two_hundred_failed_gets_write_a_few_lines(
    killed: BridgeCache, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        assert [killed.get(f"k{i}", "miss") for i in range(200)] == ["miss"] * 200
    lines = _lines(caplog)
    assert 1 <= len(lines) <= FEW, lines
    assert "get('site:1:k0')" in lines[0]


def test_cache_page_requests_during_an_outage_write_a_few_lines(
    killed: BridgeCache, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client()
    with caplog.at_level(logging.DEBUG):
        for _ in range(8):
            response = client.get("/page/")
            assert (response.status_code, response.content) == (200, b"rendered")
    lines = _lines(caplog)
    assert 1 <= len(lines) <= FEW, lines
