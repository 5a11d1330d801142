"""BridgeCache builds Django keys itself on its fast path; these tests check that it steps
aside whenever Django's key methods are not Django's own: overridden by a subclass backend, or
reassigned on the cache instance."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.cache import BridgeCache
from tests.support.django_helpers import BRIDGE, stored_keys


class LowerKeysCache(BridgeCache):
    """A backend whose keys are case-insensitive: it lowers them before Django makes them."""

    def make_and_validate_key(self, key: Any, version: int | None = None) -> str:
        return super().make_and_validate_key(str(key).lower(), version=version)


@pytest.fixture
def aliases(settings: SettingsWrapper, location: str) -> Iterator[None]:
    settings.CACHES = {
        "default": {"BACKEND": BRIDGE, "LOCATION": location, "KEY_PREFIX": "site"},
        "lower": {
            "BACKEND": f"{__name__}.{LowerKeysCache.__name__}",
            "LOCATION": location,
            "KEY_PREFIX": "low",
        },
    }
    yield
    caches["default"].clear()
    caches["lower"].clear()


@pytest.mark.usefixtures("aliases")
def test_a_subclass_overriding_make_and_validate_key_is_honoured() -> None:
    cache = caches["lower"]
    assert isinstance(cache, LowerKeysCache)
    cache.set("MixedCase", "value")
    assert cache.get("mixedcase") == "value"
    assert cache.get("MIXEDCASE") == "value"
    assert "low:1:mixedcase" in stored_keys(cache)
    assert "low:1:MixedCase" not in stored_keys(cache)


@pytest.mark.usefixtures("aliases")
def test_key_methods_reassigned_on_the_instance_are_honoured() -> None:
    cache = caches["default"]
    assert isinstance(cache, BridgeCache)
    cache.set("k", "django's key")
    cache.make_key = lambda key, version=None: f"instance/{key}"  # type: ignore[method-assign]
    cache.set("k", "instance key")
    assert cache.get("k") == "instance key"
    assert {"site:1:k", "instance/k"} <= stored_keys(cache)

    del cache.make_key  # Django's own again, on the fast path
    assert cache.get("k") == "django's key"

    checked: list[str] = []
    cache.validate_key = checked.append  # type: ignore[method-assign,assignment]
    cache.set("safe", 1)  # a key Django would not warn about is checked all the same
    assert checked == ["site:1:safe"]
