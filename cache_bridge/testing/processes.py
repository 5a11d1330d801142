"""Race several spawned processes against one server and collect what each reports."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from queue import Empty
from typing import Any

__all__ = ["run_in_processes"]


def run_in_processes(
    target: Callable[..., None], args: tuple[Any, ...], count: int, wait: float
) -> list[Any]:
    """Start ``count`` spawned processes running ``target(*args, start, results)``, where
    ``start`` is a barrier for all of them and each puts one report on ``results``; return the
    reports. ``target`` must be a module-level function. Raises ``AssertionError`` if a worker
    does not report within ``wait`` seconds or exits non-zero; never leaves a worker running."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(count)
    results: Any = context.Queue()
    processes = [
        context.Process(target=target, args=(*args, start, results), daemon=True)
        for _ in range(count)
    ]
    try:
        for process in processes:
            process.start()
        reports = []
        for _ in range(count):
            try:
                reports.append(results.get(timeout=wait))
            except Empty:
                codes = [p.exitcode for p in processes]
                raise AssertionError(f"a worker did not report; exit codes {codes}") from None
        for process in processes:
            process.join(timeout=wait)
            assert process.exitcode == 0, f"a worker exited with {process.exitcode}"
        return reports
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        results.close()
