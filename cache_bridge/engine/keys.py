"""Argument rules shared by every adapter: keys, values, TTLs, amounts, and namespacing.

Checks raise :class:`InvalidArgument`; the drivers turn it into
``Failure(CacheInvalidArgumentError)`` before any command is sent.
"""

from __future__ import annotations

__all__ = [
    "INT64_MAX",
    "MAX_KEY_LENGTH",
    "MAX_PATTERN_LENGTH",
    "MAX_TTL",
    "InvalidArgument",
    "KeySpace",
    "check_amount",
    "check_seconds",
    "check_text",
    "escape_glob",
]

#: Longest key accepted, in characters as the caller wrote it (the prefix does not count).
MAX_KEY_LENGTH = 1024
#: Longest ``delete_pattern`` pattern accepted, in characters.
MAX_PATTERN_LENGTH = 2 * MAX_KEY_LENGTH
#: Longest TTL accepted, in seconds (ten years of 365 days).
MAX_TTL = 10 * 365 * 24 * 3600
#: Counters live in signed 64 bits, as in Redis.
INT64_MAX = 2**63 - 1

_GLOB_SPECIALS = frozenset("*?[]\\")


class InvalidArgument(Exception):
    """An argument broke the contract; the message says which and how."""


def check_text(value: object, what: str) -> str:
    """``value`` if it is a ``str`` that encodes as UTF-8, else raise :class:`InvalidArgument`."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be a str, not {type(value).__name__}")
    # A plain copy: a str subclass could override the methods the checks below rely on.
    value = str.__str__(value)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidArgument(
                f"{what} is not valid Unicode (lone surrogate at index {exc.start})"
            ) from None
    return value


def _brief(number: int) -> str:
    # Python refuses to print integers of more than 4,300 digits.
    return str(number) if number.bit_length() < 128 else f"a {number.bit_length()}-bit integer"


def check_seconds(value: object, what: str) -> int:
    """A whole number of seconds from 1 to :data:`MAX_TTL`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(
            f"{what} must be an int number of seconds, not {type(value).__name__}"
        )
    value = int.__int__(value)  # a plain int, whatever an int subclass overrides
    if not 1 <= value <= MAX_TTL:
        raise InvalidArgument(
            f"{what} must be between 1 and {MAX_TTL} seconds, not {_brief(value)}"
        )
    return value


def check_amount(value: object) -> int:
    """An ``int`` (not ``bool``) whose magnitude fits in signed 64 bits."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"amount must be an int, not {type(value).__name__}")
    value = int.__int__(value)  # a plain int, whatever an int subclass overrides
    if not -INT64_MAX <= value <= INT64_MAX:
        raise InvalidArgument(f"amount must fit in signed 64 bits, not {_brief(value)}")
    return value


def escape_glob(text: str) -> str:
    """``text`` with every Redis glob special character backslash-escaped."""
    if not _GLOB_SPECIALS.intersection(text):
        return text
    return "".join("\\" + ch if ch in _GLOB_SPECIALS else ch for ch in text)


class KeySpace:
    """An adapter's namespace: turns caller keys into stored keys and patterns.

    With ``prefix="app"`` the caller's key ``user:1`` is stored as ``app:user:1``. Without a
    prefix, keys are stored as written.
    """

    __slots__ = ("glob_prefix", "prefix")

    def __init__(self, prefix: str | None) -> None:
        self.prefix = "" if prefix is None else prefix + ":"
        self.glob_prefix = escape_glob(self.prefix)

    def key(self, key: object) -> str:
        """The stored form of a caller's key, after checking it."""
        if type(key) is str and key.isascii() and 0 < len(key) <= MAX_KEY_LENGTH:
            return self.prefix + key  # the common case, every rule below already met
        if not isinstance(key, str):
            raise InvalidArgument(f"key must be a str, not {type(key).__name__}")
        key = str.__str__(key)  # a plain copy, whatever a str subclass overrides
        if not key:
            raise InvalidArgument("key must not be empty")
        if len(key) > MAX_KEY_LENGTH:
            raise InvalidArgument(
                f"key is {len(key)} characters long; the maximum is {MAX_KEY_LENGTH}"
            )
        return self.prefix + check_text(key, "key")

    def keys(self, keys: object) -> tuple[str, ...]:
        """The stored forms of a list or tuple of caller keys, after checking every one."""
        if not isinstance(keys, list | tuple):
            raise InvalidArgument(f"keys must be a list of str, not {type(keys).__name__}")
        prefix = self.prefix
        return tuple(
            prefix + k
            if type(k) is str and k.isascii() and 0 < len(k) <= MAX_KEY_LENGTH
            else self.key(k)
            for k in keys
        )

    def pattern(self, pattern: object) -> str:
        """A Redis glob over stored keys that matches caller keys inside this namespace."""
        pattern = check_text(pattern, "pattern")
        if not pattern:
            raise InvalidArgument("pattern must not be empty (use flush() to clear everything)")
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise InvalidArgument(
                f"pattern is {len(pattern)} characters long; the maximum is {MAX_PATTERN_LENGTH}"
            )
        return self.glob_prefix + pattern

    def everything(self) -> str:
        """A Redis glob matching every stored key of this namespace."""
        return self.glob_prefix + "*"
