"""The benchmark suite: ``python -m bench`` (``--quick`` for a smoke run).

Starts its own redis-server (no persistence, a free loopback port), measures every group in
interleaved rounds, writes ``RESULTS.md`` and ``results.json`` (into ``bench/`` unless
``--out`` says otherwise) and stops the server. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from bench.harness import Group, measure_group
from bench.sizes import FULL, QUICK, Sizes

__all__ = ["main"]

HERE = Path(__file__).resolve().parent


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few calls per group (smoke run)")
    parser.add_argument(
        "--rounds", type=int, default=None, help="timed rounds (default 15, quick 1)"
    )
    parser.add_argument("--out", type=Path, default=HERE, help="folder for RESULTS.md and JSON")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated sections to run: protocol,django,ratelimit,codec,observability; "
        "herd (the thundering-herd scenario, bench/cases_herd.py) runs only when named",
    )
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def _groups(sections: set[str], url: str, clients: Any, sizes: Sizes) -> list[Group]:
    """The groups of the chosen sections."""
    from bench.cases_protocol import protocol_groups

    groups: list[Group] = []
    if "protocol" in sections:
        groups += protocol_groups(clients, sizes)
    if sections & {"django", "ratelimit"}:
        from bench.django_site import configure

        configure(url)
    if "django" in sections:
        from bench.cases_frameworks import django_cache_groups

        groups += django_cache_groups(sizes)
    if "ratelimit" in sections:
        from bench.cases_frameworks import ratelimit_groups

        groups += ratelimit_groups(url, sizes)
    if "codec" in sections:
        from bench.cases_codec import codec_groups

        groups += codec_groups(url, sizes)
    if "observability" in sections:
        from bench.cases_observability import observability_groups

        groups += observability_groups(url, sizes.single)
    return groups


def _stop_listening() -> None:
    """Leave no exporter running behind a group (the observability cases start some)."""
    from bench.cases_observability import stop_exporters

    stop_exporters()


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    sizes = QUICK if args.quick else FULL
    rounds = args.rounds or (1 if args.quick else 15)
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    known = {"protocol", "django", "ratelimit", "codec", "observability"}
    if only - known - {"herd"}:
        unknown = ", ".join(sorted(only - known - {"herd"}))
        print(f"unknown --only sections: {unknown}", file=sys.stderr)
        return 2
    sections = only or known
    command = shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)])

    from bench.cases_protocol import Clients
    from bench.report import environment, write
    from cache_bridge.testing import RedisServer

    server = RedisServer()
    env = environment(server.binary, command)
    server.start()
    loop = asyncio.new_event_loop()
    clients = Clients(server.url, loop)
    started = time.monotonic()
    try:
        groups = _groups(sections, server.url, clients, sizes)
        if "herd" in sections:
            from bench.cases_herd import write_herd

            print(write_herd(server.url, args.quick, args.out, command), flush=True)
        results = []
        for group in groups:
            measured = measure_group(group, rounds)
            _stop_listening()
            results.append((group, measured))
            best = ", ".join(f"{m.impl} {m.ops_per_s:,.0f}/s ({m.ratio:.2f}x)" for m in measured)
            print(f"{group.section} | {group.name}: {best}", flush=True)
        env["load_average_end"] = os.getloadavg()
        env["seconds"] = round(time.monotonic() - started, 1)
        if sections == known:
            goals = write(args.out, env, results, rounds)
            for t in goals:
                print(f"{'met    ' if t.met else 'NOT MET'} {t.name}: {t.measured} ({t.goal})")
        print(f"done in {env['seconds']} s; results in {args.out}")
    finally:
        clients.close()
        loop.close()
        server.cleanup()
    return 0
