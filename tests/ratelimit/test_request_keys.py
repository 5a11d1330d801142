"""Request key specs, written once for both frameworks (cache_bridge/ratelimit/request_keys.py)."""

from __future__ import annotations

import pytest

from cache_bridge.ratelimit.request_keys import DENY, NAMED_KEYS, is_named_key, named_key


@pytest.mark.parametrize("spec", [*NAMED_KEYS, "header:X-Api-Key"])
def test_named_keys(spec: str) -> None:
    assert is_named_key(spec)


@pytest.mark.parametrize("spec", ["header:", "cookie", "", None, 3, "IP"])
def test_what_is_not_a_named_key(spec: object) -> None:
    assert not is_named_key(spec)


def _key(spec: str, *, uid: str | None = None, ip: str | None = "203.0.113.7") -> object:
    headers = {"X-Api-Key": "k1"}
    return named_key(spec, header=headers.get, user_id=lambda: uid, client_ip=lambda: ip)


def test_what_each_named_key_counts() -> None:
    assert _key("ip") == "ip:203.0.113.7"
    assert _key("ip", ip=None) is DENY
    assert _key("user") is None
    assert _key("user", uid="7") == "user:7"
    assert _key("user-or-ip") == "ip:203.0.113.7"
    assert _key("user-or-ip", uid="7") == "user:7"
    assert _key("header:X-Api-Key") == "header:X-Api-Key:k1"
    assert _key("header:X-Other") is None
