"""``settings.CACHE_BRIDGE_RATELIMIT``, checked once per settings change (the keys:
docs/settings.md). Mistakes raise ``ImproperlyConfigured`` naming the setting and what to
write instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from cache_bridge.errors import ConfigurationError
from cache_bridge.ratelimit import ClientAddress
from cache_bridge.ratelimit import settings as schema
from cache_bridge.ratelimit.exemptions import ExemptAddresses, check_exempt_when
from cache_bridge.ratelimit.headers import DEFAULT_HEADERS, HeaderSettings, header_settings
from django_cache_bridge.ratelimit_rules import (
    SETTING,
    KeySpec,
    LimitSpec,
    Rule,
    check_names,
    imported,
    improper,
    key_spec,
    make_spec,
    make_specs,
    parse_rule,
)

__all__ = [
    "SETTING",
    "KeySpec",
    "LimitSpec",
    "RateLimitSettings",
    "Rule",
    "check_ratelimit",
    "current_config",
    "key_spec",
    "make_spec",
    "make_specs",
]

#: The keys of the setting and their defaults: the shared schema's, and Django's own.
_TOP = {
    "CACHE": "default",
    **schema.SHARED_DEFAULTS,
    "VIEW": None,
    "TEMPLATE": None,
    "RULES": (),
    "EXEMPT_STAFF": False,
}


@dataclass(frozen=True)
class RateLimitSettings:
    """The whole setting, checked."""

    cache: str
    key_prefix: str
    algorithm: str
    key: object
    fail_open: bool
    client_address: ClientAddress
    headers: bool
    legacy_headers: bool
    view: Callable[..., Any] | None
    template: str | None
    rules: tuple[Rule, ...]
    #: Requests never limited: client addresses, a predicate of the request, staff users.
    exempt: ExemptAddresses = field(default_factory=ExemptAddresses)
    exempt_when: Callable[[Any], Any] | None = None
    exempt_staff: bool = False
    #: Whether a rule needs the request's resolved URL (URL_NAME, VIEW).
    resolves: bool = False
    #: Whether a dynamic limit whose rate callable fails lets the request through.
    dynamic_fail_open: bool = True
    #: ``False``: no limit applies (``ENABLED``): no cache call, no header, no refusal.
    enabled: bool = True
    #: The names of the X-RateLimit-* trio and Retry-After, and Retry-After's form.
    header_settings: HeaderSettings = DEFAULT_HEADERS
    #: ``"memory"``: limits hold per process while the cache cannot be asked (``FALLBACK``).
    fallback: str | None = None


def parse_setting(raw: object) -> RateLimitSettings:
    """The checked form of ``CACHE_BRIDGE_RATELIMIT`` (``None``: defaults, no rules)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured(f"{SETTING} must be a dict")
    check_names(SETTING, raw, tuple(_TOP))
    values = {**_TOP, **raw}
    view = values["VIEW"]
    if isinstance(view, str):
        view = import_string(view)
    if view is not None and not callable(view):
        raise ImproperlyConfigured(f"{SETTING}['VIEW'] must be a view or its dotted path")
    try:
        address = schema.client_address(values)
        headers = header_settings(values)
    except ConfigurationError as exc:
        raise improper(SETTING, exc) from exc
    if not schema.is_prefix(values["KEY_PREFIX"]):
        raise ImproperlyConfigured(f"{SETTING}['KEY_PREFIX'] must be a non-empty str")
    for flag in ("ENABLED", "EXEMPT_STAFF", "DYNAMIC_FAIL_OPEN"):
        if not schema.is_flag(values[flag]):
            raise ImproperlyConfigured(f"{SETTING}[{flag!r}] must be True or False")
    try:
        exempt = ExemptAddresses.parse(values["EXEMPT"])
        when = imported(SETTING, "EXEMPT_WHEN", values["EXEMPT_WHEN"])
        exempt_when = check_exempt_when(when, "EXEMPT_WHEN")
        fallback = schema.check_fallback(values["FALLBACK"], "FALLBACK")
    except ConfigurationError as exc:
        raise improper(SETTING, exc) from exc
    top = RateLimitSettings(
        cache=values["CACHE"],
        key_prefix=values["KEY_PREFIX"],
        algorithm=values["ALGORITHM"],
        key=values["KEY"],
        fail_open=values["FAIL_OPEN"],
        client_address=address,
        headers=bool(values["HEADERS"]),
        legacy_headers=bool(values["LEGACY_HEADERS"]),
        view=view,
        template=values["TEMPLATE"],
        rules=(),
        exempt=exempt,
        exempt_when=exempt_when,
        exempt_staff=values["EXEMPT_STAFF"],
        dynamic_fail_open=values["DYNAMIC_FAIL_OPEN"],
        enabled=values["ENABLED"],
        header_settings=headers,
        fallback=fallback,
    )
    rules = values["RULES"]
    if not isinstance(rules, list | tuple):
        raise ImproperlyConfigured(f"{SETTING}['RULES'] must be a list of dicts")
    application = values["APPLICATION_LIMITS"]
    if isinstance(application, str):
        application = [application]
    if not isinstance(application, list | tuple):
        raise ImproperlyConfigured(f"{SETTING}['APPLICATION_LIMITS'] must be a list of rates")
    parsed = tuple(
        parse_rule(i, _application(i, r), top, "APPLICATION_LIMITS")
        for i, r in enumerate(application)
    ) + tuple(parse_rule(i, r, top) for i, r in enumerate(rules))
    resolves = any(rule.resolves for rule in parsed)
    return RateLimitSettings(**{**top.__dict__, "rules": parsed, "resolves": resolves})


def _application(index: int, raw: object) -> object:
    """An ``APPLICATION_LIMITS`` entry as a rule covering every request."""
    if isinstance(raw, Mapping):
        return {"NAME": f"application{index}", **raw}
    return {"NAME": f"application{index}", "RATE": raw}


_current: dict[str, RateLimitSettings] = {}
_lock = threading.Lock()


def current_config() -> RateLimitSettings:
    """The checked setting, parsed on first use and again after the setting changes."""
    config = _current.get(SETTING)
    if config is None:
        with _lock:
            config = _current[SETTING] = parse_setting(getattr(settings, SETTING, None))
    return config


def _forget(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING:
        _current.clear()


setting_changed.connect(_forget)


def check_ratelimit(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """System check: ``CACHE_BRIDGE_RATELIMIT`` parses, its aliases are BridgeCaches, and no
    django-ratelimit setting is left over (W006)."""
    from django_cache_bridge.ratelimit_foreign import check_foreign_settings

    return check_foreign_settings(settings) + _check_setting()


def _check_setting() -> list[Any]:
    from django.core import checks

    try:
        config = parse_setting(getattr(settings, SETTING, None))
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint="See docs/ratelimit.md, 'Django settings'.",
                id="django_cache_bridge.E010",
            )
        ]
    from django_cache_bridge.aliases import bridge_aliases

    bridges = set(bridge_aliases())
    used = {config.cache, *(rule.spec.cache for rule in config.rules)}
    if not getattr(settings, SETTING, None):
        used.clear()  # no rate limiting configured: the default alias is not required
    return [
        checks.Error(
            f"{SETTING} counts requests in CACHES[{alias!r}], which is not a BridgeCache alias.",
            hint="Point CACHE at an alias whose BACKEND is django_cache_bridge.cache.BridgeCache.",
            id="django_cache_bridge.E011",
        )
        for alias in sorted(used - bridges)
    ]
