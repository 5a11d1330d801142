"""The limits of ``settings.CACHE_BRIDGE_RATELIMIT``: one limit as Django applies it
(:class:`LimitSpec`, built by :func:`make_specs` for rules and decorators alike) and the
middleware's rules (:class:`Rule`: PATH, REGEX, URL_NAME, VIEW, METHODS)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from cache_bridge.errors import ConfigurationError
from cache_bridge.ratelimit import Rate, limit_log
from cache_bridge.ratelimit import settings as schema
from cache_bridge.ratelimit.deduct import check_cost, check_deduct_when
from cache_bridge.ratelimit.dynamic import DynamicRate, takes_arguments
from cache_bridge.ratelimit.exemptions import check_exempt_when
from cache_bridge.ratelimit.request_keys import is_named_key
from cache_bridge.resilience.outage_log import OutageLog

__all__ = [
    "SETTING",
    "GroupKey",
    "KeySpec",
    "LimitSpec",
    "Rule",
    "check_names",
    "imported",
    "improper",
    "key_spec",
    "make_spec",
    "make_specs",
    "parse_rule",
    "resolve_dynamic",
]

SETTING = "CACHE_BRIDGE_RATELIMIT"
_RULE = (*schema.LIMIT_KEYS, "PATH", "REGEX", "URL_NAME", "VIEW", "CACHE")

KeySpec = str | Callable[..., Any]


def check_names(where: str, raw: Mapping[Any, Any], known: tuple[str, ...]) -> None:
    unknown = schema.unknown_name(raw, known)
    if unknown is not None:
        name, hint = unknown
        clause = schema.parenthesised(hint) or f"; known: {', '.join(known)}"
        raise ImproperlyConfigured(f"{where}: unknown setting {name!r}{clause}")


def improper(where: str, exc: ConfigurationError) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{where}: {exc}")


@dataclass(frozen=True)
class GroupKey:
    """A key callable written django-ratelimit's way, ``(group, request)``, called with the
    limit's name as the group (equal for equal callables and names, so limits stay shared)."""

    group: str
    func: Callable[[str, Any], Any]

    def __call__(self, request: Any) -> Any:
        return self.func(self.group, request)


def _key_callable(func: Callable[..., Any], group: str | None) -> KeySpec:
    if group is not None and takes_arguments(func) >= 2:
        return GroupKey(group, func)
    return func


def key_spec(where: str, key: object, group: str | None = None) -> KeySpec:
    """A checked KEY: ``"ip"``, ``"user"``, ``"user-or-ip"``, ``"header:NAME"``, a callable
    ``(request) -> str | None`` (or django-ratelimit's ``(group, request)``, called with
    ``group``) or the dotted path of one."""
    if callable(key):
        return _key_callable(key, group)
    if not isinstance(key, str) or not key:
        raise ImproperlyConfigured(f"{where}: KEY must be a str or a callable, not {key!r}")
    if is_named_key(key):
        return key
    if "." in key:
        try:
            found = import_string(key)
        except ImportError as exc:
            raise ImproperlyConfigured(f"{where}: KEY {key!r} cannot be imported: {exc}") from exc
        if callable(found):
            return _key_callable(found, group)
    raise ImproperlyConfigured(
        f"{where}: KEY {key!r} is not one of 'ip', 'user', 'user-or-ip', 'header:NAME', a "
        "callable or a dotted path to one"
    )


@dataclass(frozen=True)
class LimitSpec:
    """One limit as the integrations apply it: what to count, where, and how."""

    name: str
    rate: Rate
    algorithm: str
    key: KeySpec
    cache: str
    fail_open: bool
    failure_log: OutageLog = field(compare=False)
    #: Units per request: an int, or a callable ``(request) -> int``.
    cost: Any = 1
    #: Count only when ``deduct_when(response)`` holds (``None``: count every request).
    deduct_when: Callable[[Any], Any] | None = None
    #: Skip this limit for a request when ``exempt_when(request)`` holds.
    exempt_when: Callable[[Any], Any] | None = None
    #: A dynamic limit: the rates come from a callable of the request (``rate`` is unused).
    dynamic: DynamicRate | None = None
    #: A dynamic limit whose callable failed for this request, failing closed: it refuses.
    unavailable: bool = False

    def __hash__(self) -> int:
        # Computed once: the limiters are found by spec on every request, and hashing every
        # field each time cost more than the rest of the look-up.
        found: int | None = self.__dict__.get("_hash")
        if found is None:
            fields = dataclasses.fields(self)
            found = hash(tuple(getattr(self, f.name) for f in fields if f.compare))
            object.__setattr__(self, "_hash", found)
        return found


