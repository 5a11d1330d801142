"""The client address a rate limit counts, shared by the Django and Flask integrations.

Without trusted proxies it is the peer address (``REMOTE_ADDR``) and ``X-Forwarded-For`` is
ignored, so a client cannot choose its own key. With trusted proxies (CIDRs), a request whose
peer is one of them has its ``X-Forwarded-For`` walked from the right, skipping trusted hops;
the first untrusted address is the client. IPv6 clients are grouped by a prefix (default /64,
what one subscriber usually gets), IPv4 clients by /32 unless told otherwise.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from cache_bridge.errors import ConfigurationError

__all__ = ["ClientAddress", "parse_ip"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ip(text: str | None) -> Address | None:
    """An address from a header or ``REMOTE_ADDR`` entry (ports, brackets and IPv6 zones
    removed, IPv4-mapped IPv6 as IPv4), or ``None`` if it is not one."""
    if not text:
        return None
    # Plain str only: a str subclass could compare equal to a cached entry yet differ.
    return _parse_ip(str.__str__(text)) if isinstance(text, str) else None


@functools.lru_cache(maxsize=4096)
def _parse_ip(text: str) -> Address | None:
    # The same few client and proxy addresses come back request after request.
    text = text.strip()
    if text.startswith("["):  # [v6] or [v6]:port
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    if isinstance(cidrs, str):
        cidrs = [cidrs]
    found: list[Network] = []
    for cidr in cidrs:
        try:
            found.append(ipaddress.ip_network(str(cidr).strip(), strict=False))
        except ValueError:
            raise ConfigurationError(
                f"trusted proxy {cidr!r} is not an IP address or CIDR such as '10.0.0.0/8'"
            ) from None
    return tuple(found)


@dataclass(frozen=True)
class ClientAddress:
    """Resolves the rate-limit key of a request's client.

    ``trusted_proxies``: CIDRs (or single addresses) of the reverse proxies in front of the
    application. ``ipv6_prefix`` / ``ipv4_prefix``: how many leading bits identify one client.
    """

    trusted_proxies: tuple[str, ...] = ()
    ipv6_prefix: int = 64
    ipv4_prefix: int = 32
    _networks: tuple[Network, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.ipv6_prefix <= 128 or isinstance(self.ipv6_prefix, bool):
            raise ConfigurationError(f"ipv6_prefix must be 0 to 128, not {self.ipv6_prefix!r}")
        if not 0 <= self.ipv4_prefix <= 32 or isinstance(self.ipv4_prefix, bool):
            raise ConfigurationError(f"ipv4_prefix must be 0 to 32, not {self.ipv4_prefix!r}")
        object.__setattr__(self, "_networks", _networks(self.trusted_proxies))

    def _trusted(self, address: Address) -> bool:
        return any(address in network for network in self._networks)

    def client(self, remote_addr: str | None, forwarded_for: Iterable[str] = ()) -> Address | None:
        """The client's address: ``remote_addr`` unless it is a trusted proxy, then the first
        untrusted hop of ``forwarded_for`` (the ``X-Forwarded-For`` header values, in order)
        counted from the right. An entry that is not an address ends the walk at the nearest
        verified hop. ``None`` only when ``remote_addr`` itself is not an address."""
        peer = parse_ip(remote_addr)
        if peer is None or not self._networks or not self._trusted(peer):
            return peer
        hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
        nearest = peer
        for hop in reversed(hops):
            address = parse_ip(hop)
            if address is None:
                return nearest
            if not self._trusted(address):
                return address
            nearest = address
        return nearest

    def key(self, remote_addr: str | None, forwarded_for: Iterable[str] = ()) -> str | None:
        """The client's rate-limit key: its address, or its network when grouped (IPv6
        ``2001:db8:1:2::/64``); ``None`` when there is no usable address."""
        address = self.client(remote_addr, forwarded_for)
        if address is None:
            return None
        bits = self.ipv6_prefix if address.version == 6 else self.ipv4_prefix
        return _grouped(address, bits)


@functools.lru_cache(maxsize=4096)
def _grouped(address: Address, bits: int) -> str:
    if bits == address.max_prefixlen:
        return str(address)
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))
