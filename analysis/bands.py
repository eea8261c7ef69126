"""Run-level bands and paired differences for the figures: runs (seeds) are the unit.

Spells of one run share a market, so an interval that treats them as independent
(a pooled Kaplan-Meier band, a binomial band of a pooled weekly hazard) is too
narrow for comparing simulated scenarios. Everything here starts from one
estimate per run and takes its uncertainty from the spread across runs:

- :func:`run_curves`: per-run Kaplan-Meier survival ``S_r(t)`` and weekly hazard
  ``h_r(t)`` at whole weeks (durations are whole weeks);
- :func:`curve_band`: the mean across runs at each week with a t interval across
  runs, intersected with the possible range (``[0, 1]`` for a survival or a
  hazard);
- :func:`bounded_interval`: the same for one quantity (a t interval intersected
  with the quantity's range: the intersection still covers the true value
  whenever the t interval does, since the true value lies in the range);
- :func:`paired_difference`: ``a - b`` of a per-run metric paired by seed
  (common random numbers), averaged within seed over the swept factors not kept,
  then a paired t interval and p-value across seeds, Holm-adjusted across the
  cells of the table (:func:`holm`);
- :func:`few_runs_note`: the warning a figure carries when a cell has fewer than
  :data:`FEW_RUNS` runs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis import survival
from analysis.data import Data
from analysis.stats import t_interval

#: Below this many runs per cell an interval across runs rests on few runs (said in the figure).
FEW_RUNS = 5


def holm(p: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values.

    ``p_(i)`` (the i-th smallest of ``m``) becomes ``max_{j <= i} (m - j + 1) p_(j)``,
    capped at 1. NaN p-values are not part of the family and stay NaN.

    Args:
        p: the p-values of one family (e.g. every cell of a heatmap).

    Returns:
        The adjusted p-values, in the input order.
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m:
        order = ok[np.argsort(p[ok], kind="stable")]
        adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
        out[order] = np.minimum(adj, 1.0)
    return out


def bounded_interval(values, level: float = 0.95, bounds: tuple[float, float] = (-np.inf, np.inf)
                     ) -> dict[str, float]:
    """Mean and t interval across runs, intersected with the quantity's range.

    Args:
        values: one estimate per run.
        level: confidence level.
        bounds: ``(lowest, highest)`` possible value of the quantity (e.g. ``(0, 1)``
            for a share, ``(-tau, tau)`` for a difference of RMSTs).

    Returns:
        ``{"mean", "sd", "n", "lower", "upper"}`` (:func:`analysis.stats.t_interval`
        with ``lower``/``upper`` clipped into ``bounds``); NaN bounds with fewer
        than two runs.
    """
    ti = t_interval(values, level)
    lo, hi = bounds
    if np.isfinite(ti["lower"]):
        ti["lower"] = float(min(max(ti["lower"], lo), hi))
        ti["upper"] = float(max(min(ti["upper"], hi), lo))
    return ti


def metric_bounds(metric: str, tau: float, horizon_weeks: float, difference: bool = False,
                  scale: float = 1.0) -> tuple[float, float]:
    """The possible range of a per-run metric (or of a difference of two).

    Args:
        metric: ``"rmst"`` (``[0, tau]``), ``"median"`` (``[0, horizon_weeks]``) or
            ``"share_within"`` (``[0, 1]``).
        tau: RMST horizon in weeks.
        horizon_weeks: longest possible spell duration.
        difference: the range of ``x - y`` for ``x, y`` in the range instead.
        scale: multiply the range (e.g. 100 for percentages).

    Returns:
        ``(lowest, highest)``.
    """
    top = {"rmst": tau, "median": horizon_weeks, "share_within": 1.0}[metric] * scale
    return (-top, top) if difference else (0.0, top)


# ---------------------------------------------------------------------------- per-run curves


def run_curves(data: Data | pd.DataFrame, by: Sequence[str] = ("strategy",),
               max_week: int | None = None) -> pd.DataFrame:
    """Per-run Kaplan-Meier curve and weekly hazard at whole weeks.

    With durations in whole weeks, for run ``r`` and week ``t >= 1``:
    ``n_r(t)`` spells still searching at the start of week ``t`` (duration ``>= t``),
    ``d_r(t)`` of them hired in week ``t`` (observed, duration ``== t``),
    ``h_r(t) = d_r(t) / n_r(t)`` and ``S_r(t) = prod_{u <= t} (1 - h_r(u))``: the
    Kaplan-Meier estimate (lifelines' ``KaplanMeierFitter`` gives the same numbers),
    kept flat after the run's last spell as lifelines does; ``h_r(t)`` is NaN where
    nobody is at risk. Week 0 has ``S = 1``.

    Args:
        data: a :class:`~analysis.data.Data` (its spells that start in the horizon)
            or a spells DataFrame with ``run_id``, ``duration_weeks``, ``censored``.
        by: grouping columns besides the run (e.g. ``strategy`` and swept
            parameters); a run with two strategies (mixed population) gives a
            curve per strategy.
        max_week: last week (default: the longest duration in the data).

    Returns:
        One row per group, run and week ``0..max_week``: the ``by`` columns,
        ``run_id``, ``seed`` (if known), ``week``, ``at_risk``, ``events``,
        ``hazard``, ``survival``.
    """
    df = data.spells if isinstance(data, Data) else data
    by = list(by)
    last = int(df["duration_weeks"].max()) if max_week is None else int(max_week)
    weeks = np.arange(0, last + 1)
    frames = []
    for key, g in df.groupby([*by, "run_id"], observed=True, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        dur = g["duration_weeks"].to_numpy(int)
        hired = ~g["censored"].to_numpy(bool)
        ends = np.bincount(np.minimum(dur, last + 1), minlength=last + 2)  # spells ending at t
        events = np.bincount(np.minimum(dur[hired], last + 1), minlength=last + 2)[: last + 1]
        at_risk = (len(dur) - np.concatenate([[0], np.cumsum(ends)[:-1]]))[: last + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            hazard = np.where(at_risk > 0, events / np.maximum(at_risk, 1), np.nan)
        hazard[0] = np.nan  # nobody is hired in week 0 of search
        surv = np.cumprod(1.0 - np.nan_to_num(hazard))
        f = pd.DataFrame({"week": weeks, "at_risk": at_risk, "events": events, "hazard": hazard,
                          "survival": surv})
        for c, v in reversed(list(zip([*by, "run_id"], key, strict=True))):
            f.insert(0, c, v)
        if "seed" in g:
            f.insert(len(by) + 1, "seed", g["seed"].iloc[0])
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def curve_band(curves: pd.DataFrame, by: Sequence[str], value: str = "survival",
               level: float = 0.95, bounds: tuple[float, float] = (0.0, 1.0),
               min_at_risk: int = 1) -> pd.DataFrame:
    """Mean across runs of a per-run curve at each week, with a t band across runs.

    Args:
        curves: :func:`run_curves` output.
        by: grouping columns (one band per group); runs are the replicates.
        value: ``"survival"`` or ``"hazard"``.
        level: confidence level.
        bounds: the possible range (the band is intersected with it).
        min_at_risk: for the hazard, a run enters a week's mean only with at least
            this many spells at risk that week (1 keeps every defined value). A
            survival curve is kept flat after a run's last spell, as lifelines does.

    Returns:
        One row per group and week: the ``by`` columns, ``week``, ``mean``,
        ``lower``, ``upper`` (NaN with fewer than two runs), ``n_runs``,
        ``at_risk`` (summed over runs).
    """
    by = list(by)
    keep = np.isfinite(curves[value].to_numpy(float))
    if value == "hazard":
        keep &= curves["at_risk"].to_numpy() >= min_at_risk
    c = curves[keep]
    g = c.groupby([*by, "week"], observed=True, sort=True)
    out = g.agg(mean=(value, "mean"), sd=(value, "std"), n_runs=(value, "size"),
                at_risk=("at_risk", "sum")).reset_index()
    n = out["n_runs"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tq = np.where(n >= 2, stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)), np.nan)
        half = tq * out["sd"].to_numpy(float) / np.sqrt(n)
    lo, hi = bounds
    out["lower"] = np.clip(out["mean"] - half, lo, hi)
    out["upper"] = np.clip(out["mean"] + half, lo, hi)
    return out.drop(columns="sd")


# ---------------------------------------------------------------------------- differences


def paired_difference(data: Data, a: str = "lions", b: str = "everyone", metric: str = "rmst",
                      by: Sequence[str] = (), horizon: float = survival.DEFAULT_HORIZON,
                      at: float = survival.WITHIN, level: float = 0.95) -> pd.DataFrame:
    """``a - b`` of a per-run metric, paired by seed, for each cell of ``by``.

    Runs that differ only by strategy share their seed, hence their market and
    shocks (common random numbers); in a mixed population both strategies are in
    the same run. For each combination of the swept parameters and seed, ``d =
    metric(a) - metric(b)``; within each seed ``d`` is averaged over the levels of
    the swept parameters not in ``by`` (only seeds that have every such level);
    the interval is a paired t interval across seeds (so ``n`` is the number of
    seeds, never seeds times the other factors' levels), intersected with the
    difference's possible range, with a one-sample t test of mean 0. When no seed
    holds both strategies (no pairing possible) the cell falls back to Welch's
    unpaired interval over the runs of the cell (``paired`` False).

    Args:
        data: loaded outputs.
        a: strategy whose value comes first.
        b: strategy subtracted.
        metric: ``"rmst"``, ``"median"`` or ``"share_within"``.
        by: swept parameters that define the cells (the others are averaged
            within seed).
        horizon: RMST horizon in weeks.
        at: weeks of the share re-employed.
        level: confidence level.

    Returns:
        One row per cell: the ``by`` columns, ``diff``, ``lower``, ``upper``,
        ``p_value``, ``p_holm`` (Holm across the rows), ``n`` (seeds, or runs when
        unpaired), ``paired``, ``averaged_over`` (the parameters averaged within
        seed, comma-separated), ``metric``. Empty if no cell holds both strategies.
    """
    by = list(by)
    params = list(data.params)
    missing = [p for p in by if p not in params]
    if missing:
        raise KeyError(f"not swept parameters: {missing}")
    others = [p for p in params if p not in by]
    tau = min(float(horizon), float(data.horizon_weeks))
    bounds = metric_bounds(metric, tau, data.horizon_weeks, difference=True)
    est = survival.per_run(data, ["strategy", *params], horizon, at)
    est = est[est["strategy"].astype(str).isin([a, b])]
    rows = []
    cell_groups = est.groupby(by, observed=True, sort=True, dropna=False) if by else [((), est)]
    for key, g in cell_groups:
        key = key if isinstance(key, tuple) else (key,)
        row = {**dict(zip(by, key, strict=True)), "metric": metric,
               "averaged_over": ", ".join(others)}
        d = _seed_differences(g, a, b, metric, others)
        if d is not None and len(d):
            vals = d.to_numpy(float)
            ti = bounded_interval(vals, level, bounds) if np.isfinite(vals).all() else \
                {"mean": np.nan, "lower": np.nan, "upper": np.nan}
            p = (float(stats.ttest_1samp(vals, 0.0).pvalue)
                 if len(vals) > 1 and np.isfinite(vals).all() and np.std(vals) > 0 else np.nan)
            row.update(diff=ti["mean"], lower=ti["lower"], upper=ti["upper"], p_value=p,
                       n=len(vals), paired=True)
        else:
            x = g.loc[g["strategy"].astype(str) == a, metric].to_numpy(float)
            y = g.loc[g["strategy"].astype(str) == b, metric].to_numpy(float)
            if not len(x) or not len(y):
                continue
            row.update(_welch(x, y, level, bounds), n=min(len(x), len(y)), paired=False)
        rows.append(row)
    out = pd.DataFrame(rows)
    if not out.empty:
        out["p_holm"] = holm(out["p_value"].to_numpy(float))
    return out


def _seed_differences(g: pd.DataFrame, a: str, b: str, metric: str, others: list[str]
                      ) -> pd.Series | None:
    """Per seed: ``a - b`` averaged over the levels of ``others`` (None if unpairable)."""
    if "seed" not in g or g["seed"].isna().all():
        return None
    keys = [*others, "seed"]
    if g.groupby([*keys, "strategy"], observed=True, dropna=False).size().max() > 1:
        return None  # two runs of one strategy and seed in a cell: not a pairing
    wide = g.pivot_table(index=keys, columns="strategy", values=metric, observed=True,
                         dropna=False, aggfunc="first")
    if a not in wide or b not in wide:
        return None
    d = (wide[a] - wide[b]).dropna().rename("d").reset_index()
    if d.empty:
        return None
    if others:
        levels = d[others].drop_duplicates().shape[0]
        complete = d.groupby("seed")["d"].transform("size") == levels
        d = d[complete]
    return d.groupby("seed")["d"].mean() if len(d) else None


def _welch(x: np.ndarray, y: np.ndarray, level: float, bounds: tuple[float, float]) -> dict:
    diff = float(np.mean(x) - np.mean(y))
    nan = {"diff": diff, "lower": np.nan, "upper": np.nan, "p_value": np.nan}
    if len(x) < 2 or len(y) < 2 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return nan if np.isfinite(diff) else {**nan, "diff": np.nan}
    with warnings.catch_warnings():  # identical samples are not an error
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.ttest_ind(x, y, equal_var=False)
        ci = res.confidence_interval(level)
    lo, hi = bounds
    return {"diff": diff, "lower": float(np.clip(ci.low, lo, hi)),
            "upper": float(np.clip(ci.high, lo, hi)), "p_value": float(res.pvalue)}


def stars(p_holm: float) -> str:
    """``*`` / ``**`` / ``***`` for a Holm-adjusted p below 0.05 / 0.01 / 0.001."""
    if not np.isfinite(p_holm):
        return ""
    return "***" if p_holm < 0.001 else "**" if p_holm < 0.01 else "*" if p_holm < 0.05 else ""


def few_runs_note(n_min: int, unit: str = "runs", per: str = "cell") -> str:
    """A warning for a figure whose smallest cell has ``n_min`` runs (empty if enough).

    Args:
        n_min: the fewest replicates behind any interval of the figure.
        unit: what a replicate is (``"runs"``, ``"seeds"``).
        per: what an interval belongs to (``"cell"``, ``"curve"``, ``"estimate"``).

    Returns:
        E.g. ``"Only 2 seeds per cell: the intervals rest on few runs."``, or ``""``.
    """
    if not isinstance(n_min, (int, np.integer)) and (n_min is None or math.isnan(n_min)):
        return ""
    n_min = int(n_min)
    if n_min >= FEW_RUNS:
        return ""
    if n_min <= 1:
        return f"1 {unit[:-1]} per {per}: no interval across {unit}."
    return f"Only {n_min} {unit} per {per}: the intervals rest on few runs."
