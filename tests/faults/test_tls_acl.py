"""TLS and ACL against test-started servers, on both faces: ``rediss://`` verified against a
throw-away CA, client certificates, and an ACL user whose
keys are limited to a pattern. Every refusal is a clear Failure that comes back quickly."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from returns.result import Success

from cache_bridge.errors import CacheConnectionError, CacheServerError, CacheTimeoutError
from cache_bridge.testing.contract import failure
from cache_bridge.testing.tls import TlsFiles, TlsRedisServer, make_tls_files
from tests.faults.conftest import Connect
from tests.faults.scenario import THRESHOLD, breaker, timed

pytestmark = pytest.mark.redis

USER, SECRET = "app", "s3cret-Pa55"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The certificate of a CA that signed nothing the server has."""
    return make_tls_files(tmp_path_factory.mktemp("other-tls")).ca_cert


@pytest.fixture(scope="module")
def tls_server(tls_files: TlsFiles) -> Iterator[TlsRedisServer]:
    """A TLS-only server (client certificates checked if sent) with an ACL user that may
    only touch keys matching ``app:*``."""
    server = TlsRedisServer(tls_files, client_certs="optional")
    try:
        server.start()
        admin = redis.Redis(
            host="localhost", port=server.port, ssl=True, ssl_ca_certs=str(tls_files.ca_cert)
        )
        admin.acl_setuser(
            USER, enabled=True, passwords=[f"+{SECRET}"], keys=["app:*"], commands=["+@all"]
        )
        admin.close()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def mtls_server(tls_files: TlsFiles) -> Iterator[TlsRedisServer]:
    """A TLS-only server that requires a client certificate signed by the test CA."""
    server = TlsRedisServer(tls_files, client_certs="yes")
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def _ca(files: TlsFiles) -> dict[str, str]:
    return {"ssl_ca_certs": str(files.ca_cert)}


#: The timeouts of every connection here. What is tested is the TLS and ACL outcome: a
#: handshake over the suite's 0.2 s ran out on loaded machines (a first connection with a
#: client certificate, a ping with the host name unchecked in CI, a refusal of an unknown CA
#: in a full run), which turned the outcome into a timeout.
PATIENT: dict[str, float] = {"timeout": 2.0, "connect_timeout": 2.0}
#: A refusal comes back before a timeout could have fired: quickly, and as what it is.
REFUSED_WITHIN = PATIENT["timeout"]


# -- TLS ---------------------------------------------------------------------------------------


def test_rediss_verified_against_the_test_ca(
    connect: Connect, tls_server: TlsRedisServer, tls_files: TlsFiles
) -> None:
    cache = connect(tls_server.url, **PATIENT, **_ca(tls_files))
    assert isinstance(cache.delete("tls:n"), Success)  # the server is shared by both faces
    assert cache.set("tls:k", "over TLS") == Success(None)
    assert cache.get("tls:k") == Success("over TLS")
    assert cache.increment("tls:n") == Success(1)
    assert cache.ping() == Success(True)
    # The same, with the CA given in the URL's query.
    from_url = connect(f"{tls_server.url}?ssl_ca_certs={tls_files.ca_cert}", **PATIENT)
    assert from_url.get("tls:k") == Success("over TLS")


def _fails_fast_with(cache: object, pattern: str) -> CacheConnectionError:
    result, seconds = timed(cache, "get", "tls:k")  # type: ignore[arg-type]
    assert seconds < REFUSED_WITHIN, f"a refused TLS connection took {seconds:.2f}s"
    error = failure(result, CacheConnectionError)
    assert not isinstance(error, CacheTimeoutError), error
    assert re.search(pattern, error.message, re.IGNORECASE), error.message
    assert isinstance(error, CacheConnectionError)
    return error


def test_a_server_certificate_from_an_unknown_ca_is_refused_quickly(
    connect: Connect, tls_server: TlsRedisServer, other_ca: Path
) -> None:
    refused = connect(tls_server.url, ssl_ca_certs=str(other_ca), **PATIENT)
    _fails_fast_with(refused, "certificate verify")
    # Without ssl_ca_certs the system's CAs are used, and they do not know the test CA either.
    _fails_fast_with(connect(tls_server.url, **PATIENT), "certificate verify")


