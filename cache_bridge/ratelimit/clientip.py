"""The client address a rate limit counts, shared by the Django and Flask integrations.

Without trusted proxies it is the peer address (``REMOTE_ADDR``) and ``X-Forwarded-For`` is
ignored, so a client cannot choose its own key. With trusted proxies (CIDRs), a request whose
peer is one of them has its ``X-Forwarded-For`` walked from the right, skipping trusted hops;
the first untrusted address is the client. The entry ``"unix"`` trusts a peer without an IP
address: a proxy on a Unix socket (gunicorn sets ``REMOTE_ADDR`` to ``""`` there, an ASGI
server sets none). IPv6 clients are grouped by a prefix (default /64, what one subscriber
usually gets), IPv4 clients by /32 unless told otherwise.

A request with no usable address at all is still limited, by the ``unknown_client`` policy:
``"shared"`` (default) counts every such request in one bucket, :data:`UNKNOWN`; ``"deny"``
refuses them. The first such request is logged (once per :class:`ClientAddress`).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from cache_bridge.errors import ConfigurationError

__all__ = ["UNKNOWN", "UNKNOWN_CLIENT_POLICIES", "ClientAddress", "parse_ip", "parse_networks"]

logger = logging.getLogger("cache_bridge.ratelimit")

#: The key that requests without a usable client address share (policy ``"shared"``).
UNKNOWN = "unknown"
#: What to do with a request that has no usable client address.
UNKNOWN_CLIENT_POLICIES = ("shared", "deny")
#: The ``TRUSTED_PROXIES`` entry that trusts a peer on a Unix socket.
UNIX = "unix"

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


def _unix_peer(remote_addr: str | None) -> bool:
    """Whether ``remote_addr`` is what servers give for a Unix-socket peer: nothing, ``""``,
    ``"unix:..."`` or a socket path."""
    if not remote_addr:
        return True
    return isinstance(remote_addr, str) and remote_addr.startswith((UNIX, "/"))


def _networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    return parse_networks(cidrs, "trusted proxy", f" (or {UNIX!r} for a proxy on a Unix socket)")


def parse_networks(
    cidrs: Iterable[str] | str, label: str = "address", hint: str = ""
) -> tuple[Network, ...]:
    """The networks of ``cidrs`` (CIDRs or single addresses; IPv4-mapped IPv6 as IPv4;
    ``"unix"`` skipped); raises :class:`~cache_bridge.errors.ConfigurationError` naming
    ``label`` for an entry that is neither."""
    if isinstance(cidrs, str):
        cidrs = [cidrs]
    found: list[Network] = []
    for cidr in cidrs:
        if str(cidr).strip() == UNIX:
            continue
        try:
            network = ipaddress.ip_network(str(cidr).strip(), strict=False)
        except ValueError:
            raise ConfigurationError(
                f"{label} {cidr!r} is not an IP address or CIDR such as '10.0.0.0/8'{hint}"
            ) from None
        mapped = getattr(network.network_address, "ipv4_mapped", None)
        if mapped is not None and network.prefixlen >= 96:
            network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
        found.append(network)
    return tuple(found)


@dataclass(frozen=True)
class ClientAddress:
    """Resolves the rate-limit key of a request's client.

    ``trusted_proxies``: CIDRs (or single addresses) of the reverse proxies in front of the
    application, and ``"unix"`` for one on a Unix socket. ``ipv6_prefix`` / ``ipv4_prefix``:
    how many leading bits identify one client. ``unknown_client``: ``"shared"`` or ``"deny"``,
    for requests without a usable address (see the module docstring).
    """

    trusted_proxies: tuple[str, ...] = ()
    ipv6_prefix: int = 64
    ipv4_prefix: int = 32
    unknown_client: str = "shared"
    _networks: tuple[Network, ...] = field(init=False, repr=False, compare=False)
    _trust_unix: bool = field(init=False, repr=False, compare=False)
    _unlogged: list[bool] = field(init=False, repr=False, compare=False)
    _lock: threading.Lock = field(init=False, repr=False, compare=False)
    _keys: dict[str, str | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.ipv6_prefix <= 128 or isinstance(self.ipv6_prefix, bool):
            raise ConfigurationError(f"ipv6_prefix must be 0 to 128, not {self.ipv6_prefix!r}")
        if not 0 <= self.ipv4_prefix <= 32 or isinstance(self.ipv4_prefix, bool):
            raise ConfigurationError(f"ipv4_prefix must be 0 to 32, not {self.ipv4_prefix!r}")
        if self.unknown_client not in UNKNOWN_CLIENT_POLICIES:
            raise ConfigurationError(
                f"UNKNOWN_CLIENT must be 'shared' (one bucket for every request without a "
                f"usable client address) or 'deny' (refuse them), not {self.unknown_client!r}"
            )
        proxies = self.trusted_proxies
        entries: list[object] = [proxies] if isinstance(proxies, str) else list(proxies)
        object.__setattr__(self, "_networks", _networks(self.trusted_proxies))
        object.__setattr__(self, "_trust_unix", any(str(p).strip() == UNIX for p in entries))
        object.__setattr__(self, "_unlogged", [True])
        object.__setattr__(self, "_lock", threading.Lock())
        # The key of a peer without forwarded hops, by its REMOTE_ADDR: the same few clients
        # come back request after request (bounded: emptied when full).
        object.__setattr__(self, "_keys", {})

    def _trusted(self, address: Address) -> bool:
        return any(address in network for network in self._networks)

    def client(self, remote_addr: str | None, forwarded_for: Iterable[str] = ()) -> Address | None:
        """The client's address: ``remote_addr`` unless it is a trusted proxy, then the first
        untrusted hop of ``forwarded_for`` (the ``X-Forwarded-For`` header values, in order)
        counted from the right. An entry that is not an address ends the walk at the nearest
        verified hop. ``None`` when there is no usable address: ``remote_addr`` is not one
        (and not a trusted Unix-socket proxy), or such a proxy forwarded none."""
        peer = parse_ip(remote_addr)
        if peer is None:
            if not (self._trust_unix and _unix_peer(remote_addr)):
                return None
        elif not self._networks or not self._trusted(peer):
            return peer
        hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
        nearest: Address | None = peer
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
        direct = not forwarded_for and type(remote_addr) is str
        if direct:
            keys = self._keys
            if remote_addr in keys:
                return keys[remote_addr]
        address = self.client(remote_addr, forwarded_for)
        if address is None:
            found = None
        else:
            bits = self.ipv6_prefix if address.version == 6 else self.ipv4_prefix
            found = _grouped(address, bits)
        if direct:
            if len(keys) >= _KEYS_KEPT:
                keys.clear()
            keys[remote_addr] = found  # type: ignore[index]
        return found

    def limit_key(self, remote_addr: str | None, forwarded_for: Iterable[str] = ()) -> str | None:
        """What an ``"ip"`` limit counts the request under: :meth:`key`, or for a request
        without a usable address :data:`UNKNOWN` (policy ``"shared"``) or ``None`` (``"deny"``:
        refuse it). The first request without an address is logged, once."""
        key = self.key(remote_addr, forwarded_for)
        if key is not None:
            return key
        if self._unlogged[0]:
            self._log_once(remote_addr)
        return UNKNOWN if self.unknown_client == "shared" else None

    def _log_once(self, remote_addr: str | None) -> None:
        with self._lock:
            first, self._unlogged[0] = self._unlogged[0], False
        if not first:
            return
        shown = repr(remote_addr)[:60]
        policy = (
            f"counted in one shared bucket, {UNKNOWN!r}"
            if self.unknown_client == "shared"
            else "refused"
        )
        hint = (
            ""
            if self._trust_unix
            else f"; behind a proxy on a Unix socket, add {UNIX!r} to TRUSTED_PROXIES"
        )
        logger.warning(
            "a request has no usable client address (REMOTE_ADDR %s): requests without one "
            "are %s by 'ip' limits (UNKNOWN_CLIENT %r)%s. Logged once.",
            shown,
            policy,
            self.unknown_client,
            hint,
        )


#: How many peers' keys a :class:`ClientAddress` keeps.
_KEYS_KEPT = 4096


@functools.lru_cache(maxsize=4096)
def _grouped(address: Address, bits: int) -> str:
    if bits == address.max_prefixlen:
        return str(address)
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))
