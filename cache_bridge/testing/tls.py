"""Throw-away TLS material and a TLS-only redis-server, for tests of ``rediss://``.

The certificates are made with the ``openssl`` command-line tool (no Python dependency): a
CA, a server certificate for ``localhost`` only (so connecting by ``127.0.0.1`` is a host name
mismatch) and a client certificate, all EC P-256, valid for two days.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cache_bridge.testing.redis_server import RedisServer, free_port

__all__ = ["TlsFiles", "TlsRedisServer", "find_openssl", "make_tls_files"]


def find_openssl() -> str | None:
    """The ``openssl`` binary on PATH, or ``None``."""
    return shutil.which("openssl")


@dataclass(frozen=True)
class TlsFiles:
    """Paths of PEM files: a CA and the certificates (with keys) it signed."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _run(openssl: str, *args: str, cwd: Path) -> None:
    done = subprocess.run(
        [openssl, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.strip()}")


_EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def _issue(openssl: str, directory: Path, name: str, subject: str, extensions: str) -> None:
    _run(
        openssl, "req", *_EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
        cwd=directory,
    )  # fmt: skip
    (directory / f"{name}.ext").write_text(extensions)
    _run(
        openssl, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", "-extfile", f"{name}.ext",
        cwd=directory,
    )  # fmt: skip


def make_tls_files(directory: Path, hostname: str = "localhost") -> TlsFiles:
    """Write a new CA, a server certificate for ``hostname`` and a client certificate into
    ``directory`` (which must exist). Raises ``RuntimeError`` if openssl is missing or fails."""
    openssl = find_openssl()
    if openssl is None:
        raise RuntimeError("the openssl command is needed to make test certificates")
    _run(
        openssl, "req", "-x509", *_EC, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=cache-bridge throw-away test CA",
        cwd=directory,
    )  # fmt: skip
    _issue(
        openssl,
        directory,
        "server",
        f"/CN={hostname}",
        f"subjectAltName=DNS:{hostname}\nextendedKeyUsage=serverAuth\n",
    )
    _issue(
        openssl,
        directory,
        "client",
        "/CN=cache-bridge test client",
        "extendedKeyUsage=clientAuth\n",
    )
    return TlsFiles(
        ca_cert=directory / "ca.crt",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
        client_cert=directory / "client.crt",
        client_key=directory / "client.key",
    )


class TlsRedisServer(RedisServer):
    """A redis-server that speaks only TLS (``--port 0 --tls-port N``) with ``files``.

    ``client_certs``: ``"no"`` (none asked), ``"optional"`` (checked if sent) or ``"yes"``.
    """

    def __init__(
        self,
        files: TlsFiles,
        *,
        client_certs: str = "no",
        binary: str | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        port = free_port()
        self.files = files
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
