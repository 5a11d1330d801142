"""Exemptions, written once for both frameworks: ``EXEMPT`` (IPs and CIDRs whose requests are
never limited, matched on the client address *after* trusted-proxy handling, so a forged
``X-Forwarded-For`` cannot get in) and ``exempt_when`` predicates (the whole request, or one
limit). An exempt request asks the cache nothing and gets no RateLimit headers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cache_bridge.errors import ConfigurationError
from cache_bridge.ratelimit.clientip import Address, Network, parse_networks

__all__ = ["ExemptAddresses", "check_exempt_when", "holds"]

logger = logging.getLogger("cache_bridge.ratelimit")


@dataclass(frozen=True)
class ExemptAddresses:
    """The networks of ``EXEMPT``, parsed once."""

    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, entries: object) -> ExemptAddresses:
        """``entries`` (a list of IPs or CIDRs, or one) checked; raises
        :class:`~cache_bridge.errors.ConfigurationError` for anything else."""
        if entries is None:
            return cls()
        if not isinstance(entries, str) and not isinstance(entries, Iterable):
            raise ConfigurationError(f"EXEMPT must be a list of IPs or CIDRs, not {entries!r}")
        return cls(parse_networks(entries, "EXEMPT entry"))

    def covers(self, address: Address | None) -> bool:
        """Whether ``address`` (the resolved client address) is exempt."""
        return address is not None and any(address in network for network in self.networks)


def check_exempt_when(predicate: object, label: str = "exempt_when") -> Callable[..., Any] | None:
    """``predicate`` if it is ``None`` or a callable."""
    if predicate is not None and not callable(predicate):
        raise ConfigurationError(
            f"{label} must be a callable returning True to exempt, not {predicate!r}"
        )
    return predicate


def holds(predicate: Callable[..., Any] | None, *args: Any) -> bool:
    """Whether ``predicate(*args)`` is true; ``False`` without one, or when it raises (logged:
    an exemption that fails is not granted)."""
    if predicate is None:
        return False
    try:
        return bool(predicate(*args))
    except Exception:
        logger.exception("a rate limit's exempt_when raised; the request is not exempt")
        return False
