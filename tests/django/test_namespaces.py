"""BridgeCache with a KEY_PREFIX full of glob characters: clear(), delete_many and
``cache_flush`` (with hostile ``--pattern``s) never touch another alias's keys, or keys
nobody's alias wrote (see tests/properties/test_namespace_hostility.py for the adapters)."""

from __future__ import annotations

import contextlib
import io

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pytest_django import Settings as SettingsWrapper

from tests.support.django_helpers import alias, bridge, plant_raw, stored_keys
from tests.support.fuzz_values import hostile_text
from tests.support.namespace_keys import (
    FOREIGN_VALUE,
    HOSTILE_PREFIXES,
    framework_foreign,
    framework_patterns,
    inside_keys,
)

pytestmark = pytest.mark.filterwarnings("ignore::django.core.cache.CacheKeyWarning")


@pytest.mark.redis
@pytest.mark.parametrize("prefix", HOSTILE_PREFIXES)
def test_django_clear_delete_many_and_cache_flush_stay_in_the_alias(
    settings: SettingsWrapper, location: str, prefix: str
) -> None:
    settings.CACHES = {"default": alias(location, KEY_PREFIX=prefix)}
    dj = bridge()
    foreign = [k for k in framework_foreign(prefix) if not k.startswith(f"{prefix}:1:")]

    def reset() -> None:
        dj.adapters().sync.flush()
        for key in foreign:
            plant_raw(dj, key, FOREIGN_VALUE.encode())
        dj.set_many({"a": 1, "b*": 2, "[x]": 3, "\\": 4})
        dj.set("v2", 5, version=2)

    def survived() -> None:
        assert set(foreign) <= stored_keys(dj)

    reset()
    dj.clear()
    survived()
    assert stored_keys(dj) == set(foreign)

    @hypothesis_settings(max_examples=25, deadline=None)
    @given(pattern=framework_patterns, keys=st.lists(inside_keys | hostile_text, max_size=3))
    def run(pattern: str, keys: list[str]) -> None:
        reset()
        with contextlib.suppress(ValueError):  # InvalidCacheKey: a key no store takes
            dj.delete_many([*keys, *foreign])
        survived()
        with contextlib.suppress(CommandError):  # a pattern no store takes (lone surrogate)
            call_command("cache_flush", pattern=pattern, dry_run=True, stdout=io.StringIO())
            call_command("cache_flush", pattern=pattern, interactive=False, stdout=io.StringIO())
        survived()

    run()
    reset()
    call_command("cache_flush", interactive=False, stdout=io.StringIO())
    assert stored_keys(dj) == set(foreign)
