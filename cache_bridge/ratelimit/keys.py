"""The named request keys both frameworks offer: ``ip``, ``user``, ``user-or-ip`` and
``header:NAME``. Each framework supplies how to read its request; the rule is written once."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["named_key"]


def named_key(
    spec: str,
    *,
    header: Callable[[str], str | None],
    user_id: Callable[[], str | None],
    client_ip: Callable[[], str | None],
) -> str | None:
    """The counter key for one request, or ``None`` when the request is not counted (no such
    header, an anonymous user for ``user``, no client address)."""
    if spec.startswith("header:"):
        value = header(spec[len("header:") :])
        return None if value is None else f"{spec}:{value}"
    if spec in ("user", "user-or-ip"):
        uid = user_id()
        if uid is not None:
            return f"user:{uid}"
        if spec == "user":
            return None
    address = client_ip()
    return None if address is None else f"ip:{address}"
