"""``bridge.memoize`` on the test-started Redis: the round trips the docs promise (a hit is one
MGET, a miss adds one SET), and ``delete_memoized(fn)`` leaves other prefixes' entries of the
same function alone."""

from __future__ import annotations

import uuid

import pytest
import redis
from flask import Flask

from flask_cache_bridge import CacheBridge
from tests.support.flask_fixtures import MakeApp, bridge_fixture, make_app_fixture  # noqa: F401

pytestmark = pytest.mark.redis


def _calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): int(entry["calls"])
        for name, entry in stats.items()
        if name not in ("cmdstat_info",)
    }


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    changed = {name: after[name] - before.get(name, 0) for name in after}
    return {name: count for name, count in changed.items() if count}


def test_a_hit_is_one_round_trip_and_a_miss_two(
    make_app: MakeApp, bridge: CacheBridge, redis_url: str, redis_client: redis.Redis
) -> None:
    app: Flask = make_app(CACHE_BRIDGE_URL=redis_url, CACHE_BRIDGE_KEY_PREFIX="rt", SECRET_KEY="s")

    @bridge.memoize(60, name=f"square-{uuid.uuid4().hex}")
    def square(n: int) -> int:
        return n * n

    with app.app_context():
        square(0)  # connects (and whatever a new connection sends)
        before = _calls(redis_client)
        square(2)
        missed = _calls(redis_client)
        square(2)
        hit = _calls(redis_client)
    assert _delta(before, missed) == {"mget": 1, "set": 1}
    assert _delta(missed, hit) == {"mget": 1}


def test_delete_memoized_stays_inside_the_apps_namespace(
    make_app: MakeApp, bridge: CacheBridge, redis_url: str, redis_client: redis.Redis
) -> None:
    runs: list[int] = []

    @bridge.memoize(60, name="shared.lookup")
    def lookup(n: int) -> int:
        runs.append(n)
        return n

    one = make_app(CACHE_BRIDGE_URL=redis_url, CACHE_BRIDGE_KEY_PREFIX="one", SECRET_KEY="s")
    two = make_app(CACHE_BRIDGE_URL=redis_url, CACHE_BRIDGE_KEY_PREFIX="two", SECRET_KEY="s")
    for app in (one, two):
        with app.app_context():
            lookup(1)
    with one.app_context():
        bridge.delete_memoized(lookup)
    for app in (one, two):
        with app.app_context():
            lookup(1)
    assert len(runs) == 3  # "one" computed again, "two" kept its entry
    assert redis_client.keys("two:memo:*")
