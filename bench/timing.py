"""Best-of-N timers shared by the benchmarks (imported from the bench folder).

Wall time is what a user waits; process CPU time is robust to other jobs on a shared machine
and equals wall time for single-threaded code."""

from __future__ import annotations

import time
from typing import Any, Callable


def _best(clock: Callable[[], float], fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = clock()
        out = fn()
        best = min(best, clock() - t0)
    return best, out


def best_wall(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall-clock seconds of ``repeat`` calls of ``fn``, and the last result."""
    return _best(time.perf_counter, fn, repeat)


def best_cpu(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best process CPU seconds of ``repeat`` calls of ``fn``, and the last result."""
    return _best(time.process_time, fn, repeat)
