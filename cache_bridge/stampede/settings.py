"""How a stampede-protected read behaves: :class:`StampedeSettings`."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cache_bridge.errors import ConfigurationError

__all__ = ["StampedeSettings"]


def _positive(name: str, value: float, zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"StampedeSettings({name}=...) takes seconds, not {value!r}")
    if value < 0 or (value == 0 and not zero):
        low = "0 or more" if zero else "more than 0"
        raise ConfigurationError(f"StampedeSettings({name}={value!r}): write a number {low}")


@dataclass(frozen=True, slots=True)
class StampedeSettings:
    """The three mechanisms and their bounds (seconds throughout; see ``docs/stampede.md``).

    - ``single_flight``: one computation per key per process; the other threads or tasks wait
      for it, at most ``wait`` seconds (one deadline with the lock's wait: those that waited
      it out share one follow-up computation, which runs at once).
    - ``lock``: one computation per key across processes, under a lock that expires after
      ``lock_ttl`` (make it longer than the computation takes: if its holder dies, the others
      compute after it expires). Waiters look again every ``poll`` seconds (jittered), and
      after ``wait`` seconds compute without it. ``wait`` defaults to twice ``lock_ttl``.
    - ``stale_ttl``: stale-while-revalidate: a value stays stored this long past its fresh
      time; meanwhile one caller recomputes it and the others get the stale value at once.
    - ``background``: the caller that recomputes a stale (or early-refreshed) value returns
      it at once too, and the recomputation runs in a thread (blocking face) or a task (async
      face: the event loop must outlive it); its failure is logged. A missing value is
      always computed in the caller.
    - ``early``: probabilistic early refresh (XFetch) with this beta (``1.0`` is the usual
      choice, more refreshes earlier, ``0`` turns it off): before the fresh time ends, a caller
      recomputes with a probability that grows as the end nears, scaled by how long the last
      computation took.

    ``random`` (a float in [0, 1)) and ``clock`` (wall-clock seconds) are injectable for tests.
    """

    single_flight: bool = True
    lock: bool = True
    lock_ttl: float = 10.0
    wait: float | None = None
    poll: float = 0.02
    stale_ttl: float = 0.0
    early: float = 0.0
    background: bool = False
    random: Callable[[], float] = field(default=random.random, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        _positive("lock_ttl", self.lock_ttl)
        _positive("poll", self.poll)
        _positive("stale_ttl", self.stale_ttl, zero=True)
        _positive("early", self.early, zero=True)
        if self.wait is not None:
            _positive("wait", self.wait, zero=True)

    @property
    def max_wait(self) -> float:
        """How long a caller waits for another's computation before computing itself."""
        return 2 * self.lock_ttl if self.wait is None else self.wait

    @classmethod
    def coerce(cls, stampede: bool | StampedeSettings | None) -> StampedeSettings | None:
        """``True``: the defaults; ``False``/``None``: off; settings as given. Anything else
        raises ConfigurationError."""
        if stampede is None or stampede is False:
            return None
        if stampede is True:
            return cls()
        if isinstance(stampede, cls):
            return stampede
        raise ConfigurationError(
            f"stampede={stampede!r}: write stampede=True or stampede=StampedeSettings(...)"
        )
