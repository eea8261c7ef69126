"""Time to re-employment: survival analysis of right-censored unemployment spells.

All estimators come from lifelines (Kaplan-Meier, log-rank, Cox); this module
groups the spells, fits, and returns lifelines fit objects or tidy tables (one row
per group and quantity). A duration is in weeks: a hire in week ``t`` of search
ends a spell of ``t`` weeks; a spell still running at the end is censored at the
weeks it was searched (README "Outputs").

Two kinds of interval are reported, for two questions:

- **pooled** (:func:`pooled_summary`): the Kaplan-Meier interval from all spells of
  a group pooled; it treats spells as independent and ignores run-to-run
  variation (spells of one run share a market), so it is too narrow for
  comparisons between simulated scenarios;
- **across replicates** (:func:`replicate_summary`, :func:`strategy_difference`):
  one estimate per run (seed), then the mean with a t interval over runs. This
  is the interval to report for a simulation experiment.

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
from lifelines.statistics import multivariate_logrank_test, pairwise_logrank_test
from lifelines.utils import median_survival_times, restricted_mean_survival_time
from scipy import stats

from analysis.data import Data
from analysis.stats import clopper_pearson, km_rmst_variance, t_interval

log = logging.getLogger(__name__)

DEFAULT_HORIZON = 52  # weeks: RMST horizon (one year)
WITHIN = 4  # weeks: "re-employed within a month" (RESEARCH.md section 4)
METRICS = ("median", "rmst", "share_within")
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
            Greenwood intervals).

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


def pooled_summary(data: Data | pd.DataFrame, by: str | Sequence[str] | None = None,
                   horizon: float = DEFAULT_HORIZON, at: float = WITHIN,
                   alpha: float = 0.05) -> pd.DataFrame:
    """Median, RMST and share re-employed within ``at`` weeks, spells pooled.

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame.
        by: grouping columns (default: ``strategy`` and the swept parameters).
        horizon: RMST horizon in weeks (clipped to the longest possible follow-up).
        at: time point of the share re-employed, in weeks.
        alpha: 1 - confidence level.

    Returns:
        One row per group: ``n_spells``, ``n_events``, ``n_runs``, ``median`` (inf
        if fewer than half the spells end) with ``median_lower/upper`` (from the KM
        band), ``rmst`` with ``rmst_se`` and normal ``rmst_lower/upper``
        (Greenwood-type variance, :func:`analysis.stats.km_rmst_variance`),
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
            "rmst": est["rmst"], "rmst_se": se, "rmst_lower": est["rmst"] - z * se,
            "rmst_upper": est["rmst"] + z * se,
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
        kmf = KaplanMeierFitter().fit(g["duration_weeks"].to_numpy(float), _observed(g))
        row = dict(zip(keys, key, strict=True))
        if "seed" in g:
            row["seed"] = g["seed"].iloc[0]
        rows.append({**row, "n_spells": len(g), "n_events": int(_observed(g).sum()),
                     **_estimates(kmf, tau, at)})
    out = pd.DataFrame(rows)
    if cache is not None:
        cache[(tuple(by), tau, at)] = out.copy()
    return out


def replicate_summary(data: Data | pd.DataFrame, by: str | Sequence[str] | None = None,
                      horizon: float = DEFAULT_HORIZON, at: float = WITHIN,
                      level: float = 0.95) -> pd.DataFrame:
    """Median, RMST and share within ``at`` weeks: mean and t interval across runs.

    Each run (seed) gives one estimate per group (:func:`per_run`); the table
    reports their mean, s.d. and a ``level`` t interval (``mean +/- t_{n-1} sd/sqrt(n)``).
    A run whose KM curve never reaches 0.5 has no median: ``median_undefined``
    counts them, and the median columns are NaN if any run lacks one (RMST is
    always defined, so it is the safer headline).

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame with ``run_id``.
        by: grouping columns (default: ``strategy`` and the swept parameters).
        horizon: RMST horizon in weeks.
        at: time point of the share re-employed.
        level: confidence level.

    Returns:
        One row per group: ``n_runs``, ``n_spells``, and for each of ``median``,
        ``rmst``, ``share_within``: ``<m>_mean``, ``<m>_sd``, ``<m>_lower``,
        ``<m>_upper``; ``median_undefined``; ``horizon``, ``at``.
    """
    by = _by(data, by)
    est = per_run(data, by, horizon, at)
    rows = []
    for key, g in _groups(est, by):
        row = {**dict(zip(by, key, strict=True)), "n_runs": len(g), "n_spells": int(g["n_spells"].sum())}
        undefined = int(np.isinf(g["median"]).sum())
        for m in METRICS:
            vals = g[m].to_numpy(float)
            ti = t_interval(vals, level) if not np.isinf(vals).any() else dict.fromkeys(
                ("mean", "sd", "lower", "upper"), np.nan)
            row.update({f"{m}_{k}": ti[k] for k in ("mean", "sd", "lower", "upper")})
        row["median_undefined"] = undefined
        rows.append(row)
    out = pd.DataFrame(rows)
    out["horizon"], out["at"] = _horizon(data, horizon), at
    return out


