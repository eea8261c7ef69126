"""Calibration of the free parameters by the simulated method of moments.

``python -m sim calibrate`` fits the parameters in :data:`FREE` so that the
default population reproduces the stylized facts of docs/RESEARCH.md section 5
(:mod:`sim.studies.validate` measures them). The procedure (docs/VALIDATION.md):

1. Moments: for each candidate, the run-level measures of
   :func:`sim.studies.validate.measure` averaged over the same seeds (common random
   numbers, so that differences between candidates are not seed noise).
2. Distance: for a fact with a target range ``[lo, hi]``, the squared distance
   to the middle of the range in units of its half-width,
   ``((m - mid) / half)^2`` (under 1 inside the range); for a one-sided fact,
   a squared shortfall below its threshold in units of :data:`ONE_SIDED`'s
   scale. The objective is their sum: every target weighs the same relative to
   its own tolerance, which is what the targets' sources give (ranges, not
   standard errors).
3. Search: optuna's multivariate TPE sampler (seeded; 8 random trials before
   it models the objective), the current defaults as the first trial,
   ``--trials`` trials. The study is stored in SQLite in the output folder,
   so running the same command again resumes it.

Outputs in the output folder: ``calibrated.yaml`` (the best parameters with
their ranges and provenance, a preset usable as ``+preset=...`` when copied to
``configs/preset/``), ``trials.csv`` (every candidate with its moments) and
``report.md`` (the fit: targets, default and calibrated moments).
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.core.config import SimConfig, to_dict, with_values
from sim.errors import StudyFailed
from sim.results.files import write_text_atomic
from sim.studies.common import config_from_args, parse_args, study_dir
from sim.studies.validate import FACT_BY_ID, measure_seeds
from sim.workflow.run import git_commit


@dataclass(frozen=True)
class Free:
    """A free parameter: its dotted key, search range and why it is free."""

    key: str
    low: float
    high: float
    log: bool
    why: str


# ranges: wide enough to reach every target from the hiring funnel's side (docs/VALIDATION.md,
# "Joint calibration"), each bounded by what its quantity can plausibly be
FREE: tuple[Free, ...] = (
    Free("market.separation_rate", 0.003, 0.009, True,
         "idiosyncratic separations: the separation rate and unemployment"),
    Free("market.firm_shock_rate", 0.0002, 0.002, True,
         "mass layoffs: unemployment clustered among former colleagues"),
    Free("market.vacancy_rate", 0.03, 0.08, False, "labour demand: the vacancy rate and job finding"),
    Free("funnel.applications", 1.0, 3.0, False,
         "formal applications per searcher-week: competition per vacancy"),
    Free("funnel.screen_rate", 0.08, 0.4, True, "how often a vacancy is screened: its duration"),
    Free("funnel.employed_applications", 0.02, 1.0, True,
         "on-the-job search: job-to-job moves, which reopen positions (the vacancy stock)"),
    Free("leads.hear_prob", 0.05, 0.8, True, "leads from employed contacts: contact share"),
    Free("leads.aware_strength", 0.2, 0.5, False,
         "centre of graded awareness (how strong a tie must be to know of a search): weak-tie share"),
    Free("leads.aware_width", 0.02, 0.3, True,
         "width of graded awareness (how fast knowing of a search falls off below the centre): "
         "weak-tie share and help per tie"),
    Free("hiring.formal_noise", 1.0, 3.0, False,
         "noise of a formal signal: how much screening sorts on ability (duration dispersion)"),
    Free("hiring.referral_bonus", 0.0, 2.0, False,
         "a firm's trust in a recommendation: referral / formal offers per application"),
    Free("hiring.threshold", -2.0, 0.5, False,
         "firms' hiring bar: long-term unemployment of low-ability seekers"),
    Free("recall.permanent_rate", 0.01, 0.1, True,
         "recall of workers separated for good: returns to the last employer"),
)
# parameters set from another one rather than searched: a referral's signal is only about
# 12 % less noisy than a formal application's (Glitz & Vejlin, Danish coworker referrals)
DERIVED = {"hiring.referral_noise": ("hiring.formal_noise", 0.88)}
# facts fitted with a two-sided target range (the rest are checked by validate)
RANGE_FACTS = ("contact_share", "weak_share", "median_in_progress", "mean_over_median", "share_27",
               "job_finding", "separation", "unemployment", "vacancy", "last_employer_share",
               "apps_per_vacancy", "hires_per_application", "apps_per_searcher_week",
               "referral_offer_ratio", "vacancy_duration", "job_to_job")
# one-sided facts: (fact id, threshold the mean should clear, scale of the penalty)
ONE_SIDED = (("neighbour_corr", 0.002, 0.002),)


def with_derived(values: Mapping[str, float]) -> dict[str, float]:
    """``values`` with the :data:`DERIVED` parameters set from theirs."""
    out = dict(values)
    for key, (source, factor) in DERIVED.items():
        if source in out:
            out[key] = factor * out[source]
    return out


def deviations(moments: Mapping[str, float]) -> dict[str, float]:
    """Each fitted fact's deviation in units of its tolerance: ``(m - mid) / half`` for a
    target range (at most 1 in size inside it); for a one-sided fact its shortfall below
    the bound in units of its scale (0 when it clears it); NaN when the measure is missing."""
    out = {}
    for fid in RANGE_FACTS:
        f = FACT_BY_ID[fid]
        m = moments.get(f.key, math.nan)
        out[fid] = (m - (f.lo + f.hi) / 2) / ((f.hi - f.lo) / 2) if np.isfinite(m) else math.nan
    for fid, bound, scale in ONE_SIDED:
        m = moments.get(FACT_BY_ID[fid].key, math.nan)
        out[fid] = max(0.0, bound - m) / scale if np.isfinite(m) else math.nan
    return out


def distance(moments: Mapping[str, float]) -> tuple[float, dict[str, float]]:
    """The SMM objective and its terms (see the module docstring): each deviation squared,
    100 for a missing measure."""
    terms = {fid: d ** 2 if np.isfinite(d) else 100.0 for fid, d in deviations(moments).items()}
    return float(sum(terms.values())), terms


def _default_values(cfg: SimConfig) -> dict[str, float]:
    data = to_dict(cfg)
    out = {}
    for p in FREE:
        node = data
        for part in p.key.split("."):
            node = node[part]
        out[p.key] = float(node)
    return out


def _moments(runs: pd.DataFrame) -> dict[str, float]:
    return {k: float(runs[k].mean()) for k in runs.columns if k != "seed"}


def calibrate(cfg: SimConfig, out: Path, trials: int, seeds: Sequence[int], jobs: int, every: int,
              sampler_seed: int = 0, progress: bool = False):
    """Run (or resume) the study; returns (study, best values, trials table)."""

    import optuna  # here, not at the top: about 1 s to import, and --help and bad options do not need it

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # multivariate TPE is marked experimental; it is seeded and reproducible all the same
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    out.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{out / 'study.db'}"
    study = optuna.create_study(study_name="smm", storage=storage, load_if_exists=True,
                                direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=sampler_seed, n_startup_trials=8,
                                                                   multivariate=True))
    defaults = _default_values(cfg)
    if len(study.trials) == 0:  # the first trial: the defaults (brought into the ranges)
        study.enqueue_trial({p.key: min(max(defaults[p.key], p.low), p.high) for p in FREE})

    def objective(trial) -> float:
        values = {p.key: trial.suggest_float(p.key, p.low, p.high, log=p.log) for p in FREE}
        runs = measure_seeds(with_values(cfg, with_derived(values)), seeds, jobs=jobs, every=every)
        moments = _moments(runs)
        value, terms = distance(moments)
        trial.set_user_attr("moments", moments)
        trial.set_user_attr("terms", terms)
        return value

    done = sum(t.state.is_finished() for t in study.trials)
    todo = max(0, trials - done)
    bar = None
    if progress and todo:

        bar = tqdm(total=todo, unit="trial", desc="calibrate", dynamic_ncols=True)
    callbacks = [lambda s, t: bar.update(1)] if bar else []
    # failures other than a bad candidate are bugs: let them stop the study
    study.optimize(objective, n_trials=todo, callbacks=callbacks, catch=())
    if bar:
        bar.close()
    return study, defaults


def trials_frame(study) -> pd.DataFrame:
    rows = []
    for t in study.trials:
        if not t.state.is_finished() or t.value is None:
            continue
        rows.append({"trial": t.number, "distance": t.value, **t.params,
                     **{f"m.{k}": v for k, v in t.user_attrs.get("moments", {}).items()
                        if k in FACT_BY_ID or k == "everyone_contacts_4wk"}})
    return pd.DataFrame(rows)


def preset_yaml(best: Mapping[str, float], provenance: Mapping[str, str]) -> str:
    """The calibrated values as a Hydra preset with their provenance in comments."""
    lines = ["# @package _global_",
             "# Calibrated by the simulated method of moments: python -m sim calibrate",
             f"# {provenance['command']}",
             f"# on {provenance['date']}, commit {provenance['commit']}; objective "
             f"{provenance['distance']}; see docs/VALIDATION.md."]
    groups: dict[str, list[str]] = {}
    for p in FREE:
        group, key = p.key.split(".", 1)
        value = best[p.key]
        groups.setdefault(group, []).append(
            f"  {key}: {float(f'{value:.4g}')}  # calibrated in [{p.low}, {p.high}]: {p.why}")
    for dkey, (source, factor) in DERIVED.items():
        group, key = dkey.split(".", 1)
        value = factor * best[source]
        groups.setdefault(group, []).append(
            f"  {key}: {float(f'{value:.4g}')}  # {factor} x {source} (not searched)")
    for group, items in groups.items():
        lines += [f"{group}:", *items]
    return "\n".join(lines) + "\n"


def report(study, defaults: Mapping[str, float], cfg: SimConfig, provenance: Mapping[str, str]) -> str:
    """A Markdown report of the fit."""
    best = study.best_trial
    default = next(t for t in study.trials if t.number == 0)
    lines = ["# Calibration report", "", f"Command: `{provenance['command']}`  ",
             f"Date: {provenance['date']}, commit {provenance['commit']}  ",
             f"Population: {cfg.strategy.name}, {cfg.n_workers} workers x {cfg.weeks} weeks, "
             f"seeds {provenance['seeds']}; {len(study.trials)} trials (optuna TPE, seed 0).", "",
             "## Parameters", "", "| parameter | range | default (trial 0) | calibrated |",
             "|---|---|---|---|"]
    for p in FREE:
        lines.append(f"| `{p.key}` | [{p.low}, {p.high}]{' log' if p.log else ''} | "
                     f"{defaults[p.key]:.4g} | {best.params[p.key]:.4g} |")
    lines += ["", f"## Fit (objective: default {default.value:.2f}, calibrated {best.value:.2f})", "",
              "| fact | target | default | calibrated | term |", "|---|---|---|---|---|"]
    for fid in (*RANGE_FACTS, *(f for f, _, _ in ONE_SIDED)):
        f = FACT_BY_ID[fid]
        d, b = default.user_attrs["moments"][f.key], best.user_attrs["moments"][f.key]
        lines.append(f"| {f.name} | {f.target} | {f.fmt.format(d)} | {f.fmt.format(b)} | "
                     f"{best.user_attrs['terms'][fid]:.2f} |")
    return "\n".join(lines) + "\n"


def _shifted(p: Free, value: float, step: float, sign: int) -> float:
    """``value`` moved by ``step`` of ``p``'s search range (of its log range for a log
    parameter), kept inside the range."""
    if p.log:
        span = math.log(p.high / p.low)
        return float(min(max(value * math.exp(sign * step * span), p.low), p.high))
    return float(min(max(value + sign * step * (p.high - p.low), p.low), p.high))


def identification(cfg: SimConfig, best: Mapping[str, float], seeds: Sequence[int], jobs: int,
                   every: int, step: float = 0.1, progress: bool = False) -> pd.DataFrame:
    """Which moments move each free parameter, at ``best``: for each parameter a central
    difference (``best`` moved by +-``step`` of its search range, on the log scale for a
    log parameter; one-sided at a bound), common seeds, and per fitted fact the change of
    its measure per ``step`` of the range, in units of the fact's tolerance (the half-width
    of its target range; the penalty scale of a one-sided fact). A fact that no parameter
    moves by much is not identified by this search; a parameter that moves no fact is not
    identified by the facts.

    Returns:
        One row per parameter (``parameter``, ``low``/``high``: the two values run), one
        column per fact id.
    """
    facts = (*RANGE_FACTS, *(f for f, _, _ in ONE_SIDED))
    scale = {fid: (FACT_BY_ID[fid].hi - FACT_BY_ID[fid].lo) / 2 for fid in RANGE_FACTS}
    scale.update({fid: sc for fid, _, sc in ONE_SIDED})
    rows = []
    it = tqdm(FREE, unit="parameter", desc="identification", disable=not progress)
    for p in it:
        lo, hi = _shifted(p, best[p.key], step, -1), _shifted(p, best[p.key], step, +1)
        m = {}
        for side, v in (("lo", lo), ("hi", hi)):
            vals = with_derived({**best, p.key: v})
            m[side] = _moments(measure_seeds(with_values(cfg, vals), seeds, jobs=jobs, every=every))
        # the change per `step` of the range (the two points may be closer at a bound)
        dist = (math.log(hi / lo) / math.log(p.high / p.low) if p.log
                else (hi - lo) / (p.high - p.low)) / step
        row = {"parameter": p.key, "low": lo, "high": hi}
        for fid in facts:
            k = FACT_BY_ID[fid].key
            row[fid] = ((m["hi"][k] - m["lo"][k]) / scale[fid] / dist if dist > 0 else math.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def identification_md(table: pd.DataFrame, step: float = 0.1) -> str:
    """The identification table in Markdown: per parameter, the facts it moves by at
    least half their tolerance per ``step`` of its range, largest first."""
    facts = [c for c in table.columns if c not in ("parameter", "low", "high")]
    lines = ["## Identification: which moments move each parameter", "",
             f"Change of each fact per {step:.0%} of the parameter's search range (log range for a "
             "log parameter), in units of the fact's tolerance (half its target range), central "
             "differences at the calibrated point with common seeds (`identification.csv` has every "
             "cell). Facts moved by at least 0.5:", "",
             "| parameter | facts it moves (change per step, in tolerances) |", "|---|---|"]
    for _, r in table.iterrows():
        moved = sorted(((f, r[f]) for f in facts if np.isfinite(r[f]) and abs(r[f]) >= 0.5),
                       key=lambda x: -abs(x[1]))
        lines.append(f"| `{r['parameter']}` | " + (", ".join(f"{f} {v:+.2f}" for f, v in moved)
                                                  or "none at 0.5 (weakly identified)") + " |")
    best_mover = {f: table.loc[table[f].abs().idxmax(), "parameter"] if table[f].notna().any()
                  else "none" for f in facts}
    lines += ["", "| fact | moved most by |", "|---|---|"]
    lines += [f"| {f} | `{best_mover[f]}` ({table[f].abs().max():.2f}) |" for f in facts]
    return "\n".join(lines) + "\n"


def _study_dir(args, cfg: SimConfig) -> Path:
    return study_dir("calibration", {"config": to_dict(cfg), "seeds": args.seeds, "every": args.every,
                                     "free": [p.__dict__ for p in FREE]})


def main(argv: Sequence[str]) -> None:
    def extra(p):
        p.add_argument("--trials", type=int, default=60, help="trials in all (default: 60); "
                       "running the same command again resumes the study up to this number")
        p.add_argument("--out", help="output folder (default: outputs/calibration/<hash of the "
                       "config, seeds and free parameters>)")
        p.add_argument("--identification", action="store_true",
                       help="after the search, the moments' sensitivity to each parameter at the "
                       "best trial (2 runs per parameter and seed): identification.csv and a table "
                       "in report.md")
        # the default population (SimConfig.n_workers: two markets, the smallest size whose
        # results a larger population repeats; one market alone differs, docs/VALIDATION.md 6)
        p.set_defaults(seeds=2, weeks=520)

    args = parse_args(argv, "python -m sim calibrate", __doc__.splitlines()[0], extra)
    cfg = config_from_args(args)
    out = Path(args.out) if args.out else _study_dir(args, cfg)
    seeds = list(range(args.seeds))
    study, defaults = calibrate(cfg, out, args.trials, seeds, args.jobs, args.every,
                                progress=sys.stderr.isatty())

    git = git_commit() or {}
    provenance = {"command": "python -m sim calibrate " + " ".join(argv),
                  "date": datetime.now(UTC).strftime("%Y-%m-%d"),
                  "commit": git.get("commit", "unknown")[:10] + (" (dirty)" if git.get("dirty") else ""),
                  "seeds": f"0-{args.seeds - 1}", "distance": f"{study.best_value:.3f}"}
    write_text_atomic(out / "trials.csv", trials_frame(study).to_csv(index=False))
    write_text_atomic(out / "calibrated.yaml", preset_yaml(study.best_params, provenance))
    text = report(study, defaults, cfg, provenance)
    written = "calibrated.yaml, report.md, trials.csv, study.db"
    if args.identification:
        best = {p.key: float(study.best_params[p.key]) for p in FREE}
        ident, marker = out / "identification.csv", out / "identification.trial"
        # kept with the number of the trial it was computed at: a rerun reuses it
        if ident.exists() and marker.exists() and marker.read_text().strip() == str(
                study.best_trial.number):
            table = pd.read_csv(ident)
        else:
            table = identification(cfg, best, seeds, args.jobs, args.every,
                                   progress=sys.stderr.isatty())
            write_text_atomic(ident, table.to_csv(index=False))
            write_text_atomic(marker, f"{study.best_trial.number}\n")
        text += "\n" + identification_md(table)
        written += ", identification.csv"
    write_text_atomic(out / "report.md", text)
    print(text)
    print(f"written to {out}: {written}")
    if not math.isfinite(study.best_value):
        raise StudyFailed(f"no trial gave a finite distance ({out / 'trials.csv'})")
