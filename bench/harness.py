"""Measuring: interleaved rounds, per-call latencies, process CPU time.

A :class:`Case` is one operation done by one implementation. Cases of one :class:`Group`
are measured round by round, each round running every implementation once in turn, so a
slow spell on a noisy machine hits all of them alike. Every round runs ``n`` calls
(``batch`` operations each) and records each call's wall time and the batch's process CPU
time; the group's table gives median ops/s over rounds, p50/p99 of every call's latency and
CPU per operation; a ratio is the median over rounds of the two implementations' ops/s in
that round.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Case", "Group", "Measured", "measure_group", "paired_median"]


@dataclass
class Case:
    """One implementation of one operation.

    ``call`` does ``ops_per_call`` operations per call (a delete over 10,000 keys counts
    one). ``setup`` runs untimed before every call (e.g. to refill the keys a delete takes).
    For async cases ``call`` returns an awaitable and ``loop`` runs it. ``tasks`` > 1 runs
    that many concurrent tasks, each doing ``n`` calls (async only).
    """

    impl: str
    call: Callable[[], Any]
    setup: Callable[[], Any] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    tasks: int = 1


@dataclass
class Group:
    """One operation, measured for several implementations against ``reference``."""

    name: str
    section: str
    reference: str
    cases: list[Case]
    n: int
    note: str = ""


@dataclass
class Measured:
    impl: str
    ops_per_s: float
    p50_us: float
    p99_us: float
    cpu_us_per_op: float
    wall_us_per_op: float
    rounds: list[float] = field(default_factory=list)
    ratio: float = 1.0


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def _run_sync(case: Case, n: int, latencies: list[float]) -> tuple[float, float]:
    call, setup = case.call, case.setup
    timer = time.perf_counter_ns
    wall = 0
    cpu = 0.0
    for _ in range(n):
        if setup is not None:
            setup()
        c0 = time.process_time()
        t0 = timer()
        call()
        t1 = timer()
        cpu += time.process_time() - c0
        latencies.append((t1 - t0) / 1000)
        wall += t1 - t0
    return wall / 1e9, cpu


async def _one_task(case: Case, n: int, latencies: list[float]) -> None:
    call = case.call
    timer = time.perf_counter_ns
    for _ in range(n):
        t0 = timer()
        await call()
        latencies.append((timer() - t0) / 1000)


async def _run_async(case: Case, n: int, latencies: list[float]) -> tuple[float, float]:
    if case.tasks > 1:
        c0 = time.process_time()
        t0 = time.perf_counter()
        await asyncio.gather(*(_one_task(case, n, latencies) for _ in range(case.tasks)))
        return time.perf_counter() - t0, time.process_time() - c0
    call, setup = case.call, case.setup
    timer = time.perf_counter_ns
    wall = 0
    cpu = 0.0
    for _ in range(n):
        if setup is not None:
            setup()
        c0 = time.process_time()
        t0 = timer()
        await call()
        t1 = timer()
        cpu += time.process_time() - c0
        latencies.append((t1 - t0) / 1000)
        wall += t1 - t0
    return wall / 1e9, cpu


def _run(case: Case, n: int, latencies: list[float]) -> tuple[float, float]:
    if case.loop is not None:
        return case.loop.run_until_complete(_run_async(case, n, latencies))
    return _run_sync(case, n, latencies)


def measure_group(group: Group, rounds: int, warmup: int = 1) -> list[Measured]:
    """Measure every case of ``group`` over ``rounds`` interleaved rounds (after ``warmup``
    untimed ones); ratios are ops/s over the reference's."""
    ops = {case.impl: [] for case in group.cases}  # type: dict[str, list[float]]
    cpu = {case.impl: [] for case in group.cases}  # type: dict[str, list[float]]
    latencies = {case.impl: [] for case in group.cases}  # type: dict[str, list[float]]
    for number in range(warmup + rounds):
        # Rotate the order each round so no implementation always goes first.
        order = group.cases[number % len(group.cases) :] + group.cases[: number % len(group.cases)]
        for case in order:
            sink: list[float] = []
            gc.collect()
            wall, used = _run(case, group.n, sink)
            if number < warmup:
                continue
            count = group.n * case.tasks
            ops[case.impl].append(count / wall if wall > 0 else 0.0)
            cpu[case.impl].append(used / count * 1e6)
            latencies[case.impl].extend(sink)
    results = []
    for case in group.cases:
        lat = sorted(latencies[case.impl])
        median_ops = statistics.median(ops[case.impl])
        results.append(
            Measured(
                impl=case.impl,
                ops_per_s=median_ops,
                p50_us=_percentile(lat, 0.50),
                p99_us=_percentile(lat, 0.99),
                cpu_us_per_op=statistics.median(cpu[case.impl]),
                wall_us_per_op=1e6 / median_ops if median_ops else 0.0,
                rounds=ops[case.impl],
            )
        )
    reference = next(m for m in results if m.impl == group.reference)
    for m in results:
        m.ratio = paired_median(m.rounds, reference.rounds, lambda a, b: a / b)
    return results


def paired_median(
    mine: list[float], theirs: list[float], compare: Callable[[float, float], float]
) -> float:
    """The median over rounds of ``compare(mine[i], theirs[i])``: both were measured in the
    same round, so a slow spell of the machine cancels out of each pair."""
    pairs = [compare(a, b) for a, b in zip(mine, theirs, strict=True) if a > 0 and b > 0]
    return statistics.median(pairs) if pairs else 0.0
