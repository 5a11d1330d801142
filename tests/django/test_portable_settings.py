"""One Django settings file for memory:// and Redis: OPTIONS written for Redis work on a
memory:// LOCATION, and a ``?key_prefix=`` in LOCATION is the alias's KEY_PREFIX (never
ignored; a KEY_PREFIX that says otherwise is an error)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from pytest_django import Settings as SettingsWrapper
from returns.result import Success

from django_cache_bridge import get_sync_cache
from django_cache_bridge.checks import check_caches
from tests.support.django_helpers import alias, bridge, fresh_memory, stored_keys

#: The quick start's OPTIONS for Redis.
REDIS_OPTIONS = {"timeout": 0.5, "connect_timeout": 0.5, "max_connections": 20}


def test_redis_options_on_a_memory_location_pass_the_checks_and_work(
    settings: SettingsWrapper,
) -> None:
    settings.CACHES = {
        "default": alias(fresh_memory(), KEY_PREFIX="site", OPTIONS=REDIS_OPTIONS),
    }
    assert check_caches() == []
    dj = bridge()
    dj.set("k", "v")
    assert dj.get("k") == "v"


def test_a_bad_network_option_value_on_memory_is_still_reported(
    settings: SettingsWrapper,
) -> None:
    settings.CACHES = {"default": alias("memory://", OPTIONS={"timeout": -1})}
    assert [m.id for m in check_caches()] == ["django_cache_bridge.E002"]


@pytest.mark.redis
def test_a_key_prefix_in_the_location_is_the_key_prefix(
    settings: SettingsWrapper, location: str
) -> None:
    joiner = "&" if "?" in location else "?"
    settings.CACHES = {"default": alias(f"{location}{joiner}key_prefix=site")}
    dj = bridge()
    assert dj.key_prefix == "site"
    dj.set("k", "v")
    assert stored_keys(dj) == {"site:1:k"}
    assert dj.get("k") == "v"
    # No W002 (Redis without a KEY_PREFIX): the LOCATION gives one.
    assert check_caches() == []


@pytest.mark.redis
def test_the_same_prefix_in_location_and_key_prefix_is_fine(
    settings: SettingsWrapper, location: str
) -> None:
    joiner = "&" if "?" in location else "?"
    settings.CACHES = {"default": alias(f"{location}{joiner}key_prefix=site", KEY_PREFIX="site")}
    assert check_caches() == []
    dj = bridge()
    dj.set("k", "v")
    assert stored_keys(dj) == {"site:1:k"}


def test_a_location_prefix_and_a_different_key_prefix_are_an_error(
    settings: SettingsWrapper,
) -> None:
    settings.CACHES = {"default": alias("redis://h/0?key_prefix=site", KEY_PREFIX="blog")}
    messages = check_caches()
    assert [m.id for m in messages] == ["django_cache_bridge.E002"]
    assert "?key_prefix= and KEY_PREFIX ('blog') differ" in messages[0].msg
    dj = bridge()  # constructing never raises: the checks report it
    with pytest.raises(ImproperlyConfigured, match="differ"):
        dj.get("k")


def test_nested_prefixes_from_locations_are_w003(settings: SettingsWrapper) -> None:
    settings.CACHES = {
        "default": alias("redis://h/0?key_prefix=site"),
        "inner": alias("redis://h/0", KEY_PREFIX="site:inner"),
    }
    assert [m.id for m in check_caches()] == ["django_cache_bridge.W003"]


def test_cache_flush_names_the_location_prefix(settings: SettingsWrapper) -> None:
    settings.CACHES = {"default": alias(f"{fresh_memory()}?key_prefix=site")}
    bridge().set("k", "v")
    out = io.StringIO()
    call_command("cache_flush", "--dry-run", stdout=out)
    assert "Would remove 1 keys matching 'site:<VERSION>:*'" in out.getvalue()


def test_the_protocol_faces_use_the_location_prefix(settings: SettingsWrapper) -> None:
    settings.CACHES = {"default": alias(f"{fresh_memory()}?key_prefix=site")}
    assert get_sync_cache().set("p", "v") == Success(None)
    assert stored_keys(bridge()) == {"site:1:p"}


DOCS = Path(__file__).resolve().parents[2] / "docs" / "django.md"


def _docs_settings(monkeypatch: pytest.MonkeyPatch, cache_url: str | None) -> dict[str, Any]:
    """The CACHES of docs/django.md's "One settings file" example, run as written."""
    text = DOCS.read_text()
    section = text[text.index("### One settings file for memory:// and Redis") :]
    start = section.index("```python\n") + len("```python\n")
    code = section[start : section.index("\n```", start)]
    if cache_url is None:
        monkeypatch.delenv("CACHE_URL", raising=False)
    else:
        monkeypatch.setenv("CACHE_URL", cache_url)
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOCS), "exec"), namespace)
    caches: dict[str, Any] = namespace["CACHES"]
    return caches


def test_the_docs_example_runs_on_memory(
    settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CACHES = _docs_settings(monkeypatch, None)
    assert check_caches() == []
    bridge().set("k", "v")
    assert "shop:1:k" in stored_keys(bridge())


@pytest.mark.redis
def test_the_docs_example_runs_on_redis(
    settings: SettingsWrapper,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    redis_client: redis.Redis,
) -> None:
    settings.CACHES = _docs_settings(monkeypatch, f"{redis_url}?key_prefix=shop")
    assert check_caches() == []
    bridge().set("k", "v")
    assert redis_client.keys("*") == [b"shop:1:k"]
