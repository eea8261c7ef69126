"""Parameter vectors consistent with the facts, by history matching with Gaussian-process emulators.

``python -m sim history-match`` finds the vectors of the free parameters of the calibration
(:data:`sim.studies.calibrate.FREE`, on the same prior box as ``python -m sim posterior``)
whose runs have every fitted fact inside its target range, and answers the research
question for each of them (docs/VALIDATION.md, section 3.3). It works in *waves*
(Vernon, Goldstein & Bower 2010; Andrianakis et al. 2015):

1. **Emulators.** One Gaussian-process emulator per fitted fact (scikit-learn: a constant
   times a squared-exponential kernel with one length per parameter, plus a white-noise
   term that estimates one run's seed noise), fitted to the stored runs on the parameters
   scaled to the prior's unit box (log10 for the log-scaled ones). Wave ``k``'s emulators
   are fitted to the runs that the earlier waves did not rule out (all runs for wave 1),
   at most ``--max-train`` of them (a seeded subset beyond that). With fewer than
   :data:`MIN_TRAIN` such runs a wave has no emulators: its vectors are a uniform design
   on what is left (how a study without earlier runs begins).
2. **Implausibility.** For fact ``f`` at vector ``x``: how far the emulator's mean lies
   outside the fact's range ``[lo, hi]`` (the range where its distance term,
   :func:`sim.studies.posterior.fact_terms`, is at most 1), in units of the emulator's
   predictive standard deviation, which adds its own uncertainty to one run's noise:
   ``I_f(x) = max(lo - mean, 0, mean - hi) / sd``. A vector is *ruled out* when
   ``max_f I_f(x) > --cutoff`` (default 3, Pukelsheim's three-sigma rule) under the
   emulators of any wave so far; the rest is the *not-ruled-out yet* (NROY) region.
3. **A wave.** ``--wave-size`` vectors drawn uniformly from the NROY region (prior draws,
   seeded, kept when no wave rules them out, in draw order), each run once with
   ``python -m sim posterior``'s simulator (the same configuration, seed hashed from the
   vector, runs stored in ``runs/``). Then the emulators are refitted on what remains
   and the next wave begins, until ``--waves`` waves are done or ``--target`` wave runs
   have every fitted fact in range.

**What the result is.** The *kept set* is every wave run whose distance is at most 1:
its every fitted fact is inside its target range, read as validate reads one run. A wave
draws uniformly from a region that contains every consistent vector, if the emulators
rule out none of them; then its consistent runs are draws from the prior restricted to
the vectors whose run meets every fact, which is what ABC rejection at epsilon 1 would
give, and the waves' kept runs pool with equal weights. The report checks that condition
on the data: each wave's emulators, refitted without each training run in turn
(leave-one-out, closed form), rule out how many of the training runs that do meet every
fact (``ruled out``: should be 0), and how often a run's value lies within
``cutoff`` predictive standard deviations of its prediction (``coverage``), there and on
the next wave's runs, which they were not fitted to. Runs given by
``--runs-from`` (another study's, for example the posterior's) train the emulators but
never enter the kept set: they were not drawn uniformly.

Why not ABC-SMC here: at 13 parameters the consistent vectors fill about one part in
10^4-10^5 of the prior box, and pyabc's importance weights degenerated within two
generations (effective sample size 2 of 100), on this model and on a toy of the same
shape (``benchmarks/abc_toy.py``); see docs/VALIDATION.md, 3.3.

Resumable: a wave's vectors and emulators are written (``waves/wave-<k>.json`` and
``.npz``: the training points, standardised measures and hyperparameters, from which the
fit is rebuilt exactly) before its runs, and every run as it finishes, so the same command continues
where a killed one stopped and simulates nothing twice. Reproducible: the same options
give the same waves with any ``--jobs`` (the draws are seeded by ``--seed`` and the wave,
the fits are deterministic and see the runs in a fixed order). One process works on a
study folder at a time (an exclusive lock; a second one fails at once). On a cluster,
the whole study is one Slurm job on one node: ``sbatch -c 32 --wrap "python -m sim
history-match --jobs 32"``.

Outputs in the output folder: ``runs/``, ``waves/``, ``model_code.txt`` (as the
posterior's), ``kept.csv`` (the kept set: wave, parameters, distance, every measured fact
and the gaps), ``wave_runs.csv`` (the same for every wave run, kept or not),
``report.md`` (the waves, the kept set's parameters, the distribution of lions -
everyone, the share where lions are faster and which parameters decide the sign) and
``history_match.pdf``/``.png``.
"""

