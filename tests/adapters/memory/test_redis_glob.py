"""``cache_bridge.adapters.memory.redis_glob.glob_match`` against the real thing: the test-started
redis-server.

The in-memory adapter's ``delete_pattern`` relies on ``glob_match`` choosing exactly the keys
that ``SCAN MATCH`` would, so every answer here is Redis's own, never a hand-written one.
"""

from __future__ import annotations

import pytest
import redis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cache_bridge.adapters.memory.redis_glob import MAX_STAR_NESTING, glob_match

pytestmark = pytest.mark.redis

# Every glob metacharacter, a few letters (so that ranges have something to span), a two-byte
# UTF-8 character (bytes above 127, which Redis compares as signed char) and NUL.
PATTERN_CHARS = "*?[]^-\\abz\xe9\x00"
KEY_CHARS = "*?[]^-\\abmz\xe9\xff\x00"

any_char = st.sampled_from(KEY_CHARS)


def _literal(char: str) -> st.SearchStrategy[str]:
    return st.one_of(st.just(char), any_char)


# Pattern pieces, each with a guess at key text it matches. The guesses only steer the keys
# towards near-misses and matches; whether they match is always Redis's answer.
PIECES: dict[str, st.SearchStrategy[str]] = {
    **{char: _literal(char) for char in PATTERN_CHARS},
    # Mostly characters that also appear as literals, so that stars have to backtrack.
    "*": st.text(alphabet="ab\xe9*[", max_size=3),
    "?": any_char,
    "[a-z]": st.sampled_from("amz-"),
    "[^a]": st.sampled_from("ab^\xe9"),
    "[z-a]": st.sampled_from("amz-"),
    "[\\]]": st.sampled_from("]\\"),
    "[\\]": st.sampled_from("]\\"),
    "[a\\-z]": st.sampled_from("a-zm\\"),
    "[a-\xe9]": st.sampled_from("Ab\xe9\xff"),
    "[a-]": st.sampled_from("a]^_b-"),
    "\\*": st.sampled_from("*\\"),
    "[^": any_char,
}

keys = st.text(alphabet=KEY_CHARS, min_size=1, max_size=6)


