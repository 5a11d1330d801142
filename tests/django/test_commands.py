"""The cache_ping and cache_flush management commands."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pytest_django import Settings as SettingsWrapper

from tests.support.django_helpers import DEAD_OPTIONS, alias, bridge, dead_redis_url


@pytest.fixture
def two_sites(settings: SettingsWrapper, location: str) -> Iterator[None]:
    settings.CACHES = {
        "default": alias(location, KEY_PREFIX="site"),
        "other": alias(location, KEY_PREFIX="other"),
        "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    for key in ("user:1", "user:2", "page:1"):
        bridge().set(key, "v")
        bridge("other").set(key, "v")
    bridge().set("user:3", "old version", version=7)
    site, other = bridge(), bridge("other")
    yield
    site.clear()
    other.clear()


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def test_cache_ping_pings_every_bridge_alias(two_sites: None) -> None:
    output = run("cache_ping")
    assert "default: PONG in " in output
    assert "other: PONG in " in output
    assert "locmem" not in output
    assert "other" not in run("cache_ping", "--alias", "default")


def test_cache_ping_fails_with_status_1_on_a_dead_cache(
    two_sites: None, settings: SettingsWrapper
) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "dead": alias(dead_redis_url(), KEY_PREFIX="d", OPTIONS=DEAD_OPTIONS),
    }
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 of 3 caches did not answer: dead") as raised:
        call_command("cache_ping", stdout=io.StringIO(), stderr=err)
    assert raised.value.returncode == 1
    assert "dead: FAILED after" in err.getvalue()
    # The failed ping opened the breaker (whose background probes may have failed too).
    assert re.search(r"circuit open .*; \d+ connection failures, opened 1 times", err.getvalue())


def test_cache_ping_refuses_unknown_and_non_bridge_aliases(
    two_sites: None, settings: SettingsWrapper
) -> None:
    with pytest.raises(CommandError, match="unknown cache alias 'nope'"):
        run("cache_ping", "--alias", "nope")
    with pytest.raises(CommandError, match="did not answer: locmem"):
        run("cache_ping", "--alias", "locmem")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with pytest.raises(CommandError, match="no CACHES alias uses"):
        run("cache_ping")


def test_cache_ping_reports_a_misconfigured_alias(settings: SettingsWrapper) -> None:
    settings.CACHES = {"default": alias("redis://h/0", OPTIONS={"bogus": 1})}
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("cache_ping", stdout=io.StringIO(), stderr=err)
    assert "unknown option 'bogus'" in err.getvalue()


def test_cache_flush_dry_run_counts_and_deletes_nothing(two_sites: None) -> None:
    output = run("cache_flush", "--dry-run")
    assert "Would remove 4 keys matching 'site:<VERSION>:*'" in output
    assert bridge().get("user:1") == "v"
    output = run("cache_flush", "--dry-run", "--pattern", "user:*")
    assert "Would remove 2 keys matching 'site:1:user:*'" in output


def test_cache_flush_asks_first(two_sites: None, monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []

    def answer_no(prompt: str) -> str:
        prompts.append(prompt)
        return "no"

    monkeypatch.setattr("builtins.input", answer_no)
    assert "Cancelled" in run("cache_flush")
    assert prompts == [
        "This removes 4 keys matching 'site:<VERSION>:*' in cache 'default'. "
        "Type 'yes' to continue: "
    ]
    assert bridge().get("user:1") == "v"
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    assert "Removed 4 keys" in run("cache_flush")
    assert bridge().get_many(["user:1", "user:2", "page:1"]) == {}
    assert bridge().get("user:3", version=7) is None
    assert bridge("other").get_many(["user:1", "user:2", "page:1"]) == {
        "user:1": "v",
        "user:2": "v",
        "page:1": "v",
    }


def test_cache_flush_pattern_noinput_stays_in_the_namespace(
    two_sites: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("builtins.input", lambda prompt: pytest.fail("asked despite --noinput"))
    output = run("cache_flush", "--alias", "other", "--pattern", "user:*", "--noinput")
    assert "Removed 2 keys matching 'other:1:user:*'" in output
    assert bridge("other").get("page:1") == "v"
    assert bridge().get("user:1") == "v"


def test_cache_flush_bad_input(two_sites: None) -> None:
    with pytest.raises(CommandError, match="must not be empty"):
        run("cache_flush", "--pattern", "", "--noinput")
    with pytest.raises(CommandError, match="'nope'"):
        run("cache_flush", "--alias", "nope", "--noinput")
    with pytest.raises(CommandError, match="BridgeCache"):
        run("cache_flush", "--alias", "locmem", "--noinput")
    with pytest.raises(CommandError, match="characters long"):
        run("cache_flush", "--pattern", "x" * 5000, "--noinput")


def test_cache_flush_on_a_dead_cache(settings: SettingsWrapper) -> None:
    settings.CACHES = {"default": alias(dead_redis_url(), KEY_PREFIX="d", OPTIONS=DEAD_OPTIONS)}
    with pytest.raises(CommandError, match="could not count keys"):
        run("cache_flush", "--noinput")


def test_cache_flush_keeps_an_alias_whose_prefix_nests_under_its_own(
    two_sites: None, settings: SettingsWrapper
) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "nested": alias(settings.CACHES["default"]["LOCATION"], KEY_PREFIX="site:x"),
    }
    bridge("nested").set("user:1", "nested")
    assert "Would remove 4 keys matching 'site:<VERSION>:*'" in run("cache_flush", "--dry-run")
    assert "Removed 4 keys" in run("cache_flush", "--noinput")
    assert bridge("nested").get("user:1") == "nested"
    assert "Removed 1 keys" in run("cache_flush", "--alias", "nested", "--noinput")
