"""Diagnostic: do ABC-SMC's importance weights hold up at the posterior study's dimension?

The posterior study (``python -m sim posterior``) samples 13 free parameters, accepts a
run when each of 17 facts lies inside its target range (the distance is the largest
deviation in tolerances) and needs about 15 s of one core per run. Its second study's
effective sample size fell 100 -> 26 -> 2 over three generations (docs/VALIDATION.md,
section 3.3). This script asks whether that is the method's or the model's doing, on a
toy of the same shape that costs microseconds per run:

* 13 parameters uniform on [0, 1]; 17 "facts", each a sparse linear function of them
  plus noise (a third of the tolerance, like one run's seed noise); every target range
  centred on the facts of one fixed parameter vector; the same largest-deviation distance.
* ``pyabc``: pyabc's ABC-SMC as the study runs it (median epsilon schedule, its default
  multivariate normal transition; ``--transition local`` for its LocalTransition), with
  ``--population`` particles. Prints, per generation, epsilon, simulations and the
  effective sample size of the weights.
* ``replenish``: the replenishment SMC-ABC of Drovandi & Pettitt (2011, Biometrics 67):
  drop the worse half of the particles, copy survivors in their place and move each
  copy by Metropolis steps (a normal random walk with the survivors' covariance times
  2.38^2 / 13, accepted when inside the prior and within the new epsilon), as many steps
  as make it move with probability 0.99 at the last acceptance rate (at most 50).
  Weights stay equal; prints the distinct particles instead.

    python benchmarks/abc_toy.py                       # both, population 100 (about 10 s)
    python benchmarks/abc_toy.py pyabc --population 300
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time

import numpy as np

D, F = 13, 17  # parameters and facts, as in the posterior study


def toy(seed: int = 1):
    """The toy's fact matrix, the middles of the target ranges and their half-widths."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(F, D)) * (rng.random((F, D)) < 0.3)
    a[np.arange(F) % D, np.arange(F) % D] += 1.0  # every parameter moves some fact
    mid = a @ (rng.random(D) * 0.6 + 0.2)
    half = np.abs(a).sum(1) * 0.04 + 0.02
    return a, mid, half


def run_pyabc(population: int, generations: int, transition: str, seed: int) -> None:
    import pyabc

    for name in ("ABC", "Epsilon", "pyabc", "ABC.Population", "Sampler"):
        logging.getLogger(name).setLevel(logging.ERROR)
    a, mid, half = toy()

    def model(p):
        th = np.array([p[f"p{i}"] for i in range(D)])
        # pyabc draws its proposals from numpy's global generator; the toy's noise too
        return {"m": a @ th + np.random.normal(scale=0.3 * half)}  # noqa: NPY002

    def distance(x, x0):
        return float(np.max(np.abs(x["m"] - mid) / half))

    prior = pyabc.Distribution(**{f"p{i}": pyabc.RV("uniform", 0, 1) for i in range(D)})
    kernel = (pyabc.LocalTransition() if transition == "local"
              else pyabc.MultivariateNormalTransition())
    np.random.seed(seed)  # noqa: NPY002 (pyabc's single-core sampler uses the global one)
    abc = pyabc.ABCSMC(model, prior, distance, population_size=population, transitions=kernel,
                       sampler=pyabc.sampler.SingleCoreSampler(),
                       eps=pyabc.epsilon.QuantileEpsilon(alpha=0.5))
    with tempfile.TemporaryDirectory() as tmp:
        abc.new("sqlite:///" + os.path.join(tmp, "toy.db"), {"m": np.zeros(F)})
        h = abc.run(minimum_epsilon=1.0, max_nr_populations=generations)
        pops = h.get_all_populations()
        print(f"pyabc ({transition} transition), population {population}")
        print("generation  epsilon  simulations  effective sample size")
        for _, r in pops[pops["t"] >= 0].iterrows():
            _, w = h.get_distribution(m=0, t=int(r["t"]))
            w = np.asarray(w, float)
            print(f"{int(r['t']):>10}  {r['epsilon']:7.2f}  {int(r['samples']):>11}  "
                  f"{w.sum() ** 2 / (w ** 2).sum():>21.0f}")
        print(f"in all {int(pops['samples'].sum())} simulations")


def run_replenish(population: int, max_sims: int, seed: int) -> None:
    a, mid, half = toy()
    rng = np.random.default_rng(seed)

    def distance(th):
        return float(np.max(np.abs(a @ th + rng.normal(scale=0.3 * half) - mid) / half))

    th = rng.random((population, D))
    d = np.array([distance(t) for t in th])
    sims, p_acc, gen = population, 1.0, 0
    print(f"replenishment SMC-ABC, population {population}")
    print("generation  epsilon  steps  acceptance  simulations  distinct particles")
    while sims < max_sims:
        keep = np.argsort(d, kind="stable")[: population - population // 2]
        eps = max(1.0, float(d[keep[-1]]))
        th, d = th[keep], d[keep]
        cov = np.cov(th.T) * 2.38 ** 2 / D  # the random walk's usual scaling
        steps = 1 if p_acc >= 1 else min(50, int(np.ceil(np.log(0.01) / np.log(1 - p_acc))))
        pick = rng.integers(0, len(th), population - len(th))
        new_th, new_d = th[pick].copy(), d[pick].copy()
        accepted = tried = 0
        for i in range(len(pick)):
            for _ in range(steps):
                prop = new_th[i] + rng.multivariate_normal(np.zeros(D), cov)
                tried += 1
                if np.any(prop < 0) or np.any(prop > 1):
                    continue  # outside the prior: rejected without a run
                dd = distance(prop)
                sims += 1
                if dd <= eps:
                    new_th[i], new_d[i] = prop, dd
                    accepted += 1
        p_acc = max(accepted / tried, 1e-3)
        th, d = np.vstack([th, new_th]), np.concatenate([d, new_d])
        print(f"{gen:>10}  {eps:7.2f}  {steps:>5}  {p_acc:>10.2f}  {sims:>11}  "
              f"{len(np.unique(th, axis=0)):>18}")
        gen += 1
        if eps <= 1.0 and np.all(d <= 1.0):
            break
    print(f"in all {sims} simulations; largest distance {d.max():.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("method", nargs="?", choices=("both", "pyabc", "replenish"), default="both")
    p.add_argument("--population", type=int, default=100)
    p.add_argument("--generations", type=int, default=12, help="pyabc's generations")
    p.add_argument("--transition", choices=("normal", "local"), default="normal")
    p.add_argument("--max-simulations", type=int, default=20000, help="replenishment's budget")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    t0 = time.perf_counter()
    if args.method in ("both", "pyabc"):
        run_pyabc(args.population, args.generations, args.transition, args.seed)
    if args.method in ("both", "replenish"):
        run_replenish(args.population, args.max_simulations, args.seed)
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
