"""The arithmetic of the rate-limit instruction counts (``bench/ratelimit_instructions.py``,
``python bench/ratelimit_cost.py --instructions``): callgrind's totals read from its output, a
case's count per request from its runs with and without requests, and what a case adds over
the framework's own work as a multiple of what the hook adds."""

from __future__ import annotations

import pytest

from bench.ratelimit_instructions import N, added, per_request, totals


def test_totals_are_read_from_either_line_callgrind_writes() -> None:
    assert totals("version: 1\ncmd: python\nevents: Ir\nsummary: 123456\n") == 123456
    assert totals("events: Ir\nfn=(1) main\n0 7\ntotals: 987\n") == 987
    with pytest.raises(ValueError, match="no totals"):
        totals("events: Ir\n")


def test_a_case_per_request_is_its_difference_over_the_requests() -> None:
    counts = {
        ("Flask: none", 0): 1_000_000,
        ("Flask: none", N): 1_000_000 + N * 8_000,
        ("Flask: hook (1 EVALSHA)", 0): 1_000_500,
        ("Flask: hook (1 EVALSHA)", N): 1_000_500 + N * 10_000,
        ("Flask: bridge.limit, headers on", 0): 1_002_000,
        ("Flask: bridge.limit, headers on", N): 1_002_000 + N * 11_000,
    }
    found = per_request(counts)
    assert found == {
        "Flask: bridge.limit, headers on": 11_000.0,
        "Flask: hook (1 EVALSHA)": 10_000.0,
        "Flask: none": 8_000.0,
    }
    # The hook adds 2,000 instructions to a request, the limit 3,000: 1.5 times as many.
    assert added(found, "Flask", "bridge.limit, headers on") == (3_000.0, 1.5)
    assert added(found, "Flask", "hook (1 EVALSHA)") == (2_000.0, 1.0)
