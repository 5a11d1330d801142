"""The Prometheus text exposition, as the Django view and the Flask route serve it: the
registry of this process, or of every worker when prometheus_client's multiprocess mode is
on (``PROMETHEUS_MULTIPROC_DIR``)."""

from __future__ import annotations

import importlib
import os
from typing import Any

__all__ = ["MISSING", "exposition"]

#: The body of the answer (status 501) when prometheus_client is not installed.
MISSING = (
    "prometheus_client is not installed: pip install 'cache-bridge[prometheus]' "
    "(docs/observability.md)\n"
)


def exposition(accept: str = "", registry: Any = None) -> tuple[int, str, bytes]:
    """``(status, content type, body)`` of a scrape of ``registry`` (default: the process's
    default registry, or the multiprocess collector when ``PROMETHEUS_MULTIPROC_DIR`` is
    set), in the format ``accept`` asks for (OpenMetrics or the text format)."""
    try:
        client = importlib.import_module("prometheus_client")
        exposition_module = importlib.import_module("prometheus_client.exposition")
    except ImportError:
        return 501, "text/plain; charset=utf-8", MISSING.encode()
    if registry is None:
        registry = client.REGISTRY
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            multiprocess = importlib.import_module("prometheus_client.multiprocess")
            registry = client.CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
    encoder, content_type = exposition_module.choose_encoder(accept)
    return 200, str(content_type), bytes(encoder(registry))
