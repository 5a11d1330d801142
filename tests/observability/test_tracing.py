"""OpenTelemetry spans (cache_bridge/observability/otel.py, OpenTelemetryTracing), read back
through the SDK's in-memory span exporter: one span per call on both faces, a child of the
current span, with its outcome and hit but never its key; none outside a trace unless
asked; an error status for a failed call."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from cache_bridge import create_cache, create_sync_cache
from cache_bridge.observability.otel import OpenTelemetryTracing

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")
sdk_export = pytest.importorskip("opentelemetry.sdk.trace.export")
in_memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")


def _provider() -> tuple[Any, Any]:
    exporter = in_memory.InMemorySpanExporter()
    provider = sdk_trace.TracerProvider()
    provider.add_span_processor(sdk_export.SimpleSpanProcessor(exporter))
    return provider, exporter


def _cache_spans(exporter: Any) -> list[Any]:
    # a breaker's background probe (ping) is no call of the test's
    return [
        s
        for s in exporter.get_finished_spans()
        if s.name.startswith("cache_bridge ") and s.name != "cache_bridge ping"
    ]


@pytest.mark.parametrize("where", ["memory", "redis"])
def test_spans_of_both_faces_inside_the_current_trace(
    where: str, request: pytest.FixtureRequest
) -> None:
    url = "memory://otel-spans" if where == "memory" else str(request.getfixturevalue("redis_url"))
    if where == "redis":
        request.getfixturevalue("redis_client")
    provider, exporter = _provider()
    tracer = provider.get_tracer("test")
    cache = create_sync_cache(url, key_prefix="spans")
    cache.set("secret-key", "v")  # outside any span: no span of its own

    async def read() -> None:
        acache = create_cache(url, key_prefix="spans")
        await acache.get("absent-key")
        await acache.aclose()

    with OpenTelemetryTracing(provider), tracer.start_as_current_span("view") as parent:
        cache.get("secret-key")
        asyncio.run(read())
    cache.set("after", "v")  # stopped listening
    cache.close()
    spans = _cache_spans(exporter)
    assert [(s.name, s.attributes["cache_bridge.hit"]) for s in spans] == [
        ("cache_bridge get", True),
        ("cache_bridge get", False),
    ]
    for span in spans:
        assert span.parent is not None
        assert span.parent.span_id == parent.get_span_context().span_id
        assert span.attributes["cache_bridge.prefix"] == "spans"
        assert span.attributes["cache_bridge.outcome"] == "success"
        assert span.start_time <= span.end_time
        assert "secret-key" not in repr(dict(span.attributes))
        assert "absent-key" not in repr(dict(span.attributes))
    if where == "redis":
        assert spans[0].attributes["db.system.name"] == "redis"
        assert spans[0].attributes["cache_bridge.server"] == url


def test_every_call_when_not_only_in_traces_and_errors_marked() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider, exporter = _provider()
    cache = create_sync_cache(f"redis://:pw@127.0.0.1:{port}/0")
    with OpenTelemetryTracing(provider, only_in_traces=False):
        cache.get("k")
    cache.close()
    (span,) = [s for s in _cache_spans(exporter) if s.name == "cache_bridge get"]
    assert span.parent is None
    assert span.status.status_code.name == "ERROR"
    assert span.status.description == "CacheConnectionError"
    assert span.attributes["cache_bridge.server"] == f"redis://127.0.0.1:{port}/0"
