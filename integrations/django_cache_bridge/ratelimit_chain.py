"""The ``@ratelimit`` limits of a view (its stacked decorators: a chain of :class:`Element`\\ s
on the outermost wrapper), which of them a request still has to decide, and the middleware's
:func:`claim` of them, to decide them with its rules in one command per alias."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from cache_bridge.ratelimit import Decision
from cache_bridge.ratelimit.settings import MAX_LIMITERS
from django_cache_bridge.ratelimit_config import LimitSpec, RateLimitSettings

__all__ = [
    "CHAIN",
    "CLAIMED",
    "DONE",
    "OWNER",
    "Claim",
    "Element",
    "Layout",
    "claim",
    "layout",
    "pending",
    "release",
    "unreached",
    "view_chain",
]


def _applies(request: HttpRequest, methods: frozenset[str] | None) -> bool:
    return methods is None or (request.method or "GET").upper() in methods


#: The limits of a view's stacked decorators (innermost first), on the outermost wrapper.
CHAIN = "_cache_bridge_ratelimit_chain"
#: The decorator limits already decided for a request (the outermost wrapper decides all).
DONE = "_cache_bridge_ratelimit_done"
#: On the outermost wrapper: the wrapper itself. An outer decorator that copies the wrapper's
#: attributes (``functools.wraps``) copies this one too, which then names another function:
#: such a view may never reach its limits (``login_required`` redirecting first), so the
#: middleware leaves them to the wrapper.
OWNER = "_cache_bridge_ratelimit_owner"
#: The chain whose limits the middleware decided for a request, until its wrapper runs.
CLAIMED = "_cache_bridge_ratelimit_claimed"


@dataclass(frozen=True, eq=False)
class Element:
    """One ``@ratelimit`` of a view: its limit (built from the settings), methods, whether it
    refuses, and whether allowed responses carry its headers."""

    spec_for: Callable[[RateLimitSettings], tuple[LimitSpec, ...]]
    methods: frozenset[str] | None
    block: bool
    headers: bool | None


def pending(
    request: HttpRequest, chain: tuple[Element, ...]
) -> tuple[tuple[Element, ...], tuple[Element, ...]]:
    """The limits of ``chain`` that apply and that no wrapper is deciding for this request
    (the outermost wrapper decides its whole chain), and those this call takes (to release
    when the view has answered, so that a request object passed again is counted again)."""
    # The instance's own attributes: getattr would raise (and catch) for every new request.
    done: set[Element] | None = request.__dict__.get(DONE)
    if done is None:
        done = set()
        setattr(request, DONE, done)
    taken = tuple([e for e in chain if e not in done]) if done else chain
    done.update(taken)
    if all(e.methods is None for e in taken):  # the usual case: the same tuple every time
        return taken, taken
    return tuple([e for e in taken if _applies(request, e.methods)]), taken


def release(request: HttpRequest, taken: tuple[Element, ...]) -> None:
    request.__dict__[DONE].difference_update(taken)


@dataclass(frozen=True, eq=False)
class Layout:
    """What some elements of a chain decide, as the settings ``config`` make their limits:
    the refusing limits (``hard``), the others (``soft``, ``block=False``), decided in that
    order, and per limit of ``hard + soft`` whether allowed responses carry its headers
    (``flags``; ``named``: the same by limit name, ``None`` when one name has both)."""

    config: RateLimitSettings
    hard: tuple[LimitSpec, ...]
    soft: tuple[LimitSpec, ...]
    flags: tuple[bool, ...]
    named: dict[str, bool] | None

    def shown(self, decisions: list[Decision | None]) -> list[Decision]:
        """The decisions of the limits whose headers allowed responses carry (refusals carry
        every one), in the order they were decided. A callable rate decides one limit per
        rate it gives: its decisions are told apart by their limit's name."""
        if all(self.flags):
            return [d for d in decisions if d is not None]
        if self.named is not None:
            named = self.named
            return [d for d in decisions if d is not None and named.get(d.name, True)]
        return [d for flag, d in zip(self.flags, decisions, strict=False) if d is not None and flag]


def _laid_out(elements: tuple[Element, ...], config: RateLimitSettings) -> Layout:
    ordered = [e for e in elements if e.block] + [e for e in elements if not e.block]
    pairs = [
        (s.name, config.headers if e.headers is None else e.headers)
        for e in ordered
        for s in e.spec_for(config)
    ]
    named = dict(pairs)
    hard = tuple(s for e in elements if e.block for s in e.spec_for(config))
    soft = tuple(s for e in elements if not e.block for s in e.spec_for(config))
    flags = tuple(flag for _, flag in pairs)
    return Layout(config, hard, soft, flags, named if set(pairs) == set(named.items()) else None)


#: The layouts built, per set of elements (mostly a view's whole chain): built once per
#: settings, not on every request.
_layouts: dict[tuple[Element, ...], Layout] = {}


def layout(elements: tuple[Element, ...], config: RateLimitSettings) -> Layout:
    """The :class:`Layout` of ``elements`` under ``config`` (kept until the settings change)."""
    found = _layouts.get(elements)
    if found is None or found.config is not config:
        if len(_layouts) >= MAX_LIMITERS:
            _layouts.clear()
        found = _layouts[elements] = _laid_out(elements, config)
    return found


def view_chain(func: Any) -> tuple[Element, ...]:
    """The limits of a resolved view (``ResolverMatch.func``) that its wrapper applies first
    thing; ``()`` when another decorator wraps it."""
    cls = getattr(func, "view_class", None)
    if cls is not None:
        func = getattr(cls, "dispatch", None)
    if func is None or getattr(func, OWNER, None) is not func:
        return ()
    chain: tuple[Element, ...] = getattr(func, CHAIN, ())
    return chain


@dataclass(frozen=True, eq=False)
class Claim:
    """A view's limits, taken by the middleware to decide with its rules: ``hard`` (refusing)
    and ``soft`` (``block=False``)."""

    chain: tuple[Element, ...]
    taken: tuple[Element, ...]
    hard: tuple[LimitSpec, ...]
    soft: tuple[LimitSpec, ...]


def claim(request: HttpRequest, func: Any, config: RateLimitSettings) -> Claim | None:
    """Take the limits of the view ``func`` (the request's resolved view) that apply to the
    request, for the middleware to decide together with its rules (one command per alias);
    the view's wrapper then decides none of them again. ``None`` when the view has no limit
    the middleware may decide (none, or a decorator wraps it that may answer before it)."""
    chain = view_chain(func)
    if not chain:
        return None
    applying, taken = pending(request, chain)
    request.__dict__[CLAIMED] = chain
    laid_out = layout(applying, config)
    return Claim(chain, taken, laid_out.hard, laid_out.soft)


def unreached(request: HttpRequest, claimed: Claim) -> bool:
    """Whether the view's wrapper never ran (a later middleware answered first), its limits
    released for a next pass of the request."""
    release(request, claimed.taken)
    return request.__dict__.pop(CLAIMED, None) is claimed.chain
