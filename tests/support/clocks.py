"""A clock the tests move by hand, for limiters, stores and stampede runners given
``clock=``."""

from __future__ import annotations

__all__ = ["ManualClock"]


class ManualClock:
    """``clock()`` is ``now``, which the test sets; a subclass sets where it starts."""

    start: float = 0.0

    def __init__(self, now: float | None = None) -> None:
        self.now = self.start if now is None else now

    def __call__(self) -> float:
        return self.now
