"""Time to re-employment: survival analysis of right-censored unemployment spells.

The estimators come from lifelines (Kaplan-Meier, log-rank, Cox), except the
per-seed Cox fits of :func:`cox_by_seed`, which use :func:`analysis.coxph.cox_efron`
(the same partial likelihood, checked against lifelines; 30 times faster, which
matters for thousands of seeds); this module groups the spells, fits, and returns
lifelines fit objects or tidy tables (one row per group and quantity). A duration
is in weeks: a hire in week ``t`` of search ends a spell of ``t`` weeks; a spell
still running at the end is censored at the weeks it was searched (README "Outputs").

Runs are the unit of inference. Two kinds of interval, for two questions:

- **within-run** (:func:`pooled_summary`, :func:`hazard_by_duration`,
  :func:`fit_km` bands): from all spells of a group pooled, treating spells as
  independent. Spells of one run share a market, so these describe one simulated
  market and are too narrow for comparing scenarios; label them "within-run";
- **run-level** (everything that compares scenarios): one estimate per run, then
  the mean across runs with a t interval formed on a scale where the quantity's
  range is unbounded (:func:`analysis.stats.range_interval`: logit for shares and
  RMST, which lie in [0, 1] and [0, tau]), so no interval leaves the range:
  :func:`replicate_summary`, :func:`km_run_level`, :func:`hazard_run_level`;
  differences are paired by seed after averaging over the other swept factors
  within seed (:func:`strategy_difference`, :func:`piecewise_hazard_ratio`);
  hazard ratios come from one Cox fit per seed combined across seeds
  (:func:`cox_by_seed`; lifelines' robust variance ignores tied times and is not
  used); log-rank tests are stratified by seed (:func:`logrank`).

A single run has no replicate: its run-level intervals are NaN ("no
replicates"), never a within-run interval passed off as one. Fewer than
:data:`analysis.stats.FEW_RUNS` runs per cell: the intervals rest on few runs
(``*_note`` columns say so).

Groups default to ``["strategy", *data.params]``: the worker's strategy and every
swept parameter that varies.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.utils import median_survival_times, restricted_mean_survival_time
from scipy import stats

from analysis.coxph import cox_efron, ph_test_km
from analysis.data import Data
from analysis.stats import (
    clopper_pearson,
    holm,
    interval_note,
    km_rmst_variance,
    paired_difference,
    range_interval,
)
from sim.results.metrics import kaplan_meier

log = logging.getLogger(__name__)

DEFAULT_HORIZON = 52  # weeks: RMST horizon (one year)
WITHIN = 4  # weeks: "re-employed within a month" (docs/RESEARCH.md section 4)
METRICS = ("median", "rmst", "share_within")
#: Week bands of the piecewise hazard ratios (weeks of search, inclusive).
BANDS = ((1, 4), (5, 13), (14, 26), (27, 52))
_WARNED: set = set()  # (horizon, longest) pairs already warned about


class GroupFits(dict):
    """Fitted lifelines models keyed by group: ``{(value, ...): fitter}``.

    Attributes:
        by: the grouping columns, in key order.
        meta: per key, facts about the fit (e.g. the Cox reference strategy).
    """

    def __init__(self, by: Sequence[str]):
        super().__init__()
        self.by = list(by)
        self.meta: dict[tuple, dict] = {}

    def key_dict(self, key: tuple) -> dict:
        """``{column: value}`` of a group key."""
        return dict(zip(self.by, key, strict=True))


# ---------------------------------------------------------------------------- helpers


def _spells(data: Data | pd.DataFrame) -> pd.DataFrame:
    return data.spells if isinstance(data, Data) else data


def _by(data: Data | pd.DataFrame, by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        by = ["strategy"] + (list(data.params) if isinstance(data, Data) else [])
    elif isinstance(by, str):
        by = [by]
    df = _spells(data)
    missing = [c for c in by if c not in df.columns]
    if missing:
        raise KeyError(f"grouping columns not in the spells: {missing}")
    return list(by)


def _groups(df: pd.DataFrame, by: list[str]) -> Iterator[tuple[tuple, pd.DataFrame]]:
    if not by:
        yield (), df
        return
    for key, g in df.groupby(by, observed=True, dropna=False, sort=True):
        yield (key if isinstance(key, tuple) else (key,)), g


def _label(by: list[str], key: tuple) -> str:
    return ", ".join(f"{c}={v}" for c, v in zip(by, key, strict=True)) or "all"


def _horizon(data: Data | pd.DataFrame, horizon: float) -> float:
    """The RMST horizon, clipped to the longest duration the data can show."""
    if isinstance(data, Data):
        longest = data.horizon_weeks
    else:
        longest = float(_spells(data)["duration_weeks"].max())
    if horizon > longest:
        if (horizon, longest) not in _WARNED:
            _WARNED.add((horizon, longest))
            log.warning("RMST horizon %s weeks is beyond the longest possible follow-up (%s weeks);"
                        " using %s", horizon, longest, longest)
        return float(longest)
    return float(horizon)


def _observed(df: pd.DataFrame) -> np.ndarray:
    return ~df["censored"].to_numpy(dtype=bool)


# ---------------------------------------------------------------------------- Kaplan-Meier


def fit_km(data: Data | pd.DataFrame, by: str | Sequence[str] | None = None,
           alpha: float = 0.05) -> GroupFits:
    """Kaplan-Meier estimate of time to re-employment per group.

    Args:
        data: a :class:`~analysis.data.Data` (its :attr:`~analysis.data.Data.spells`
            are used) or a spells DataFrame.
        by: grouping columns (default: ``strategy`` and the swept parameters).
        alpha: 1 - confidence level of the pointwise bands (lifelines' exponential
            Greenwood intervals; WITHIN-RUN: spells pooled and treated as
            independent; for comparing scenarios use :func:`km_run_level`).

    Returns:
        A :class:`GroupFits` of fitted ``lifelines.KaplanMeierFitter``.
    """
    by = _by(data, by)
    fits = GroupFits(by)
    for key, g in _groups(_spells(data), by):
        fits[key] = KaplanMeierFitter(alpha=alpha).fit(
            g["duration_weeks"].to_numpy(float), _observed(g), label=_label(by, key))
    return fits


def km_table(fits: GroupFits) -> pd.DataFrame:
    """Tidy survival curves: one row per group and event time.

    Args:
        fits: the output of :func:`fit_km`.

    Returns:
        Columns: the grouping columns, ``week``, ``survival``, ``lower``, ``upper``,
        ``at_risk``, ``events``.
    """
    frames = []
    for key, kmf in fits.items():
        ci = kmf.confidence_interval_survival_function_
        et = kmf.event_table.reindex(kmf.survival_function_.index)
        f = pd.DataFrame({
            "week": kmf.survival_function_.index.to_numpy(float),
            "survival": kmf.survival_function_.iloc[:, 0].to_numpy(),
            "lower": ci.iloc[:, 0].to_numpy(), "upper": ci.iloc[:, 1].to_numpy(),
            "at_risk": et["at_risk"].to_numpy(), "events": et["observed"].to_numpy(),
        })
        for c, v in reversed(list(fits.key_dict(key).items())):
            f.insert(0, c, v)
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def share_within(kmf: KaplanMeierFitter, weeks: float = WITHIN) -> tuple[float, float, float]:
    """Share re-employed within ``weeks``, ``1 - S(weeks)``, with its pointwise interval.

    Args:
        kmf: a fitted Kaplan-Meier model.
        weeks: the time point.

    Returns:
        ``(share, lower, upper)``.
    """
    share = 1.0 - _survival_at(kmf, weeks)
    ci = kmf.confidence_interval_survival_function_.loc[:weeks]
    if ci.empty:
        return share, 0.0, 0.0
    lo_s, hi_s = ci.iloc[-1, 0], ci.iloc[-1, 1]
    return share, 1.0 - float(hi_s), 1.0 - float(lo_s)


def _survival_at(kmf: KaplanMeierFitter, t: float) -> float:
    """S(t) of a fitted KM step function (what ``kmf.predict(t)`` returns, without
    pandas' per-call overhead, which dominates with thousands of per-run fits)."""
    sf = kmf.survival_function_
    i = np.searchsorted(sf.index.to_numpy(), t, side="right") - 1
    return float(sf.iloc[i, 0]) if i >= 0 else 1.0


def _estimates(kmf: KaplanMeierFitter, tau: float, at: float) -> dict[str, float]:
    return {"median": float(kmf.median_survival_time_),
            "rmst": float(restricted_mean_survival_time(kmf, t=tau)),
            "share_within": 1.0 - _survival_at(kmf, at)}


def _km_estimates(dur: np.ndarray, obs: np.ndarray, tau: float, at: float) -> dict[str, float]:
    """Median, RMST and 1 - S(at) of one group from the numpy product-limit estimator
    (:func:`sim.results.metrics.kaplan_meier`, checked against lifelines in
    ``tests/test_metrics.py``): thousands of per-run fits without lifelines' overhead.
    The median is the first time with S(t) <= 0.5, up to rounding (1e-9)."""

    t, s = kaplan_meier(dur, obs)
    hit = np.flatnonzero(s <= 0.5 + 1e-9)
    median = float(t[hit[0]]) if len(hit) else math.inf
    edges = np.concatenate([[0.0], np.minimum(t, tau), [tau]])
    rmst = float(np.sum(np.diff(edges) * np.concatenate([[1.0], s])))
    i = np.searchsorted(t, at, side="right") - 1
    return {"median": median, "rmst": rmst, "share_within": float(1.0 - s[i]) if i >= 0 else 0.0}


def _logit_interval(est: float, se: float, hi: float, z: float) -> tuple[float, float]:
    """``est +/- z se`` formed on the logit scale of ``est / hi`` (inside (0, hi));
    NaN when ``se`` is 0 or ``est`` sits on a bound (nothing to say)."""
    p = est / hi if hi > 0 else np.nan
    if not (se > 0) or not (0 < p < 1):
        return np.nan, np.nan
    g, half = math.log(p / (1 - p)), z * se / (hi * p * (1 - p))
    return hi / (1 + math.exp(-(g - half))), hi / (1 + math.exp(-(g + half)))


def pooled_summary(data: Data | pd.DataFrame, by: str | Sequence[str] | None = None,
                   horizon: float = DEFAULT_HORIZON, at: float = WITHIN,
                   alpha: float = 0.05) -> pd.DataFrame:
    """Median, RMST and share re-employed within ``at`` weeks, spells pooled.

    The intervals are WITHIN-RUN: they treat the spells as independent, so they
    describe the sampling of spells in these markets, not the variation between
    markets (:func:`replicate_summary` is the run-level summary).

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame.
        by: grouping columns (default: ``strategy`` and the swept parameters).
        horizon: RMST horizon in weeks (clipped to the longest possible follow-up).
        at: time point of the share re-employed, in weeks.
        alpha: 1 - confidence level.

    Returns:
        One row per group: ``n_spells``, ``n_events``, ``n_runs``, ``median`` (inf
        if fewer than half the spells end) with ``median_lower/upper`` (from the KM
        band), ``rmst`` with ``rmst_se`` (Greenwood-type variance,
        :func:`analysis.stats.km_rmst_variance`) and ``rmst_lower/upper`` (normal
        on the logit scale of RMST / horizon, so inside [0, horizon]),
        ``share_within`` with ``share_lower/upper`` (KM band at ``at``),
        ``horizon`` and ``at``.
    """
    tau = _horizon(data, horizon)
    fits = fit_km(data, by, alpha)
    df = _spells(data)
    z = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for (key, kmf), (_, g) in zip(fits.items(), _groups(df, fits.by), strict=True):
        med_ci = median_survival_times(kmf.confidence_interval_)
        est = _estimates(kmf, tau, at)
        se = math.sqrt(km_rmst_variance(kmf, tau))
        share, s_lo, s_hi = share_within(kmf, at)
        rows.append({
            **fits.key_dict(key), "n_spells": len(g), "n_events": int(_observed(g).sum()),
            "n_runs": g["run_id"].nunique() if "run_id" in g else 1,
            "median": est["median"], "median_lower": float(med_ci.iloc[0, 0]),
            "median_upper": float(med_ci.iloc[0, 1]),
            "rmst": est["rmst"], "rmst_se": se,
            **dict(zip(("rmst_lower", "rmst_upper"), _logit_interval(est["rmst"], se, tau, z),
                       strict=True)),
            "share_within": share, "share_lower": s_lo, "share_upper": s_hi,
            "horizon": tau, "at": at,
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- replicates


def per_run(data: Data | pd.DataFrame, by: str | Sequence[str] | None = None,
            horizon: float = DEFAULT_HORIZON, at: float = WITHIN) -> pd.DataFrame:
    """One estimate per run and group: KM median, RMST, share within ``at`` weeks.

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame with ``run_id``.
        by: grouping columns (default: ``strategy`` and the swept parameters).
        horizon: RMST horizon in weeks.
        at: time point of the share re-employed.

    Returns:
        One row per (group, run): grouping columns, ``run_id``, ``seed`` (if
        known), ``n_spells``, ``n_events``, ``median``, ``rmst``, ``share_within``.
    """
    by = _by(data, by)
    tau = _horizon(data, horizon)
    cache = data.__dict__.setdefault("_per_run", {}) if isinstance(data, Data) else None
    if cache is not None and (tuple(by), tau, at) in cache:  # figures and tables ask repeatedly
        return cache[(tuple(by), tau, at)].copy()
    df = _spells(data)
    keys = by + ["run_id"]
    rows = []
    for key, g in _groups(df, keys):
        row = dict(zip(keys, key, strict=True))
        if "seed" in g:
            row["seed"] = g["seed"].iloc[0]
        obs = _observed(g)
        rows.append({**row, "n_spells": len(g), "n_events": int(obs.sum()),
                     **_km_estimates(g["duration_weeks"].to_numpy(float), obs, tau, at)})
    out = pd.DataFrame(rows)
    if cache is not None:
        cache[(tuple(by), tau, at)] = out.copy()
    return out


def _longest(data: Data | pd.DataFrame) -> float:
    """The longest duration the data can show (the range of a median)."""
    if isinstance(data, Data):
        return float(data.horizon_weeks)
    return float(_spells(data)["duration_weeks"].max())


def metric_bounds(metric: str, tau: float, longest: float, difference: bool = False
                  ) -> tuple[float, float]:
    """The range of a per-run metric (or of a difference of two).

    Args:
        metric: ``"median"``, ``"rmst"`` or ``"share_within"``.
        tau: the RMST horizon.
        longest: the longest possible follow-up (range of a median).
        difference: the range of ``a - b`` instead.

    Returns:
        ``(lower, upper)``.
    """
    hi = {"median": longest, "rmst": tau, "share_within": 1.0}[metric]
    return (-hi, hi) if difference else (0.0, hi)


def replicate_summary(data: Data | pd.DataFrame, by: str | Sequence[str] | None = None,
                      horizon: float = DEFAULT_HORIZON, at: float = WITHIN,
                      level: float = 0.95) -> pd.DataFrame:
    """Median, RMST and share within ``at`` weeks: mean across runs, run-level interval.

    Estimand: the mean over runs (replicate markets) of each run's Kaplan-Meier
    median, RMST on [0, ``horizon``] and share re-employed within ``at`` weeks.
    Each run gives one estimate per group (:func:`per_run`); the interval is a
    ``level`` t interval of their mean formed on the logit scale of the
    quantity's range (median in [0, longest follow-up], RMST in [0, horizon],
    share in [0, 1]; :func:`analysis.stats.range_interval`), so it stays in the
    range. It is NaN with one run ("no replicates") and when the runs give
    identical values; ``<m>_note`` says why, or that there are fewer than
    :data:`analysis.stats.FEW_RUNS` runs. A run whose KM curve never reaches
    0.5 has no median: ``median_undefined`` counts them, and the median columns
    are NaN if any run lacks one (RMST is always defined: the safer headline).

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame with ``run_id``.
        by: grouping columns (default: ``strategy`` and the swept parameters).
        horizon: RMST horizon in weeks.
        at: time point of the share re-employed.
        level: confidence level.

    Returns:
        One row per group: ``n_runs``, ``n_spells``, and for each of ``median``,
        ``rmst``, ``share_within``: ``<m>_mean``, ``<m>_sd``, ``<m>_lower``,
        ``<m>_upper``, ``<m>_note``; ``median_undefined``; ``horizon``, ``at``.
    """
    by = _by(data, by)
    est = per_run(data, by, horizon, at)
    tau, longest = _horizon(data, horizon), _longest(data)
    rows = []
    for key, g in _groups(est, by):
        row = {**dict(zip(by, key, strict=True)), "n_runs": len(g), "n_spells": int(g["n_spells"].sum())}
        undefined = int(np.isinf(g["median"]).sum())
        for m in METRICS:
            vals = g[m].to_numpy(float)
            if np.isinf(vals).any():
                ti = dict.fromkeys(("mean", "sd", "lower", "upper"), np.nan)
                note = f"median not reached in {undefined} of {len(g)} runs"
            else:
                ti = range_interval(vals, metric_bounds(m, tau, longest), level)
                note = interval_note(len(vals), ti["sd"])
            row.update({f"{m}_{k}": ti[k] for k in ("mean", "sd", "lower", "upper")})
            row[f"{m}_note"] = note
        row["median_undefined"] = undefined
        rows.append(row)
    out = pd.DataFrame(rows)
    out["horizon"], out["at"] = tau, at
    return out


def strategy_difference(data: Data | pd.DataFrame, a: str = "lions", b: str = "everyone",
                        metric: str = "rmst", by: Sequence[str] | None = None,
                        horizon: float = DEFAULT_HORIZON, at: float = WITHIN,
                        level: float = 0.95) -> pd.DataFrame:
    """Difference ``a - b`` of a per-run metric, paired by seed.

    Estimand: the mean over seeds (markets) of ``metric(a) - metric(b)``. Runs that
    differ only by strategy share their seed and so their market and shocks
    (common random numbers); in a mixed population both strategies are in the
    same run. Within each cell of ``by``, the per-run estimates of each strategy
    are first averaged within seed over every other swept factor (so a third
    swept factor does not break the pairing), then differenced per seed; the
    interval is the paired t interval across seeds, intersected with the
    difference's possible range, with a one-sample t test (``p_value``) and
    Holm's adjustment across the cells returned (``p_holm``). Seeds that lack one
    of the two strategies (a failed run) are left out of the pairing and counted in
    ``note``; only when fewer than two seeds have both is the interval Welch's on
    the seed means (``paired`` False).

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame.
        a: strategy whose value comes first (e.g. ``"lions"``).
        b: strategy subtracted.
        metric: ``"rmst"``, ``"median"`` or ``"share_within"``.
        by: cells (default: the swept parameters).
        horizon: RMST horizon in weeks.
        at: time point of the share re-employed.
        level: confidence level.

    Returns:
        One row per cell: ``diff``, ``lower``, ``upper``, ``p_value``, ``p_holm``,
        ``paired``, ``n_a``, ``n_b`` (runs), ``n_seeds``, ``metric``, ``note``
        (no replicates, few seeds, identical differences); cells lacking either
        strategy are left out.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}")
    cells = list(data.params if by is None and isinstance(data, Data) else (by or []))
    factors = list(data.params) if isinstance(data, Data) else list(cells)
    factors = list(dict.fromkeys([*cells, *factors]))
    est = per_run(data, ["strategy", *factors], horizon, at)
    bounds = metric_bounds(metric, _horizon(data, horizon), _longest(data), difference=True)
    rows = []
    for key, g in _groups(est, cells):
        va = g[g["strategy"] == a]
        vb = g[g["strategy"] == b]
        if va.empty or vb.empty:
            continue
        row = {**dict(zip(cells, key, strict=True)), "metric": metric, "n_a": len(va),
               "n_b": len(vb)}
        row.update(_difference(va, vb, metric, level, bounds))
        rows.append(row)
    out = pd.DataFrame(rows)
    if not out.empty:
        out["p_holm"] = holm(out["p_value"].to_numpy(float))
    return out


def _difference(va: pd.DataFrame, vb: pd.DataFrame, metric: str, level: float,
                bounds: tuple[float, float] = (-np.inf, np.inf)) -> dict:
    nan = {"diff": np.nan, "lower": np.nan, "upper": np.nan, "p_value": np.nan}
    if np.isinf(va[metric]).any() or np.isinf(vb[metric]).any():
        return {**nan, "paired": False, "n_seeds": 0, "note": f"{metric} not reached in some runs"}
    if "seed" in va and "seed" in vb:
        ma = va.groupby("seed")[metric].mean()  # average over other factors within seed
        mb = vb.groupby("seed")[metric].mean()
    else:
        ma, mb = va[metric].reset_index(drop=True), vb[metric].reset_index(drop=True)
    common = ma.index.intersection(mb.index) if "seed" in va and "seed" in vb else ma.index[:0]
    if len(common) >= 2 or (len(common) == 1 and len(ma) == len(mb) == 1):
        # paired on the seeds that have both (a failed run costs its seed, not the pairing)
        d = (ma.reindex(common) - mb.reindex(common)).to_numpy(float)
        res = paired_difference(d, bounds, level)
        dropped = len(ma.index.union(mb.index)) - len(common)
        note = "; ".join(x for x in (interval_note(len(d), res["sd"]),
                                     f"{dropped} seeds without both left out" if dropped else "")
                         if x)
        return {"diff": res["diff"], "lower": res["lower"], "upper": res["upper"],
                "p_value": res["p_value"], "paired": True, "n_seeds": len(d), "note": note}
    x, y = ma.to_numpy(float), mb.to_numpy(float)
    diff = x.mean() - y.mean()
    if len(x) < 2 or len(y) < 2 or not (np.std(x) > 0 or np.std(y) > 0):
        return {**nan, "diff": diff, "paired": False, "n_seeds": min(len(x), len(y)),
                "note": interval_note(min(len(x), len(y)), 0.0)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.ttest_ind(x, y, equal_var=False)
    ci = res.confidence_interval(level)
    n = min(len(x), len(y))
    note = "unpaired (seeds differ): Welch interval" + (f"; {interval_note(n, 1.0)}"
                                                         if interval_note(n, 1.0) else "")
    return {"diff": diff, "lower": max(ci.low, bounds[0]), "upper": min(ci.high, bounds[1]),
            "p_value": float(res.pvalue), "paired": False, "n_seeds": n, "note": note}


def km_run_level(data: Data | pd.DataFrame, by: str | Sequence[str] | None = None,
                 max_week: int | None = None, level: float = 0.95) -> pd.DataFrame:
    """Kaplan-Meier curves per run, averaged across runs with a run-level band.

    Estimand: the mean over runs of each run's Kaplan-Meier survival ``S_r(t)``
    (share still unemployed after ``t`` weeks of search) at whole weeks. The band
    is the pointwise ``level`` t interval across runs on the logit scale
    (:func:`analysis.stats.range_interval` with range [0, 1]): inside [0, 1],
    NaN with one run or where every run has the same value.

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame with ``run_id``.
        by: grouping columns (default: ``strategy`` and the swept parameters).
        max_week: last week (default: the longest possible follow-up).
        level: confidence level.

    Returns:
        One row per group and week ``0 .. max_week``: grouping columns, ``week``,
        ``survival`` (mean over runs), ``lower``, ``upper``, ``n_runs``.
    """
    by = _by(data, by)
    last = int(max_week if max_week is not None else _longest(data))
    weeks = np.arange(0, last + 1)
    frames = []
    for key, g in _groups(_spells(data), by):
        curves = [_km_on_grid(r["duration_weeks"].to_numpy(float), _observed(r), weeks)
                  for _, r in g.groupby("run_id", sort=True, observed=True)] if "run_id" in g else [
            _km_on_grid(g["duration_weeks"].to_numpy(float), _observed(g), weeks)]
        ri = range_interval(np.vstack(curves), (0.0, 1.0), level)
        f = pd.DataFrame({"week": weeks, "survival": ri["mean"], "lower": ri["lower"],
                          "upper": ri["upper"], "n_runs": ri["n"]})  # runs followed that long
        for c, v in reversed(list(zip(by, key, strict=True))):
            f.insert(0, c, v)
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _km_on_grid(dur: np.ndarray, obs: np.ndarray, weeks: np.ndarray) -> np.ndarray:
    """Kaplan-Meier S(t) of one run at the whole weeks ``weeks`` (NaN beyond its
    longest follow-up)."""

    t, s = kaplan_meier(dur, obs)
    idx = np.searchsorted(t, weeks, side="right") - 1
    out = np.where(idx >= 0, s[np.maximum(idx, 0)] if len(s) else 1.0, 1.0)
    return np.where(weeks <= (dur.max() if len(dur) else -1), out, np.nan)


def hazard_per_run(data: Data | pd.DataFrame, by: str | Sequence[str] | None = None,
                   max_week: int | None = None) -> pd.DataFrame:
    """Weekly hazard of re-employment of each run: ``events / at risk`` per search week.

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame with ``run_id``.
        by: grouping columns (default: ``strategy`` and the swept parameters).
        max_week: last week (default: the longest possible follow-up).

    Returns:
        One row per group, run and week ``1 .. max_week`` with someone at risk:
        grouping columns, ``run_id``, ``seed`` (if known), ``week``, ``at_risk``,
        ``events``, ``hazard``.
    """
    by = _by(data, by)
    last = int(max_week if max_week is not None else _longest(data))
    df = _spells(data)
    keys = [*by, "run_id"] if "run_id" in df else by
    frames = []
    for key, g in _groups(df, keys):
        d = np.clip(g["duration_weeks"].to_numpy(float), 0, None).astype(int)
        ev = np.bincount(d[_observed(g)], minlength=last + 2)[1:last + 1]
        leave = np.bincount(d, minlength=last + 2)
        at_risk = len(d) - np.cumsum(leave)[:last]  # durations >= t: searching in week t
        weeks = np.arange(1, last + 1)
        keep = at_risk > 0
        f = pd.DataFrame({"week": weeks[keep], "at_risk": at_risk[keep], "events": ev[keep]})
        f["hazard"] = f["events"] / f["at_risk"]
        if "seed" in g:
            f.insert(0, "seed", g["seed"].iloc[0])
        for c, v in reversed(list(zip(keys, key, strict=True))):
            f.insert(0, c, v)
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def hazard_run_level(data: Data | pd.DataFrame, by: str | Sequence[str] | None = None,
                     max_week: int | None = None, level: float = 0.95,
                     min_at_risk: int = 1) -> pd.DataFrame:
    """Weekly hazard averaged across runs with a run-level band.

    Estimand: the mean over runs of each run's weekly hazard ``h_r(t)`` (share of
    those still searching at the start of week ``t`` hired in week ``t``). The band
    is the t interval across runs on the logit scale (inside [0, 1]); a run counts
    in a week only if at least ``min_at_risk`` of its spells are at risk (a run with
    one spell at risk has a hazard of 0 or 1, which would dominate a mean of few
    runs); NaN with one run or when the runs agree exactly.

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame with ``run_id``.
        by: grouping columns (default: ``strategy`` and the swept parameters).
        max_week: last week (default: the longest possible follow-up).
        level: confidence level.
        min_at_risk: spells at risk a run needs in a week to count for it.

    Returns:
        One row per group and week with a counted run: grouping columns, ``week``,
        ``hazard``, ``lower``, ``upper``, ``n_runs`` (runs counted), ``at_risk``
        (spells at risk, summed over the counted runs).
    """
    by = _by(data, by)
    h = hazard_per_run(data, by, max_week)
    h = h[h["at_risk"] >= min_at_risk] if not h.empty else h
    if h.empty:
        return h
    frames = []
    for key, g in _groups(h, by):
        wide = g.pivot_table(index="week", columns="run_id", values="hazard", observed=True)
        ri = range_interval(wide.to_numpy(float), (0.0, 1.0), level, axis=1)
        f = pd.DataFrame({"week": wide.index.to_numpy(), "hazard": ri["mean"], "lower": ri["lower"],
                          "upper": ri["upper"], "n_runs": ri["n"],
                          "at_risk": g.groupby("week")["at_risk"].sum().reindex(wide.index).to_numpy()})
        for c, v in reversed(list(zip(by, key, strict=True))):
            f.insert(0, c, v)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def piecewise_hazard_ratio(data: Data | pd.DataFrame, a: str, b: str,
                           bands: Sequence[tuple[int, int]] = BANDS,
                           by: Sequence[str] | None = None, level: float = 0.95) -> pd.DataFrame:
    """Hazard ratio ``a / b`` by band of search weeks, paired by seed.

    Estimand: per band of search weeks (e.g. 1-4, 5-13, 14-26, 27-52), the
    geometric mean over seeds of the ratio of the re-employment rates of ``a`` and
    ``b``, a rate being hires in the band over the weeks searched in the band by
    the spells still searching (a piecewise-constant hazard). It does not assume
    proportional hazards across bands. Per seed and strategy, hires and weeks
    searched are summed over the runs (the other swept factors) and the log rate
    taken with half a hire added (so a seed whose strategy has no hire in a sparse
    band counts, instead of being dropped for a rate of 0, which would bias the
    ratio); per seed, the difference; then a paired t interval across seeds,
    exponentiated (so in (0, inf)). Seeds without weeks searched in the band are
    left out and counted in ``note``.

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame with ``run_id``, ``seed``.
        a: numerator strategy.
        b: denominator strategy.
        bands: ``(first, last)`` search weeks of each band, inclusive; bands
            beyond the follow-up are left out.
        by: cells (default: the swept parameters).
        level: confidence level.

    Returns:
        One row per cell and band: cell columns, ``band`` (``"1-4"``), ``hr``,
        ``hr_lower``, ``hr_upper``, ``p_value``, ``n_seeds``, ``events_a``,
        ``events_b``, ``note``.
    """
    cells = list(data.params if by is None and isinstance(data, Data) else (by or []))
    factors = list(dict.fromkeys([*cells, *(data.params if isinstance(data, Data) else [])]))
    df = _spells(data)
    df = df[df["strategy"].astype(str).isin([a, b])]
    longest = _longest(data)
    rows = []
    for lo, hi in bands:
        if lo > longest:
            continue
        hi_ = min(hi, longest)
        d = df["duration_weeks"].to_numpy(float)
        exposure = np.clip(np.minimum(d, hi_) - (lo - 1), 0, None)
        event = _observed(df) & (d >= lo) & (d <= hi_)
        f = df[[*factors, "strategy", "run_id", "seed"]].assign(
            exposure=exposure, event=event.astype(int))
        f["strategy"] = f["strategy"].astype(str)
        runs = f.groupby([*factors, "strategy", "run_id", "seed"], observed=True,
                         dropna=False)[["exposure", "event"]].sum().reset_index()
        for key, g in _groups(runs, cells):
            tot = g.groupby(["seed", "strategy"])[["event", "exposure"]].sum()
            with np.errstate(divide="ignore", invalid="ignore"):
                log_rate = np.log((tot["event"] + 0.5) / tot["exposure"].where(tot["exposure"] > 0))
            seed = log_rate.unstack("strategy")
            if a not in seed or b not in seed:
                continue
            diff = (seed[a] - seed[b]).to_numpy(float)
            ok = np.isfinite(diff)
            res = paired_difference(diff[ok], (-np.inf, np.inf), level)
            note = interval_note(int(ok.sum()), res["sd"])
            if (~ok).any():
                note = (note + "; " if note else "") + \
                    f"{int((~ok).sum())} seeds without weeks searched in the band (left out)"
            rows.append({**dict(zip(cells, key, strict=True)), "band": f"{lo}-{int(hi_)}",
                         "hr": math.exp(res["diff"]) if np.isfinite(res["diff"]) else np.nan,
                         "hr_lower": math.exp(res["lower"]) if np.isfinite(res["lower"]) else np.nan,
                         "hr_upper": math.exp(res["upper"]) if np.isfinite(res["upper"]) else np.nan,
                         "p_value": res["p_value"], "n_seeds": int(ok.sum()),
                         "events_a": int(g.loc[g["strategy"] == a, "event"].sum()),
                         "events_b": int(g.loc[g["strategy"] == b, "event"].sum()), "note": note})
    out = pd.DataFrame(rows)
    if not out.empty:
        out = out.sort_values([*cells, "band"], key=lambda c: c.map(
            lambda v: int(v.split("-")[0])) if c.name == "band" else c, ignore_index=True)
    return out


# ---------------------------------------------------------------------------- tests


def stratified_logrank(durations, groups, observed, strata=None) -> dict:
    """Log-rank test of equal hazards across groups, stratified.

    Within each stratum the usual log-rank quantities (observed minus expected
    events per group and their hypergeometric covariance at each event time)
    are computed; they are summed over strata and the statistic is
    ``U' V^-1 U`` on ``k - 1`` degrees of freedom (the score test of a Cox model
    with a baseline hazard per stratum). With one stratum it is lifelines'
    ``multivariate_logrank_test``.

    Args:
        durations: time of each spell.
        groups: group label of each spell.
        observed: True where the spell ended in the event.
        strata: stratum label of each spell (e.g. the seed), or None.

    Returns:
        ``{"statistic", "df", "p", "groups": [...], "o_minus_e": {group: O - E},
        "expected": {group: E}}``; a group with ``O - E > 0`` is re-employed sooner
        than under equal hazards.
    """
    dur = np.asarray(durations, float)
    obs = np.asarray(observed, bool)
    lab = np.asarray(groups).astype(str)
    names, gi = np.unique(lab, return_inverse=True)
    k = len(names)
    st = np.zeros(len(dur), int) if strata is None else np.unique(
        np.asarray(strata).astype(str), return_inverse=True)[1]
    # every (stratum, time) at once: rows sorted by stratum then time
    t_rank = np.unique(dur, return_inverse=True)[1].astype(np.int64)
    nt = int(t_rank.max()) + 1 if len(t_rank) else 1
    pairs, pi = np.unique(st.astype(np.int64) * nt + t_rank, return_inverse=True)
    n_pairs = len(pairs)
    count = np.bincount(pi * k + gi, minlength=n_pairs * k).reshape(n_pairs, k).astype(float)
    ev = np.bincount(pi[obs] * k + gi[obs], minlength=n_pairs * k).reshape(n_pairs, k)
    ev = ev.astype(float)
    # at risk at t: durations >= t in the same stratum (a reverse cumulative sum that
    # stops at the stratum's end)
    pst = pairs // nt
    new_stratum = np.r_[True, pst[1:] != pst[:-1]]
    ends = np.r_[np.flatnonzero(new_stratum[1:]), n_pairs - 1]  # each stratum's last pair
    rc = np.cumsum(count[::-1], axis=0)[::-1]
    after = np.vstack([rc[ends[:-1] + 1], np.zeros((1, k))])  # at risk in later strata
    at_risk = rc - after[np.cumsum(new_stratum) - 1]
    d = ev.sum(axis=1)
    n = at_risk.sum(axis=1)
    keep = d > 0
    d, n, nij, oij = d[keep], n[keep], at_risk[keep], ev[keep]
    frac = nij / n[:, None]
    e = d[:, None] * frac
    u = (oij - e).sum(axis=0)
    e_sum = e.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    v = np.diag(w @ frac) - np.einsum("t,tj,tk->jk", w, frac, frac)
    if k < 2:
        stat, df = np.nan, 0
    else:
        stat = float(u[:-1] @ np.linalg.pinv(v[:-1, :-1]) @ u[:-1])
        df = k - 1
    p = float(stats.chi2.sf(stat, df)) if df else np.nan
    names = [str(x) for x in names]
    return {"statistic": stat, "df": df, "p": p, "groups": names,
            "o_minus_e": dict(zip(names, u, strict=True)),
            "expected": dict(zip(names, e_sum, strict=True))}


def logrank(data: Data | pd.DataFrame, group: str = "strategy",
            within: Sequence[str] | None = None, strata: str | None = "seed") -> pd.DataFrame:
    """Log-rank tests of equal re-employment curves across ``group`` values,
    stratified by seed.

    Within each cell of ``within`` (default: the swept parameters), one
    multivariate test across all groups and a pairwise test for each pair, each
    stratified by ``strata`` (:func:`stratified_logrank`: a baseline hazard per
    seed, so spells are compared only with spells of the same market; the score
    test of a Cox model with ``strata=["seed"]``). Holm's adjustment runs across
    every row of the returned table. Within a stratum spells still count as
    independent; the run-level paired comparison is :func:`strategy_difference`.

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame.
        group: the column whose groups are compared.
        within: cell columns (default: the swept parameters).
        strata: stratum column (default ``"seed"``; None or absent: unstratified).

    Returns:
        Columns: cell columns, ``test`` (``multivariate`` | ``pairwise``),
        ``group_a``, ``group_b`` (pairwise only), ``sooner`` (the group re-employed
        sooner than the other by observed minus expected events; pairwise only),
        ``strata`` (column stratified on, or ``"none"``), ``n_strata``,
        ``statistic``, ``df``, ``p``, ``p_holm``.
    """
    cells = list(data.params if within is None and isinstance(data, Data) else (within or []))
    rows = []
    for key, g in _groups(_spells(data), cells):
        levels = g[group].astype(str)
        names = [n for n in (g[group].cat.categories if isinstance(g[group].dtype, pd.CategoricalDtype)
                             else sorted(levels.unique())) if (levels == str(n)).any()]
        if len(names) < 2:
            continue
        cell = dict(zip(cells, key, strict=True))
        dur, obs = g["duration_weeks"].to_numpy(float), _observed(g)
        st = g[strata].to_numpy() if strata and strata in g else None
        info = {"strata": strata if st is not None else "none",
                "n_strata": len(pd.unique(st)) if st is not None else 1}
        mv = stratified_logrank(dur, levels.to_numpy(), obs, st)
        rows.append({**cell, "test": "multivariate", "group_a": None, "group_b": None,
                     "sooner": None, **info, "statistic": mv["statistic"], "df": mv["df"],
                     "p": mv["p"]})
        for i, ga in enumerate(names):
            for gb in names[i + 1:]:
                m = (levels == str(ga)).to_numpy() | (levels == str(gb)).to_numpy()
                pw = stratified_logrank(dur[m], levels.to_numpy()[m], obs[m],
                                        None if st is None else st[m])
                ome = pw["o_minus_e"][str(ga)]
                rows.append({**cell, "test": "pairwise", "group_a": str(ga), "group_b": str(gb),
                             "sooner": str(ga) if ome > 0 else str(gb) if ome < 0 else None,
                             **info, "statistic": pw["statistic"], "df": 1, "p": pw["p"]})
    out = pd.DataFrame(rows)
    if not out.empty:
        out["p_holm"] = holm(out["p"].to_numpy(float))
    return out


# ---------------------------------------------------------------------------- Cox


#: Covariates of the default Cox model: fixed before the strategy acts (ability). The
#: network measures (``degree_at_start``, tie counts) are caused by the strategy:
#: adjusting for them removes the strategy's effect through the network.
TOTAL_EFFECT_COVARIATES = ("ability",)
#: The adjusted model ("effect not through network size").
ADJUSTED_COVARIATES = ("ability", "degree_at_start")


def fit_cox(data: Data | pd.DataFrame, covariates: Sequence[str] = TOTAL_EFFECT_COVARIATES,
            sector: str | None = "strata", within: Sequence[str] | None = None,
            reference: str | None = None, degree: str = "log2", cluster: str | None = "worker",
            penalizer: float = 0.0) -> GroupFits:
    """Cox proportional-hazards models of re-employment: strategy effect and covariates.

    The design has one indicator ``strategy[s]`` per strategy other than
    ``reference``, the numeric ``covariates`` and the worker's sector. The default
    covariates are fixed before the strategy acts, so ``strategy[s]`` estimates
    the strategy's total effect. The strategy changes the worker's network, so
    adding ``degree_at_start`` (:data:`ADJUSTED_COVARIATES`) estimates a different
    quantity: the effect *at a given number of contacts*, not through network size.
    The intervals of a fit pool spells (within-run); to compare scenarios use
    :func:`cox_by_seed` (one fit per seed, combined across seeds).

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame.
        covariates: numeric spell columns; ``degree_at_start`` enters as
            ``log2(1 + degree)`` (hazard ratio per doubling of contacts) unless
            ``degree="raw"``.
        sector: ``"strata"`` (a baseline hazard per sector), ``"dummies"``
            (indicators, first sector the reference) or None.
        within: one model per cell of these columns (default: the swept parameters).
        reference: baseline strategy (default: ``passive`` if present, else the first).
        degree: ``"log2"`` or ``"raw"``.
        cluster: ``"worker"`` (robust variance clustered on run and worker: a worker
            can have several spells), ``"run"``, or None (model-based variance).
        penalizer: lifelines' ridge penalty (0 = none).

    Returns:
        A :class:`GroupFits` of fitted ``lifelines.CoxPHFitter`` keyed by cell.
    """
    cells = list(data.params if within is None and isinstance(data, Data) else (within or []))
    fits = GroupFits(cells)
    for key, g in _groups(_spells(data), cells):
        design, strata, ref = _cox_design(g, covariates, sector, reference, degree, cluster)
        if design is None:
            log.info("Cox: no event in cell %s; skipped", _label(cells, key))
            continue
        cph = CoxPHFitter(penalizer=penalizer)
        cph.fit(design, duration_col="duration_weeks", event_col="event", strata=strata,
                cluster_col="cluster" if cluster else None)
        fits[key] = cph
        fits.meta[key] = {"reference": ref}
    return fits


def _cox_design(g: pd.DataFrame, covariates, sector, reference, degree, cluster):
    g = g[g["duration_weeks"] > 0]  # a spell censored at 0 weeks is never at risk
    if not _observed(g).any():
        return None, None, None
    x = pd.DataFrame({"duration_weeks": g["duration_weeks"].to_numpy(float),
                      "event": _observed(g).astype(int)}, index=g.index)
    strategy = g["strategy"].astype(str)
    order = (list(g["strategy"].cat.categories) if isinstance(g["strategy"].dtype, pd.CategoricalDtype)
             else sorted(strategy.unique()))
    present = [s for s in order if (strategy == s).any()]
    ref = reference or ("passive" if "passive" in present else present[0])
    for s in present:
        if s != ref:
            x[f"strategy[{s}]"] = (strategy == s).to_numpy(int)
    for c in covariates:
        if c == "degree_at_start" and degree == "log2":
            x["log2_degree_at_start"] = np.log2(1.0 + g[c].to_numpy(float))
        else:
            x[c] = g[c].to_numpy(float)
    strata = None
    if sector == "strata":
        x["sector"] = g["sector"].to_numpy()
        strata = ["sector"]
    elif sector == "dummies":
        for s in sorted(g["sector"].unique())[1:]:
            x[f"sector[{s}]"] = (g["sector"] == s).to_numpy(int)
    run = g["run_id"].astype(str) if "run_id" in g else pd.Series("", index=g.index)
    if cluster == "worker":
        x["cluster"] = run + ":" + g["worker_id"].astype(str)
    elif cluster == "run":
        x["cluster"] = run
    return x, strata, ref


def cox_table(fits: GroupFits, alpha: float = 0.05) -> pd.DataFrame:
    """Tidy Cox summary: hazard ratios with confidence intervals and p-values.

    Args:
        fits: the output of :func:`fit_cox`.
        alpha: 1 - confidence level of the hazard-ratio intervals.

    Returns:
        One row per cell and covariate: cell columns, ``covariate``, ``coef``,
        ``se``, ``hr``, ``hr_lower``, ``hr_upper``, ``z``, ``p``, ``n``, ``events``,
        ``reference`` (baseline strategy). A hazard ratio above 1 means faster
        re-employment; ``se`` is cluster-robust when the fit used ``cluster``.
    """
    z = stats.norm.ppf(1 - alpha / 2)
    frames = []
    for key, cph in fits.items():
        s = cph.summary
        f = pd.DataFrame({
            "covariate": s.index.to_numpy(), "coef": s["coef"].to_numpy(),
            "se": s["se(coef)"].to_numpy(), "hr": np.exp(s["coef"]).to_numpy(),
            "hr_lower": np.exp(s["coef"] - z * s["se(coef)"]).to_numpy(),
            "hr_upper": np.exp(s["coef"] + z * s["se(coef)"]).to_numpy(),
            "z": s["z"].to_numpy(), "p": s["p"].to_numpy(),
            "n": cph._n_examples, "events": int(cph.event_observed.sum()),
            "reference": fits.meta.get(key, {}).get("reference"),
        })
        for c, v in reversed(list(fits.key_dict(key).items())):
            f.insert(0, c, v)
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def cox_by_seed(data: Data | pd.DataFrame, covariates: Sequence[str] = TOTAL_EFFECT_COVARIATES,
                within: Sequence[str] | None = None, reference: str | None = None,
                sector: str | None = "strata", level: float = 0.95) -> pd.DataFrame:
    """Cox hazard ratios with runs as the unit: one fit per seed, combined across seeds.

    Estimand: the hazard ratio of re-employment of each strategy against
    ``reference`` (total effect with the default covariates, which are fixed before
    the strategy acts), as the geometric mean over seeds (markets) of the per-seed
    hazard ratios. Per cell of ``within`` and per seed, a Cox model is fitted on
    the spells of that seed (every run of the seed in the cell: the strategies'
    runs share the seed's market); the log hazard ratios are averaged over seeds
    with a t interval across seeds (``n_seeds - 1`` degrees of freedom) and
    exponentiated, so the interval lies in (0, inf). This avoids lifelines'
    cluster-robust variance, which ignores tied times. One seed: the estimate
    without interval ("no replicates").

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame with ``seed``.
        covariates: as in :func:`fit_cox`.
        within: cells (default: the swept parameters).
        reference: baseline strategy (default: ``passive`` if present, else the first).
        sector: as in :func:`fit_cox`.
        level: confidence level.

    Returns:
        One row per cell and covariate: cell columns, ``covariate``, ``hr``,
        ``hr_lower``, ``hr_upper``, ``coef`` (mean log hazard ratio), ``se``
        (between-seed standard error), ``p`` (one-sample t test of the per-seed
        log hazard ratios), ``n_seeds``, ``n`` (spells), ``events``, ``reference``,
        ``note``.
    """
    cells = list(data.params if within is None and isinstance(data, Data) else (within or []))
    df = _spells(data)
    if "seed" not in df:
        df = df.assign(seed=0)
    rows = []
    for key, g in _groups(df, cells):
        present = [s for s in (g["strategy"].cat.categories if isinstance(
            g["strategy"].dtype, pd.CategoricalDtype) else sorted(g["strategy"].unique()))
            if (g["strategy"] == s).any()]
        ref = reference or ("passive" if "passive" in present else present[0])
        coefs, n, events, failed, missing = [], 0, 0, 0, 0
        for _, gs in g.groupby("seed", sort=True):
            if set(gs["strategy"].astype(str).unique()) != set(map(str, present)):
                missing += 1  # a seed without every strategy of the cell
                continue
            design, strata, _ = _cox_design(gs, covariates, sector, ref, "log2", None)
            if design is None:
                continue
            names = [c for c in design.columns if c not in ("duration_weeks", "event", "sector")]
            fit = cox_efron(design["duration_weeks"].to_numpy(float), design["event"].to_numpy(),
                            design[names].to_numpy(float),
                            design["sector"].to_numpy() if strata else None)
            if not fit.converged:
                failed += 1  # e.g. a strategy without events: a diverging log-HR, not an estimate
                continue
            coefs.append(pd.Series(fit.coef, index=names))
            n += len(design)
            events += int(design["event"].sum())
        if not coefs:
            log.info("Cox by seed: no seed with every strategy in cell %s", _label(cells, key))
            continue
        c = pd.DataFrame(coefs)
        for cov in c.columns:
            ri = paired_difference(c[cov].to_numpy(float), (-np.inf, np.inf), level)
            se = ri["sd"] / math.sqrt(ri["n"]) if ri["n"] > 1 else np.nan
            rows.append({**dict(zip(cells, key, strict=True)), "covariate": cov,
                         "hr": math.exp(ri["diff"]),
                         "hr_lower": math.exp(ri["lower"]) if np.isfinite(ri["lower"]) else np.nan,
                         "hr_upper": math.exp(ri["upper"]) if np.isfinite(ri["upper"]) else np.nan,
                         "coef": ri["diff"], "se": se, "p": ri["p_value"], "n_seeds": ri["n"],
                         "n": n, "events": events, "reference": ref,
                         "note": "; ".join(x for x in (
                             interval_note(ri["n"], ri["sd"]),
                             f"{failed} seeds' fits did not converge (left out)" if failed else "",
                             f"{missing} seeds without every strategy (left out)" if missing else "")
                             if x)})
    return pd.DataFrame(rows)


def ph_test(data: Data | pd.DataFrame, covariates: Sequence[str] = TOTAL_EFFECT_COVARIATES,
            within: Sequence[str] | None = None, reference: str | None = None) -> pd.DataFrame:
    """Test of proportional hazards (scaled Schoenfeld residuals against Kaplan-Meier time).

    Per cell, one Cox model with a baseline hazard per seed and sector (spells
    pooled within seed) is fitted and the statistic of lifelines'
    ``proportional_hazard_test(..., time_transform="km")`` computed on it
    (:func:`analysis.coxph.ph_test_km`, equal to lifelines' and 30 times faster with
    thousands of strata; R's ``cox.zph`` default transform; with ties and many strata
    the rank transform loses the signal): a small
    p-value says the covariate's hazard ratio changes with the duration of search,
    so one hazard ratio averages effects that differ by week (see
    :func:`piecewise_hazard_ratio`). Spells count as independent within seed: with
    many spells the test finds even small departures.

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame.
        covariates: as in :func:`fit_cox`.
        within: cells (default: the swept parameters).
        reference: baseline strategy.

    Returns:
        One row per cell and covariate: cell columns, ``covariate``, ``statistic``
        (chi-squared, 1 df), ``p``.
    """
    cells = list(data.params if within is None and isinstance(data, Data) else (within or []))
    df = _spells(data)
    rows = []
    for key, g in _groups(df, cells):
        if "seed" in g:
            g = g.assign(sector=g["seed"].astype(str) + "|" + g["sector"].astype(str))
        design, strata, _ = _cox_design(g, covariates, "strata", reference, "log2", None)
        if design is None or design.shape[1] <= 3:
            continue
        names = [c for c in design.columns if c not in ("duration_weeks", "event", "sector")]
        res = ph_test_km(design["duration_weeks"].to_numpy(float), design["event"].to_numpy(),
                         design[names].to_numpy(float), design["sector"].to_numpy())
        if res is None:
            log.info("PH test: the Cox fit did not converge in cell %s", _label(cells, key))
            continue
        for cov, stat, pv in zip(names, *res, strict=True):
            rows.append({**dict(zip(cells, key, strict=True)), "covariate": cov,
                         "statistic": float(stat), "p": float(pv)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- hazard


def hazard_by_duration(data: Data | pd.DataFrame, by: str | Sequence[str] | None = None,
                       max_week: int | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Discrete-time weekly hazard of re-employment by spell duration.

    ``h(t) = d_t / n_t``: spells ending with a hire in search week ``t`` over spells
    still searching at the start of week ``t`` (from lifelines' event table), with
    an exact binomial (Clopper-Pearson) interval. Durations are whole weeks. The
    interval is WITHIN-RUN (spells pooled over runs, treated as independent); for
    comparing scenarios use :func:`hazard_run_level`.

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame.
        by: grouping columns (default: ``strategy`` and the swept parameters).
        max_week: last week reported (default: the last with anyone at risk).
        alpha: 1 - confidence level.

    Returns:
        Columns: grouping columns, ``week``, ``at_risk``, ``events``, ``hazard``,
        ``lower``, ``upper``.
    """
    fits = fit_km(data, by, alpha)
    frames = []
    for key, kmf in fits.items():
        et = kmf.event_table
        last = int(et.index.max()) if max_week is None else int(max_week)
        weeks = np.arange(1, last + 1)
        t = et.reindex(weeks)
        # nobody leaves in a week missing from the table: at risk as in the next listed week
        at_risk = t["at_risk"].bfill().fillna(0).to_numpy(int)
        events = t["observed"].fillna(0).to_numpy(int)
        keep = at_risk > 0
        lo, hi = clopper_pearson(events[keep], at_risk[keep], 1 - alpha)
        f = pd.DataFrame({"week": weeks[keep], "at_risk": at_risk[keep], "events": events[keep],
                          "hazard": events[keep] / at_risk[keep], "lower": lo, "upper": hi})
        for c, v in reversed(list(fits.key_dict(key).items())):
            f.insert(0, c, v)
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
