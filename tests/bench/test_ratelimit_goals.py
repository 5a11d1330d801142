"""The goals line of the rate-limit framework bench (``bench/ratelimit_frameworks.py``, run by
``make bench``): each case's added cost over the hook's, by wall clock and CPU, met only
when both are within the goal."""

from __future__ import annotations

from bench.ratelimit_frameworks import GOALS, goals


def _medians(added: dict[str, float], hook: float = 100.0) -> dict[str, float]:
    """Per-request times: 200 us without a limiter, the hook ``hook`` more, each case its
    ``added`` more (the same by wall clock and CPU unless a case is named ``cpu ...``)."""
    found: dict[str, float] = {}
    for kind in ("", "cpu "):
        for framework in ("Flask", "Django"):
            found[f"{kind}{framework}: none"] = 200.0
            found[f"{kind}{framework}: hook (1 EVALSHA)"] = 200.0 + hook
    for case, _ in GOALS:
        framework = "Flask" if "bridge.limit" in case else "Django"
        for kind in ("", "cpu "):
            found[f"{kind}{framework}: {case}"] = 200.0 + added.get(kind + case, added[case])
    return found


def test_a_case_within_its_goal_by_both_clocks_is_met() -> None:
    lines = goals(_medians({case: most * 100.0 - 1.0 for case, most in GOALS}))
    assert len(lines) == len(GOALS)
    assert all(line.endswith(" met") for line in lines), lines


def test_a_case_over_its_goal_by_either_clock_is_not_met() -> None:
    within = {case: most * 100.0 - 1.0 for case, most in GOALS}
    over_wall = {
        **within,
        "3 stacked @ratelimit, headers on": 131.0,
        "cpu 3 stacked @ratelimit, headers on": 129.0,
    }
    over_cpu = {**within, "cpu bridge.limit, headers on": 116.0}
    wall_lines, cpu_lines = goals(_medians(over_wall)), goals(_medians(over_cpu))
    assert [line.endswith("NOT met") for line in wall_lines] == [False, False, False, True]
    assert "1.31x / 1.29x" in wall_lines[3], wall_lines[3]
    assert [line.endswith("NOT met") for line in cpu_lines] == [True, False, False, False]
    assert "1.14x / 1.16x" in cpu_lines[0], cpu_lines[0]
