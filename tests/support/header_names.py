"""The header names the HEADER_NAMES tests of both frameworks rename, and the defaults."""

from __future__ import annotations

__all__ = ["DEFAULT_NAMES", "RENAMED"]

RENAMED = {
    "LIMIT": "X-Quota-Limit",
    "REMAINING": "X-Quota-Left",
    "RESET": "X-Quota-Reset",
    "RETRY_AFTER": "X-Retry-In",
}
DEFAULT_NAMES = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")
