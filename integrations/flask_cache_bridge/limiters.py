"""The limiters a Flask limit counts on: one per rate, built once per counter name,
settings and cache and kept with the limit (:attr:`FlaskLimit.limiters`), the last ones found
kept apart (:attr:`FlaskLimit.recent`) so that a request finds them without a look-up per
rate."""

from __future__ import annotations

from cache_bridge import SyncCacheProtocol
from cache_bridge.ratelimit import Rate, RateLimiter
from cache_bridge.ratelimit.settings import MAX_LIMITERS
from flask_cache_bridge.limit_settings import FlaskLimit, LimitSettings

__all__ = ["limiter_of", "limiters_of"]


def limiters_of(
    cache: SyncCacheProtocol,
    settings: LimitSettings,
    flask_limit: FlaskLimit,
    name: str,
    rates: tuple[Rate, ...],
) -> list[RateLimiter]:
    """The limiters of ``rates`` (one per rate): those found last for the same cache,
    settings, name and rates, or each found (or built) by :func:`limiter_of`."""
    recent = flask_limit.recent
    if recent:
        last = recent[0]
        if last[0] is cache and last[1] is settings and last[3] is rates and last[2] == name:
            found: list[RateLimiter] = last[4]
            return found
    found = [limiter_of(cache, settings, flask_limit, name, rate) for rate in rates]
    recent[:] = [(cache, settings, name, rates, found)]
    return found


_MAX_LIMITERS = MAX_LIMITERS  # limiters kept per limit (never reached with fewer routes)


def limiter_of(
    cache: SyncCacheProtocol,
    settings: LimitSettings,
    flask_limit: FlaskLimit,
    name: str,
    rate: Rate,
) -> RateLimiter:
    """The limiter of one rate of ``flask_limit`` counting under ``name``, built on first use
    and again when the app's cache was replaced."""
    algorithm = flask_limit.algorithm or settings.algorithm
    fail_open = settings.fail_open if flask_limit.fail_open is None else flask_limit.fail_open
    # The rate's numbers, not the Rate: hashing a tuple of ints is cheaper than a dataclass.
    fallback = settings.fallback
    index = (name, rate.limit, rate.period, algorithm, settings.key_prefix, fail_open, fallback)
    limiter = flask_limit.limiters.get(index)
    if limiter is None or limiter.cache is not cache:  # the app's cache was replaced
        limiter = RateLimiter(
            cache,
            rate,
            algorithm=algorithm,
            name=name,
            prefix=settings.key_prefix,
            fail_open=fail_open,
            failure_log=flask_limit.failure_log,
            fallback=fallback,
        )
        flask_limit.limiters.put(index, limiter, _MAX_LIMITERS)
    return limiter
