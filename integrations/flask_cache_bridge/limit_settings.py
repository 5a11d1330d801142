"""``app.config["CACHE_BRIDGE_RATELIMIT"]``, checked at ``init_app``: the shared rate-limit
schema (:mod:`cache_bridge.ratelimit.settings`, ``ENABLED`` among them) with Flask's own keys
(``DEFAULT_LIMITS``, ``USER_ID``) and wording.

::

    CACHE_BRIDGE_RATELIMIT = {
        "DEFAULT_LIMITS": ["200/m"],        # for every route without @bridge.exempt
        "KEY": "ip",                        # "ip", "header:NAME", "user", "user-or-ip"
        "TRUSTED_PROXIES": ["10.0.0.0/8"],  # "unix" for a proxy on a Unix socket
        "UNKNOWN_CLIENT": "shared",         # requests without an address: one bucket, or "deny"
    }
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import request

from cache_bridge import ConfigurationError
from cache_bridge.ratelimit import ClientAddress, Rate, RateLimiter, limit_log
from cache_bridge.ratelimit import settings as schema
from cache_bridge.ratelimit.deduct import check_cost, check_deduct_when
from cache_bridge.ratelimit.dynamic import DynamicRate, takes_arguments
from cache_bridge.ratelimit.exemptions import ExemptAddresses, check_exempt_when
from cache_bridge.ratelimit.headers import DEFAULT_HEADERS, HeaderSettings, header_settings
from cache_bridge.ratelimit.request_keys import is_named_key
from cache_bridge.resilience.outage_log import OutageLog

__all__ = [
    "CONFIG_KEY",
    "FlaskLimit",
    "KeySpec",
    "LimitSettings",
    "make_limit",
    "read_limit_settings",
]

#: The config key holding the rate-limit settings.
CONFIG_KEY = "CACHE_BRIDGE_RATELIMIT"

#: The keys of the setting and their defaults: the shared schema's, and Flask's own.
_DEFAULTS: dict[str, Any] = {
    "DEFAULT_LIMITS": (),
    **schema.SHARED_DEFAULTS,
    "USER_ID": None,
    "EXEMPT_STATIC": True,
    "OVERRIDE_DEFAULTS": False,
}
_LIMIT_KEYS = (*schema.LIMIT_KEYS, "PER_ROUTE", "PER_METHOD")

KeySpec = str | Callable[[], Any]
#: The rate of a dynamic limit before its callable says which rates apply.
_UNRESOLVED = Rate(1, 1)


@dataclass(frozen=True)
class FlaskLimit:
    """One limit: its rates (each counted apart, all under one name), what it counts, which
    methods, how it fails."""

    rates: tuple[Rate, ...]
    name: str | None = None
    key: KeySpec | None = None
    methods: frozenset[str] | None = None
    algorithm: str | None = None
    fail_open: bool | None = None
    per_route: bool = False
    #: Units per request: an int, or a callable ``() -> int`` (called in the request context).
    cost: Any = 1
    #: Count only when ``deduct_when(response)`` holds (``None``: every request).
    deduct_when: Callable[[Any], Any] | None = None
    #: Skip this limit for a request when ``exempt_when()`` holds.
    exempt_when: Callable[[], Any] | None = None
    #: Whether this limit replaces the default limits on its views (``None``: the setting's
    #: ``OVERRIDE_DEFAULTS``).
    override_defaults: bool | None = None
    #: A callable ``(endpoint) -> str`` naming the counter per request (a shared limit's scope).
    scope: Callable[[str], Any] | None = None
    #: A dynamic limit: its rates come from a callable per request (``rates`` is unused).
    dynamic: DynamicRate | None = None
    failure_log: OutageLog = field(default_factory=lambda: limit_log("flask"), compare=False)
    #: Count each HTTP method of a request apart (flask-limiter's ``per_method``).
    per_method: bool = False
    #: The limiters built for this limit, by (name, algorithm, prefix, fail_open), each over
    #: the app's current cache: a request reuses one instead of building it again (they hold
    #: no per-request state).
    limiters: schema.LimiterCache[tuple[Any, ...], RateLimiter] = field(
        default_factory=schema.LimiterCache, compare=False, repr=False
    )
    #: The limiters of its rates found last, with what they were found for (the app's cache,
    #: its settings, the counter's name, the rates): found again without a look-up per rate.
    recent: list[tuple[Any, ...]] = field(default_factory=list, compare=False, repr=False)

    @property
    def rate(self) -> Rate:
        """The first rate."""
        return self.rates[0]


@dataclass(frozen=True)
class LimitSettings:
    """One app's checked rate-limit settings."""

    default_limits: tuple[FlaskLimit, ...] = ()
    key: KeySpec = "ip"
    algorithm: str = "fixed-window"
    fail_open: bool = True
    key_prefix: str = "ratelimit"
    client_address: ClientAddress = field(default_factory=ClientAddress)
    headers: bool = True
    legacy_headers: bool = False
    user_id: Callable[[], Any] | None = None
    enabled: bool = True
    #: Requests never limited: client addresses, a predicate (``() -> bool``), static files.
    exempt: ExemptAddresses = field(default_factory=ExemptAddresses)
    exempt_when: Callable[[], Any] | None = None
    exempt_static: bool = True
    #: One counter per client across every route (``APPLICATION_LIMITS``).
    application_limits: tuple[FlaskLimit, ...] = ()
    override_defaults: bool = False
    #: Whether a dynamic limit whose rate callable fails lets the request through.
    dynamic_fail_open: bool = True
    #: The names of the X-RateLimit-* trio and Retry-After, and Retry-After's form.
    header_settings: HeaderSettings = DEFAULT_HEADERS
    #: ``"memory"``: limits hold per process while the cache cannot be asked (``FALLBACK``).
    fallback: str | None = None


