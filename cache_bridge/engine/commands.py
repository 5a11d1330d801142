"""The small command vocabulary that operations yield and executors run.

Operations (``cache_bridge.engine.operations``) validate arguments, build namespaced keys and turn
replies into results; executors (the in-memory store, the Redis drivers) only carry out these
commands. Keys here are full keys, prefix included, already validated. Each command's reply is
documented on the class; executors must follow it exactly (Redis semantics).
"""

from __future__ import annotations

from dataclasses import dataclass

from cache_bridge.engine.frozen import quick_init

__all__ = [
    "COLLECTION_COMMANDS",
    "Collection",
    "Command",
    "CommandRefused",
    "CompareAndDelete",
    "CompareAndExpire",
    "Delete",
    "Exists",
    "Expire",
    "FlushDb",
    "Get",
    "IncrBy",
    "IncrByIfExists",
    "LimitEntry",
    "MGet",
    "PTtl",
    "Ping",
    "RateLimitHit",
    "RateLimitRefund",
    "Scan",
    "Set",
    "SetBytes",
    "SetMany",
    "SetManyBytes",
    "Touch",
    "Unlink",
]


@quick_init
@dataclass(frozen=True, slots=True)
class Get:
    """Reply: the stored value (``str`` or UTF-8 ``bytes``) or ``None``."""

    key: str


