"""Keys and patterns for the namespace tests: hostile prefixes, and the foreign keys each
would reach if its glob characters were not escaped.

A plain module (not a conftest): the namespace tests import what they need.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.support.fuzz_values import hostile_text

__all__ = [
    "ALPHABET",
    "FOREIGN_VALUE",
    "HOSTILE_PREFIXES",
    "foreign_keys",
    "framework_foreign",
    "framework_patterns",
    "inside_keys",
    "patterns",
    "prefixes",
]

FOREIGN_VALUE = "FOREIGN"
ALPHABET = "ab*?[]\\^-:!\xe9 "

prefixes = st.text(st.sampled_from(ALPHABET), min_size=1, max_size=6)
inside_keys = st.sampled_from(["a", "b*", "[x]", "\\", "\xe9", "a:b", "*", "?", "other:k"])
patterns = (
    st.sampled_from(
        ["*", "?", "[", "]", "[^a]", "[!a]*", "\\", "\\*", "**", "*" * 50, "*:*", "[a-z]*", "*\\"]
    )
    | st.text(st.sampled_from(ALPHABET), min_size=1, max_size=8)
    | hostile_text
)


def _unescaped_matches(prefix: str) -> list[str]:
    """Stored keys outside ``prefix:`` that the unescaped glob ``prefix:*`` would match."""
    swapped = prefix
    for special, stand_in in (("*", "zz"), ("?", "q"), ("[", "("), ("]", ")"), ("\\", "/")):
        swapped = swapped.replace(special, stand_in)
    bracketed = "".join("a" if ch == "[" else ch for ch in prefix)
    return [f"{swapped}:k", f"{bracketed}:k", f"{prefix.replace('*', '')}:k"]


def foreign_keys(prefix: str, extra: list[str]) -> list[str]:
    """Keys outside the namespace ``prefix:``."""
    candidates = [
        prefix,
        prefix + "x:k",
        prefix[:-1] + ":k",
        "x" + prefix + ":k",
        "other:" + prefix + ":k",
        ":" + prefix + ":k",
        *_unescaped_matches(prefix),
        *extra,
    ]
    return sorted({k for k in candidates if k and not k.startswith(prefix + ":")})


#: KEY_PREFIXes full of glob characters, and foreign keys each would match if unescaped.
HOSTILE_PREFIXES = ["s*", "s?[t]", "s\\", "s:x", "[^s]"]
framework_patterns = st.sampled_from(["*", "?", "[", "[^a]", "\\", "*:*", "**", "]"]) | patterns


def framework_foreign(prefix: str) -> list[str]:
    # Another alias's keys (version 1), the nested "PREFIX:x" alias, the bare prefix.
    return [
        *(f"{k[:-2]}:1:k" for k in _unescaped_matches(prefix)),
        f"{prefix}x:1:k",
        f"{prefix}:x:1:k",
        f"{prefix}:1",
        prefix,
        "k",
    ]


#: The arguments of a namespace-hostility example: a prefix, extra foreign key stems, keys to
#: write inside the namespace; each test adds its own ``steps``.
hostile_cases: dict[str, st.SearchStrategy[Any]] = {
    "prefix": prefixes,
    "extra": st.lists(st.text(st.sampled_from(ALPHABET), min_size=1, max_size=8), max_size=3),
    "inside": st.lists(inside_keys, min_size=1, max_size=4, unique=True),
}
