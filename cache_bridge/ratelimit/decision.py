"""What a limiter decided for one request."""

from __future__ import annotations

from dataclasses import dataclass, field

from cache_bridge.engine.frozen import quick_init
from cache_bridge.errors import CacheError
from cache_bridge.ratelimit.rate import Rate

__all__ = ["Decision"]


@quick_init
@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one check.

    ``remaining`` is how many more requests the limit allows right now; ``reset_after`` the
    seconds until the whole quota is back; ``retry_after`` the seconds to wait before the next
    request can be allowed (0 when this one was). ``name`` and ``rate`` identify the policy (for
    the ``RateLimit-Policy`` header). ``error`` is set when the cache could not be asked: the
    decision then follows the limit's failure policy (allowed when it fails open) and its
    numbers mean nothing. ``receipt`` says what this decision counted: ``(state key, time it
    was counted at in Unix ms)``, or ``None`` for nothing (a refusal, a failure, an allowed
    limit of a group that another limit refused); it is what
    :func:`~cache_bridge.ratelimit.refund` takes back. ``cost`` is the units this request
    counts (``remaining`` is in units too). ``reason`` says why a request was refused:
    ``"limit"`` (the quota is spent), ``"cost-exceeds-limit"`` (the request costs more than the
    whole quota: waiting never helps; nothing was counted and the cache was not asked),
    ``"bad-cost"`` (a cost callable gave something that is not an int of 0 or more),
    ``"unavailable"`` (the cache could not be asked and the limit fails closed); ``None`` when
    allowed. ``fallback`` is ``"memory"`` when the cache could not be asked and the limit's
    in-memory fallback decided instead (on this process's own count): ``error`` is then
    ``None`` and the numbers are the fallback store's; ``None`` when the cache decided (or
    the failure policy did).
    """

    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    retry_after: float
    name: str
    rate: Rate
    error: CacheError | None = None
    receipt: tuple[str, int] | None = field(default=None, compare=False, repr=False)
    cost: int = 1
    reason: str | None = None
    fallback: str | None = None

    @property
    def counted(self) -> bool:
        """Whether this request was counted against the limit (see ``receipt``)."""
        return self.receipt is not None

    @property
    def failed(self) -> bool:
        """Whether the cache could not be asked (see ``error``)."""
        return self.error is not None
