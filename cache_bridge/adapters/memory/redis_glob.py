"""Redis's glob matching (``SCAN MATCH``, ``KEYS``), reproduced on UTF-8 bytes.

The in-memory adapter uses this so that ``delete_pattern`` selects exactly the keys Redis
would, quirks included: ``[`` without a closing ``]`` runs to the end of the pattern, a range's
bounds may come in either order and compare as C ``signed char``, and ``\\`` escapes the next
character both inside and outside brackets. Like Redis (since the CVE-2024-31228 fix), a
pattern with more than :data:`MAX_STAR_NESTING` ``*`` runs before its last token matches nothing.
"""

from __future__ import annotations

__all__ = ["MAX_STAR_NESTING", "glob_match"]

#: Redis's stringmatchlen recurses once per ``*`` run that is not at the end of the pattern and
#: gives up (no match) beyond this depth; any match has to pass through every such run.
MAX_STAR_NESTING = 1000

_STAR, _QUESTION, _OPEN, _CLOSE, _BACKSLASH, _CARET, _DASH = b"*?[]\\^-"


def _signed(byte: int) -> int:
    return byte - 256 if byte > 127 else byte


def _match_bracket(pat: bytes, p: int, c: int) -> tuple[bool, int]:
    """Match one character against the class starting at ``pat[p] == '['``."""
    end = len(pat)
    i = p + 1
    negate = i < end and pat[i] == _CARET
    if negate:
        i += 1
    matched = False
    while True:
        if i < end and pat[i] == _BACKSLASH and end - i >= 2:
            i += 1
            matched = matched or pat[i] == c
        elif i < end and pat[i] == _CLOSE:
            break
        elif i >= end:
            i -= 1
            break
        elif end - i >= 3 and pat[i + 1] == _DASH:
            low, high = _signed(pat[i]), _signed(pat[i + 2])
            if low > high:
                low, high = high, low
            matched = matched or low <= _signed(c) <= high
            i += 2
        else:
            matched = matched or pat[i] == c
        i += 1
    return matched != negate, i + 1


def _match_one(pat: bytes, p: int, c: int) -> tuple[bool, int]:
    """Match one non-star token at ``pat[p]`` against the byte ``c``."""
    token = pat[p]
    if token == _QUESTION:
        return True, p + 1
    if token == _OPEN:
        return _match_bracket(pat, p, c)
    if token == _BACKSLASH and len(pat) - p >= 2:
        p += 1
    return pat[p] == c, p + 1


def glob_match(pattern: bytes, subject: bytes) -> bool:
    """Whether ``subject`` matches ``pattern`` as Redis would decide it."""
    end, size = len(pattern), len(subject)
    if size == 0:
        return end == 0
    p = s = 0
    star_p, star_s = -1, 0
    # How many ``*`` runs lie up to and including the one at ``star_p``: backtracking only
    # ever returns to the latest run, so this is the recursion depth Redis would be at.
    stars = 0
    while s < size:
        if p < end and pattern[p] == _STAR:
            while p < end and pattern[p] == _STAR:
                p += 1
            if p == end:
                return True
            stars += 1
            if stars > MAX_STAR_NESTING:
                return False
            star_p, star_s = p, s
            continue
        if p < end:
            ok, after = _match_one(pattern, p, subject[s])
            if ok:
                p, s = after, s + 1
                continue
        if star_p < 0:
            return False
        star_s += 1
        p, s = star_p, star_s
    while p < end and pattern[p] == _STAR:
        p += 1
    return p == end