def _bad(name: str, expected: str, value: object) -> ConfigurationError:
    return ConfigurationError(f"{CONFIG_KEY}[{name!r}] must be {expected}, not {value!r}")


def _key_spec(where: str, key: object) -> KeySpec:
    if callable(key):
        return key
    if is_named_key(key):
        return key  # type: ignore[return-value]
    raise ConfigurationError(
        f"{where}: key {key!r} is not 'ip', 'user', 'user-or-ip', 'header:NAME' or a callable"
    )


def _where(where: str, check: Callable[[], Any]) -> Any:
    """``check()``, its mistake prefixed with ``where``."""
    try:
        return check()
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


def _algorithm(where: str, algorithm: object) -> str | None:
    if algorithm is None:
        return None
    return _where(where, lambda: schema.check_algorithm(algorithm, "algorithm"))  # type: ignore[no-any-return]


def make_limit(
    where: str,
    rate: object,
    *,
    name: object = None,
    key: object = None,
    methods: object = None,
    algorithm: object = None,
    fail_open: object = None,
    per_route: object = False,
    cost: object = 1,
    deduct_when: object = None,
    exempt_when: object = None,
    override_defaults: object = None,
    scope: object = None,
    per_method: object = False,
) -> FlaskLimit:
    """A checked :class:`FlaskLimit`; raises ``ConfigurationError`` naming ``where``.
    ``scope``: a str (the counter's name, shared by every view the limit is on) or a callable
    ``(endpoint) -> str``. ``per_method``: count each HTTP method apart."""
    if isinstance(scope, str) and scope and name is None:
        name, scope = scope, None
    if scope is not None and not callable(scope):
        raise ConfigurationError(f"{where}: scope must be a non-empty str or a callable")
    if override_defaults is not None and not schema.is_flag(override_defaults):
        raise ConfigurationError(f"{where}: override_defaults must be True, False or None")
    checked = None if algorithm is None else _algorithm(where, algorithm)
    dynamic = None
    if callable(rate):  # flask-limiter's callable: no argument; or one, the request
        func = rate
        dynamic = DynamicRate(func if takes_arguments(func) == 0 else lambda: func(request), where)
    parsed: tuple[Rate, ...] = (
        (_UNRESOLVED,) if dynamic else _where(where, lambda: schema.check_rates(rate, checked))
    )
    if not schema.is_flag(per_method):
        raise ConfigurationError(f"{where}: per_method must be True or False")
    if fail_open is not None and not schema.is_flag(fail_open):
        raise ConfigurationError(f"{where}: fail_open must be True, False or None")
    if name is not None and (not isinstance(name, str) or not name):
        raise ConfigurationError(f"{where}: name must be a non-empty str")
    return FlaskLimit(
        parsed,
        name,
        None if key is None else _key_spec(where, key),
        _where(where, lambda: schema.check_methods(methods, "methods")),
        _algorithm(where, algorithm),
        fail_open,  # type: ignore[arg-type]
        bool(per_route),
        _where(where, lambda: check_cost(cost, () if dynamic else parsed)),
        _where(where, lambda: check_deduct_when(deduct_when)),
        _where(where, lambda: check_exempt_when(exempt_when)),
        override_defaults,  # type: ignore[arg-type]
        scope,
        dynamic,
        limit_log(name or str(parsed[0])),
        bool(per_method),
    )


