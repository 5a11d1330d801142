"""cache_bridge/stampede/settings.py: StampedeSettings checks itself at construction."""

from __future__ import annotations

from typing import Any

import pytest

from cache_bridge.errors import ConfigurationError
from cache_bridge.stampede import StampedeSettings


@pytest.mark.parametrize(
    "options",
    [
        {"lock_ttl": 0},
        {"lock_ttl": -1},
        {"poll": 0},
        {"stale_ttl": -1},
        {"early": -0.5},
        {"wait": -1},
        {"lock_ttl": "10"},
        {"stale_ttl": True},
    ],
)
def test_bad_values_raise_configuration_error_naming_the_option(options: dict[str, Any]) -> None:
    (name,) = options
    with pytest.raises(ConfigurationError, match=name):
        StampedeSettings(**options)


def test_wait_defaults_to_twice_the_lock_ttl() -> None:
    assert StampedeSettings(lock_ttl=3).max_wait == 6
    assert StampedeSettings(lock_ttl=3, wait=1).max_wait == 1


def test_coerce_takes_true_false_none_or_settings() -> None:
    assert StampedeSettings.coerce(True) == StampedeSettings()
    assert StampedeSettings.coerce(False) is None
    assert StampedeSettings.coerce(None) is None
    mine = StampedeSettings(stale_ttl=5)
    assert StampedeSettings.coerce(mine) is mine
    with pytest.raises(ConfigurationError, match="StampedeSettings"):
        StampedeSettings.coerce("yes")  # type: ignore[arg-type]
