"""System checks: configuration mistakes show in ``manage.py check`` with ids and hints."""

from __future__ import annotations

import importlib.util
import io
from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.checks import bridge_aliases, check_caches
from tests.support.django_helpers import alias


def ids(settings: SettingsWrapper, **caches: dict[str, Any]) -> list[str]:
    settings.CACHES = caches
    return [message.id or "" for message in check_caches()]


def test_a_good_configuration_passes(settings: SettingsWrapper) -> None:
    assert (
        ids(
            settings,
            default=alias("memory://"),
            redis=alias("redis://127.0.0.1:6379/0", KEY_PREFIX="site", OPTIONS={"timeout": 0.5}),
            json=alias(
                "redis://h/1", KEY_PREFIX="s", OPTIONS={"serializer": "json", "sign": False}
            ),
            locmem={"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        )
        == []
    )


def test_the_checks_are_registered_by_the_app(settings: SettingsWrapper) -> None:
    settings.CACHES = {"default": alias("memory://", OPTIONS={"bogus": 1})}
    found = [m.id for m in checks.run_checks(tags=[checks.Tags.caches])]
    assert "django_cache_bridge.E002" in found


@pytest.mark.parametrize(
    ("location", "text"),
    [
        ("ftp://example.com/", "unsupported cache URL scheme"),
        ("redis://host:99999/0", "port"),
        ("redis://host/zero", "database number"),
        ("memory://name/path", "memory:// or memory://NAME"),
    ],
)
def test_a_malformed_location_is_e001(settings: SettingsWrapper, location: str, text: str) -> None:
    settings.CACHES = {"default": alias(location, KEY_PREFIX="s")}
    [message] = check_caches()
    assert message.id == "django_cache_bridge.E001"
    assert message.level == checks.ERROR
    assert text in message.msg
    assert message.hint is not None
    assert "redis://HOST:6379/DB" in message.hint


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"timeuot": 1}, "Did you mean 'timeout'"),
        ({"serializer": "yaml"}, "'pickle' or 'json'"),
        ({"max_connections": 0}, "at least 1"),
        ({"key_prefix": "x"}, "set KEY_PREFIX"),
    ],
)
def test_an_unknown_or_bad_option_is_e002(
    settings: SettingsWrapper, options: dict[str, Any], text: str
) -> None:
    settings.CACHES = {"default": alias("redis://h/0", KEY_PREFIX="s", OPTIONS=options)}
    [message] = check_caches()
    assert message.id == "django_cache_bridge.E002"
    assert text in message.msg


def test_bad_memory_sizes_and_non_dict_options_are_e002(settings: SettingsWrapper) -> None:
    settings.CACHES = {"default": alias("memory://", OPTIONS={"MAX_ENTRIES": "lots"})}
    [message] = check_caches()
    assert (message.id, "whole number" in message.msg) == ("django_cache_bridge.E002", True)
    settings.CACHES = {"default": alias("redis://h/0", KEY_PREFIX="s", OPTIONS=["timeout"])}
    [message] = check_caches()
    assert (message.id, "must be a dict" in message.msg) == ("django_cache_bridge.E002", True)


def test_a_missing_redis_extra_is_e003(
    settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "redis" else real(name, *a)
    )
    assert ids(settings, default=alias("redis://h/0", KEY_PREFIX="s")) == [
        "django_cache_bridge.E003"
    ]
    assert ids(settings, default=alias("memory://")) == []


def test_unsigned_pickle_on_redis_is_w001(settings: SettingsWrapper) -> None:
    unsigned = {"sign": False}
    assert ids(settings, default=alias("redis://h/0", KEY_PREFIX="s", OPTIONS=unsigned)) == [
        "django_cache_bridge.W001"
    ]
    assert ids(settings, default=alias("memory://", OPTIONS=unsigned)) == []


def test_redis_without_a_key_prefix_is_w002(settings: SettingsWrapper) -> None:
    assert ids(settings, default=alias("redis://h/0")) == ["django_cache_bridge.W002"]


def test_subclasses_count_and_broken_backends_do_not(settings: SettingsWrapper) -> None:
    settings.CACHES = {
        "default": alias("memory://"),
        "sub": {"BACKEND": "tests.support.django_helpers.SubBridgeCache"},
        "broken": {"BACKEND": "no.such.Backend"},
        "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    assert bridge_aliases() == ["default", "sub"]


def test_manage_py_check_shows_a_message_not_a_traceback(settings: SettingsWrapper) -> None:
    settings.CACHES = {"default": alias("redis://h:notaport/0", KEY_PREFIX="s")}
    with pytest.raises(SystemCheckError) as raised:
        call_command("check", stdout=io.StringIO(), stderr=io.StringIO())
    text = str(raised.value)
    assert "django_cache_bridge.E001" in text
    assert "HINT: Write memory://" in text


def test_nested_key_prefixes_on_one_store_are_w003(settings: SettingsWrapper) -> None:
    w003 = "django_cache_bridge.W003"
    site = alias("redis://h:6379/0", KEY_PREFIX="site")
    assert ids(settings, default=site, nested=alias("redis://h/0", KEY_PREFIX="site:x")) == [w003]
    assert ids(settings, default=site, nested=alias("redis://H/0", KEY_PREFIX="site:1:a")) == [w003]
    settings.CACHES = {"default": site, "nested": alias("redis://h/0", KEY_PREFIX="site:x")}
    (message,) = check_caches()
    assert "CACHES['nested'] (KEY_PREFIX 'site:x') nests under CACHES['default']" in message.msg
    assert message.hint is not None
    assert "'site_x'" in message.hint
    # Not nested: a shared prefix (two VERSIONs of one site), a prefix that merely starts
    # alike, another database or host, another memory store, a non-bridge alias.
    assert (
        ids(
            settings,
            default=site,
            v2=alias("redis://h/0", KEY_PREFIX="site", VERSION=2),
            alike=alias("redis://h/0", KEY_PREFIX="site_x"),
            alike2=alias("redis://h/0", KEY_PREFIX="sitex:y"),
            db1=alias("redis://h/1", KEY_PREFIX="site:x"),
            host=alias("redis://other/0", KEY_PREFIX="site:x"),
            locmem={
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "KEY_PREFIX": "site:x",
            },
        )
        == []
    )
    assert ids(
        settings,
        default=alias("memory://a", KEY_PREFIX="m"),
        b=alias("memory://b", KEY_PREFIX="m:x"),
        a=alias("memory://a", KEY_PREFIX="m:x"),
    ) == [w003]
    assert ids(
        settings,
        default=alias("memory://", KEY_PREFIX="m"),
        blank=alias("", KEY_PREFIX="m:x"),
    ) == [w003]
    assert ids(
        settings,
        default=alias("unix:///tmp/r.sock?db=2", KEY_PREFIX="u"),
        nested=alias("unix:///tmp/r.sock?db=2", KEY_PREFIX="u:v"),
    ) == [w003]
