"""Client addresses for rate limits: REMOTE_ADDR unless a trusted proxy forwarded the request,
X-Forwarded-For walked from the right, IPv6 grouped by prefix."""

from __future__ import annotations

import logging

import pytest

from cache_bridge import ConfigurationError
from cache_bridge.ratelimit import UNKNOWN, ClientAddress, parse_ip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7:8080 ", "203.0.113.7"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("::ffff:198.51.100.2", "198.51.100.2"),
        ("unknown", None),
        ("", None),
        (None, None),
        ("[2001:db8::1", None),
        ("999.1.1.1", None),
    ],
)
def test_parse_ip(text: str | None, expected: str | None) -> None:
    found = parse_ip(text)
    assert (None if found is None else str(found)) == expected


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    resolve = ClientAddress()
    assert resolve.key("192.0.2.1", ["203.0.113.9"]) == "192.0.2.1"
    assert resolve.key("not an address", ["203.0.113.9"]) is None


def test_trusted_hops_are_skipped_from_the_right() -> None:
    resolve = ClientAddress(("10.0.0.0/8", "192.0.2.10"))
    # The client wrote the first entry itself; only what trusted proxies appended counts.
    header = ["1.1.1.1, 198.51.100.4", "10.0.0.7"]
    assert resolve.key("192.0.2.10", header) == "198.51.100.4"
    assert resolve.key("192.0.2.11", header) == "192.0.2.11"  # peer not trusted
    # Every hop trusted: the leftmost is the best we know.
    assert resolve.key("10.0.0.1", ["10.0.0.2, 10.0.0.3"]) == "10.0.0.2"
    assert resolve.key("10.0.0.1", []) == "10.0.0.1"
    # Garbage stops the walk at the nearest verified hop.
    assert resolve.key("10.0.0.1", ["198.51.100.4, garbage, 10.0.0.9"]) == "10.0.0.9"
    assert resolve.key("10.0.0.1", ["  , 198.51.100.5:1234 ,"]) == "198.51.100.5"


def test_ipv6_is_grouped_by_prefix_and_ipv4_optionally() -> None:
    assert ClientAddress().key("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert ClientAddress(ipv6_prefix=48).key("2001:db8:1:2::1") == "2001:db8:1::/48"
    assert ClientAddress(ipv6_prefix=128).key("2001:db8:1:2::1") == "2001:db8:1:2::1"
    assert ClientAddress(ipv4_prefix=24).key("198.51.100.77") == "198.51.100.0/24"
    assert ClientAddress().key("::ffff:198.51.100.77") == "198.51.100.77"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trusted_proxies": ("10.0.0.0/33",)}, "not an IP address or CIDR"),
        ({"ipv6_prefix": 129}, "ipv6_prefix"),
        ({"ipv4_prefix": -1}, "ipv4_prefix"),
    ],
)
def test_configuration_mistakes(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ClientAddress(**kwargs)  # type: ignore[arg-type]


def test_a_single_proxy_may_be_given_as_a_string() -> None:
    resolve = ClientAddress("10.0.0.1")  # type: ignore[arg-type]
    assert resolve.key("10.0.0.1", ["192.0.2.3"]) == "192.0.2.3"


# -- requests without a usable address (issue 12 item 3) ------------------------------------


@pytest.mark.parametrize("remote", ["", None, "unix:/run/app.sock", "/run/app.sock", "garbage"])
def test_no_usable_address_is_none_and_limited_by_the_policy(remote: str | None) -> None:
    assert ClientAddress().key(remote) is None
    assert ClientAddress().limit_key(remote) == UNKNOWN
    assert ClientAddress(unknown_client="deny").limit_key(remote) is None


def test_an_address_is_its_own_limit_key_whatever_the_policy() -> None:
    assert ClientAddress(unknown_client="deny").limit_key("198.51.100.7") == "198.51.100.7"


@pytest.mark.parametrize("remote", ["", None, "unix:/run/app.sock", "/run/app.sock"])
def test_a_unix_socket_proxy_is_trusted_by_the_unix_entry(remote: str | None) -> None:
    resolve = ClientAddress(("unix",))
    assert resolve.key(remote, ["6.6.6.6, 198.51.100.4"]) == "198.51.100.4"
    assert resolve.key(remote, []) is None  # it forwarded no address
    assert resolve.key(remote, ["garbage"]) is None
    # Only peers without an address are the socket's: an IP peer is the client.
    assert resolve.key("192.0.2.1", ["198.51.100.4"]) == "192.0.2.1"
    assert ClientAddress(("unix", "10.0.0.0/8")).key("", ["198.51.100.4, 10.0.0.2"]) == (
        "198.51.100.4"
    )


def test_a_peer_that_is_not_an_address_is_not_trusted_without_the_unix_entry() -> None:
    assert ClientAddress(("10.0.0.0/8",)).key("", ["198.51.100.4"]) is None


def test_the_first_request_without_an_address_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="cache_bridge.ratelimit")
    resolve = ClientAddress()
    for _ in range(5):
        resolve.limit_key("")
    resolve.limit_key("198.51.100.7")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1
    assert "'unix' to TRUSTED_PROXIES" in messages[0]
    assert "shared bucket" in messages[0]


def test_an_unknown_policy_says_what_to_write() -> None:
    with pytest.raises(ConfigurationError, match=r"'shared'.*'deny'"):
        ClientAddress(unknown_client="skip")


def test_a_peers_key_is_kept_and_the_kept_keys_stay_bounded() -> None:
    from cache_bridge.ratelimit import clientip

    resolver = ClientAddress(ipv6_prefix=64)
    assert resolver.key("2001:db8:1:2::7") == "2001:db8:1:2::/64"
    assert resolver.key("2001:db8:1:2::8") == "2001:db8:1:2::/64"
    assert resolver.key("not an address") is None
    assert resolver.key("not an address") is None  # kept as None, still None
    for i in range(clientip._KEYS_KEPT + 10):
        assert resolver.key(f"10.0.{i // 256}.{i % 256}") == f"10.0.{i // 256}.{i % 256}"
    assert len(resolver._keys) <= clientip._KEYS_KEPT
    # Forwarded hops are never answered from the kept keys: the peer alone does not decide.
    proxied = ClientAddress(trusted_proxies=("10.0.0.0/8",))
    assert proxied.key("10.0.0.1") == "10.0.0.1"
    assert proxied.key("10.0.0.1", ["203.0.113.9"]) == "203.0.113.9"
