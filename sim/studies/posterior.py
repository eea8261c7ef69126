"""The parameters' uncertainty by likelihood-free inference (ABC-SMC with pyabc).

``python -m sim posterior`` draws parameter vectors of the free parameters of the
calibration (:data:`sim.studies.calibrate.FREE`, with the same ranges as a uniform or
log-uniform prior) that are consistent with the stylized facts, and answers the
research question for each of them (docs/VALIDATION.md, "Posterior"):

1. **Simulator.** A candidate vector (with :data:`sim.studies.calibrate.DERIVED` set from
   it) is run once on the studied configuration (default population: the mixed market,
   lions and everyone in the same market) with a seed derived from the vector, and
   measured by :func:`sim.studies.validate.measure`. The run also gives lions - everyone
   within that market (``gap_rmst52``, ``gap_s4``: the private return of choosing lions
   in a mixed market, paired within the run).
2. **Distance.** Each fitted fact's deviation in units of its own tolerance
   (:func:`fact_terms`: ``|m - mid| / half`` for a target range, so at most 1 inside
   it; for the correlation along ties, its shortfall below the calibration's 0.002 in
   units of 0.002, so at most 1 when it is >= 0, the fact's bound), and the distance is
   the *largest* of them. A particle accepted at a tolerance epsilon <= 1 therefore has
   every fitted fact inside its target range: the posterior's vectors are all consistent
   with the facts, run by run, as validate reads them.
3. **ABC-SMC** (Toni et al. 2009; Klinger, Rickert & Hasenauer 2018, pyabc): populations
   of ``--population`` accepted particles, each generation's epsilon the median of the
   previous one's distances, until epsilon reaches ``--epsilon`` (default 1) or
   ``--generations`` or ``--max-simulations`` is reached. The history is an SQLite file in
   the output folder, so the same command continues a study where it stopped, and every
   run is kept in ``runs/`` as it finishes, so a generation cut short by a killed job is
   redone from its stored runs (it proposes the same vectors again; see
   :mod:`sim.studies.abc_sampler`).

Why pyabc: the simulator is a black box with a handful of parameters whose facts are
ranges rather than a likelihood; pyabc's ABC-SMC keeps the whole population of
accepted vectors with importance weights (what the lions - everyone distribution
needs), is resumable from its SQLite history and runs on local cores (a multicore
sampler) or inside one Slurm allocation. sbi's neural estimators need many more
simulations to train than this model affords per hour; black-it returns point
estimates rather than a posterior.

Reproducibility: a study is reproducible from ``--seed`` with any ``--jobs`` and across
interruptions: each simulation's seed is a hash of its parameter vector, and evaluation
``i`` of a generation draws its vector from generators seeded by (``--seed``,
generation, ``i``), keeping the first accepted evaluations by index, not by finishing
time (:class:`sim.studies.abc_sampler.SeededSampler`).

Outputs in the output folder: ``abc.db`` (the pyabc history), ``runs/`` (one small JSON
file per simulated vector: the vector, the digests of the code and the configuration, and its measures),
``posterior.pdf``/``.png`` (:func:`figure`), ``model_code.txt`` (:func:`study_code` when
the study began, and any version accepted since with ``--accept-code-change``:
continuing it with other model or measurement code is refused otherwise),
``posterior.csv`` (the
last generation: parameters, weight, every measured fact and the gaps), ``report.md``
(epsilon per generation, the parameters' weighted quantiles, the distribution of
lions - everyone, the share where lions are faster and which parameters decide the sign).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.burn_in import code_digest
from sim.core.config import SimConfig, to_dict, with_values
from sim.errors import ConfigError, StudyFailed
from sim.results.files import write_text_atomic
from sim.studies import calibrate, validate
from sim.studies.calibrate import FREE, ONE_SIDED, RANGE_FACTS, deviations, with_derived
from sim.studies.common import config_from_args, parse_args, study_dir
from sim.studies.validate import FACT_BY_ID, measure
from sim.workflow.run import git_commit

# the space the parameters are sampled in and the distance's definition (part of a study's
# identity: a study sampled in another space, or accepted by another distance, cannot be
# continued with this code)
SAMPLED = "log10 of the log-scaled parameters"
DISTANCE = "largest fact term; a one-sided fact's term is 1 at the fact's own bound"
GAPS = ("gap_rmst52", "gap_s4")  # lions - everyone, within the run (validate.strategy_gap)
FASTER = {"gap_rmst52": np.less, "gap_s4": np.greater}  # the side of 0 where lions are faster
SHOWN = {"gap_rmst52": ("RMST(52) gap, weeks", 1.0),  # label and factor of a gap as shown
         "gap_s4": ("4-week gap, points", 100.0)}  # a share, shown in percentage points
KEPT = tuple(FACT_BY_ID[f].key for f in (*RANGE_FACTS, *(f for f, _, _ in ONE_SIDED))) + GAPS


def fact_terms(moments: Mapping[str, float]) -> dict[str, float]:
    """Each fitted fact's deviation in units of its tolerance
    (:func:`sim.studies.calibrate.deviations`), as a size, at most 1 exactly when the fact
    holds: ``|m - mid| / half`` for a target range (<= 1 inside it); for a one-sided fact
    its shortfall below the calibration's bound in units of its scale, which reaches 1 at
    the fact's own bound (:data:`ONE_SIDED`: the correlation along ties, 0 at and above
    0.002 and 1 at 0, its "> 0"); infinite when the measure is missing (NaN)."""
    return {fid: abs(d) if np.isfinite(d) else math.inf
            for fid, d in deviations(moments).items()}


def distance(x: Mapping[str, float], x0: Mapping[str, float] | None = None) -> float:
    """The ABC distance: the largest of :func:`fact_terms` (``x0`` is unused: the
    targets are the facts' ranges)."""
    return float(max(fact_terms(x).values()))


def study_code() -> str:
    """SHA-256 of the code a study depends on: the model (:func:`code_digest`, every
    ``.py`` under ``sim/core``), the facts, their measures and the free parameters
    (``sim/studies/validate.py``, ``calibrate.py``), and the space the parameters are
    sampled in (:data:`SAMPLED`) and the distance (:data:`DISTANCE`)."""
    h = hashlib.sha256((code_digest() + SAMPLED + DISTANCE).encode())
    for module in (validate, calibrate):
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()


def config_digest(cfg: SimConfig) -> str:
    """SHA-256 of the studied configuration (stored with every run, so that the runs of
    one configuration are never read as those of another)."""
    return hashlib.sha256(json.dumps(to_dict(cfg), sort_keys=True, default=str).encode()).hexdigest()


def run_seed(values: Mapping[str, float], base_seed: int) -> int:
    """The seed of the simulation of a parameter vector: a hash of the vector and
    ``base_seed`` (the same vector gives the same run on any machine)."""
    key = json.dumps({"base": base_seed, **{k: float(v) for k, v in sorted(values.items())}})
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


class Simulator:
    """The ABC model: a parameter vector -> the measured facts and gaps of one run
    (picklable, for pyabc's multicore samplers)."""

    def __init__(self, cfg: SimConfig, base_seed: int, every: int, cache: Path | None = None,
                 same_code: Sequence[str] = ()):
        self.cfg, self.base_seed, self.every, self.cache = cfg, base_seed, every, cache
        # the code of this process, and the versions whose stored runs count as its own
        self.code = study_code()
        self.same_code = {self.code, *same_code}
        self.config = config_digest(cfg)

    def __call__(self, params: Mapping[str, float]) -> dict[str, float]:
        values = {p.key: _natural(p, params[_name(p)]) for p in FREE}
        seed = run_seed(values, self.base_seed)
        path = self.cache / f"{seed:08x}.json" if self.cache is not None else None
        if path is not None and path.exists():  # this vector was run (a generation redone)
            stored = json.loads(path.read_text())
            if (stored["values"] == values and stored.get("code") in self.same_code
                    and stored.get("config", self.config) == self.config):
                return {k: float(v) for k, v in stored["result"].items()}
        m = measure(replace(with_values(self.cfg, with_derived(values)), seed=seed), self.every)
        result = {k: float(m.get(k, math.nan)) for k in (*KEPT, "seed")}
        if path is not None:
            write_text_atomic(path, json.dumps({"values": values, "code": self.code,
                                                "config": self.config, "result": result}))
        return result


def _natural(p, x: float) -> float:
    """A parameter's value from its sampled coordinate (``10 ** x`` for a log-scaled one)."""
    return float(10.0 ** float(x)) if p.log else float(x)


def _name(p) -> str:
    """A free parameter's name in pyabc's history: its key without dots, and for a
    log-scaled one ``log10__`` first, because it is sampled as the log10 of its value
    (``log10__market__separation_rate``)."""
    return ("log10__" if p.log else "") + p.key.replace(".", "__")


def prior_box(path: Path | None) -> dict[str, tuple[float, float]]:
    """The prior's support per free parameter: the calibration's search range, or, from a
    YAML file ``{key: [low, high]}`` (``--prior-box``), a narrower box inside it (every free
    parameter must be listed; the file's provenance belongs in its comments)."""
    box = {p.key: (p.low, p.high) for p in FREE}
    if path is None:
        return box
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"--prior-box={path}: cannot read it ({e})") from None
    if not isinstance(data, dict) or set(data) != set(box):
        missing = sorted(set(box) - set(data or {}))
        extra = sorted(set(data or {}) - set(box))
        raise ConfigError(f"--prior-box={path}: must give [low, high] for exactly the free "
                          f"parameters (missing {missing}, unknown {extra})")
    for key, (lo, hi) in box.items():
        v = data[key]
        if (not isinstance(v, list) or len(v) != 2
                or not all(isinstance(x, (int, float)) for x in v) or not lo <= v[0] < v[1] <= hi):
            raise ConfigError(f"--prior-box={path}: {key}={v}: need [low, high] with "
                              f"{lo} <= low < high <= {hi}")
        box[key] = (float(v[0]), float(v[1]))
    return box


