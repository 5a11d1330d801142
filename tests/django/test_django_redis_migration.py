"""Switching from django-redis to BridgeCache on one Redis database, in both orders: integers
carry over, other values do not (a django-redis pickle is a miss for BridgeCache, and is
dropped; a BridgeCache value breaks django-redis's get), and a new VERSION keeps the two apart
(what docs/migrations/django-redis.md tells users to do)."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from pytest_django import Settings as SettingsWrapper

from tests.support.django_helpers import alias, bridge

pytestmark = pytest.mark.redis


def _both(settings: SettingsWrapper, redis_url: str, version: int = 1) -> None:
    settings.CACHES = {
        "old": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url,
                "KEY_PREFIX": "site"},
        "default": alias(redis_url, KEY_PREFIX="site", VERSION=version),
    }  # fmt: skip


def test_the_same_version_shares_integers_but_not_values(
    settings: SettingsWrapper, redis_url: str, redis_client: object
) -> None:
    _both(settings, redis_url)
    old, new = caches["old"], bridge()
    old.set("hits", 5)
    assert new.incr("hits") == 6  # counters carry over
    assert old.get("hits") == 6
    old.set("profile", {"name": "ann"})
    assert new.get("profile") is None  # unreadable: a miss, and dropped
    assert old.get("profile") is None
    new.set("menu", ["a", "b"])
    with pytest.raises(Exception):  # noqa: B017, PT011 (django-redis's own error: the reason to switch VERSION)
        old.get("menu")


def test_a_new_version_keeps_the_backends_apart(
    settings: SettingsWrapper, redis_url: str, redis_client: object
) -> None:
    _both(settings, redis_url, version=2)
    old, new = caches["old"], bridge()
    old.set("profile", {"name": "ann"})
    new.set("profile", {"name": "bob"})
    assert new.get("profile") == {"name": "bob"}
    assert old.get("profile") == {"name": "ann"}  # neither reads nor drops the other's