def _default_limit(index: int, raw: object, group: str = "DEFAULT_LIMITS") -> FlaskLimit:
    where = f"{CONFIG_KEY}[{group!r}][{index}]"
    per_route, label = (True, "default") if group == "DEFAULT_LIMITS" else (False, "application")
    if isinstance(raw, str | Rate | list | tuple) or callable(raw):
        return make_limit(where, raw, name=f"{label}{index}", per_route=per_route)
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{where} must be a rate such as '100/m' or a dict with 'RATE'")
    try:
        raw = {name: raw[name] for name in list(raw)}  # a plain copy: read once, checked below
    except Exception as exc:
        raise ConfigurationError(f"{where} could not be read as a dict ({exc!r})") from None
    unknown = schema.unknown_name(raw, _LIMIT_KEYS)
    if unknown is not None:
        name, hint = unknown
        raise ConfigurationError(f"{where}: unknown key {name!r}{schema.parenthesised(hint)}")
    if "RATE" not in raw:
        raise ConfigurationError(f"{where} has no RATE; add one such as 'RATE': '100/m'")
    return make_limit(
        where,
        raw["RATE"],
        name=raw.get("NAME", f"{label}{index}"),
        key=raw.get("KEY"),
        methods=raw.get("METHODS"),
        algorithm=raw.get("ALGORITHM"),
        fail_open=raw.get("FAIL_OPEN"),
        per_route=raw.get("PER_ROUTE", per_route),
        cost=raw.get("COST", 1),
        deduct_when=raw.get("DEDUCT_WHEN"),
        exempt_when=raw.get("EXEMPT_WHEN"),
        per_method=raw.get("PER_METHOD", False),
    )


def read_limit_settings(config: Mapping[str, Any]) -> LimitSettings:
    """The checked ``CACHE_BRIDGE_RATELIMIT`` of an app's config; raises
    ``ConfigurationError``."""
    raw = config.get(CONFIG_KEY) or {}
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{CONFIG_KEY} must be a dict")
    unknown = schema.unknown_name(raw, tuple(_DEFAULTS))
    if unknown is not None:
        name, hint = unknown
        raise ConfigurationError(
            f"unknown {CONFIG_KEY} key {name!r}.{hint} Known: {', '.join(_DEFAULTS)}."
        )
    values = {**_DEFAULTS, **raw}
    for flag in (
        "FAIL_OPEN",
        "HEADERS",
        "LEGACY_HEADERS",
        "ENABLED",
        "EXEMPT_STATIC",
        "OVERRIDE_DEFAULTS",
        "DYNAMIC_FAIL_OPEN",
    ):
        if not schema.is_flag(values[flag]):
            raise _bad(flag, "True or False", values[flag])
    if not schema.is_prefix(values["KEY_PREFIX"]):
        raise _bad("KEY_PREFIX", "a non-empty str", values["KEY_PREFIX"])
    if values["USER_ID"] is not None and not callable(values["USER_ID"]):
        raise _bad("USER_ID", "a callable returning the current user's id", values["USER_ID"])
    address = _where(CONFIG_KEY, lambda: schema.client_address(values))
    default_limits = _limit_list(values, "DEFAULT_LIMITS")
    application_limits = _limit_list(values, "APPLICATION_LIMITS")
    return LimitSettings(
        default_limits=default_limits,
        key=_key_spec(f"{CONFIG_KEY}['KEY']", values["KEY"]),
        algorithm=_algorithm(f"{CONFIG_KEY}['ALGORITHM']", values["ALGORITHM"]) or "",
        fail_open=values["FAIL_OPEN"],
        key_prefix=values["KEY_PREFIX"],
        client_address=address,
        headers=values["HEADERS"],
        legacy_headers=values["LEGACY_HEADERS"],
        user_id=values["USER_ID"],
        enabled=values["ENABLED"],
        exempt=_where(CONFIG_KEY, lambda: ExemptAddresses.parse(values["EXEMPT"])),
        exempt_when=_where(
            CONFIG_KEY, lambda: check_exempt_when(values["EXEMPT_WHEN"], "EXEMPT_WHEN")
        ),
        exempt_static=values["EXEMPT_STATIC"],
        application_limits=application_limits,
        override_defaults=values["OVERRIDE_DEFAULTS"],
        dynamic_fail_open=values["DYNAMIC_FAIL_OPEN"],
        header_settings=_where(CONFIG_KEY, lambda: header_settings(values)),
        fallback=schema.check_fallback(values["FALLBACK"], f"{CONFIG_KEY}['FALLBACK']"),
    )


def _limit_list(values: Mapping[str, Any], group: str) -> tuple[FlaskLimit, ...]:
    """The checked limits of ``DEFAULT_LIMITS`` or ``APPLICATION_LIMITS``."""
    raw = values[group]
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple):
        raise _bad(group, "a list of rates", raw)
    limits = tuple(_default_limit(i, r, group) for i, r in enumerate(raw))
    for index, one in enumerate(limits):  # the product rule, now the algorithm is known
        algorithm = one.algorithm or values["ALGORITHM"]
        where = f"{CONFIG_KEY}[{group!r}][{index}]"
        _where(where, lambda: schema.check_rates(one.rates, algorithm))  # noqa: B023
    return limits
