"""redis-py's exceptions as cache_bridge error values."""

from __future__ import annotations

from redis import exceptions as rx

from cache_bridge import errors
from cache_bridge.engine.commands import CommandRefused

__all__ = ["closes_the_connection", "translate"]

# What redis-py's blocking pools (sync and asyncio) raise when no connection came free.
_NO_CONNECTION = "No connection available."


def closes_the_connection(error: rx.ResponseError) -> bool:
    """Whether the server closes the connection after this error reply (a value longer than
    its ``proto-max-bulk-len``, or anything else it cannot parse): nothing sent after the
    command was run, and the connection must not be used again."""
    return str(error).startswith("Protocol error")


def _refusal(exc: rx.ResponseError) -> CommandRefused | None:
    text = str(exc)
    if "not an integer" in text:
        return CommandRefused("not_integer", "the stored value is not an integer")
    if "overflow" in text:
        return CommandRefused("overflow", "the result would not fit in signed 64 bits")
    if text.startswith("WRONGTYPE"):
        # Bad data (a set where a value was expected), not a failing server: no outage.
        return CommandRefused("wrong_type", text)
    return None


def translate(exc: Exception, operation: str, key: str | None) -> errors.CacheError | None:
    """The error value for a redis-py exception, or ``None`` if ``exc`` is not one."""
    if not isinstance(exc, rx.RedisError):
        return None
    if isinstance(exc, rx.TimeoutError):
        return errors.CacheTimeoutError(
            "Redis did not answer within the timeout", operation=operation, key=key, cause=exc
        )
    if isinstance(exc, rx.AuthenticationError | rx.AuthorizationError):
        return errors.CacheConnectionError(
            f"Redis refused the credentials ({exc})", operation=operation, key=key, cause=exc
        )
    if isinstance(exc, rx.ConnectionError) and str(exc) == _NO_CONNECTION:
        return errors.CachePoolExhaustedError(
            "no pooled connection came free within the timeout (max_connections are all busy)",
            operation=operation,
            key=key,
            cause=exc,
        )
    if isinstance(exc, rx.ConnectionError):
        return errors.CacheConnectionError(
            f"Redis could not be reached ({exc})", operation=operation, key=key, cause=exc
        )
    if isinstance(exc, rx.ResponseError):
        refusal = _refusal(exc)
        if refusal is not None:
            return errors.CacheValueError(str(refusal), operation=operation, key=key, cause=exc)
        return errors.CacheServerError(
            f"Redis refused the command ({exc})", operation=operation, key=key, cause=exc
        )
    return errors.CacheError(f"Redis client error ({exc})", operation=operation, key=key, cause=exc)