#: The rate of a dynamic limit's spec before its callable says which rates apply.
_UNRESOLVED = Rate(1, 1)


def _rate_callable(where: str, name: str, rate: object) -> DynamicRate | None:
    """A dynamic rate: a callable ``(request)`` or django-ratelimit's ``(group, request)``, or
    the dotted path of one; ``None`` for a static rate."""
    if isinstance(rate, str) and "." in rate and "/" not in rate and " per " not in rate:
        rate = imported(where, "rate", rate)
    if not callable(rate):
        return None
    func: Callable[..., Any] = rate
    if takes_arguments(func) >= 2:
        return DynamicRate(lambda request: func(name, request), where)
    return DynamicRate(func, where)


def make_specs(
    where: str,
    *,
    name: str,
    rate: object,
    algorithm: object,
    key: object,
    cache: object,
    fail_open: object,
    cost: object = 1,
    deduct_when: object = None,
    exempt_when: object = None,
) -> tuple[LimitSpec, ...]:
    """Checked limit specs, one per rate of ``rate`` (``"100/m"``, ``"200/d; 50/h"``,
    a list, a ``(count, seconds)`` pair), sharing ``name``; raises ImproperlyConfigured
    naming ``where``."""
    dynamic = _rate_callable(where, name, rate)
    try:
        checked = schema.check_algorithm(algorithm, "ALGORITHM")
        parsed = (_UNRESOLVED,) if dynamic else schema.check_rates(rate, checked)
        costs = check_cost(imported(where, "COST", cost), () if dynamic else parsed)
        predicate = check_deduct_when(imported(where, "DEDUCT_WHEN", deduct_when))
        skip = check_exempt_when(imported(where, "EXEMPT_WHEN", exempt_when))
    except ConfigurationError as exc:
        raise improper(where, exc) from exc
    if not isinstance(cache, str) or not cache:
        raise ImproperlyConfigured(f"{where}: CACHE must be the name of a CACHES alias")
    if not schema.is_flag(fail_open):
        raise ImproperlyConfigured(f"{where}: FAIL_OPEN must be True or False")
    spec_key, log = key_spec(where, key, name), limit_log(name)
    flags = (bool(fail_open), log, costs, predicate, skip, dynamic)
    return tuple(LimitSpec(name, one, checked, spec_key, cache, *flags) for one in parsed)


def resolve_dynamic(
    request: Any, specs: Sequence[LimitSpec], fail_open: bool = True
) -> Sequence[LimitSpec]:
    """``specs`` with each dynamic limit replaced by the limits its callable gives for
    ``request`` (none: not limited); when the callable fails, by none (``fail_open``) or by
    one that refuses the request (``unavailable``)."""
    if len(specs) == 1 and specs[0].dynamic is None:  # the usual case
        return specs
    if all(spec.dynamic is None for spec in specs):
        return specs
    found: list[LimitSpec] = []
    for spec in specs:
        if spec.dynamic is None:
            found.append(spec)
        else:
            rates = spec.dynamic.rates(request, fail_open=fail_open)
            if rates is None:
                found.append(dataclasses.replace(spec, dynamic=None, unavailable=True))
                continue
            found += [dataclasses.replace(spec, rate=rate, dynamic=None) for rate in rates]
    return found


def imported(where: str, label: str, value: object) -> object:
    """``value``, or what its dotted path names."""
    if not isinstance(value, str):
        return value
    try:
        return import_string(value)
    except ImportError as exc:
        raise ImproperlyConfigured(f"{where}: {label} {value!r} cannot be imported: {exc}") from exc


def make_spec(where: str, **options: Any) -> LimitSpec:
    """The one :class:`LimitSpec` of a single-rate limit (:func:`make_specs`)."""
    specs = make_specs(where, **options)
    if len(specs) != 1:
        raise ImproperlyConfigured(f"{where}: expected one rate, got {len(specs)}")
    return specs[0]