@st.composite
def patterns_and_keys(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A pattern, keys guessed to match it, keys spelt with its characters, and random keys."""
    pieces = draw(st.lists(st.sampled_from(list(PIECES)), max_size=6))
    pattern = "".join(pieces)
    guessed = [
        "".join(draw(PIECES[piece]) for piece in pieces) for _ in range(draw(st.integers(1, 4)))
    ]
    spelt = st.text(alphabet=sorted({*pattern, "a"}), min_size=1, max_size=5)
    candidates = [*guessed, *draw(st.lists(spelt, max_size=3)), *draw(st.lists(keys, max_size=3))]
    return pattern, [key for key in candidates if key]


def redis_matches(client: redis.Redis, pattern: bytes, candidates: set[bytes]) -> set[bytes]:
    """The keys of ``candidates`` that ``SCAN ... MATCH pattern`` reports, asked of Redis."""
    client.flushdb()
    client.mset(dict.fromkeys(candidates, b"1"))
    found: set[bytes] = set()
    cursor = 0
    while True:
        cursor, batch = client.scan(cursor, match=pattern, count=1000)
        for key in batch:
            assert isinstance(key, bytes)
            found.add(key)
        if cursor == 0:
            return found


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=patterns_and_keys())
@example(case=("[a-\xe9]", ["b", "\xe9", "\xff", "*", "\x00"]))
@example(case=("*[^a]", ["ba", "ab", "\xe9", "a\x00"]))
def test_glob_match_agrees_with_redis(
    redis_client: redis.Redis, case: tuple[str, list[str]]
) -> None:
    pattern, some_keys = case
    raw_pattern = pattern.encode("utf-8")
    raw_keys = {key.encode("utf-8") for key in [*some_keys, "a"]}
    expected = redis_matches(redis_client, raw_pattern, raw_keys)
    assert {key for key in raw_keys if glob_match(raw_pattern, key)} == expected


QUIRKS = [
    # An unclosed class runs to the end of the pattern and still matches one character.
    ("[ab", "a", True),
    ("[ab", "b", True),
    ("[ab", "[", False),
    ("[ab", "ab", False),
    ("x[", "x[", False),
    ("[", "[", False),
    # A bare "[^" (or "[^" at the end) is an empty negated class: any one character.
    ("[^", "q", True),
    ("[^", "qq", False),
    ("a[^", "ab", True),
    # An empty class matches nothing; "]" right after "[" closes it.
    ("[]a]", "a]", False),
    ("[]", "]", False),
    ("[^]", "x", True),
    # Reversed ranges are swapped, not empty.
    ("[z-a]", "m", True),
    ("[z-a]", "A", False),
    ("[^z-a]", "m", False),
    # A range at the very end of an unclosed class; "-" as the last member is literal.
    ("[a-", "-", True),
    ("[a-", "b", False),
    ("[a-]", "]", True),
    ("[a-]", "_", True),
    # A trailing backslash is a literal backslash, outside and inside a class.
    ("a\\", "a\\", True),
    ("a\\", "a", False),
    ("[\\", "\\", True),
    # Escapes inside classes: "\]" does not close the class, "\-" is not a range.
    ("[\\]]", "]", True),
    ("[\\]a]", "a", True),
    ("[a\\-z]", "-", True),
    ("[a\\-z]", "m", False),
    ("[\\^a]", "^", True),
    ("\\*", "*", True),
    ("\\*", "x", False),
    ("\\?", "?", True),
    ("\\?", "x", False),
    # Bytes above 127 compare as signed char: "a-é" spans 0xC3 (-61) to 'a' (97), so it holds
    # every ASCII character up to 'a' and the high bytes from 0xC3 up, but not 'b'.
    ("[a-\xe9]*", "b", False),
    ("[a-\xe9]*", "A", True),
    ("[a-\xe9]*", "\xe9", True),
    ("[a-\xe9]*", "\xff", True),
    ("[\x80-\xff]*", "a", False),
    # "?" and classes match one byte, not one character.
    ("?", "\xe9", False),
    ("??", "\xe9", True),
    ("[^a]", "\xe9", False),
    # Stars: a run collapses, and a star never matches an empty key.
    ("***", "x", True),
    ("*", "", False),
    ("a*b*c", "aXbYc", True),
    ("a*b", "ab", True),
    ("*?", "x", True),
    ("a*b*c", "aXcYb", False),
    ("*\x00*", "a\x00b", True),
]


@pytest.mark.parametrize(("pattern", "key", "expected"), QUIRKS)
def test_glob_quirks_match_redis(
    redis_client: redis.Redis, pattern: str, key: str, expected: bool
) -> None:
    raw_pattern, raw_key = pattern.encode("utf-8"), key.encode("utf-8")
    assert glob_match(raw_pattern, raw_key) is expected
    if raw_key:  # Redis cannot store an empty key, so that case is glob_match's alone.
        assert (raw_key in redis_matches(redis_client, raw_pattern, {raw_key})) is expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (b"*a" * MAX_STAR_NESTING + b"*", True),
        (b"*a" * (MAX_STAR_NESTING + 1) + b"*", False),
        (b"*a" * (MAX_STAR_NESTING + 1), False),
        # Escaped stars and stars inside a class are not star runs.
        (b"*a" * MAX_STAR_NESTING + b"\\*" * 5 + b"[*]" * 5 + b"*", True),
    ],
)
def test_star_nesting_limit_matches_redis(
    redis_client: redis.Redis, pattern: bytes, expected: bool
) -> None:
    probe = b"a" * (MAX_STAR_NESTING + 10)
    # Not a skip: the servers the suite supports all have the limit (docs/servers.md).
    assert probe not in redis_matches(redis_client, b"*a" * (MAX_STAR_NESTING + 1), {probe}), (
        "this server predates the CVE-2024-31228 fix (Redis 6.2.16, 7.2.6, 7.4.1, "
        "Valkey 8.0.1; Debian backports it): use a current server"
    )
    key = probe
    if b"\\*" in pattern:
        key += b"*" * 10
    assert glob_match(pattern, key) is expected
    assert (key in redis_matches(redis_client, pattern, {key})) is expected