def test_a_certificate_for_another_host_name_is_refused_quickly(
    connect: Connect, tls_server: TlsRedisServer, tls_files: TlsFiles
) -> None:
    # The certificate names only "localhost"; 127.0.0.1 is the same server by another name.
    by_ip = tls_server.url.replace("localhost", "127.0.0.1")
    _fails_fast_with(connect(by_ip, **PATIENT, **_ca(tls_files)), "mismatch|not valid for")
    unchecked = connect(by_ip, ssl_check_hostname=False, **PATIENT, **_ca(tls_files))
    assert unchecked.ping() == Success(True)


def test_client_certificates(
    connect: Connect, mtls_server: TlsRedisServer, tls_files: TlsFiles
) -> None:
    with_cert = connect(
        mtls_server.url,
        ssl_certfile=str(tls_files.client_cert),
        ssl_keyfile=str(tls_files.client_key),
        **PATIENT,
        **_ca(tls_files),
    )
    assert with_cert.set("mtls:k", "v") == Success(None)
    assert with_cert.get("mtls:k") == Success("v")
    without = connect(mtls_server.url, **PATIENT, **_ca(tls_files))
    result, seconds = timed(without, "get", "mtls:k")
    assert seconds < REFUSED_WITHIN
    failure(result, CacheConnectionError)


# -- ACL ---------------------------------------------------------------------------------------


def _acl_url(server: TlsRedisServer, password: str = SECRET) -> str:
    return server.url.replace("rediss://", f"rediss://{USER}:{password}@")


def test_an_acl_user_in_the_url_works_within_its_key_pattern(
    connect: Connect, tls_server: TlsRedisServer, tls_files: TlsFiles
) -> None:
    cache = connect(_acl_url(tls_server), key_prefix="app", **PATIENT, **_ca(tls_files))
    assert cache.set("k", "v") == Success(None)
    assert cache.get("k") == Success("v")
    assert cache.increment("n", 5) == Success(5)
    assert cache.delete_pattern("*") == Success(2)
    assert cache.ping() == Success(True)


def test_a_wrong_password_is_a_clear_quick_failure_that_never_shows_the_password(
    connect: Connect,
    tls_server: TlsRedisServer,
    tls_files: TlsFiles,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "not-the-Pa55word"
    with caplog.at_level(logging.DEBUG):
        cache = connect(_acl_url(tls_server, wrong), key_prefix="app", **PATIENT, **_ca(tls_files))
        result, seconds = timed(cache, "get", "k")
        assert seconds < REFUSED_WITHIN
        error = failure(result, CacheConnectionError)
        assert not isinstance(error, CacheTimeoutError)
        assert re.search("authenticat|credential", error.message, re.IGNORECASE), error.message
        # Refused credentials count as connection failures: the breaker spares the server
        # from a misconfigured client.
        for _ in range(THRESHOLD):
            failure(cache.set("k", "v"), CacheConnectionError)
        assert breaker(cache).state == "open"
    shown = [str(error), repr(error), repr(cache.adapter), str(error.cause), caplog.text]
    assert not [text for text in shown if wrong in text]
    assert not [text for text in shown if SECRET in text]


def test_a_key_outside_the_acl_pattern_is_a_server_error_that_leaves_the_breaker_closed(
    connect: Connect, tls_server: TlsRedisServer, tls_files: TlsFiles
) -> None:
    # What is tested is the server's refusal, not a timeout (a timeout would count toward the
    # breaker); the replies come before a timeout could have fired.
    cache = connect(_acl_url(tls_server), **PATIENT, **_ca(tls_files))
    for _ in range(3 * THRESHOLD):
        result, seconds = timed(cache, "set", "elsewhere", "v")
        assert seconds < REFUSED_WITHIN
        error = failure(result, CacheServerError)
        assert (error.operation, error.key) == ("set", "elsewhere")
        assert "NOPERM" in error.message or "permission" in error.message.lower()
        failure(cache.get("elsewhere"), CacheServerError)
    stats = breaker(cache).stats()
    assert (stats.state, stats.consecutive_failures, stats.failures_total) == ("closed", 0, 0)
    assert cache.set("app:k", "v") == Success(None)
    assert cache.get("app:k") == Success("v")