def prior(box: Mapping[str, tuple[float, float]] | None = None):
    """The prior: each free parameter uniform on its range (``box``, default the
    calibration's search range), independent; a log-scaled one is sampled as the log10 of
    its value, uniform on the log10 of its range (log-uniform). Sampling the log keeps
    the prior density flat in the space where the proposal kernels work: with the value
    itself sampled, the prior density 1/x of seven log-uniform parameters varied by a
    factor of about 1,500 across one generation's particles and made a few of them carry
    most of the weight (effective sample size 3 of 100 after three generations)."""
    import pyabc

    box = box or prior_box(None)
    rvs = {}
    for p in FREE:
        lo, hi = box[p.key]
        if p.log:
            lo, hi = math.log10(lo), math.log10(hi)
        rvs[_name(p)] = pyabc.RV("uniform", lo, hi - lo)
    return pyabc.Distribution(**rvs)


def posterior_frame(history) -> pd.DataFrame:
    """The last generation: one row per particle, its parameters, weight, distance and
    measures (read particle by particle, so that each row's measures are its own)."""
    pop = history.get_population(t=history.max_t)
    rows = []
    for particle in pop.particles:
        row = {p.key: _natural(p, particle.parameter[_name(p)]) for p in FREE}
        row["weight"] = float(particle.weight)
        row.update({k: float(v) for k, v in particle.sum_stat.items()})
        row["distance"] = distance(particle.sum_stat)
        rows.append(row)
    out = pd.DataFrame(rows)
    out["weight"] /= out["weight"].sum()
    if "seed" in out:
        out["seed"] = out["seed"].astype(np.int64)
    return out


def weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Quantiles of ``x`` under the weights ``w``: the smallest value whose cumulative
    weight reaches ``q`` (the inverse of the weighted empirical CDF; NaNs dropped)."""
    ok = np.isfinite(x)
    x, w = x[ok], w[ok]
    if len(x) == 0:
        return [math.nan] * len(qs)
    order = np.argsort(x, kind="stable")
    x, cdf = x[order], np.cumsum(w[order]) / w.sum()
    return [float(x[min(np.searchsorted(cdf, q - 1e-12), len(x) - 1)]) for q in qs]


def sign_drivers(post: pd.DataFrame, gap: str = "gap_rmst52") -> pd.DataFrame:
    """Which parameters decide the sign of lions - everyone: per parameter, the weighted
    rank correlation with the gap, and its mean where lions are faster (gap < 0 for
    RMST) against where they are not."""
    w = post["weight"].to_numpy()
    g = post[gap].to_numpy(float)
    rg = pd.Series(g).rank().to_numpy()
    faster = FASTER[gap](g, 0)
    rows = []
    for p in FREE:
        x = post[p.key].to_numpy(float)
        rx = pd.Series(x).rank().to_numpy()
        mx, my = np.average(rx, weights=w), np.average(rg, weights=w)
        cov = np.average((rx - mx) * (rg - my), weights=w)
        sd = math.sqrt(np.average((rx - mx) ** 2, weights=w) * np.average((rg - my) ** 2, weights=w))
        rows.append({"parameter": p.key, "rank_corr_with_gap": cov / sd if sd > 0 else math.nan,
                     "mean_if_lions_faster": (np.average(x[faster], weights=w[faster])
                                              if faster.any() else math.nan),
                     "mean_otherwise": (np.average(x[~faster], weights=w[~faster])
                                        if (~faster).any() else math.nan)})
    out = pd.DataFrame(rows)
    return out.reindex(out["rank_corr_with_gap"].abs().sort_values(ascending=False).index)


def _faster_share(x: np.ndarray, w: np.ndarray, gap: str) -> float:
    """The weighted share of the finite values of ``x`` (a ``gap``) where lions are faster."""
    ok = np.isfinite(x)
    return float(np.sum(w[ok] * FASTER[gap](x[ok], 0)) / np.sum(w[ok])) if ok.any() else math.nan


def percent(share: float) -> str:
    """``share`` as a percentage that reads 0 % or 100 % only when it is exactly that
    (1,299 of 1,300 is "99.9%", not "100%"); "-" for NaN."""
    if not np.isfinite(share):
        return "-"
    for digits in range(4):
        text = f"{share:.{digits}%}"
        if share in (0.0, 1.0) or text not in (f"{0:.{digits}%}", f"{1:.{digits}%}"):
            break
    return text


def effective_sample_size(w: np.ndarray) -> float:
    """Kish's effective sample size of importance weights, ``(sum w)^2 / sum w^2``: the
    number of equally weighted particles that would carry as much information (NaN for
    no weights)."""
    w = np.asarray(w, float)
    return float(w.sum() ** 2 / (w ** 2).sum()) if len(w) and (w ** 2).sum() > 0 else math.nan


#: below this share of the population, the report warns that its weights degenerated
DEGENERATE = 0.2


def _g(x: float) -> str:
    """A table cell: 4 significant digits, or "-" for no value (no particle on that side)."""
    return "-" if not np.isfinite(x) else f"{x:.4g}"


def _degenerate(ess: float, n: int) -> list[str]:
    """The report's warning when the last generation's weights degenerated (its effective
    sample size below :data:`DEGENERATE` of its particles), else nothing."""
    if not ess < DEGENERATE * n:
        return []
    return ["", f"**Degenerate weights:** the last generation's effective sample size is "
            f"{ess:.0f} of its {n} particles, so the weighted quantiles and shares below rest "
            "on a few particles and are not yet an estimate of the posterior."]


def summary_tables(post: pd.DataFrame, box: Mapping[str, tuple[float, float]], which: str,
                   unit: str) -> list[str]:
    """Markdown tables of a set of parameter vectors with weights (``post``: one row per
    vector, its parameters, ``weight`` and measures): each parameter's weighted quantiles
    on its prior range, the distribution of lions - everyone (:data:`GAPS`) with the share
    where lions are faster, and which parameters decide the gap's sign. ``which`` names
    the set in the headings, ``unit`` what one vector's measures are (for the noise note).
    Shared by the posterior and history matching (:mod:`sim.studies.history_match`)."""
    lines = [f"## Parameters (weighted quantiles of {which})", "",
             "| parameter | prior | 5 % | median | 95 % |", "|---|---|---|---|---|"]
    w = post["weight"].to_numpy()
    for p in FREE:
        q = weighted_quantiles(post[p.key].to_numpy(float), w, (0.05, 0.5, 0.95))
        lo, hi = box[p.key]
        lines.append(f"| `{p.key}` | [{lo:.4g}, {hi:.4g}]{' log' if p.log else ''} | "
                     f"{q[0]:.4g} | {q[1]:.4g} | {q[2]:.4g} |")
    if all(g in post for g in GAPS):
        lines += ["", "## Lions - everyone (private return in the mixed market, within each run)",
                  "", "| outcome | mean | 5 % | median | 95 % | share where lions are faster |",
                  "|---|---|---|---|---|---|"]
        for g, label in (("gap_rmst52", "RMST(52), weeks (< 0: lions faster)"),
                         ("gap_s4", "re-employed within 4 weeks, points (> 0: lions faster)")):
            x = post[g].to_numpy(float) * SHOWN[g][1]
            ok = np.isfinite(x)
            q = weighted_quantiles(x, w, (0.05, 0.5, 0.95))
            share = _faster_share(x, w, g)
            mean = float(np.average(x[ok], weights=w[ok])) if ok.any() else math.nan
            lines.append(f"| {label} | {mean:.3f} | {q[0]:.3f} | {q[1]:.3f} | {q[2]:.3f} | "
                         f"{percent(share)} |")
        lines += ["", "The spread mixes the parameters' uncertainty with one run's seed noise "
                  f"({unit}).", "", "## What moves the gap and decides its sign (RMST)", "",
                  "| parameter | weighted rank correlation with the gap | mean where lions are "
                  "faster | mean otherwise |", "|---|---|---|---|"]
        for _, r in sign_drivers(post).iterrows():
            lines.append(f"| `{r['parameter']}` | {r['rank_corr_with_gap']:.2f} | "
                         f"{_g(r['mean_if_lions_faster'])} | {_g(r['mean_otherwise'])} |")
    return lines


def report(history, post: pd.DataFrame, cfg: SimConfig, provenance: Mapping[str, str],
           target_eps: float, box: Mapping[str, tuple[float, float]] | None = None) -> str:
    """A Markdown report of the study (see the module docstring)."""
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    eps = float(pops["epsilon"].iloc[-1]) if len(pops) else math.inf
    lines = ["# Posterior of the free parameters (ABC-SMC)", "",
             f"Command: `{provenance['command']}`  ",
             f"Date: {provenance['date']}, commit {provenance['commit']}  ",
             f"Code versions of its runs (model_code.txt): {provenance.get('codes', '-')}  ",
             f"Population: {cfg.strategy.name}, {cfg.n_workers} workers x {cfg.weeks} weeks "
             f"(+{cfg.burn_in} burn-in), one run per particle.", "",
             "| generation | epsilon | particles | simulations | acceptance | effective sample size |",
             "|---|---|---|---|---|---|"]
    for _, r in pops.iterrows():
        _, wt = history.get_distribution(m=0, t=int(r["t"]))
        ess = effective_sample_size(wt)
        lines.append(f"| {int(r['t'])} | {r['epsilon']:.3g} | {int(r['particles'])} | "
                     f"{int(r['samples'])} | {r['particles'] / max(r['samples'], 1):.0%} | "
                     f"{ess:.0f} |")
    consistent = eps <= target_eps
    n_ok = int((post["distance"] <= 1.0).sum()) if "distance" in post else 0
    lines += ["", (f"The last generation's epsilon is {eps:.3g}: every one of its {len(post)} "
                   "vectors has every fitted fact inside its target range." if consistent and eps <= 1
                   else f"**Not yet consistent:** the last generation's epsilon is {eps:.3g} "
                   f"(target {target_eps}); {n_ok} of its {len(post)} vectors have every fitted "
                   "fact inside its range. Run the same command again to continue."),
              *_degenerate(effective_sample_size(post["weight"].to_numpy()), len(post)),
              "", *summary_tables(post, box or prior_box(None), "the last generation",
                                  "each particle is one run")]
    return "\n".join(lines) + "\n"


def study_codes(out: Path, accept_change: bool = False, began: str = "abc.db") -> list[str]:
    """The code versions of the study in ``out`` (``model_code.txt``: the one it began
    with, then any accepted since), this process's added when the study is new or
    ``accept_change`` says its results are those of the others (a study has begun when
    its folder holds ``began``).

    Raises:
        ConfigError: the study exists and this code is not among its versions.
    """
    stamp, code = out / "model_code.txt", study_code()
    codes = stamp.read_text().split() if stamp.exists() else []
    if code in codes:
        return codes
    if codes and (out / began).exists() and not accept_change:
        raise ConfigError(f"--out={out}: the model's or the facts' code (sim/core, "
                          "sim/studies/validate.py, calibrate.py) changed since this study "
                          "began; its generations would mix two models. Start a new study "
                          "(another --out), run the code it began with, or, after a change "
                          "that leaves results bit-identical (the regression baseline "
                          "unchanged), pass --accept-code-change")
    codes.append(code)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(stamp, "".join(c + "\n" for c in codes))
    return codes


def figure(post: pd.DataFrame, history, box: Mapping[str, tuple[float, float]],
           out: Path) -> list[Path]:
    """The last generation as a paper figure (``posterior.pdf`` and ``.png`` in ``out``,
    see :func:`set_figure`)."""
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    eps, t = float(pops["epsilon"].iloc[-1]), int(pops["t"].iloc[-1])
    state = ("every particle has every fitted fact inside its range" if eps <= 1 else
             f"not yet consistent with the facts (epsilon {eps:.3g} > 1)")
    return set_figure(post, box, out, "posterior",
                      f"Posterior by ABC-SMC, generation {t}, {len(post)} weighted particles: "
                      f"{state}. Top left: lions - everyone (the private return) within the mixed "
                      "market, one run per particle (parameter uncertainty and one run's seed "
                      "noise together). Others: each free parameter's weighted marginal over its "
                      "prior range.")


def set_figure(post: pd.DataFrame, box: Mapping[str, tuple[float, float]], out: Path,
               name: str, caption: str) -> list[Path]:
    """A set of weighted parameter vectors as a paper figure (``<name>.pdf`` and ``.png``
    in ``out``, headed by ``caption``): the weighted distribution of lions - everyone
    (RMST(52) and S4, with 0 marked and the share where lions are faster) and each
    parameter's weighted marginal on its prior range."""
    # matplotlib (through analysis.style) only for the figure
    from matplotlib.ticker import NullFormatter

    from analysis.style import figure as styled_figure
    from analysis.style import header, save, style

    w = post["weight"].to_numpy()
    with style():
        fig, axes = styled_figure("two", n_panels=len(GAPS) + len(FREE), ncols=4,
                                  sharey=False)
        for ax, col in zip(axes, GAPS, strict=False):
            label, factor = SHOWN[col]
            x = post[col].to_numpy(float) * factor
            ok = np.isfinite(x)
            ax.hist(x[ok], bins=20, weights=w[ok], color="0.45")
            ax.axvline(0, color="C3", lw=1.0, ls="--")
            share = _faster_share(x, w, col)
            ax.set_title(f"{label}\nlions faster: {percent(share)}", fontsize="small")
            ax.set_ylabel("weight", fontsize="small")
        for ax, p in zip(axes[len(GAPS):], FREE, strict=True):
            lo, hi = box[p.key]
            bins = np.geomspace(lo, hi, 16) if p.log else np.linspace(lo, hi, 16)
            ax.hist(post[p.key].to_numpy(float), bins=bins, weights=w, color="C1")
            if p.log:
                ax.set_xscale("log")
                ticks = [lo, math.sqrt(lo * hi), hi]  # the range's ends and middle
                ax.set_xticks(ticks, [f"{v:.2g}" for v in ticks])
                ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlim(lo, hi)
            ax.set_title(p.key, fontsize="small")
            ax.set_yticks([])
        header(fig, "two", caption)
        fig.set_layout_engine("constrained")
        return save(fig, out, name)


