"""Request key specs, written once for both frameworks: the named keys ``ip``, ``user``,
``user-or-ip`` and ``header:NAME`` (which specs are valid, and what each counts for a request).
Each framework supplies how to read its request; the rule is written once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

__all__ = ["DENY", "NAMED_KEYS", "UNAVAILABLE", "Deny", "is_named_key", "named_key"]

#: The request keys known by name (besides ``header:NAME``).
NAMED_KEYS = ("ip", "user", "user-or-ip")
_HEADER = "header:"


class Deny:
    """The key of a request that a limit refuses without asking the cache: :data:`DENY` (an
    ``"ip"`` limit, for a request without a usable client address under ``UNKNOWN_CLIENT =
    "deny"``: 429) or :data:`UNAVAILABLE` (a dynamic limit whose rate callable failed, under
    ``DYNAMIC_FAIL_OPEN = False``: 503)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str = "limit") -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return "DENY" if self.reason == "limit" else self.reason.upper()


DENY: Final = Deny()
UNAVAILABLE: Final = Deny("unavailable")


def is_named_key(spec: object) -> bool:
    """Whether ``spec`` is one of :data:`NAMED_KEYS` or ``header:NAME`` (with a name)."""
    return isinstance(spec, str) and (
        spec in NAMED_KEYS or (spec.startswith(_HEADER) and len(spec) > len(_HEADER))
    )


def named_key(
    spec: str,
    *,
    header: Callable[[str], str | None],
    user_id: Callable[[], str | None],
    client_ip: Callable[[], str | None],
) -> str | Deny | None:
    """The counter key for one request, ``None`` when the request is not counted (no such
    header, an anonymous user for ``user``), or :data:`DENY`. ``client_ip`` gives what an
    ``"ip"`` limit counts (:meth:`~cache_bridge.ratelimit.ClientAddress.limit_key`): ``None``
    there means refuse."""
    if spec.startswith(_HEADER):
        value = header(spec[len(_HEADER) :])
        return None if value is None else f"{spec}:{value}"
    if spec in ("user", "user-or-ip"):
        uid = user_id()
        if uid is not None:
            return f"user:{uid}"
        if spec == "user":
            return None
    address = client_ip()
    return DENY if address is None else f"ip:{address}"
