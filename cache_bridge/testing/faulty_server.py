"""A test-started redis-server that tests can hurt for real: kill it (SIGKILL), freeze it
(SIGSTOP / SIGCONT), pause its clients (CLIENT PAUSE) or keep it busy (DEBUG SLEEP)."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Sequence

from cache_bridge.testing.redis_server import RedisServer

__all__ = ["FaultyRedisServer"]


def _bulk_end(reply: bytes) -> int:
    """Where a RESP bulk-string reply starting ``$<length>\\r\\n`` ends."""
    header, _, _ = reply.partition(b"\r\n")
    return len(header) + 2 + int(header[1:]) + 2 if header.startswith(b"$") else 0


class FaultyRedisServer(RedisServer):
    """A :class:`RedisServer` started with ``DEBUG`` enabled, plus the faults a test needs.

    Every fault is bounded or undone by :meth:`stop` (which thaws a frozen server first).
    """

    def __init__(
        self, binary: str | None = None, port: int | None = None, extra_args: Sequence[str] = ()
    ) -> None:
        super().__init__(binary, port, ["--enable-debug-command", "yes", *extra_args])
        self._frozen = False

    @property
    def pid(self) -> int:
        process = self._process
        if process is None or process.poll() is not None:
            raise RuntimeError("redis-server is not running")
        return process.pid

    def kill(self) -> None:
        """SIGKILL the server (no shutdown, no goodbye to clients) and reap it."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        self._frozen = False

    def freeze(self) -> None:
        """SIGSTOP the server: the kernel still accepts connections, nothing answers."""
        self._signal(signal.SIGSTOP)
        self._frozen = True

    def thaw(self) -> None:
        """SIGCONT a frozen server."""
        if self._frozen:
            self._frozen = False
            self._signal(signal.SIGCONT)

    def _signal(self, number: int) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(number)

    def command(self, *args: str, timeout: float = 5.0) -> bytes:
        """Send one command on a fresh connection and return the first bytes of the reply."""
        payload = f"*{len(args)}\r\n".encode() + b"".join(
            f"${len(arg.encode())}\r\n{arg}\r\n".encode() for arg in args
        )
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as conn:
            conn.sendall(payload)
            return conn.recv(4096)

    def info_stats(self) -> dict[str, int]:
        """The integer fields of ``INFO stats`` (one connection and one command of its own)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5.0) as conn:
            conn.sendall(b"INFO stats\r\n")
            reply = b""
            while b"\r\n" not in reply or len(reply) < _bulk_end(reply):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                reply += chunk
        fields = {}
        for line in reply.decode().splitlines()[1:]:
            name, _, value = line.partition(":")
            if value.isdigit():
                fields[name] = int(value)
        return fields

    def pause_clients(self, seconds: float) -> None:
        """``CLIENT PAUSE ... ALL`` for ``seconds``: no client's command runs meanwhile. It
        cannot be ended early (the ``CLIENT UNPAUSE`` would wait too), so keep it short."""
        reply = self.command("CLIENT", "PAUSE", str(int(seconds * 1000)), "ALL")
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"CLIENT PAUSE failed: {reply!r}")

    def sleep(self, seconds: float) -> threading.Thread:
        """Make the server run ``DEBUG SLEEP seconds`` (it serves nobody meanwhile). Returns
        once the server is busy, with the thread that waits for its reply (join it to wait
        for the end)."""
        sent = threading.Event()

        def run() -> None:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=seconds + 10) as conn,
            ):
                conn.sendall(f"DEBUG SLEEP {seconds}\r\n".encode())
                sent.set()
                conn.recv(64)
            sent.set()

        thread = threading.Thread(target=run, name="redis-debug-sleep", daemon=True)
        thread.start()
        sent.wait(5)
        # The command is sent, but the server may not have read it yet: wait until a PING
        # goes unanswered, so that the caller's next command meets a busy server.
        for _ in range(50):
            try:
                self.command("PING", timeout=0.05)
            except TimeoutError:
                break
        return thread

    def stop(self) -> None:
        self.thaw()
        super().stop()
