"""The instructions one rate limit adds to a Flask and a Django request: the cases of
:mod:`bench.ratelimit_frameworks` (one limit, headers on and off, three stacked, next to the
hand-written one-EVALSHA hook), each counted by valgrind's callgrind in the client process's
main thread (user space: neither the kernel's part of a round trip nor the server's), with
``PYTHONHASHSEED=0``. The same checkout counts the same to within a few hundred instructions
per request from run to run, whatever else the machine is doing (two checkouts of the same
code on a path, within about 2%), where the wall clock moves by 15% or more: the way to tell
a change of a few percent in this library's own work. It is not the goal's measure (the
time a request takes, the round trip included, is); it is where that time's share from this
library shows first.

    python bench/ratelimit_cost.py --instructions [--before TREE]

About 5 minutes per tree on 2 cores (each count runs Python under valgrind). Asserts
nothing; prints a table.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: Requests counted per case: the difference between a run with this many and a run with
#: none (both after the same warm-up), divided by it, is the case's count per request.
N = 300
CASES = {
    "Flask": (
        "none",
        "hook (1 EVALSHA)",
        "bridge.limit, headers on",
        "bridge.limit, headers off",
        "3 stacked bridge.limit, headers on",
    ),
    "Django": (
        "none",
        "hook (1 EVALSHA)",
        "@ratelimit, headers on",
        "@ratelimit, headers off",
        "3 stacked @ratelimit, headers on",
    ),
}
_BENCH = str(Path(__file__).resolve().with_name("ratelimit_frameworks.py"))
#: The child: the bench's cases for one framework (the library from ``tree``), warmed up,
#: out of the collector's way (``gc.freeze``, as the timed bench does), then ``n`` requests.
_CHILD = """
import gc, runpy, sys
tree, bench, url, framework, case, n = sys.argv[1:7]
sys.path[:0] = [tree, tree + "/integrations"]
cases = runpy.run_path(bench)["_django_cases" if framework == "Django" else "_flask_cases"](url)
call = cases[case]
for _ in range(20):
    call()
gc.collect()
gc.freeze()
for _ in range(int(n)):
    call()
"""


def totals(text: str) -> int:
    """The instruction count of a callgrind output file (its ``totals:`` or ``summary:``)."""
    found = re.search(r"^(?:totals|summary):\s+(\d+)", text, re.MULTILINE)
    if found is None:
        raise ValueError("no totals in the callgrind output")
    return int(found.group(1))


def _count(tree: str, url: str, framework: str, case: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as where:
        out = os.path.join(where, "callgrind.out")
        command = [
            "valgrind", "--tool=callgrind", "--separate-threads=yes",
            f"--callgrind-out-file={out}",
            sys.executable, "-c", _CHILD, tree, _BENCH, url, framework, case, str(n),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        subprocess.run(command, env=env, check=True, capture_output=True)
        return totals(Path(f"{out}-01").read_text())  # the main thread's file


def per_request(counts: dict[tuple[str, int], int], n: int = N) -> dict[str, float]:
    """Each case's instructions per request, from its counts with ``n`` requests and none."""
    cases = {case for case, _ in counts}
    return {case: (counts[(case, n)] - counts[(case, 0)]) / n for case in sorted(cases)}


def added(found: dict[str, float], framework: str, case: str) -> tuple[float, float]:
    """What ``case`` adds to a request of ``framework``, and that as a multiple of what the
    hook adds."""
    base = found[f"{framework}: none"]
    hook = found[f"{framework}: hook (1 EVALSHA)"] - base
    more = found[f"{framework}: {case}"] - base
    return more, more / hook


def measure(tree: str, url: str) -> dict[str, float]:
    """Instructions per request of every case, this library from ``tree``."""
    jobs = [
        (framework, case, n) for framework, cases in CASES.items() for case in cases for n in (0, N)
    ]
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        counted = list(pool.map(lambda job: _count(tree, url, *job), jobs))
    counts = {
        (f"{framework}: {case}", n): c
        for (framework, case, n), c in zip(jobs, counted, strict=True)
    }
    return per_request(counts)


def main(argv: list[str]) -> None:
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: no instruction counts (apt-get install valgrind)")
        return
    from cache_bridge.testing import RedisServer

    here = str(Path(__file__).resolve().parents[1])
    before = argv[argv.index("--before") + 1] if "--before" in argv else None
    trees = {"this": here, **({"before": before} if before else {})}
    with RedisServer() as server:
        found = {name: measure(tree, server.url) for name, tree in trees.items()}
    print(
        f"\nInstructions per request (callgrind, the client's main thread, {N} requests a "
        "case), what the case adds to the framework's, and that as a multiple of the hook's"
    )
    print(f"{'case':46}" + "".join(f"{name:>12} {'added':>10} {'/hook':>6}" for name in trees))
    for framework, cases in CASES.items():
        for case in cases:
            row = f"{framework + ': ' + case:46}"
            for name in trees:
                more, ratio = added(found[name], framework, case)
                row += f"{found[name][f'{framework}: {case}']:12.0f} {more:10.0f} {ratio:6.2f}"
            print(row)
    if before:
        print("\nthis / before, instructions added per request:")
        for framework, cases in CASES.items():
            for case in cases[1:]:
                ratio = (
                    added(found["this"], framework, case)[0]
                    / added(found["before"], framework, case)[0]
                )
                print(f"  {framework + ': ' + case:46} {ratio:6.3f}")
