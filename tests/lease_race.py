"""Helper of tests/test_durability.py: processes racing for one run's lease (kept apart
from the test module so that the spawned processes import only sim.workflow.run)."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

from sim.results.leases import RunBusy, acquire_lease


def try_lease(folder: str, timeout: float, ready, start, results, done) -> None:
    """Wait for the start signal, try to take the lease, report ``won`` or ``busy``; the
    winner holds the lease until every process has answered."""
    ready.put(os.getpid())
    start.wait()
    try:
        lease = acquire_lease(folder, timeout=timeout)
    except RunBusy:
        results.put("busy")
        return
    results.put("won")
    done.wait(120)
    lease.release()


def race(folder: Path, n: int, timeout: float) -> list[str]:
    """Start ``n`` processes that try to take the lease at the same moment; their answers."""
    ctx = mp.get_context("spawn")
    ready, start, results, done = ctx.Queue(), ctx.Event(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=try_lease,
                         args=(str(folder), timeout, ready, start, results, done))
             for _ in range(n)]
    for p in procs:
        p.start()
    for _ in procs:  # all at the start line
        ready.get(timeout=120)
    start.set()
    answers = sorted(results.get(timeout=120) for _ in procs)
    done.set()
    for p in procs:
        p.join(60)
    return answers
