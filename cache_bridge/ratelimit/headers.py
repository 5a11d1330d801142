"""HTTP headers for decisions: the IETF draft's ``RateLimit-Policy`` and ``RateLimit``
(draft-ietf-httpapi-ratelimit-headers, structured-field form), ``Retry-After``, and optionally
the older ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` trio.

Decisions whose cache could not be asked (``decision.failed``) carry no numbers and add no
headers. :class:`HeaderSettings` (the ``HEADER_NAMES`` and ``RETRY_AFTER_FORMAT`` keys that
both frameworks share, checked once by :func:`header_settings`) renames the trio and
``Retry-After`` and writes ``Retry-After`` as an HTTP date; the IETF names are never renamed.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any, Final

from cache_bridge.config import did_you_mean
from cache_bridge.errors import ConfigurationError
from cache_bridge.ratelimit.decision import Decision

__all__ = [
    "DEFAULT_HEADERS",
    "DEFAULT_HEADER_NAMES",
    "RETRY_AFTER_FORMATS",
    "HeaderSettings",
    "header_settings",
    "rate_limit_headers",
    "response_headers",
    "retry_after_seconds",
    "tightest",
]

#: The headers ``HEADER_NAMES`` may rename, with their default names.
DEFAULT_HEADER_NAMES: Final[Mapping[str, str]] = {
    "LIMIT": "X-RateLimit-Limit",
    "REMAINING": "X-RateLimit-Remaining",
    "RESET": "X-RateLimit-Reset",
    "RETRY_AFTER": "Retry-After",
}
#: The values of ``RETRY_AFTER_FORMAT``: whole seconds (RFC 9110's delay-seconds), or the
#: moment as an IMF-fixdate.
RETRY_AFTER_FORMATS: Final = ("seconds", "http-date")
_STANDARD = ("RateLimit", "RateLimit-Policy")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110, section 5.1


@dataclass(frozen=True, slots=True)
class HeaderSettings:
    """The names of the ``X-RateLimit-*`` trio and of ``Retry-After``, and whether
    ``Retry-After`` is an HTTP date (else whole seconds). Built once per configuration."""

    limit: str = DEFAULT_HEADER_NAMES["LIMIT"]
    remaining: str = DEFAULT_HEADER_NAMES["REMAINING"]
    reset: str = DEFAULT_HEADER_NAMES["RESET"]
    retry_after: str = DEFAULT_HEADER_NAMES["RETRY_AFTER"]
    http_date: bool = False

    def retry_after_field(self, seconds: int, now: float | None = None) -> tuple[str, str]:
        """The ``Retry-After`` field (its configured name) for a wait of ``seconds``: the
        seconds, or the moment ``now`` (default: the current time) + ``seconds`` rounded up
        to the second, as an IMF-fixdate."""
        if not self.http_date:
            return self.retry_after, str(seconds)
        moment = math.ceil(time.time() if now is None else now) + seconds
        return self.retry_after, formatdate(moment, usegmt=True)


#: The settings when nothing is configured: the usual names, seconds.
DEFAULT_HEADERS: Final = HeaderSettings()


def header_settings(values: Mapping[str, Any]) -> HeaderSettings:
    """The checked :class:`HeaderSettings` of ``HEADER_NAMES``, ``RETRY_AFTER_FORMAT`` and
    ``LEGACY_HEADERS`` (defaults where missing; :data:`DEFAULT_HEADERS` when all are);
    raises ``ConfigurationError`` saying what to write instead."""
    given = values.get("HEADER_NAMES")
    names = _names({} if given is None else given, bool(values.get("LEGACY_HEADERS")))
    form = values.get("RETRY_AFTER_FORMAT", "seconds")
    if form not in RETRY_AFTER_FORMATS:
        hint = did_you_mean(str(form).lower(), RETRY_AFTER_FORMATS)  # RFC 9110: "HTTP-date"
        raise ConfigurationError(
            f"RETRY_AFTER_FORMAT {form!r} is not 'seconds' or 'http-date'.{hint}"
        )
    settings = HeaderSettings(
        names["LIMIT"],
        names["REMAINING"],
        names["RESET"],
        names["RETRY_AFTER"],
        form == "http-date",
    )
    return DEFAULT_HEADERS if settings == DEFAULT_HEADERS else settings


def _names(given: object, legacy: bool) -> dict[str, str]:
    """Every renamable header's name: ``given``'s, else the default."""
    if not isinstance(given, Mapping):
        raise ConfigurationError(
            f"HEADER_NAMES must be a dict such as {{'RETRY_AFTER': 'X-Retry-After'}}, not {given!r}"
        )
    known = tuple(DEFAULT_HEADER_NAMES)
    for key, name in given.items():
        if key not in known:
            hint = did_you_mean(str(key).upper(), known)
            raise ConfigurationError(
                f"HEADER_NAMES: unknown header {key!r}.{hint} Known: {', '.join(known)} "
                "(RateLimit and RateLimit-Policy are standard names, never renamed)."
            )
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ConfigurationError(
                f"HEADER_NAMES[{key!r}] must be a header name such as 'X-Retry-After', not {name!r}"
            )
        if key != "RETRY_AFTER" and not legacy:
            raise ConfigurationError(
                f"HEADER_NAMES[{key!r}] renames {DEFAULT_HEADER_NAMES[key]}, which is sent "
                "only with LEGACY_HEADERS: True; set it, or remove the name"
            )
    names = {**DEFAULT_HEADER_NAMES, **given}
    taken = [name.lower() for name in (*names.values(), *_STANDARD)]
    for key, name in names.items():
        if taken.count(name.lower()) > 1:
            raise ConfigurationError(
                f"HEADER_NAMES[{key!r}]: {name!r} is the name of another header already"
            )
    return names


@functools.lru_cache(maxsize=1024)
def _sf_string(name: str) -> str:
    # A structured-field string: printable ASCII, with backslash and quote escaped.
    text = "".join(ch if " " <= ch <= "~" else "_" for ch in name)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _seconds(value: float) -> int:
    return max(0, math.ceil(value))


def retry_after_seconds(decisions: Iterable[Decision]) -> int:
    """Whole seconds for ``Retry-After``: the longest wait among the denied decisions, at
    least 1."""
    waits = [d.retry_after for d in decisions if not d.allowed and not d.failed]
    return max(1, *(_seconds(w) for w in waits)) if waits else 1


def _tightness(d: Decision) -> tuple[bool, float, int, float]:
    # Refusals first (the longest wait), then the fewest units left, then the longest reset.
    return (d.allowed, -d.retry_after, d.remaining, -d.reset_after)


def tightest(decisions: Iterable[Decision]) -> Decision | None:
    """The decision closest to refusing (a refusal: the one with the longest wait; else the
    fewest units left, then the longest reset); ``None`` when none has numbers."""
    known = [d for d in decisions if d.error is None]
    return min(known, key=_tightness) if known else None


def rate_limit_headers(
    decisions: Iterable[Decision],
    *,
    legacy: bool = False,
    settings: HeaderSettings = DEFAULT_HEADERS,
) -> dict[str, str]:
    """``RateLimit-Policy`` listing every decision's policy (a request checked against several
    limits lists each), ``RateLimit`` with the tightest one (:func:`tightest`), plus the
    ``X-RateLimit-*`` trio of that one when ``legacy``, under the names of ``settings``.
    ``X-RateLimit-Reset`` is in seconds from now, like ``RateLimit``'s ``t``."""
    known = decisions if type(decisions) is list else list(decisions)
    if len(known) == 1:  # the usual case, without the joins
        d = known[0]
        if d.error is not None:
            return {}
        policy = f"{_sf_string(d.name)};q={d.limit};w={d.rate.period}"
    else:
        known = [d for d in known if d.error is None]  # (not d.failed)
        if not known:
            return {}
        policy = ", ".join(f"{_sf_string(d.name)};q={d.limit};w={d.rate.period}" for d in known)
        d = min(known, key=_tightness)
    reset = _seconds(d.reset_after)
    headers = {
        "RateLimit-Policy": policy,
        "RateLimit": f"{_sf_string(d.name)};r={d.remaining};t={reset}",
    }
    if legacy:
        headers[settings.limit] = str(d.limit)
        headers[settings.remaining] = str(d.remaining)
        headers[settings.reset] = str(reset)
    return headers


def response_headers(
    decisions: Sequence[Decision],
    *,
    legacy: bool = False,
    settings: HeaderSettings = DEFAULT_HEADERS,
    refused: bool = False,
) -> dict[str, str]:
    """The rate-limit headers of a response to the request ``decisions`` were taken for,
    under the names of ``settings``: :func:`rate_limit_headers`, and when the response is a
    refusal, ``Retry-After`` (:func:`retry_after_seconds`, in ``settings``' form). Both
    frameworks put them on the response where the view has not set them already."""
    found = rate_limit_headers(decisions, legacy=legacy, settings=settings)
    if refused:
        name, value = settings.retry_after_field(retry_after_seconds(decisions))
        found[name] = value
    return found
