"""A django-debug-toolbar panel: the cache_bridge calls of the request, on both faces (the
blocking methods and the ``a*`` ones), with hit or miss, time, key and server; each
BridgeCache alias's circuit breaker; the request's rate-limit decisions; what its
get-or-compute calls (stampede protection) ended as.

Add ``"django_cache_bridge.panels.CacheBridgePanel"`` to ``DEBUG_TOOLBAR_PANELS``. It hears the
event stream of :mod:`cache_bridge.observability` only while a request with the toolbar
runs (a debugging tool: it shows keys, which metrics never do).
"""

from __future__ import annotations

import threading
from contextvars import ContextVar, Token
from typing import Any

from debug_toolbar.panels import Panel
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from cache_bridge.observability import (
    BreakerEvent,
    Event,
    OperationEvent,
    RateLimitEvent,
    StampedeEvent,
    add_listener,
    remove_listener,
)
from django_cache_bridge.access import get_bridge_cache
from django_cache_bridge.aliases import bridge_aliases

__all__ = ["CacheBridgePanel"]

#: The events of the request running in this context (``None``: no panel is recording).
_recording: ContextVar[list[dict[str, Any]] | None] = ContextVar("cache_bridge_panel", default=None)
_lock = threading.Lock()
_panels_recording = 0


def _note(event: Event) -> None:
    """The listener: keep what the current request's panel shows (plain, storable data)."""
    notes = _recording.get()
    if notes is None:
        return
    if isinstance(event, OperationEvent):
        origin = event.origin
        notes.append(
            {
                "kind": "call",
                "operation": event.operation,
                "face": origin.face,
                "key": event.key,
                "hit": event.hit,
                "outcome": event.outcome,
                "ms": round(event.duration * 1000, 3),
                "server": origin.server,
                "prefix": origin.prefix,
            }
        )
    elif isinstance(event, RateLimitEvent):
        notes.append(
            {
                "kind": "ratelimit",
                "limit": event.limit,
                "allowed": event.allowed,
                "failed": event.failed,
            }
        )
    elif isinstance(event, StampedeEvent):
        seconds = event.compute_seconds
        notes.append(
            {
                "kind": "stampede",
                "key": event.key,
                "outcome": event.outcome,
                "face": event.origin.face,
                "compute_ms": None if seconds is None else round(seconds * 1000, 3),
            }
        )
    elif isinstance(event, BreakerEvent):
        notes.append({"kind": "breaker", "server": event.server, "state": event.state})


def _listen() -> None:
    global _panels_recording  # noqa: PLW0603 - one listener for every panel of the process
    with _lock:
        _panels_recording += 1
        if _panels_recording == 1:
            add_listener(_note)


def _unlisten() -> None:
    global _panels_recording  # noqa: PLW0603 - one listener for every panel of the process
    with _lock:
        _panels_recording -= 1
        if _panels_recording == 0:
            remove_listener(_note)


def _breakers() -> list[dict[str, Any]]:
    rows = []
    for alias in bridge_aliases():
        try:
            cache = get_bridge_cache(alias)
        except ImproperlyConfigured as exc:
            rows.append({"alias": alias, "where": "", "state": f"not usable: {exc}"})
            continue
        breaker = cache.adapters().sync.breaker
        state = "no circuit breaker" if breaker is None else breaker.stats().summary()
        where = cache.bridge_config.settings.describe()
        rows.append({"alias": alias, "where": where, "state": state})
    return rows


class CacheBridgePanel(Panel):
    """The cache_bridge calls, circuit breakers and rate-limit decisions of a request."""

    title = "cache_bridge"
    is_async = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._notes: list[dict[str, Any]] = []
        self._token: Token[list[dict[str, Any]] | None] | None = None

    def _stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.get_stats()  # type: ignore[no-untyped-call]  # untyped
        return stats

    @property
    def nav_subtitle(self) -> str:
        stats = self._stats()
        calls = stats.get("calls", [])
        ms = sum(call["ms"] for call in calls)
        return f"{len(calls)} calls in {ms:.2f} ms"

    def enable_instrumentation(self) -> None:
        if self._token is None:
            self._token = _recording.set(self._notes)
            _listen()

    def disable_instrumentation(self) -> None:
        if self._token is not None:
            _unlisten()
            try:
                _recording.reset(self._token)
            except ValueError:  # disabled in another context than enabled: just stop
                _recording.set(None)
            self._token = None

    def generate_stats(self, request: HttpRequest, response: HttpResponse) -> None:
        calls = [note for note in self._notes if note["kind"] == "call"]
        self.record_stats(  # type: ignore[no-untyped-call]  # the toolbar is untyped
            {
                "calls": calls,
                "hits": sum(1 for call in calls if call["hit"] is True),
                "misses": sum(1 for call in calls if call["hit"] is False),
                "ratelimit": [note for note in self._notes if note["kind"] == "ratelimit"],
                "transitions": [note for note in self._notes if note["kind"] == "breaker"],
                "stampede": [note for note in self._notes if note["kind"] == "stampede"],
                "breakers": _breakers(),
            }
        )

    @property
    def content(self) -> SafeString:
        stats = self._stats()
        return format_html(
            "<p>{} hits, {} misses</p>"
            "<h4>Calls</h4><table><thead><tr><th>face</th><th>operation</th><th>key</th>"
            "<th>result</th><th>ms</th><th>server</th><th>prefix</th></tr></thead>"
            "<tbody>{}</tbody></table>"
            "<h4>Circuit breakers</h4><table><tbody>{}</tbody></table>{}"
            "<h4>Rate-limit decisions</h4><table><tbody>{}</tbody></table>"
            "<h4>Get-or-compute</h4><table><thead><tr><th>face</th><th>key</th>"
            "<th>outcome</th><th>computed in ms</th></tr></thead><tbody>{}</tbody></table>",
            stats.get("hits", 0),
            stats.get("misses", 0),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                "<td>{}</td></tr>",
                (
                    (
                        c["face"],
                        c["operation"],
                        "" if c["key"] is None else c["key"],
                        _result(c),
                        c["ms"],
                        c["server"],
                        c["prefix"],
                    )
                    for c in stats.get("calls", [])
                ),
            ),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((b["alias"], b["where"], b["state"]) for b in stats.get("breakers", [])),
            ),
            format_html_join(
                "",
                "<p>breaker of {} turned {} during the request</p>",
                ((t["server"], t["state"]) for t in stats.get("transitions", [])),
            ),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        r["limit"],
                        "allowed" if r["allowed"] else "refused",
                        f"cache failed ({r['failed']})" if r["failed"] else "",
                    )
                    for r in stats.get("ratelimit", [])
                ),
            ),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        s["face"],
                        "" if s["key"] is None else s["key"],
                        s["outcome"],
                        "" if s["compute_ms"] is None else s["compute_ms"],
                    )
                    for s in stats.get("stampede", [])
                ),
            ),
        )


def _result(call: dict[str, Any]) -> str:
    if call["outcome"] != "success":
        return str(call["outcome"])
    if call["hit"] is None:
        return "ok"
    return "hit" if call["hit"] else "miss"
