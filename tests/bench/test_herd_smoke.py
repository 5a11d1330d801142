"""bench/cases_herd.py runs (two rounds of 20 callers) and reports every implementation: a
smoke run so it cannot rot. It asserts what was counted (computations per herd), never a time."""

from __future__ import annotations

import importlib

import pytest
import redis
from pytest_django import Settings as SettingsWrapper

pytest.importorskip("dogpile.cache")
pytest.importorskip("cashews")
pytest.importorskip("flask_caching")


def test_the_herd_scenario_counts_computations_per_implementation(
    settings: SettingsWrapper, redis_url: str, redis_client: redis.Redis
) -> None:
    # Django is configured already (the test settings): give it the bench's two aliases.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "bridge": {"BACKEND": "django_cache_bridge.cache.BridgeCache", "LOCATION": redis_url},
        "django": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url},
    }
    herd = importlib.import_module("bench.cases_herd")
    results = herd.run_herd(redis_url, callers=20, rounds=2)
    runs = {(r.scenario, r.impl): r.computations for r in results}
    assert runs[("hard expiry", "Django get_or_set (RedisCache)")] == [20, 20]
    ours = {key: value for key, value in runs.items() if key[1].startswith("cache_bridge")}
    assert len(ours) == 6
    assert all(value == [1, 1] for value in ours.values())
    assert all(len(r.latencies) == 40 for r in results)
    assert (
        herd.herd_table(results, 20).count("\n| ") == len(results) + 2
    )  # the header, the rule, a row each
