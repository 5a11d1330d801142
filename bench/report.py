"""The bench's outputs: the environment it ran in, the targets the issue sets, a Markdown
report and a JSON file."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.harness import Group, Measured, paired_median

__all__ = ["Target", "environment", "targets", "write"]

PACKAGES = [
    "redis",
    "hiredis",
    "returns",
    "django",
    "flask",
    "django-redis",
    "django-ratelimit",
    "flask-limiter",
    "limits",
]

Results = list[tuple[Group, list[Measured]]]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment(redis_server: str, command: str) -> dict[str, Any]:
    """What a reader needs to re-run and judge the numbers."""
    try:
        server = subprocess.run(
            [redis_server, "--version"], check=False, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        server = "unknown"
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {_cpu_model()}, {os.cpu_count()} cores",
        "os": platform.platform(),
        "python": platform.python_version(),
        "redis_server": server,
        "packages": {name: _version(name) for name in PACKAGES},
        "load_average_start": os.getloadavg(),
        "command": command,
    }


@dataclass
class Target:
    name: str
    goal: str
    measured: str
    met: bool


def _find(results: Results, section: str, name: str) -> dict[str, Measured]:
    for group, measured in results:
        if group.section == section and group.name.startswith(name):
            return {m.impl: m for m in measured}
    raise KeyError(f"{section}: {name}")


def _added(results: Results, group: str, theirs: str) -> tuple[float, float, float]:
    """Ours and their added wall time per request (us, from median ops/s), and the median
    over rounds of the ratio of the two (each round's three runs are paired)."""
    rows = _find(results, "rate limiting", group)
    base = rows["no limiter"]
    ours, their = rows["cache_bridge"], rows[theirs]

    def added(m: Measured) -> list[float]:
        return [1e6 / a - 1e6 / b for a, b in zip(m.rounds, base.rounds, strict=True)]

    ratio = paired_median(added(ours), added(their), lambda a, b: a / b)
    base_us = base.wall_us_per_op
    return ours.wall_us_per_op - base_us, their.wall_us_per_op - base_us, ratio


def targets(results: Results) -> list[Target]:
    """Every ratio the issue sets a target for, measured in this run."""
    out: list[Target] = []

    def ratio(label: str, goal: float, section: str, name: str, ref: str) -> None:
        rows = _find(results, section, name)
        value = paired_median(rows["cache_bridge"].rounds, rows[ref].rounds, lambda a, b: a / b)
        out.append(Target(label, f">= {goal:.2f}x {ref}", f"{value:.2f}x", value >= goal))

    for section in ("protocol, blocking", "protocol, asyncio"):
        face = "sync" if "blocking" in section else "async"
        for op in ("get", "set (ttl)"):
            ratio(f"{face} {op}", 0.95, section, op, "raw redis-py")
    ratio("50 tasks, get", 2.0, "protocol, asyncio", "get, 50", "raw redis-py")
    for op in ("get_many", "set_many"):
        ratio(f"Django {op}(100)", 1.2, "Django cache API", op, "django-redis")
        for section in ("protocol, blocking", "protocol, asyncio"):
            face = "sync" if "blocking" in section else "async"
            ratio(f"{face} {op}(100)", 1 / 1.3, section, op, "raw redis-py")
    for op in ("get", "set"):
        ratio(f"Django {op}", 1.0, "Django cache API", op, "django-redis")
        ratio(f"Django {op}", 1.5, "Django cache API", op, "Django RedisCache")
    for group, theirs in (("Flask", "flask-limiter"), ("Django", "django-ratelimit")):
        ours, their, value = _added(results, group, theirs)
        out.append(
            Target(
                f"{group} rate-limit added cost",
                f"<= 0.60x {theirs}",
                f"{value:.2f}x ({ours:.0f} vs {their:.0f} us)",
                value <= 0.6,
            )
        )
    # Added cost: what it adds to a memory:// get (CPU only: on Redis the server's
    # scheduling on a busy machine moves the median by more than a listener costs), over the
    # median latency of a Redis get. What it adds is the paired per-round ratio of ops/s
    # applied to the get's time, as every other ratio here: the medians over all calls of
    # the two cases fell on the machine's two speeds in one run (3.5 against 5.5 us while
    # their rounds differed by 3%).
    local = _find(results, "observability", "get, memory://")
    redis_get = _find(results, "observability", "get, Redis")["nothing listening"].p50_us
    for label, without, with_it, goal in (
        ("events, nothing listening", "driver without the event stream", "nothing listening", 0.01),
        (
            "metrics (OTel SDK + Prometheus)",
            "nothing listening",
            "OpenTelemetry SDK + Prometheus",
            0.05,
        ),
    ):
        slower = paired_median(local[without].rounds, local[with_it].rounds, lambda a, b: a / b)
        added = 1e6 / local[without].ops_per_s * (slower - 1)
        cost = added / redis_get
        measured = f"{cost:+.1%} ({added:+.2f} us on {redis_get:.1f} us)"
        out.append(Target(f"Redis get: {label}", f"<= {goal:.0%} added", measured, cost <= goal))
    ratio(
        "delete_pattern",
        3.0,
        "protocol, blocking",
        "delete_pattern",
        "SCAN loop, DEL key by key",
    )
    return out


def _markdown(env: dict[str, Any], results: Results, goals: list[Target], rounds: int) -> str:
    lines = [
        "# cache_bridge benchmark results",
        "",
        f"- Date: {env['date']}",
        f"- Machine: {env['machine']} ({env['os']})",
        f"- Load average at start: {', '.join(f'{x:.2f}' for x in env['load_average_start'])};"
        f" at end: {', '.join(f'{x:.2f}' for x in env['load_average_end'])}",
        f"- Python {env['python']}; {env['redis_server']}",
        "- Packages: " + ", ".join(f"{k} {v}" for k, v in env["packages"].items()),
        f"- Command: `{env['command']}`",
        f"- {rounds} interleaved rounds after one warm-up round; ops/s is the median over rounds,"
        " p50/p99 are over every call of every round, CPU is this process's CPU time per"
        " operation (the Redis server's is not counted). Ratio: the median over rounds of"
        " ops/s over the reference's ops/s in the same round (a slow spell of the shared"
        " machine hits both sides of each pair).",
        "- Every client talks to one redis-server the bench starts on a free loopback port"
        " (no persistence). Raw clients are redis-py's defaults (`redis.Redis.from_url`,"
        " `redis.asyncio.Redis.from_url`, hiredis parser); the peers run with their defaults;"
        " cache_bridge with its defaults (blocking pool of 50, async automatic pipelining,"
        " Django values pickled and signed).",
        "",
        "## Targets",
        "",
        "| target | goal | measured | met |",
        "| --- | --- | --- | --- |",
    ]
    for t in goals:
        lines.append(f"| {t.name} | {t.goal} | {t.measured} | {'yes' if t.met else '**no**'} |")
    section = None
    for group, measured in results:
        if group.section != section:
            section = group.section
            lines += ["", f"## {section}", ""]
        lines += [
            f"### {group.name} (reference: {group.reference})",
            "",
            *([f"{group.note}", ""] if group.note else []),
            "| implementation | ops/s | ratio | p50 us | p99 us | CPU us/op |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for m in measured:
            lines.append(
                f"| {m.impl} | {m.ops_per_s:,.0f} | {m.ratio:.2f}x | {m.p50_us:,.1f} |"
                f" {m.p99_us:,.1f} | {m.cpu_us_per_op:,.1f} |"
            )
        if group.section == "rate limiting":
            base = next(m for m in measured if m.impl == group.reference)
            lines.append("")
            for m in measured:
                if m is not base:
                    lines.append(
                        f"- {m.impl}: adds {m.wall_us_per_op - base.wall_us_per_op:,.0f} us"
                        f" wall and {m.cpu_us_per_op - base.cpu_us_per_op:,.0f} us CPU per request"
                    )
        lines.append("")
    return "\n".join(lines)


def write(out: Path, env: dict[str, Any], results: Results, rounds: int) -> list[Target]:
    """Write ``RESULTS.md`` and ``results.json`` into ``out``; the targets."""
    goals = targets(results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "RESULTS.md").write_text(_markdown(env, results, goals, rounds))
    data = {
        "environment": env,
        "rounds": rounds,
        "groups": [
            {
                "section": g.section,
                "name": g.name,
                "reference": g.reference,
                "calls_per_round": g.n,
                "note": g.note,
                "results": [asdict(m) for m in measured],
            }
            for g, measured in results
        ],
        "targets": [asdict(t) for t in goals],
    }
    (out / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    return goals
