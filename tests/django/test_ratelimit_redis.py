"""RateLimitMiddleware on a Redis alias (the server's clock): one script run (EVALSHA) per rule
per request, from the sync Client and the AsyncClient."""

from __future__ import annotations

import pytest
import redis
from django.test import AsyncClient, Client
from pytest_django import Settings as SettingsWrapper

from tests.support.django_helpers import alias

pytestmark = [pytest.mark.urls("tests.django.django_ratelimit_urls"), pytest.mark.redis]


@pytest.fixture
def on_redis(settings: SettingsWrapper, redis_url: str, redis_client: redis.Redis) -> redis.Redis:
    settings.CACHES = {"default": alias(redis_url, KEY_PREFIX="site")}
    settings.MIDDLEWARE = ["django_cache_bridge.middleware.RateLimitMiddleware"]
    # An hour-long sliding window: no window boundary can reset the count mid-test.
    settings.CACHE_BRIDGE_RATELIMIT = {
        "ALGORITHM": "sliding-window",
        "RULES": [{"NAME": "api", "PATH": "/rl/api/", "RATE": "2/h"}],
    }
    return redis_client


def _evals(client: redis.Redis) -> int:
    """Script runs: by digest (EVALSHA), or EVAL after a NOSCRIPT."""
    stats = client.info("commandstats")
    ran = int(stats.get("cmdstat_eval", {}).get("calls", 0))
    sha = stats.get("cmdstat_evalsha", {})
    return ran + int(sha.get("calls", 0)) - int(sha.get("failed_calls", 0))


def test_sync_client_on_redis(on_redis: redis.Redis) -> None:
    client = Client()
    on_redis.config_resetstat()
    codes = [client.get("/rl/api/a/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert _evals(on_redis) == 3
    keys = [k.decode() if isinstance(k, bytes) else k for k in on_redis.keys("*")]
    assert keys == ["site:1:ratelimit:api:2/h:sw:{ip:127.0.0.1}"]
    assert on_redis.pttl(keys[0]) > 0


async def test_async_client_on_redis(on_redis: redis.Redis) -> None:
    client = AsyncClient()
    responses = [await client.get("/rl/api/async/") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[0]["RateLimit"].startswith('"api";r=1;t=')
    assert 1 <= int(responses[2]["Retry-After"]) <= 7200
