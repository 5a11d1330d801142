"""Error values returned inside ``Failure`` by every cache operation.

Operations never raise these; they return them. They are still exceptions so that the
framework integrations can raise them where a framework's own contract demands an exception.
"""

from __future__ import annotations

__all__ = [
    "CacheClosedError",
    "CacheConnectionError",
    "CacheError",
    "CacheInvalidArgumentError",
    "CachePoolExhaustedError",
    "CacheSerializationError",
    "CacheServerError",
    "CacheTimeoutError",
    "CacheUnavailableError",
    "CacheValueError",
    "ClusterTopologyChangedError",
    "ConfigurationError",
    "DomainError",
]


class DomainError(Exception):
    """Root of every error value that cache_bridge hands to domain code."""


class CacheError(DomainError):
    """A cache operation did not do what was asked.

    ``operation`` is the protocol method's name, ``key`` the single key concerned (``None``
    where no single key applies) and ``cause`` the underlying exception, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        key: str | None = None,
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.key = key
        self.cause = cause

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(operation={self.operation!r}, key={self.key!r}, "
            f"message={self.message!r})"
        )

    def __str__(self) -> str:
        where = self.operation if self.key is None else f"{self.operation}({self.key!r})"
        return f"{where}: {self.message}"


class CacheConnectionError(CacheError):
    """The cache server could not be reached, refused us, or dropped the connection."""


class CacheTimeoutError(CacheConnectionError):
    """The cache server did not answer within the configured timeout."""


class CacheUnavailableError(CacheConnectionError):
    """The adapter's circuit breaker is open: the server failed repeatedly, so calls fail at
    once, without network traffic, until a probe finds it answering again."""


class CachePoolExhaustedError(CacheConnectionError):
    """Every connection of the adapter's pool stayed busy while the call waited ``timeout``
    for one: the client is short of connections (raise ``max_connections``, or make fewer
    calls at once), the server may be fine. It does not count toward the circuit breaker."""


class CacheClosedError(CacheError):
    """The adapter was closed; open a new one."""


class CacheInvalidArgumentError(CacheError):
    """An argument is of the wrong type or out of range; nothing was written."""


class CacheSerializationError(CacheError):
    """A value could not be encoded for storage, or a stored value could not be decoded."""


class CacheValueError(CacheError):
    """The stored value cannot take this operation (not an integer, or it would overflow)."""


class CacheServerError(CacheError):
    """The server answered with an error (out of memory, read-only replica, no permission)."""


class ClusterTopologyChangedError(CacheError):
    """The cluster's topology (which primary serves which slots) changed during a walk over
    every primary (``delete_pattern``, ``clear``, a flush with a prefix): some keys may not
    have been visited. Nothing is wrong with the cluster; run the operation again."""


class ConfigurationError(ValueError):
    """A cache was configured wrongly (malformed URL, unknown or invalid option).

    Raised at construction time, never from an operation.
    """
