"""docs/observability.md: its Python examples run, in order, in one namespace (the metrics
examples only where their optional package is installed)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "observability.md"
NEEDS = {"prometheus_client": "prometheus_client", "opentelemetry": "opentelemetry.sdk"}
PANEL = "django_cache_bridge.panels.CacheBridgePanel"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.DOTALL)


def _runnable(code: str) -> bool:
    for marker, module in NEEDS.items():
        if marker in code:
            try:
                if importlib.util.find_spec(module) is None:
                    return False
            except ModuleNotFoundError:
                return False
    return True


def test_the_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    blocks = _blocks()
    assert len(blocks) == 9
    for code in blocks:
        if _runnable(code):
            exec(compile(code, str(PAGE), "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == ["0.5", "{'get hit': 1, 'get miss': 1}"]
    if importlib.util.find_spec("prometheus_client") is not None:
        assert printed[2:6] == ["1.0", "200", "1.0", "2.0"]
    if "spans" in namespace:
        assert "['cache_bridge get', 'view']" in printed
    assert printed[-1] == "ready"
    assert "remove" in namespace
    assert namespace["urlpatterns"][0].pattern.describe().startswith("'health/'")
    assert namespace["DEBUG_TOOLBAR_PANELS"][-1] == PANEL


def test_the_metric_names_are_the_ones_the_listeners_register() -> None:
    text = PAGE.read_text(encoding="utf-8")
    prometheus = Path(__file__).resolve().parents[2] / "cache_bridge/observability/prometheus.py"
    otel = Path(__file__).resolve().parents[2] / "cache_bridge/observability/otel.py"
    for name in re.findall(r"`(cache_bridge_[a-z_]+)`", text):
        # a Prometheus metric, or what an OpenTelemetry instrument becomes once exported
        assert name in prometheus.read_text(encoding="utf-8") + otel.read_text(encoding="utf-8")
    for name in re.findall(r"`(cache_bridge\.[a-z_.]+)`", text):
        if name.startswith("cache_bridge.observability"):
            continue  # a module, not an instrument
        assert f'"{name}"' in otel.read_text(encoding="utf-8")