def strategy_difference(data: Data | pd.DataFrame, a: str = "lions", b: str = "everyone",
                        metric: str = "rmst", by: Sequence[str] | None = None,
                        horizon: float = DEFAULT_HORIZON, at: float = WITHIN,
                        level: float = 0.95) -> pd.DataFrame:
    """Difference ``a - b`` of a per-run metric, paired by seed where possible.

    Runs that differ only by strategy share their seed and so their market and
    shocks (common random numbers); in a mixed population both strategies are in
    the same run. Within each cell of ``by`` the per-run estimates of ``a`` and
    ``b`` are paired on ``seed`` (paired t interval) when every seed has exactly one
    of each; otherwise the interval is Welch's for two independent samples.

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
        One row per cell: ``diff``, ``lower``, ``upper``, ``p_value``, ``paired``,
        ``n_a``, ``n_b``, ``metric``; cells lacking either strategy are left out.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}")
    cells = list(data.params if by is None and isinstance(data, Data) else (by or []))
    est = per_run(data, ["strategy", *cells], horizon, at)
    rows = []
    for key, g in _groups(est, cells):
        va = g[g["strategy"] == a]
        vb = g[g["strategy"] == b]
        if va.empty or vb.empty:
            continue
        row = {**dict(zip(cells, key, strict=True)), "metric": metric, "n_a": len(va),
               "n_b": len(vb)}
        row.update(_difference(va, vb, metric, level))
        rows.append(row)
    return pd.DataFrame(rows)


def _difference(va: pd.DataFrame, vb: pd.DataFrame, metric: str, level: float) -> dict:
    x, y = va[metric].to_numpy(float), vb[metric].to_numpy(float)
    nan = {"diff": np.nan, "lower": np.nan, "upper": np.nan, "p_value": np.nan}
    if np.isinf(x).any() or np.isinf(y).any():
        return {**nan, "paired": False}
    if ("seed" in va and va["seed"].is_unique and vb["seed"].is_unique
            and set(va["seed"]) == set(vb["seed"])):
        d = va.set_index("seed")[metric] - vb.set_index("seed")[metric]
        ti = t_interval(d.to_numpy(float), level)
        p = stats.ttest_1samp(d, 0.0).pvalue if len(d) > 1 and ti["sd"] > 0 else np.nan
        return {"diff": ti["mean"], "lower": ti["lower"], "upper": ti["upper"],
                "p_value": float(p), "paired": True}
    diff = x.mean() - y.mean()
    if len(x) < 2 or len(y) < 2:
        return {**nan, "diff": diff, "paired": False}
    with warnings.catch_warnings():  # identical samples (e.g. a switch that removes the
        warnings.simplefilter("ignore", RuntimeWarning)  # difference) are not an error
        res = stats.ttest_ind(x, y, equal_var=False)
    ci = res.confidence_interval(level)
    return {"diff": diff, "lower": ci.low, "upper": ci.high, "p_value": float(res.pvalue),
            "paired": False}


# ---------------------------------------------------------------------------- tests


def logrank(data: Data | pd.DataFrame, group: str = "strategy",
            within: Sequence[str] | None = None) -> pd.DataFrame:
    """Log-rank tests of equal re-employment curves across ``group`` values.

    Within each cell of ``within`` (default: the swept parameters), one
    multivariate test across all groups and a pairwise test for each pair, with
    Holm-adjusted p-values. The tests treat spells as independent: spells of one
    run share a market, so with many spells per run prefer the replicate
    intervals (:func:`strategy_difference`) for inference about scenarios.

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame.
        group: the column whose groups are compared.
        within: cell columns (default: the swept parameters).

    Returns:
        Columns: cell columns, ``test`` (``multivariate`` | ``pairwise``),
        ``group_a``, ``group_b`` (pairwise only), ``statistic``, ``df``, ``p``, ``p_holm``.
    """
    cells = list(data.params if within is None and isinstance(data, Data) else (within or []))
    rows = []
    for key, g in _groups(_spells(data), cells):
        levels = g[group].astype(str)
        if levels.nunique() < 2:
            continue
        cell = dict(zip(cells, key, strict=True))
        dur, obs = g["duration_weeks"].to_numpy(float), _observed(g)
        mv = multivariate_logrank_test(dur, levels.to_numpy(), obs)
        rows.append({**cell, "test": "multivariate", "group_a": None, "group_b": None,
                     "statistic": mv.test_statistic, "df": mv.degrees_of_freedom, "p": mv.p_value,
                     "p_holm": mv.p_value})
        pw = pairwise_logrank_test(dur, levels.to_numpy(), obs).summary
        p_holm = _holm(pw["p"].to_numpy())
        for (ga, gb), r, ph in zip(pw.index, pw.itertuples(), p_holm, strict=True):
            rows.append({**cell, "test": "pairwise", "group_a": ga, "group_b": gb,
                         "statistic": r.test_statistic, "df": 1, "p": r.p, "p_holm": ph})
    return pd.DataFrame(rows)


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of p-values."""
    m = len(p)
    order = np.argsort(p)
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


# ---------------------------------------------------------------------------- Cox


def fit_cox(data: Data | pd.DataFrame, covariates: Sequence[str] = ("ability", "degree_at_start"),
            sector: str | None = "strata", within: Sequence[str] | None = None,
            reference: str | None = None, degree: str = "log2", cluster: str | None = "worker",
            penalizer: float = 0.0) -> GroupFits:
    """Cox proportional-hazards models of re-employment: strategy effect and covariates.

    The design has one indicator ``strategy[s]`` per strategy other than
    ``reference``, the numeric ``covariates`` and the worker's sector. Note that
    the strategy changes the worker's network, so adjusting for ``degree_at_start``
    estimates the strategy effect *at a given degree*, not its total effect; pass
    ``covariates=("ability",)`` for the latter.

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


# ---------------------------------------------------------------------------- hazard


def hazard_by_duration(data: Data | pd.DataFrame, by: str | Sequence[str] | None = None,
                       max_week: int | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Discrete-time weekly hazard of re-employment by spell duration.

    ``h(t) = d_t / n_t``: spells ending with a hire in search week ``t`` over spells
    still searching at the start of week ``t`` (from lifelines' event table), with
    an exact binomial (Clopper-Pearson) interval. Durations are whole weeks.

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
