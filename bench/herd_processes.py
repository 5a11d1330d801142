"""The thundering herd across processes (:mod:`bench.cases_herd`, run by
``python -m bench --only herd``): the same implementations, each herd split over worker
processes that start it together, as behind a web server's workers. Only a lock in Redis
keeps this herd to one computation. Nothing here asserts a time."""

from __future__ import annotations

import asyncio
import multiprocessing
from typing import Any

from bench.cases_herd import TTL, HerdResult, commands_processed

__all__ = ["run_herd_processes"]


def _worker(url: str, commands: Any, results: Any, start: Any) -> None:
    """Build every implementation, then run the herds the main process names, starting each
    together with the other workers."""
    from bench.cases_herd import implementations

    loop = asyncio.new_event_loop()
    impls = {impl.scenario + "|" + impl.name: impl for impl in implementations(url, loop)}
    results.put("ready")
    while (command := commands.get()) is not None:
        name, callers = command
        impl = impls[name]
        start.wait()
        before = impl.counter.count
        latencies = impl.herd(callers)
        results.put((impl.counter.count - before, latencies))
    loop.close()


def run_herd_processes(
    url: str, processes: int = 4, callers: int = 25, rounds: int = 5
) -> list[HerdResult]:
    """Measure every implementation with ``processes`` workers of ``callers`` each, round by
    round; the main process stores the values and lets them expire."""
    from bench.cases_herd import implementations

    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes)
    results: Any = context.Queue()
    queues = [context.Queue() for _ in range(processes)]
    workers = [
        context.Process(target=_worker, args=(url, queue, results, start), daemon=True)
        for queue in queues
    ]
    loop = asyncio.new_event_loop()
    try:
        for worker in workers:
            worker.start()
        for _ in workers:
            assert results.get(timeout=120) == "ready"
        impls = implementations(url, loop)
        processed = commands_processed(url)
        found = {id(i): HerdResult(i.scenario, i.name, [], []) for i in impls}
        for _ in range(rounds):
            for impl in impls:
                impl.warm()
            loop.run_until_complete(asyncio.sleep(TTL + 0.1))
            for impl in impls:
                impl.expire()
                commands = processed()
                for queue in queues:
                    queue.put((impl.scenario + "|" + impl.name, callers))
                reports = [results.get(timeout=120) for _ in workers]
                found[id(impl)].commands.append(processed() - commands - 1)
                found[id(impl)].computations.append(sum(count for count, _ in reports))
                for _, latencies in reports:
                    found[id(impl)].latencies.extend(latencies)
        return [found[id(i)] for i in impls]
    finally:
        for queue in queues:
            queue.put(None)
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
        loop.close()
