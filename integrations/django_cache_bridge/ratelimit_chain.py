"""The ``@ratelimit`` limits of a view (its stacked decorators: a chain of :class:`Element`\\ s
on the outermost wrapper), which of them a request still has to decide, and the middleware's
:func:`claim` of them, to decide them with its rules in one command per alias."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from cache_bridge.ratelimit import Decision
from django_cache_bridge.ratelimit_config import LimitSpec, RateLimitSettings

__all__ = [
    "CHAIN",
    "CLAIMED",
    "DONE",
    "OWNER",
    "Claim",
    "Element",
    "claim",
    "pending",
    "release",
    "shown",
    "split",
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
) -> tuple[list[Element], list[Element]]:
    """The limits of ``chain`` that apply and that no wrapper is deciding for this request
    (the outermost wrapper decides its whole chain), and those this call takes (to release
    when the view has answered, so that a request object passed again is counted again)."""
    # The instance's own attributes: getattr would raise (and catch) for every new request.
    done: set[Element] | None = request.__dict__.get(DONE)
    if done is None:
        done = set()
        setattr(request, DONE, done)
    taken = [e for e in chain if e not in done]
    done.update(taken)
    return [e for e in taken if _applies(request, e.methods)], taken


def release(request: HttpRequest, taken: list[Element]) -> None:
    request.__dict__[DONE].difference_update(taken)


def split(
    elements: list[Element], config: RateLimitSettings
) -> tuple[list[LimitSpec], list[LimitSpec]]:
    """The refusing limits and the others (``block=False``), decided in two groups."""
    if len(elements) == 1:  # the usual case, without the joins
        specs = list(elements[0].spec_for(config))
        return (specs, []) if elements[0].block else ([], specs)
    hard = [s for e in elements if e.block for s in e.spec_for(config)]
    return hard, [s for e in elements if not e.block for s in e.spec_for(config)]


def shown(
    elements: list[Element], decisions: list[Decision | None], config: RateLimitSettings
) -> list[Decision]:
    """The decisions, in the elements' order, of the limits whose headers allowed responses
    carry (refusals carry every one)."""
    if len(elements) == 1:
        headers = elements[0].headers
        shown = config.headers if headers is None else headers
        return [d for d in decisions if d is not None] if shown else []
    ordered = [e for e in elements if e.block] + [e for e in elements if not e.block]
    flags = [
        config.headers if e.headers is None else e.headers
        for e in ordered
        for _ in e.spec_for(config)
    ]
    return [d for flag, d in zip(flags, decisions, strict=False) if d is not None and flag]


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
    taken: list[Element]
    hard: list[LimitSpec]
    soft: list[LimitSpec]


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
    return Claim(chain, taken, *split(applying, config))


def unreached(request: HttpRequest, claimed: Claim) -> bool:
    """Whether the view's wrapper never ran (a later middleware answered first), its limits
    released for a next pass of the request."""
    release(request, claimed.taken)
    return request.__dict__.pop(CLAIMED, None) is claimed.chain
