"""Helper of tests/test_durability.py: processes racing for one run's lease (kept apart
from the test module so that the spawned processes import only sim.runner)."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path

from sim.runner import RunBusy, acquire_lease


def try_lease(folder: str, timeout: float, ready, start, results) -> None:
    """Wait for the start signal, try to take the lease, report ``won`` or ``busy``."""
    ready.put(os.getpid())
    start.wait()
    try:
        lease = acquire_lease(folder, timeout=timeout)
    except RunBusy:
        results.put("busy")
        return
    results.put("won")
    time.sleep(3.0)  # hold it while the others look
    lease.release()


def race(folder: Path, n: int, timeout: float) -> list[str]:
    """Start ``n`` processes that try to take the lease at the same moment; their answers."""
    ctx = mp.get_context("spawn")
    ready, start, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=try_lease, args=(str(folder), timeout, ready, start, results))
             for _ in range(n)]
    for p in procs:
        p.start()
    for _ in procs:  # all at the start line
        ready.get(timeout=120)
    start.set()
    for p in procs:
        p.join(60)
    return sorted(results.get(timeout=5) for _ in procs)
