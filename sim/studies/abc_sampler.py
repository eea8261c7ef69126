"""A pyabc sampler whose result does not depend on the number of processes or on timing.

pyabc's multicore samplers reseed every worker from the operating system, so the vectors
a generation proposes, and therefore the posterior, change from one call to the next and
with ``--jobs``. :class:`SeededSampler` gives every evaluation of a generation an index
``0, 1, 2, ...`` and draws it from numpy's and Python's global generators seeded by
(study seed, generation, phase, index), so that evaluation ``i`` of generation ``t``
proposes the same vector in any process. Workers take indices in order until ``n`` are
accepted; as in pyabc's evaluation-parallel samplers, the population is the first ``n``
accepted *by index* (not by finishing time, which would favour fast simulations). Every
index below the last kept one has been evaluated, so the kept set, and the number of
evaluations reported, is the same with 1 or 32 processes.

With a simulator that caches its runs on disk (``posterior.Simulator``), this also makes a
killed generation cheap to redo: the restarted generation proposes the same vectors again
and reads their runs back instead of simulating them.

Imported by ``posterior.run_study`` only (it imports pyabc, which takes about 2 s).
"""

from __future__ import annotations

import hashlib
import random
from ctypes import c_longlong

import numpy as np
from pyabc.sampler import Sampler
from pyabc.sampler.multicorebase import get_if_worker_healthy
from pyabc.sampler.util import get_mp_context
from tqdm import tqdm

_DONE = "done"


def evaluation_seed(base: int, t: int, calibration: bool, index: int) -> int:
    """The seed of evaluation ``index`` of generation ``t`` (``calibration``: pyabc's
    sample from the prior that sets the first epsilon, kept apart from generation 0)."""
    key = f"{base}:{t}:{int(calibration)}:{index}".encode()
    return int(hashlib.sha256(key).hexdigest()[:8], 16)


def _evaluate(simulate_one, base: int, t: int, calibration: bool, index: int):
    seed = evaluation_seed(base, t, calibration, index)
    np.random.seed(seed)  # noqa: NPY002 (pyabc draws from numpy's global generator)
    random.seed(seed)
    return simulate_one()


def _work(simulate_one, base, t, calibration, n, max_eval, n_eval, n_acc, queue):
    while n_acc.value < n:
        with n_eval.get_lock():
            index = n_eval.value
            if index >= max_eval:
                break
            n_eval.value += 1
        particle = _evaluate(simulate_one, base, t, calibration, index)
        if particle.accepted:
            with n_acc.get_lock():
                n_acc.value += 1
        queue.put((index, particle))
    queue.put(_DONE)


class SeededSampler(Sampler):
    """Evaluation-parallel sampling on ``n_procs`` forked processes (1: in this process),
    reproducible from ``seed`` whatever ``n_procs`` is (see the module docstring)."""

    def __init__(self, n_procs: int = 1, seed: int = 0, progress: bool = True):
        super().__init__()
        self.n_procs, self.seed, self.progress = max(1, int(n_procs)), int(seed), progress

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf,
                                all_accepted=False, ana_vars=None):
        calibration = bool(all_accepted)  # pyabc's sample from the prior (every one accepted)
        cap = int(max_eval) if np.isfinite(max_eval) else 2**62
        results: list[tuple[int, object]] = []
        # accepted particles against the population size, and the runs it took (the
        # bar counts by finishing order; the population is then taken by index)
        bar = tqdm(total=n, unit="particle", dynamic_ncols=True, disable=not self.progress,
                   desc="prior sample" if calibration else f"generation {t}")

        def tick(particle) -> None:
            bar.set_postfix(runs=len(results), refresh=False)
            bar.update(bool(particle.accepted))

        if self.n_procs == 1:
            accepted, index = 0, 0
            while accepted < n and index < cap:
                particle = _evaluate(simulate_one, self.seed, t, calibration, index)
                results.append((index, particle))
                tick(particle)
                accepted += bool(particle.accepted)
                index += 1
        else:
            ctx = get_mp_context()
            n_eval, n_acc = ctx.Value(c_longlong, 0), ctx.Value(c_longlong, 0)
            queue = ctx.Queue()
            args = (simulate_one, self.seed, t, calibration, n, cap, n_eval, n_acc, queue)
            procs = [ctx.Process(target=_work, args=args, daemon=True)
                     for _ in range(self.n_procs)]
            for p in procs:
                p.start()
            done = 0
            while done < len(procs):
                item = get_if_worker_healthy(procs, queue)
                if item == _DONE:
                    done += 1
                else:
                    results.append(item)
                    tick(item[1])
            for p in procs:
                p.join()
        bar.close()
        results.sort(key=lambda r: r[0])
        # keep every evaluation up to the n-th accepted one by index
        sample, accepted = self._create_empty_sample(), 0
        for index, particle in results:
            if accepted == n:
                break
            sample.append(particle)
            accepted += bool(particle.accepted)
            last = index
        self.nr_evaluations_ = last + 1 if results else 0
        if accepted < n:
            sample.ok = False
        return sample