from __future__ import annotations

import fcntl
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.config import SimConfig, to_dict
from sim.errors import ConfigError, StudyFailed
from sim.results.files import write_atomic, write_text_atomic
from sim.studies.calibrate import FREE, ONE_SIDED, RANGE_FACTS
from sim.studies.common import config_from_args, parse_args, study_dir
from sim.studies.posterior import (
    Simulator,
    _name,
    _natural,
    config_digest,
    distance,
    percent,
    prior_box,
    provenance,
    set_figure,
    study_codes,
    study_options,
    summary_tables,
)
from sim.studies.validate import FACT_BY_ID

#: the fitted facts, in the order the emulators test them
FACTS = (*RANGE_FACTS, *(fid for fid, _, _ in ONE_SIDED))
CHUNK = 50_000  # prior draws tested at a time
#: runs (in the region not ruled out) below which a wave has no emulators and draws its
#: vectors from the whole region left (at the start, a uniform design on the prior box)
MIN_TRAIN = 4 * len(FREE)


def fact_range(fid: str) -> tuple[float, float]:
    """The values of a fitted fact's measure whose distance term is at most 1: its target
    range, or for a one-sided fact everything at or above its own bound (the calibration's
    bound less one scale, :data:`sim.studies.calibrate.ONE_SIDED`)."""
    for one, bound, scale in ONE_SIDED:
        if one == fid:
            return bound - scale, math.inf
    f = FACT_BY_ID[fid]
    return float(f.lo), float(f.hi)