@quick_init
@dataclass(frozen=True, slots=True)
class MGet:
    """Reply: a list of values or ``None``, in the order of ``keys``."""

    keys: tuple[str, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class Set:
    """Store a value (``data`` is ``value`` as UTF-8); no ``ttl`` clears any expiry. Reply: any."""

    key: str
    value: str
    data: bytes
    ttl: int | None


@quick_init
@dataclass(frozen=True, slots=True)
class SetMany:
    """Store every ``(key, value, data)`` atomically with one ``ttl``. Reply: any."""

    items: tuple[tuple[str, str, bytes], ...]
    ttl: int | None


@quick_init
@dataclass(frozen=True, slots=True)
class Delete:
    """Reply: the number of keys removed (0 or 1)."""

    key: str


@quick_init
@dataclass(frozen=True, slots=True)
class Exists:
    """Reply: 1 if the key is live, else 0."""

    key: str


@quick_init
@dataclass(frozen=True, slots=True)
class Expire:
    """Reply: truthy if the key existed and now expires in ``seconds``."""

    key: str
    seconds: int


@quick_init
@dataclass(frozen=True, slots=True)
class PTtl:
    """Reply: milliseconds left, -1 for a key without expiry, -2 for a missing key."""

    key: str


@quick_init
@dataclass(frozen=True, slots=True)
class IncrBy:
    """Reply: the new integer. Raises :class:`CommandRefused` if the value is not an integer
    or the result would leave signed 64 bits; the stored value is then unchanged."""

    key: str
    amount: int


@quick_init
@dataclass(frozen=True, slots=True)
class Scan:
    """Reply: ``(next_cursor, keys)``; ``next_cursor == 0`` ends the iteration. ``match`` is a
    Redis glob pattern over full keys."""

    cursor: int
    match: str
    count: int


@quick_init
@dataclass(frozen=True, slots=True)
class Unlink:
    """Reply: the number of keys removed. Keys may be bytes, as ``Scan`` replies them."""

    keys: tuple[str | bytes, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class FlushDb:
    """Remove every key of the database. Reply: any."""


@quick_init
@dataclass(frozen=True, slots=True)
class Ping:
    """Reply: truthy when the server answered."""


@quick_init
@dataclass(frozen=True, slots=True)
class SetBytes:
    """Store ``data`` as it is, expiring after ``ttl_ms`` milliseconds (``None``: never, and any
    expiry is cleared). With ``only_if_missing`` nothing is written over a live key (Redis
    ``SET NX``); with ``only_if_present`` nothing is written unless the key is live (``SET
    XX``). Reply: truthy if the value was stored."""

    key: str
    data: bytes
    ttl_ms: int | None
    only_if_missing: bool = False
    only_if_present: bool = False


@quick_init
@dataclass(frozen=True, slots=True)
class SetManyBytes:
    """Store every ``(key, data)`` atomically with one ``ttl_ms``. Reply: any."""

    items: tuple[tuple[str, bytes], ...]
    ttl_ms: int | None


@quick_init
@dataclass(frozen=True, slots=True)
class Touch:
    """Make a live key expire in ``ttl_ms`` milliseconds (``None``: never). Reply: 1 if the key
    existed, else 0."""

    key: str
    ttl_ms: int | None


@quick_init
@dataclass(frozen=True, slots=True)
class IncrByIfExists:
    """Like :class:`IncrBy`, atomically, but a missing key stays missing and the reply is
    ``None``."""

    key: str
    amount: int


@quick_init
@dataclass(frozen=True, slots=True)
class LimitEntry:
    """One rate limit of a :class:`RateLimitHit` or :class:`RateLimitRefund`: the state at
    ``key``, ``algorithm`` (``"fixed-window"``, ``"sliding-window"`` or ``"token-bucket"``),
    ``limit`` requests per ``period_ms`` milliseconds, and a time in Unix milliseconds: for a
    hit the caller's clock or ``None`` for the executor's own (Redis: the server's ``TIME``),
    for a refund the time the request was counted at. ``cost``: the units the request counts
    (or a refund takes back); ``mode``: ``"hit"`` (count if allowed), ``"peek"`` (decide,
    write nothing) or ``"force"`` (count, never refuse)."""

    key: str
    algorithm: str
    limit: int
    period_ms: int
    now_ms: int | None
    cost: int = 1
    mode: str = "hit"


@quick_init
@dataclass(frozen=True, slots=True)
class RateLimitHit:
    """Count one request against every limit of ``limits``, atomically and all or nothing, in
    one round trip.

    Every limit is decided; only if all allow are the new states written, each with its
    expiry (so no state outlives its use); if any refuses, nothing is written. The transitions
    are :func:`cache_bridge.engine.limit_algorithms.hit_all`. Reply: six integers per limit, in
    order,
    flat: ``allowed`` (1 or 0), ``remaining``, ``reset_ms``, ``retry_ms``, ``counted`` (1 when
    its state was written) and ``now_ms`` (the time it was decided at); or, when every limit
    is a ``fixed-window`` one without a caller's time, an executor that keeps each window's
    count under a key expiring at the window's end (Redis) may reply two per limit, the
    *count form* that :func:`cache_bridge.ratelimit.steps.counted_reply` reads. An executor
    that splits the limits (Redis Cluster: one script per hash slot) is atomic per part, so
    ``counted`` may differ between limits: the caller takes back what was counted with
    :class:`RateLimitRefund`.
    """

    limits: tuple[LimitEntry, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class RateLimitRefund:
    """Take back one request from each limit of ``limits`` (``now_ms``: when it was counted),
    keeping each state's expiry: :func:`cache_bridge.engine.limit_algorithms.refund`. Reply: how
    many
    states changed."""

    limits: tuple[LimitEntry, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class CompareAndDelete:
    """Delete ``key`` only if it holds exactly ``expected`` (a lock's owner token), in one
    atomic step. Reply: 1 if it was deleted, else 0."""

    key: str
    expected: bytes


@quick_init
@dataclass(frozen=True, slots=True)
class CompareAndExpire:
    """Only if ``key`` holds exactly ``expected``, atomically: with ``add``, add ``ttl_ms``
    to its time left (refused for a key without expiry), else make it expire in ``ttl_ms``.
    Reply: 1 if done, 0 if the key does not hold ``expected``, -1 if refused (no expiry)."""

    key: str
    expected: bytes
    ttl_ms: int
    add: bool = False


#: The Redis set and hash commands a :class:`Collection` may name.
COLLECTION_COMMANDS = frozenset(
    {
        "SADD", "SREM", "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SPOP", "SRANDMEMBER",
        "SMOVE", "SDIFF", "SINTER", "SUNION", "SDIFFSTORE", "SINTERSTORE", "SUNIONSTORE",
        "SSCAN", "HSET", "HGET", "HDEL", "HEXISTS", "HKEYS", "HLEN",
    }
)  # fmt: skip


@quick_init
@dataclass(frozen=True, slots=True)
class Collection:
    """One Redis set or hash command (``name``, one of :data:`COLLECTION_COMMANDS`) on
    ``keys`` with ``args`` after them, as Redis writes it (``SMOVE src dst member``,
    ``SDIFFSTORE dest key...``, ``SSCAN key cursor COUNT n``, ``HSET key field value``).
    Reply: Redis's (members as bytes; a set's members as a list or a set; booleans as 0/1 or
    bools). A key holding another type is refused (:class:`CommandRefused`, ``wrong_type``),
    and an emptied set or hash is deleted, as Redis does."""

    name: str
    keys: tuple[str, ...]
    args: tuple[bytes | int | str, ...] = ()

    @property
    def key(self) -> str:
        """The first key (a cluster routes by it; the others must share its slot)."""
        return self.keys[0]


Command = (
    Collection
    | CompareAndDelete
    | CompareAndExpire
    | Get
    | MGet
    | Set
    | SetMany
    | Delete
    | Exists
    | Expire
    | PTtl
    | IncrBy
    | Scan
    | Unlink
    | FlushDb
    | Ping
    | SetBytes
    | SetManyBytes
    | Touch
    | IncrByIfExists
    | RateLimitHit
    | RateLimitRefund
)


class CommandRefused(Exception):
    """An executor refused a command because of the data it found (Redis: a ResponseError).

    ``reason`` is ``"not_integer"``, ``"overflow"`` or ``"wrong_type"`` (the key holds a set
    or a hash where a value was expected, or the other way round; the message starts with
    ``WRONGTYPE`` as Redis's does).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
