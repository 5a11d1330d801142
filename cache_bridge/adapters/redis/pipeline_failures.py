"""The errors an automatic pipeline hands its callers: one copy per caller of a round trip's
failure, marked as one incident for the circuit breaker."""

from __future__ import annotations

from redis import exceptions as rx

from cache_bridge.errors import CacheClosedError
from cache_bridge.resilience.guard import mark_incident

__all__ = ["closed", "fresh", "refused"]


def closed() -> CacheClosedError:
    """What calls still queued or in flight get when the adapter is closed under them."""
    return CacheClosedError("the adapter was closed", operation="")


def fresh(exc: BaseException) -> BaseException:
    """A copy of ``exc`` per caller, so that no two callers share one traceback. The copies
    carry ``exc`` as their shared incident, so the circuit breaker counts one failure for a
    round trip that failed many calls (see :mod:`cache_bridge.resilience.guard`)."""
    if isinstance(exc, CacheClosedError):
        return closed()
    try:
        copy = type(exc)(*exc.args)
    except Exception:
        copy = rx.ConnectionError(str(exc))
    copy.__cause__ = exc.__cause__
    mark_incident(copy, exc)
    return copy


def refused(size: int, exc: Exception) -> rx.ResponseError:
    return rx.ResponseError(
        f"Redis closed the connection while receiving a command of {size} bytes, as it does "
        f"with a value longer than its proto-max-bulk-len ({exc})"
    )
