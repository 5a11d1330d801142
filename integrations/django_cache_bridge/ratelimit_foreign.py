"""django-ratelimit's ``RATELIMIT_*`` settings are never read here: a project that still sets
any of them is told by ``manage.py check`` (W006) which ``CACHE_BRIDGE_RATELIMIT`` key to
write instead, or that there is none, naming settings only, never their values; not while
``django_ratelimit`` itself is in ``INSTALLED_APPS`` (a migration under way)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.apps import apps
from django.core import checks

from cache_bridge.config import is_written

__all__ = ["RATELIMIT_SETTINGS", "check_foreign_settings"]

_RL = "CACHE_BRIDGE_RATELIMIT"

#: django-ratelimit's settings: the ``CACHE_BRIDGE_RATELIMIT`` key to write instead (no
#: warning once it is set) or, for a setting without one, why (in parentheses).
RATELIMIT_SETTINGS: Mapping[str, str] = {
    "RATELIMIT_ENABLE": f'{_RL}["ENABLED"]',
    "RATELIMIT_USE_CACHE": f'{_RL}["CACHE"]',
    "RATELIMIT_VIEW": f'{_RL}["VIEW"]',
    "RATELIMIT_FAIL_OPEN": f'{_RL}["FAIL_OPEN"]',
    "RATELIMIT_IP_META_KEY": f'{_RL}["TRUSTED_PROXIES"]',
    "RATELIMIT_IPV4_MASK": f'{_RL}["IPV4_PREFIX"]',
    "RATELIMIT_IPV6_MASK": f'{_RL}["IPV6_PREFIX"]',
    "RATELIMIT_CACHE_PREFIX": f'{_RL}["KEY_PREFIX"]',
    "RATELIMIT_EXCEPTION_CLASS": "(no counterpart: refusals are responses, not exceptions)",
    "RATELIMIT_HASH_ALGORITHM": "(no counterpart: long keys are stored by their SHA-256)",
}


def check_foreign_settings(settings: Any) -> list[checks.CheckMessage]:
    """W006: one warning per django-ratelimit setting left in ``settings`` whose counterpart
    ``CACHE_BRIDGE_RATELIMIT`` does not set."""
    if apps.is_installed("django_ratelimit"):  # still in use (a migration under way)
        return []
    configured = {_RL: getattr(settings, _RL, None)}
    return [
        checks.Warning(
            f"{theirs} is django-ratelimit's setting: cache_bridge does not read it.",
            hint=f"Write {ours} instead." if ours.startswith(_RL) else f"Remove it {ours}.",
            id="django_cache_bridge.W006",
        )
        for theirs, ours in RATELIMIT_SETTINGS.items()
        if hasattr(settings, theirs) and not is_written(configured, ours)
    ]