def run_study(cfg: SimConfig, out: Path, population: int, generations: int, max_sims: int,
              epsilon: float, jobs: int, seed: int, every: int,
              box: Mapping[str, tuple[float, float]] | None = None,
              accept_code_change: bool = False):
    """Run (or continue) the ABC-SMC study in ``out``; returns the pyabc history."""
    import pyabc  # here: about 2 s to import, and --help or a bad option does not need it

    from sim.studies.abc_sampler import SeededSampler

    db = out / "abc.db"
    codes = study_codes(out, accept_code_change)
    (out / "runs").mkdir(exist_ok=True)
    abc = pyabc.ABCSMC(Simulator(cfg, seed, every, out / "runs", codes), prior(box), distance,
                       population_size=population, sampler=SeededSampler(jobs, seed),
                       eps=pyabc.epsilon.QuantileEpsilon(alpha=0.5))
    storage = f"sqlite:///{db}"
    runs = pyabc.History(storage).all_runs() if db.exists() else []
    if runs:  # continue the stored study
        abc.load(storage, runs[-1].id)
    else:
        abc.new(storage, {})
    history = abc.history
    done = int(history.max_t) + 1 if history.max_t is not None and history.max_t >= 0 else 0
    eps_now = (float(history.get_all_populations()["epsilon"].iloc[-1]) if done else math.inf)
    if done < generations and eps_now > epsilon:
        history = abc.run(minimum_epsilon=epsilon, max_nr_populations=generations - done,
                          max_total_nr_simulations=max_sims)
    return history


