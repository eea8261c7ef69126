"""Probe: can Gaussian-process emulators find the parameter vectors consistent with the facts?

Reads the runs a posterior study stored (``runs/*.json`` in its folder: each run's
parameter vector and measures), and:

1. fits one Gaussian-process emulator per measure (every fitted fact and the two gaps
   lions - everyone) on the free parameters scaled to the unit box (log10 for the
   log-scaled ones, as the study samples them): a constant times a squared-exponential
   kernel with one length per parameter, plus a noise term for one run's seed noise;
   prints each one's five-fold cross-validated R^2;
2. predicts the posterior's distance (:func:`sim.studies.posterior.fact_terms`, largest
   term) at ``--draws`` vectors drawn uniformly from the prior box and prints its
   quantiles and the share predicted at most 1 (the emulators' estimate of how much of
   the box is consistent with the facts);
3. with ``--simulate N``, runs the N vectors of smallest predicted distance once each,
   as the study would (same configuration, seed hashed from the vector), and prints their
   real distance, the fact furthest out and lions - everyone.

docs/VALIDATION.md section 3.3 quotes its output on the second study at the defaults.

    python benchmarks/emulator_probe.py outputs/posterior/default                 # about 5 min
    python benchmarks/emulator_probe.py outputs/posterior/default --simulate 12 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np


def load_runs(folder: Path):
    """The stored runs of a study: their parameter vectors (dicts) and measures (dicts)."""
    files = sorted((folder / "runs").glob("*.json"))
    if not files:
        raise SystemExit(f"error: {folder / 'runs'}: no stored runs (a posterior study's folder?)")
    stored = [json.loads(f.read_text()) for f in files]
    return [s["values"] for s in stored], [s["result"] for s in stored]


def _sampled(a: np.ndarray, log: np.ndarray) -> np.ndarray:
    """Values in the sampled space: the log10 of the log-scaled parameters' columns."""
    out = np.array(a, float)
    out[..., log] = np.log10(out[..., log])
    return out


def _box() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The prior's box in the sampled space (log10 for the log-scaled parameters): its
    lower and upper corners, and which parameters are log-scaled."""
    from sim.studies.calibrate import FREE

    log = np.array([p.log for p in FREE])
    lo = _sampled([p.low for p in FREE], log)
    return lo, _sampled([p.high for p in FREE], log), log


def unit(values: list[dict]) -> np.ndarray:
    """Parameter vectors scaled to the unit box of the prior (log10 for log-scaled ones)."""
    from sim.studies.calibrate import FREE

    lo, hi, log = _box()
    return (_sampled([[v[p.key] for p in FREE] for v in values], log) - lo) / (hi - lo)


def from_unit(u: np.ndarray) -> list[dict]:
    """The parameter vectors (dicts) at points of the unit box: the inverse of :func:`unit`."""
    from sim.studies.calibrate import FREE

    lo, hi, log = _box()
    x = lo + u * (hi - lo)
    x[:, log] = 10.0 ** x[:, log]
    return [{p.key: float(xi) for p, xi in zip(FREE, row, strict=True)} for row in x]


def emulator():
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, WhiteKernel
    from sklearn.gaussian_process.kernels import ConstantKernel as C

    from sim.studies.calibrate import FREE

    return GaussianProcessRegressor(C(1.0) * RBF(np.ones(len(FREE)), (1e-2, 1e2)) + WhiteKernel(0.1))


def simulate(values: dict) -> tuple[float, str, float, float]:
    """One run of a vector as the posterior study runs it: its distance, the fact furthest
    out, and lions - everyone (RMST(52) weeks, 4-week points)."""
    from sim.core.config import with_values
    from sim.studies.calibrate import with_derived
    from sim.studies.common import DEFAULT_OVERRIDES
    from sim.studies.posterior import fact_terms, run_seed
    from sim.studies.validate import measure
    from sim.workflow.compose import compose

    cfg = compose(DEFAULT_OVERRIDES)
    m = measure(replace(with_values(cfg, with_derived(values)), seed=run_seed(values, 0)), 4)
    t = fact_terms(m)
    worst = max(t, key=t.get)
    return t[worst], worst, float(m["gap_rmst52"]), 100 * float(m["gap_s4"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("study", type=Path, help="a posterior study's output folder")
    p.add_argument("--draws", type=int, default=200_000, help="prior draws to predict (default: 200,000)")
    p.add_argument("--simulate", type=int, default=0,
                   help="run this many of the best predicted vectors (default: 0)")
    p.add_argument("--jobs", type=int, default=2, help="parallel runs for --simulate")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    t0 = time.perf_counter()
    warnings.filterwarnings("ignore", module="sklearn")
    from sklearn.model_selection import KFold, cross_val_predict

    from sim.studies.calibrate import ONE_SIDED, RANGE_FACTS
    from sim.studies.posterior import GAPS, fact_terms
    from sim.studies.validate import FACT_BY_ID

    values, results = load_runs(args.study)
    x = unit(values)
    facts = [*RANGE_FACTS, *(f for f, _, _ in ONE_SIDED)]
    keys = [FACT_BY_ID[f].key for f in facts] + list(GAPS)
    best_run = min(max(fact_terms(r).values()) for r in results)
    print(f"{len(values)} stored runs in {args.study}; the smallest distance among them: {best_run:.2f}")
    print("measure                      cross-validated R^2")
    fitted = {}
    for key in keys:
        y = np.array([r.get(key, np.nan) for r in results], float)
        ok = np.isfinite(y)
        mu, sd = y[ok].mean(), y[ok].std()
        z = (y[ok] - mu) / sd
        pred = cross_val_predict(emulator(), x[ok], z, cv=KFold(5, shuffle=True, random_state=0))
        print(f"{key:<28} {1 - np.mean((pred - z) ** 2):.3f}")
        fitted[key] = (emulator().fit(x[ok], z), mu, sd)
    u = np.random.default_rng(args.seed).random((args.draws, x.shape[1]))
    pred = {k: fitted[k][0].predict(u) * fitted[k][2] + fitted[k][1] for k in keys}
    d = np.array([max(fact_terms({k: pred[k][i] for k in keys}).values())
                  for i in range(args.draws)])
    qs = (0, 0.001, 0.01, 0.1, 0.5)
    print(f"predicted distance over {args.draws:,} prior draws: quantiles "
          + ", ".join(f"{q:g}: {v:.2f}" for q, v in zip(qs, np.quantile(d, qs), strict=True)))
    print(f"share predicted <= 1: {np.mean(d <= 1):.2g}; <= 1.2: {np.mean(d <= 1.2):.2g}")
    if args.simulate:
        from joblib import Parallel, delayed

        best = np.argsort(d)[: args.simulate]
        cands = from_unit(u[best])
        runs = Parallel(n_jobs=args.jobs)(delayed(simulate)(c) for c in cands)
        print("predicted  simulated  fact furthest out            RMST(52) gap  4-week gap")
        for i, (dist, worst, g, s4) in zip(best, runs, strict=True):
            print(f"{d[i]:9.2f}  {dist:9.2f}  {worst:<28} {g:+12.2f}  {s4:+10.1f}")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
