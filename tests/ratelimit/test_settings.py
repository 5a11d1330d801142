"""The rate-limit settings schema both frameworks wrap (cache_bridge/ratelimit/settings.py)."""

from __future__ import annotations

import pytest

from cache_bridge.errors import ConfigurationError
from cache_bridge.ratelimit import UNKNOWN, Rate
from cache_bridge.ratelimit import settings as schema


def test_unknown_names_come_with_the_closest_known_one() -> None:
    assert schema.unknown_name({"KEY": 1, "ALGORITHM": 2}, tuple(schema.SHARED_DEFAULTS)) is None
    assert schema.unknown_name(["KEY", "ALGORITM"], ("KEY", "ALGORITHM")) == (
        "ALGORITM",
        " Did you mean 'ALGORITHM'?",
    )
    assert schema.unknown_name(["ZZZZ"], ("KEY",)) == ("ZZZZ", "")


def test_a_hint_in_parentheses() -> None:
    assert schema.parenthesised(" Did you mean 'RULES'?") == " (did you mean 'RULES'?)"
    assert schema.parenthesised("") == ""


def test_rates_algorithms_and_methods_are_checked() -> None:
    assert schema.check_rate("10/m") == Rate(10, 60)
    with pytest.raises(ConfigurationError, match="malformed rate"):
        schema.check_rate("10/fortnight")
    assert schema.check_algorithm("token-bucket", "ALGORITHM") == "token-bucket"
    with pytest.raises(ConfigurationError, match=r"^algorithm 'leaky' is not one of"):
        schema.check_algorithm("leaky", "algorithm")
    assert schema.check_methods(None, "METHODS") is None
    assert schema.check_methods("post", "METHODS") == frozenset({"POST"})
    assert schema.check_methods(["get", "Post"], "METHODS") == frozenset({"GET", "POST"})
    for wrong in ([1], 3, {"POST": 1}):
        with pytest.raises(ConfigurationError, match=r"^METHODS must be a list"):
            schema.check_methods(wrong, "METHODS")


def test_flags_and_prefixes() -> None:
    assert schema.is_flag(False)
    assert not schema.is_flag(0)
    assert schema.is_prefix("rl")
    assert not schema.is_prefix("")
    assert not schema.is_prefix(None)


def test_the_client_address_settings() -> None:
    address = schema.client_address({"TRUSTED_PROXIES": ["10.0.0.0/8"], "IPV4_PREFIX": 24})
    assert address.key("10.1.2.3", ["203.0.113.7"]) == "203.0.113.0/24"
    assert schema.client_address({}).limit_key("") == UNKNOWN
    with pytest.raises(ConfigurationError, match="not an IP address or CIDR"):
        schema.client_address({"TRUSTED_PROXIES": ["nope"]})
    with pytest.raises(ConfigurationError):  # not iterable: a TypeError, reported as a mistake
        schema.client_address({"TRUSTED_PROXIES": 5})
    with pytest.raises(ConfigurationError, match=r"UNKNOWN_CLIENT.*shared.*deny"):
        schema.client_address({"UNKNOWN_CLIENT": "allow"})


def test_the_limiter_cache_is_bounded() -> None:
    kept: schema.LimiterCache[str, int] = schema.LimiterCache()
    assert kept.get("a") is None
    assert kept.put("a", 1, bound=2) == 1
    kept.put("b", 2, bound=2)
    assert kept.full(bound=2)
    assert sorted(kept.values()) == [1, 2]
    kept.put("c", 3, bound=2)  # full: the others are forgotten
    assert len(kept) == 1
    assert kept.get("c") == 3
    assert kept.get("a") is None
    kept.clear()
    assert len(kept) == 0
    assert not kept.full()