def _study_dir(args, cfg: SimConfig, box: Mapping[str, tuple[float, float]]) -> Path:
    return study_dir("posterior", {"config": to_dict(cfg), "population": args.population,
                                   "sampled": SAMPLED, "distance": DISTANCE,
                                   "seed": args.seed, "every": args.every,
                                   "free": [p.__dict__ for p in FREE], "box": box})


def provenance(command: str, argv: Sequence[str], out: Path) -> dict[str, str]:
    """What a study's report says of how it was made: the command, today's date, the
    commit (marked dirty if the tree was) and the code versions of its runs."""
    git = git_commit() or {}
    stamp = out / "model_code.txt"
    return {"command": f"python -m sim {command} " + " ".join(argv),
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            "commit": git.get("commit", "unknown")[:10] + (" (dirty)" if git.get("dirty") else ""),
            "codes": ", ".join(c[:12] for c in stamp.read_text().split()) if stamp.exists() else "-"}


def status(out: Path, cfg: SimConfig, epsilon: float,
           box: Mapping[str, tuple[float, float]], argv: Sequence[str]) -> str:
    """The report of the generations of the study in ``out`` completed so far, and how many
    runs are stored beyond them (the generation in progress), read without writing.

    Raises:
        ConfigError: there is no study in ``out``.
    """
    import pyabc  # as in run_study

    db = out / "abc.db"
    if not db.exists():
        raise ConfigError(f"--out={out}: no study there (no abc.db)")
    storage = f"sqlite:///{db}"
    history = pyabc.History(storage, _id=pyabc.History(storage, create=False).all_runs()[-1].id,
                            create=False)
    runs = len(list((out / "runs").glob("*.json")))
    pops = history.get_all_populations()
    used = int(pops["samples"].sum())  # the runs of the completed generations (and prior sample)
    tail = (f"Runs stored in {out / 'runs'}: {runs}; the completed generations used {used} "
            f"simulations (a vector proposed twice is simulated once), so about "
            f"{max(runs - used, 0)} belong to the generation in progress.")
    if history.max_t is None or history.max_t < 0:
        return f"No generation completed yet in {out}. {tail}"
    post = posterior_frame(history)
    return report(history, post, cfg, provenance("posterior", argv, out), epsilon, box) + "\n" + tail