@dataclass(frozen=True)
class Rule:
    """A middleware rule: which requests it covers, and the limit it applies."""

    specs: tuple[LimitSpec, ...]
    path: str | None
    regex: re.Pattern[str] | None
    methods: frozenset[str] | None
    #: URL names (``"ns:name"``) and views it covers (``None``: any), matched on the resolved
    #: URL: a request that resolves to nothing (a 404) is covered by PATH/REGEX rules only.
    url_names: frozenset[str] | None = None
    views: tuple[Callable[..., Any], ...] | None = None

    @property
    def resolves(self) -> bool:
        """Whether the rule needs the request's resolved URL."""
        return self.url_names is not None or self.views is not None

    @property
    def spec(self) -> LimitSpec:
        """The rule's first limit (every limit of a rule shares its name, key and cache)."""
        return self.specs[0]

    def covers(self, path: str, method: str, match: Any = None) -> bool:
        """Whether the rule covers a request (``match``: its ``ResolverMatch``, if resolved)."""
        if self.methods is not None and method.upper() not in self.methods:
            return False
        if self.path is not None and not path.startswith(self.path):
            return False
        if self.regex is not None and self.regex.search(path) is None:
            return False
        if self.url_names is not None and getattr(match, "view_name", None) not in self.url_names:
            return False
        return self.views is None or (match is not None and _is_view(match.func, self.views))


def _is_view(func: Any, views: tuple[Callable[..., Any], ...]) -> bool:
    # A class-based view resolves to the function as_view() made; it knows its class.
    found = getattr(func, "view_class", None)
    return any(func is view or (found is not None and found is view) for view in views)


def _names(where: str, value: object, label: str) -> list[Any] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) or callable(value) else value
    if not isinstance(items, list | tuple) or not items:
        raise ImproperlyConfigured(f"{where}: {label} must be one or a list of them")
    return list(items)


def _methods(where: str, methods: object) -> frozenset[str] | None:
    try:
        return schema.check_methods(methods, "METHODS")
    except ConfigurationError as exc:
        raise improper(where, exc) from exc


def parse_rule(index: int, raw: object, top: Any, group: str = "RULES") -> Rule:
    """``RULES[index]`` (or ``APPLICATION_LIMITS[index]``) checked; ``top``: the setting's
    defaults (``algorithm``, ``key``, ``cache``, ``fail_open``)."""
    where = f"{SETTING}[{group!r}][{index}]"
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured(f"{where} must be a dict with at least 'RATE'")
    check_names(where, raw, _RULE)
    if "RATE" not in raw:
        raise ImproperlyConfigured(f"{where} has no RATE; add one such as 'RATE': '100/m'")
    path, regex = raw.get("PATH"), raw.get("REGEX")
    if path is not None and not isinstance(path, str):
        raise ImproperlyConfigured(f"{where}: PATH must be a str prefix such as '/api/'")
    compiled = None
    if regex is not None:
        try:
            compiled = re.compile(regex)
        except (re.error, TypeError) as exc:
            raise ImproperlyConfigured(f"{where}: REGEX {regex!r} does not compile: {exc}") from exc
    name = raw.get("NAME") or f"rule{index}"
    specs = make_specs(
        where,
        name=str(name),
        rate=raw["RATE"],
        algorithm=raw.get("ALGORITHM", top.algorithm),
        key=raw.get("KEY", top.key),
        cache=raw.get("CACHE", top.cache),
        fail_open=raw.get("FAIL_OPEN", top.fail_open),
        cost=raw.get("COST", 1),
        deduct_when=raw.get("DEDUCT_WHEN"),
        exempt_when=raw.get("EXEMPT_WHEN"),
    )
    url_names = _names(where, raw.get("URL_NAME"), "URL_NAME")
    if url_names is not None and not all(isinstance(n, str) and n for n in url_names):
        raise ImproperlyConfigured(f"{where}: URL_NAME must be a URL name such as 'shop:cart'")
    views = _names(where, raw.get("VIEW"), "VIEW")
    found = None if views is None else tuple(imported(where, "VIEW", v) for v in views)
    if found is not None and not all(callable(v) for v in found):
        raise ImproperlyConfigured(f"{where}: VIEW must be a view or its dotted path")
    return Rule(
        specs,
        path,
        compiled,
        _methods(where, raw.get("METHODS")),
        None if url_names is None else frozenset(url_names),
        found,  # type: ignore[arg-type]
    )
