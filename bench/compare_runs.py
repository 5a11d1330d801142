"""Compare benchmark runs of two versions: ``python -m bench.compare_runs BEFORE... -- AFTER...``.

Each argument is a folder that ``python -m bench --out DIR`` wrote. For every cache_bridge row
present in all of them it prints each run's ratio to the row's reference (ops/s over the
reference's ops/s in the same rounds) and the mean after / mean before, as a Markdown table.
Run the versions alternately (ABBA) on one machine so that both see the same conditions.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

__all__ = ["main"]

Row = tuple[str, str, str, str]


def _ratios(folder: Path) -> dict[Row, float]:
    data = json.loads((folder / "results.json").read_text())
    return {
        (group["section"], group["name"], result["impl"], group["reference"]): result["ratio"]
        for group in data["groups"]
        for result in group["results"]
        if result["impl"].startswith("cache_bridge")
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if "--" not in args or args.index("--") in (0, len(args) - 1):
        print(__doc__, file=sys.stderr)
        return 2
    cut = args.index("--")
    before = [_ratios(Path(a)) for a in args[:cut]]
    after = [_ratios(Path(a)) for a in args[cut + 1 :]]
    rows = [row for row in before[0] if all(row in run for run in before + after)]
    print(
        "| section | operation | implementation (vs reference) | before | after | after / before |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    changes = []
    for row in rows:
        b = [run[row] for run in before]
        a = [run[row] for run in after]
        change = statistics.mean(a) / statistics.mean(b)
        changes.append(change)
        shown_b = ", ".join(f"{x:.2f}x" for x in b)
        shown_a = ", ".join(f"{x:.2f}x" for x in a)
        name = f"{row[0]} | {row[1]} | {row[2]} (vs {row[3]})"
        print(f"| {name} | {shown_b} | {shown_a} | {change:.2f} |")
    print()
    print(f"median after / before over {len(changes)} rows: {statistics.median(changes):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