def study_options(p, kind: str, progress: str) -> None:
    """The options every study of the parameters' uncertainty takes (the posterior's and
    history matching's): its seed, prior box, folder, code-change acceptance and
    ``--status`` (which prints the report of ``progress``); one run per vector."""
    p.add_argument("--seed", type=int, default=0, help="seed of the study (default: 0)")
    p.add_argument("--prior-box", help="YAML file {key: [low, high]} narrowing the prior's "
                   "support inside the calibration's ranges (default: those ranges)")
    p.add_argument("--out", help=f"output folder (default: outputs/{kind}/<hash of the config "
                   "and options>); the same command continues the study in it")
    p.add_argument("--accept-code-change", action="store_true",
                   help="continue a study with code other than the one it began with, "
                   "after a change that leaves results bit-identical (the regression "
                   "baseline unchanged); the study's model_code.txt lists every version")
    p.add_argument("--status", action="store_true",
                   help=f"print the report of {progress}, without running or writing anything")
    p.set_defaults(seeds=1)


def main(argv: Sequence[str]) -> None:
    def extra(p):
        p.add_argument("--population", type=int, default=100,
                       help="accepted particles per generation (default: %(default)s)")
        p.add_argument("--generations", type=int, default=10,
                       help="generations in all, counting those already run (default: %(default)s)")
        p.add_argument("--max-simulations", type=int, default=20000,
                       help="stop after this many simulations in this call (default: %(default)s)")
        p.add_argument("--epsilon", type=float, default=1.0,
                       help="stop when the tolerance reaches this (default: 1, every fitted fact "
                       "inside its range)")
        study_options(p, "posterior", "the generations completed so far and the runs of "
                      "the one in progress")

    args = parse_args(argv, "python -m sim posterior", __doc__.splitlines()[0], extra)
    for key in ("population", "generations", "max_simulations"):
        if getattr(args, key) < 1:
            raise ConfigError(f"--{key.replace('_', '-')}={getattr(args, key)}: must be >= 1")
    if not args.epsilon > 0:
        raise ConfigError(f"--epsilon={args.epsilon}: must be > 0")
    box = prior_box(Path(args.prior_box) if args.prior_box else None)
    cfg = config_from_args(args)
    out = Path(args.out) if args.out else _study_dir(args, cfg, box)
    if args.status:
        print(status(out, cfg, args.epsilon, box, argv))
        return
    history = run_study(cfg, out, args.population, args.generations, args.max_simulations,
                        args.epsilon, args.jobs, args.seed, args.every, box,
                        args.accept_code_change)
    if history.max_t is None or history.max_t < 0:
        raise StudyFailed(f"no generation was completed ({out / 'abc.db'})")
    post = posterior_frame(history)
    text = report(history, post, cfg, provenance("posterior", argv, out), args.epsilon, box)
    write_text_atomic(out / "posterior.csv", post.to_csv(index=False))
    write_text_atomic(out / "report.md", text)
    figure(post, history, box, out)
    print(text)
    print(f"written to {out}: posterior.csv, report.md, posterior.pdf/.png, abc.db, runs/")