def box_space(box: Mapping[str, tuple[float, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The prior box in the sampled space (log10 for the log-scaled parameters): its lower
    and upper corners and which parameters are log-scaled."""
    log = np.array([p.log for p in FREE])
    lo = np.array([box[p.key][0] for p in FREE], float)
    hi = np.array([box[p.key][1] for p in FREE], float)
    lo[log], hi[log] = np.log10(lo[log]), np.log10(hi[log])
    return lo, hi, log


def to_unit(values: Sequence[Mapping[str, float]], box: Mapping[str, tuple[float, float]]) -> np.ndarray:
    """Parameter vectors (dicts of values) as points of the prior's unit box."""
    lo, hi, log = box_space(box)
    x = np.array([[v[p.key] for p in FREE] for v in values], float).reshape(-1, len(FREE))
    x[:, log] = np.log10(x[:, log])
    return (x - lo) / (hi - lo)


def from_unit(u: np.ndarray, box: Mapping[str, tuple[float, float]]) -> list[dict[str, float]]:
    """The coordinates of points of the prior's unit box in the sampled space (log10 for
    a log-scaled parameter), keyed by parameter: what the simulator takes
    (:func:`values_of` gives the parameters' values)."""
    lo, hi, _ = box_space(box)
    x = lo + np.asarray(u, float) * (hi - lo)
    return [{p.key: float(v) for p, v in zip(FREE, row, strict=True)} for row in x]


def values_of(coords: Mapping[str, float]) -> dict[str, float]:
    """A vector's parameter values from its coordinates, computed as the simulator
    computes them (so that they match its stored runs exactly)."""
    return {p.key: _natural(p, coords[p.key]) for p in FREE}


def _kernel(dim: int):
    """The emulators' kernel: a constant times a squared-exponential kernel with one length
    per parameter (on the unit box), plus white noise (one run's seed noise)."""
    from sklearn.gaussian_process.kernels import RBF, WhiteKernel
    from sklearn.gaussian_process.kernels import ConstantKernel as C

    return C(1.0) * RBF(np.ones(dim), (1e-2, 1e2)) + WhiteKernel(0.1, (1e-6, 1.0))


@dataclass
class Emulator:
    """A Gaussian-process emulator of one measure on the unit box: the training points
    ``u``, the measure standardised by ``mu`` and ``sd`` (``z``), and the kernel's fitted
    log-hyperparameters ``theta`` (what is stored: the fit is rebuilt from them exactly)."""

    u: np.ndarray
    z: np.ndarray
    theta: np.ndarray
    mu: float
    sd: float

    def __post_init__(self):
        from sklearn.gaussian_process import GaussianProcessRegressor

        kernel = _kernel(self.u.shape[1]).clone_with_theta(self.theta)
        self.gp = GaussianProcessRegressor(kernel, optimizer=None).fit(self.u, self.z)

    @classmethod
    def fit(cls, u: np.ndarray, y: np.ndarray) -> Emulator:
        """Fit the kernel's hyperparameters by maximum marginal likelihood (one start,
        so deterministic)."""
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor

        mu, sd = float(np.mean(y)), float(np.std(y)) or 1.0
        z = (y - mu) / sd
        with warnings.catch_warnings():  # a length at its bound is an irrelevant parameter
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp = GaussianProcessRegressor(_kernel(u.shape[1])).fit(u, z)
        return cls(u, z, gp.kernel_.theta, mu, sd)

    def mean(self, u: np.ndarray) -> np.ndarray:
        return self.gp.predict(u) * self.sd + self.mu

    def predict(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The predictive mean and standard deviation of one run's measure (the emulator's
        uncertainty and the fitted noise term together)."""
        m, s = self.gp.predict(u, return_std=True)
        return m * self.sd + self.mu, s * self.sd

    def sd_max(self) -> float:
        """An upper bound of :meth:`predict`'s standard deviation anywhere: the prior's
        (the kernel's value at zero distance; conditioning only lowers it)."""
        return float(math.sqrt(self.gp.kernel_.diag(self.u[:1])[0])) * self.sd

    def loo(self) -> tuple[np.ndarray, np.ndarray]:
        """Leave-one-out predictions at the training points, as the emulator refitted (with
        the same kernel) without each of them would make them: mean and standard deviation
        of one run (Rasmussen & Williams 2006, 5.4.2)."""
        k = self.gp.kernel_(self.gp.X_train_)
        inv = np.linalg.inv(k)
        alpha = inv @ self.gp.y_train_
        d = np.diag(inv)
        return (self.gp.y_train_ - alpha / d) * self.sd + self.mu, np.sqrt(1.0 / d) * self.sd


def outside(mean: np.ndarray, fid: str) -> np.ndarray:
    """How far ``mean`` lies outside the fact's range (0 inside it)."""
    lo, hi = fact_range(fid)
    return np.maximum(np.maximum(lo - mean, mean - hi), 0.0)


def implausibility(emulators: Mapping[str, Emulator], u: np.ndarray, cutoff: float) -> np.ndarray:
    """The largest implausibility over the facts at each point of ``u``, exact up to
    ``cutoff``: the facts are tested in turn and a point above it is not tested further
    (its value is then a lower bound, ``inf`` when the mean alone ruled it out: the
    predictive standard deviation, the costly part, is computed only where the mean with
    the largest standard deviation possible does not already rule the point out)."""
    worst = np.zeros(len(u))
    alive = np.arange(len(u))
    for fid, em in emulators.items():
        if not len(alive):
            break
        gap = outside(em.mean(u[alive]), fid)
        sure = gap > cutoff * em.sd_max()
        worst[alive[sure]] = math.inf
        alive = alive[~sure]
        if len(alive):
            mean, sd = em.predict(u[alive])
            i = outside(mean, fid) / sd
            worst[alive] = np.maximum(worst[alive], i)
            alive = alive[i <= cutoff]
    return worst


def not_ruled_out(waves: Sequence[Mapping[str, Emulator]], u: np.ndarray, cutoff: float) -> np.ndarray:
    """Which points of ``u`` no wave's emulators rule out."""
    keep = np.ones(len(u), bool)
    for emulators in waves:
        idx = np.flatnonzero(keep)
        if len(idx):
            keep[idx] = implausibility(emulators, u[idx], cutoff) <= cutoff
    return keep


@dataclass
class Runs:
    """Stored runs: parameter vectors (dicts), measures (dicts), and which are this
    study's own (``own``: in its ``runs/``; the others came from ``--runs-from``)."""

    values: list[dict[str, float]]
    results: list[dict[str, float]]
    own: list[bool]

    def distances(self) -> np.ndarray:
        return np.array([distance(r) for r in self.results])

    def measure(self, fid: str, idx: np.ndarray) -> np.ndarray:
        """A fact's measure in the runs ``idx`` (NaN where a run lacks it)."""
        return np.array([self.results[i].get(FACT_BY_ID[fid].key, math.nan) for i in idx], float)


def load_runs(folders: Sequence[Path], own: Path, codes: Sequence[str], config: str) -> tuple[Runs, int]:
    """The runs stored in ``own`` and ``folders`` made by one of ``codes`` on the
    configuration ``config``, and how many of them carried no configuration digest (a run
    stored by an older version of the posterior tool: ``--runs-from`` vouches that it is
    of this configuration). A folder whose ``model_code.txt`` lists one of ``codes`` also
    gives the runs of the other versions it lists (accepted there as giving the same
    results). A vector stored twice is read once."""
    seen: dict[str, int] = {}
    out = Runs([], [], [])
    legacy = 0
    for folder in (own, *folders):
        same = set(codes)
        stamp = folder / "model_code.txt"
        listed = stamp.read_text().split() if stamp.exists() else []
        if same & set(listed):  # the folder's versions give the same results as ours
            same |= set(listed)
        for path in sorted((folder / "runs").glob("*.json")) if (folder / "runs").is_dir() else []:
            stored = json.loads(path.read_text())
            if stored.get("code") not in same or stored.get("config", config) != config:
                continue
            key = json.dumps(stored["values"], sort_keys=True)
            if key in seen:
                continue
            seen[key] = len(out.values)
            legacy += "config" not in stored
            out.values.append({k: float(v) for k, v in stored["values"].items()})
            out.results.append({k: float(v) for k, v in stored["result"].items()})
            out.own.append(folder == own)
    return out, legacy


def fit_wave(runs: Runs, box, earlier: Sequence[Mapping[str, Emulator]], cutoff: float,
             max_train: int, seed: int, jobs: int) -> tuple[dict[str, Emulator], np.ndarray]:
    """Wave emulators: one per fitted fact, fitted to the runs no earlier wave rules out
    (a seeded subset of ``max_train`` beyond that), none with fewer than
    :data:`MIN_TRAIN` of them; also the indices of the runs used."""
    from joblib import Parallel, delayed

    u = to_unit(runs.values, box)
    train = np.flatnonzero(not_ruled_out(earlier, u, cutoff))
    if len(train) > max_train:
        train = np.sort(np.random.default_rng([seed, len(earlier), 1]).choice(
            train, max_train, replace=False))
    if len(train) < MIN_TRAIN:  # too few to emulate: this wave is a design from the prior
        return {}, train
    fits = Parallel(n_jobs=jobs)(delayed(_fit_finite)(u[train], runs.measure(fid, train))
                                 for fid in FACTS)
    return dict(zip(FACTS, fits, strict=True)), train


def _fit_finite(u: np.ndarray, y: np.ndarray) -> Emulator:
    ok = np.isfinite(y)
    return Emulator.fit(u[ok], y[ok])


def diagnostics(emulators: Mapping[str, Emulator], runs: Runs, train: np.ndarray,
                cutoff: float) -> dict[str, float]:
    """Leave-one-out checks of a wave's emulators on their training runs: the share of
    runs within ``cutoff`` standard deviations of their prediction (the smallest over the
    facts, and which fact), and how many training runs that meet every fact the emulators
    refitted without them would rule out."""
    if not emulators:
        return {"loo_coverage": math.nan, "loo_coverage_fact": "",
                "consistent_in_training": 0, "consistent_ruled_out": 0}
    d = runs.distances()[train]
    worst = np.zeros(len(train))
    cover, low = 1.0, ""
    for fid, em in emulators.items():
        y = runs.measure(fid, train)
        ok = np.isfinite(y)
        mean, sd = np.full(len(y), np.nan), np.full(len(y), np.nan)
        mean[ok], sd[ok] = em.loo()
        c = float(np.mean(np.abs(y[ok] - mean[ok]) <= cutoff * sd[ok]))
        if c < cover:
            cover, low = c, fid
        worst[ok] = np.maximum(worst[ok], outside(mean[ok], fid) / sd[ok])
    consistent = d <= 1
    return {"loo_coverage": cover, "loo_coverage_fact": low,
            "consistent_in_training": int(consistent.sum()),
            "consistent_ruled_out": int(np.sum(consistent & (worst > cutoff)))}


def coverage(emulators: Mapping[str, Emulator], rows: pd.DataFrame, box,
             cutoff: float) -> tuple[float, str]:
    """Out of sample: over runs the emulators were not fitted to (``rows``: parameters and
    measures, e.g. the next wave's), the share whose measure lies within ``cutoff``
    predictive standard deviations of the prediction, for the fact where it is lowest."""
    u = to_unit(rows[[p.key for p in FREE]].to_dict("records"), box)
    low, which = 1.0, ""
    for fid, em in emulators.items():
        y = rows[FACT_BY_ID[fid].key].to_numpy(float)
        ok = np.isfinite(y)
        mean, sd = em.predict(u[ok])
        c = float(np.mean(np.abs(y[ok] - mean) <= cutoff * sd)) if ok.any() else math.nan
        if c < low:
            low, which = c, fid
    return low, which


def draw_wave(waves: Sequence[Mapping[str, Emulator]], box, size: int, max_draws: int,
              cutoff: float, seed: int, progress: bool = True) -> tuple[np.ndarray, int, int]:
    """Up to ``size`` points of the unit box drawn uniformly from the region no wave rules
    out (prior draws in chunks, seeded by ``seed`` and the wave, kept in draw order); also
    how many draws were made and how many passed (their ratio estimates the region's share
    of the prior box)."""
    from tqdm import tqdm

    rng = np.random.default_rng([seed, len(waves)])
    kept, draws, passed = [], 0, 0
    bar = tqdm(total=size, unit="vector", desc=f"wave {len(waves)}: drawing", disable=not progress)
    while passed < size and draws < max_draws:
        n = min(CHUNK, max_draws - draws)
        u = rng.random((n, len(FREE)))
        ok = u[not_ruled_out(waves, u, cutoff)]
        draws, passed = draws + n, passed + len(ok)
        kept.append(ok)
        bar.update(min(len(ok), size - bar.n))
        bar.set_postfix(draws=draws, refresh=False)
    bar.close()
    points = np.concatenate(kept)[:size] if kept else np.zeros((0, len(FREE)))
    return points, draws, passed


def _simulate(simulator: Simulator, coords: Sequence[Mapping[str, float]], jobs: int,
              desc: str) -> None:
    """Run every vector (given by its coordinates) not stored yet (``jobs`` processes; each
    run is stored as it ends)."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    from tqdm import tqdm

    params = [{_name(p): c[p.key] for p in FREE} for c in coords]
    with tqdm(total=len(params), unit="run", desc=desc, dynamic_ncols=True) as bar:
        if jobs == 1:
            for x in params:
                simulator(x)
                bar.update()
            return
        with ProcessPoolExecutor(jobs, mp_context=get_context("fork")) as pool:
            for f in as_completed([pool.submit(simulator, x) for x in params]):
                f.result()
                bar.update()


@dataclass
class Wave:
    """A wave as stored: its emulators, the vectors it simulates (their coordinates in the
    sampled space) and how they were found."""

    index: int
    emulators: dict[str, Emulator]
    vectors: list[dict[str, float]]
    info: dict

    @staticmethod
    def paths(out: Path, k: int) -> tuple[Path, Path]:
        return out / "waves" / f"wave-{k}.json", out / "waves" / f"wave-{k}.npz"

    def save(self, out: Path) -> None:
        """The emulators (training points, standardised measures, hyperparameters) to
        ``wave-<k>.npz``, then the vectors and how they were found to ``wave-<k>.json``
        (the wave exists once the JSON file does)."""
        meta, blob = self.paths(out, self.index)
        meta.parent.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for fid, em in self.emulators.items():
            arrays.update({f"{fid}.u": em.u, f"{fid}.z": em.z, f"{fid}.theta": em.theta,
                           f"{fid}.scale": np.array([em.mu, em.sd])})
        write_atomic(blob, lambda p: _savez(p, arrays))
        write_text_atomic(meta, json.dumps({**self.info, "vectors": self.vectors}, indent=1))

    @classmethod
    def load(cls, out: Path, k: int) -> Wave | None:
        meta, blob = cls.paths(out, k)
        if not meta.exists():
            return None
        info = json.loads(meta.read_text())
        with np.load(blob) as a:
            emulators = {fid: Emulator(a[f"{fid}.u"], a[f"{fid}.z"], a[f"{fid}.theta"],
                                       *map(float, a[f"{fid}.scale"]))
                         for fid in FACTS if f"{fid}.u" in a}
        return cls(k, emulators, info.pop("vectors"), info)

    @classmethod
    def load_all(cls, out: Path) -> list[Wave]:
        """The study's stored waves, 1, 2, ... up to the first missing one."""
        waves: list[Wave] = []
        while (w := cls.load(out, len(waves) + 1)) is not None:
            waves.append(w)
        return waves


def _savez(path: str, arrays: Mapping[str, np.ndarray]) -> None:
    with open(path, "wb") as f:  # a file object: np.savez would add ".npz" to a name
        np.savez(f, **arrays)


def kept_frame(waves: Sequence[Wave], runs: Runs) -> pd.DataFrame:
    """Every simulated wave vector, with its wave, parameters, measures and distance; the
    kept set is its rows with ``distance <= 1``. Equal weights (``weight``)."""
    index = {json.dumps(v, sort_keys=True): i for i, v in enumerate(runs.values)}
    rows = []
    for w in waves:
        for c in w.vectors:
            v = values_of(c)
            i = index.get(json.dumps(v, sort_keys=True))
            if i is not None:
                rows.append({"wave": w.index, **v, **runs.results[i],
                             "distance": distance(runs.results[i])})
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["weight"] = 1.0
        frame["seed"] = frame["seed"].astype(np.int64)
    return frame


def run_study(cfg: SimConfig, out: Path, *, waves: int, wave_size: int, target: int, cutoff: float,
              max_draws: int, max_train: int, seed: int, every: int, jobs: int,
              box: Mapping[str, tuple[float, float]], runs_from: Sequence[Path] = (),
              accept_code_change: bool = False) -> tuple[list[Wave], Runs, int]:
    """Run (or continue) the study in ``out``; returns its waves, every run it reads and
    how many of them carried no configuration digest."""
    codes = study_codes(out, accept_code_change, began="waves")
    (out / "runs").mkdir(exist_ok=True)
    simulator = Simulator(cfg, seed, every, out / "runs", codes)
    conf = config_digest(cfg)
    done: list[Wave] = []
    while True:
        k = len(done) + 1
        runs, legacy = load_runs(runs_from, out, codes, conf)
        frame = kept_frame(done, runs)
        n_kept = int((frame["distance"] <= 1).sum()) if len(frame) else 0
        wave = Wave.load(out, k)
        if wave is None:
            if k > waves or n_kept >= target:
                return done, runs, legacy
            print(f"wave {k}: fitting the emulators ({len(FACTS)} facts) ...", flush=True)
            emulators, train = fit_wave(runs, box, [w.emulators for w in done], cutoff,
                                        max_train, seed, jobs)
            points, draws, passed = draw_wave([*(w.emulators for w in done), emulators], box,
                                              wave_size, max_draws, cutoff, seed)
            info = {"wave": k, "training_runs": len(train), "draws": draws, "passed": passed,
                    "cutoff": cutoff, **diagnostics(emulators, runs, train, cutoff)}
            wave = Wave(k, emulators, from_unit(points, box), info)
            wave.save(out)
            if 0 < len(points) < wave_size:
                print(f"warning: wave {k}: {len(points)} of --wave-size {wave_size} vectors "
                      f"within --max-draws {max_draws:,} prior draws (the region left is "
                      f"about {passed / draws:.2g} of the prior box); raise --max-draws for "
                      "full waves", file=sys.stderr, flush=True)
        if not wave.vectors:
            raise StudyFailed(f"wave {k}: none of {wave.info['draws']:,} prior draws is left "
                              "by the emulators (raise --max-draws, or the facts may be "
                              "inconsistent with the model on this prior box)")
        _simulate(simulator, wave.vectors, jobs, f"wave {k}: runs")
        done.append(wave)


def report(waves: Sequence[Wave], runs: Runs, legacy: int, cfg: SimConfig, box,
           made: Mapping[str, str], target: int) -> tuple[str, pd.DataFrame]:
    """The Markdown report and the kept set (see the module docstring; ``made``: the
    study's :func:`sim.studies.posterior.provenance`)."""
    frame = kept_frame(waves, runs)
    kept = frame[frame["distance"] <= 1].reset_index(drop=True) if len(frame) else frame
    lines = ["# Parameter vectors consistent with the facts (history matching)", "",
             f"Command: `{made['command']}`  ",
             f"Date: {made['date']}, commit {made['commit']}  ",
             f"Code versions of its runs (model_code.txt): {made.get('codes', '-')}  ",
             f"Population: {cfg.strategy.name}, {cfg.n_workers} workers x {cfg.weeks} weeks "
             f"(+{cfg.burn_in} burn-in), one run per vector.  ",
             f"Training runs read: {len(runs.values)} ({sum(runs.own)} of this study, "
             f"{len(runs.own) - sum(runs.own)} from --runs-from"
             + (f"; {legacy} stored without a configuration digest, taken as this "
                "configuration's" if legacy else "") + ").", "",
             "| wave | training runs | prior draws | not ruled out (share of the prior box) | "
             "runs | every fact in range | smallest distance | leave-one-out coverage "
             "(lowest fact) | consistent training runs ruled out | coverage of the next "
             "wave's runs (lowest fact) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for w, after in zip(waves, [*waves[1:], None], strict=True):
        i = w.info
        rows = frame[frame["wave"] == w.index] if len(frame) else frame
        ok = int((rows["distance"] <= 1).sum()) if len(rows) else 0
        share = i["passed"] / i["draws"] if i["draws"] else math.nan
        best = f"{rows['distance'].min():.2f}" if len(rows) else "-"
        loo = (f"{i['loo_coverage']:.1%} ({i['loo_coverage_fact']}) | "
               f"{i['consistent_ruled_out']} of {i['consistent_in_training']}"
               if w.emulators else "- (a design from the region left: too few runs to "
               "emulate) | -")
        nxt = frame[frame["wave"] == after.index] if after is not None and len(frame) else []
        if w.emulators and len(nxt):
            cover, fid = coverage(w.emulators, nxt, box, w.info["cutoff"])
            out_of_sample = f"{cover:.1%} ({fid}, {len(nxt)} runs)"
        else:
            out_of_sample = "-"
        lines.append(f"| {w.index} | {i['training_runs']} | {i['draws']:,} | {share:.3g} | "
                     f"{len(rows)} | {ok} | {best} | {loo} | {out_of_sample} |")
    n = len(kept)
    lines += ["", (f"**Kept set: {n} vectors**, each a run with every fitted fact inside its "
                   "target range, drawn uniformly from the region the emulators do not rule "
                   "out: the prior restricted to the facts, with equal weights."
                   if n >= target else
                   f"**Not yet:** {n} wave runs have every fitted fact in range (target "
                   f"{target}). Run the same command again, with more --waves, to continue."), ""]
    if len(frame) and "gap_rmst52" in frame:
        g = frame["gap_rmst52"].to_numpy(float)
        g = g[np.isfinite(g)]
        lines += [f"Over all {len(frame)} wave runs (the region not ruled out, whether or not "
                  f"their run met every fact), lions are faster (RMST(52)) in "
                  f"{int(np.sum(g < 0))} ({percent(np.mean(g < 0))}); median gap "
                  f"{np.median(g):.2f} weeks "
                  f"[5 %: {np.quantile(g, 0.05):.2f}, 95 %: {np.quantile(g, 0.95):.2f}].", ""]
    if n:
        kept = kept.assign(weight=1.0 / n)
        lines += summary_tables(kept, box, "the kept set", "each kept vector is one run")
    return "\n".join(lines) + "\n", kept


class StudyLock:
    """An exclusive lock on a study folder (``.lock``), released when the process ends."""

    def __init__(self, out: Path):
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / ".lock"

    def __enter__(self):
        self.file = open(self.path, "a")  # noqa: SIM115 (held for the study's life)
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise ConfigError(f"--out={self.path.parent}: another process is working on this "
                              "study (wait for it, or stop it first)") from None
        return self

    def __exit__(self, *exc):
        self.file.close()


def _study_dir(args, cfg: SimConfig, box) -> Path:
    return study_dir("history_match", {"config": to_dict(cfg), "seed": args.seed,
                                       "every": args.every, "cutoff": args.cutoff,
                                       "wave_size": args.wave_size, "max_train": args.max_train,
                                       "runs_from": sorted(str(Path(r).resolve())
                                                           for r in args.runs_from),
                                       "free": [p.__dict__ for p in FREE], "box": box})


def write_outputs(waves, runs, legacy, cfg, box, argv, out: Path, target: int) -> str:
    text, kept = report(waves, runs, legacy, cfg, box, provenance("history-match", argv, out), target)
    write_text_atomic(out / "kept.csv", kept.to_csv(index=False))
    write_text_atomic(out / "wave_runs.csv", kept_frame(waves, runs).to_csv(index=False))
    write_text_atomic(out / "report.md", text)
    if len(kept):
        set_figure(kept, box, out, "history_match",
                   f"History matching, {len(waves)} waves: the {len(kept)} simulated vectors "
                   "with every fitted fact inside its range (equal weights). Top left: lions - "
                   "everyone (the private return) within the mixed market, one run per vector "
                   "(parameter uncertainty and one run's seed noise together). Others: each "
                   "free parameter's marginal over its prior range.")
    return text


def main(argv: Sequence[str]) -> None:
    def extra(p):
        p.add_argument("--waves", type=int, default=6,
                       help="waves in all, counting those already run (default: %(default)s)")
        p.add_argument("--wave-size", type=int, default=150,
                       help="vectors simulated per wave (default: %(default)s)")
        p.add_argument("--target", type=int, default=100,
                       help="stop when this many wave runs have every fitted fact in range "
                       "(default: %(default)s)")
        p.add_argument("--cutoff", type=float, default=3.0,
                       help="implausibility above which a vector is ruled out, in predictive "
                       "standard deviations (default: %(default)s)")
        p.add_argument("--max-draws", type=int, default=2_000_000,
                       help="prior draws tried per wave to find its vectors; a wave that "
                       "finds fewer than --wave-size says so (default: 2,000,000)")
        p.add_argument("--max-train", type=int, default=1000,
                       help="runs an emulator is fitted to at most (default: %(default)s)")
        p.add_argument("--runs-from", action="append", default=[], metavar="DIR",
                       help="a study folder whose runs/ (same configuration and code) also "
                       "train the emulators, e.g. a posterior study's (repeatable)")
        study_options(p, "history_match", "the waves so far")

    args = parse_args(argv, "python -m sim history-match", __doc__.splitlines()[0], extra)
    for key in ("waves", "wave_size", "target", "max_draws", "max_train"):
        if getattr(args, key) < 1:
            raise ConfigError(f"--{key.replace('_', '-')}={getattr(args, key)}: must be >= 1")
    if not args.cutoff > 0:
        raise ConfigError(f"--cutoff={args.cutoff}: must be > 0")
    for r in args.runs_from:
        if not (Path(r) / "runs").is_dir():
            raise ConfigError(f"--runs-from={r}: no runs/ folder there (a study's output folder?)")
    box = prior_box(Path(args.prior_box) if args.prior_box else None)
    cfg = config_from_args(args)
    out = Path(args.out) if args.out else _study_dir(args, cfg, box)
    runs_from = [Path(r) for r in args.runs_from]
    if args.status:
        if not (out / "waves").is_dir():
            raise ConfigError(f"--out={out}: no study there (no waves/)")
        codes = (out / "model_code.txt").read_text().split()
        runs, legacy = load_runs(runs_from, out, codes, config_digest(cfg))
        done = Wave.load_all(out)
        made = provenance("history-match", argv, out)
        print(report(done, runs, legacy, cfg, box, made, args.target)[0])
        return
    with StudyLock(out):
        done, runs, legacy = run_study(
            cfg, out, waves=args.waves, wave_size=args.wave_size, target=args.target,
            cutoff=args.cutoff, max_draws=args.max_draws, max_train=args.max_train,
            seed=args.seed, every=args.every, jobs=args.jobs, box=box, runs_from=runs_from,
            accept_code_change=args.accept_code_change)
        text = write_outputs(done, runs, legacy, cfg, box, argv, out, args.target)
    print(text)
    print(f"written to {out}: kept.csv, wave_runs.csv, report.md, history_match.pdf/.png, "
          "waves/, runs/")
