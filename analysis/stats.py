"""Small statistical helpers: intervals across replicate runs that stay inside the
quantity's range, paired differences, Holm's adjustment, intervals for proportions
and counts, and the sampling variance of a Kaplan-Meier restricted mean.

Runs are the unit of inference for comparisons between simulated scenarios: the
spells of one run share a market, so intervals treating spells as independent
are too narrow. :func:`range_interval` (mean of per-run values with a transformed
t interval) and :func:`paired_difference` (per-seed differences, paired t) are the
run-level tools; :func:`clopper_pearson`, :func:`poisson_interval` and
:func:`km_rmst_variance` describe one run (within-run intervals).

The survival estimators themselves come from lifelines (:mod:`analysis.survival`);
this module holds only what lifelines does not provide.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats


def t_interval(values, level: float = 0.95) -> dict[str, float]:
    """Mean and t-based confidence interval of replicate estimates.

    Args:
        values: one estimate per replicate (run); NaN values are an error
            upstream and make the result NaN.
        level: confidence level.

    Returns:
        ``{"mean", "sd", "n", "lower", "upper"}``; the interval is NaN with fewer
        than two replicates.
    """
    x = np.asarray(values, dtype=float)
    n = len(x)
    mean = float(x.mean()) if n else np.nan
    if n < 2:
        return {"mean": mean, "sd": np.nan, "n": n, "lower": np.nan, "upper": np.nan}
    sd = float(x.std(ddof=1))
    half = stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n)
    return {"mean": mean, "sd": sd, "n": n, "lower": mean - half, "upper": mean + half}


def clopper_pearson(k, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) interval of a binomial proportion ``k / n``.

    Args:
        k: successes (array-like).
        n: trials (array-like, same shape); NaN bounds where ``n == 0``.
        level: confidence level.

    Returns:
        ``(lower, upper)`` arrays.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    a = (1 - level) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(k > 0, stats.beta.ppf(a, k, n - k + 1), 0.0)
        upper = np.where(k < n, stats.beta.ppf(1 - a, k + 1, n - k), 1.0)
    bad = n <= 0
    return np.where(bad, np.nan, lower), np.where(bad, np.nan, upper)


def poisson_interval(k, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval of a Poisson mean from a count ``k``.

    Args:
        k: observed counts (array-like).
        level: confidence level.

    Returns:
        ``(lower, upper)`` arrays of the mean count.
    """
    k = np.asarray(k, dtype=float)
    a = 1 - level
    lower = np.where(k > 0, stats.chi2.ppf(a / 2, 2 * k) / 2, 0.0)
    upper = stats.chi2.ppf(1 - a / 2, 2 * (k + 1)) / 2
    return lower, upper


def km_rmst_variance(kmf, tau: float) -> float:
    """Sampling variance of the Kaplan-Meier restricted mean survival time.

    The Greenwood-type estimator (Klein & Moeschberger 2003, eq. 4.5.1):
    ``Var = sum_{t_j <= tau} A_j^2 d_j / (Y_j (Y_j - d_j))`` with
    ``A_j = integral_{t_j}^{tau} S(u) du``. lifelines'
    ``restricted_mean_survival_time(..., return_variance=True)`` returns the
    variance of ``min(T, tau)`` in the population, not this.

    Args:
        kmf: a fitted ``lifelines.KaplanMeierFitter``.
        tau: the restriction horizon.

    Returns:
        The variance (0 if there is no event before ``tau``).
    """
    et = kmf.event_table
    et = et[(et["observed"] > 0) & (et.index.to_numpy() <= tau)]
    if et.empty:
        return 0.0
    t = et.index.to_numpy(dtype=float)
    d = et["observed"].to_numpy(dtype=float)
    y = et["at_risk"].to_numpy(dtype=float)
    s = np.cumprod(1.0 - d / y)  # S just after each event time
    widths = np.diff(np.append(t, tau))
    a = np.cumsum((s * widths)[::-1])[::-1]  # A_j: area under S from t_j to tau
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > d, a**2 * d / (y * (y - d)), 0.0)
    return float(terms.sum())


# ---------------------------------------------------------------------------- runs as the unit

#: Fewer replicate runs than this in a cell: its intervals rest on few runs (said so
#: in the tables and the report).
FEW_RUNS = 5
NO_REPLICATES = "no replicates (1 run): no interval"
IDENTICAL = "replicates identical: no interval"


def few_runs_note(n: int) -> str:
    """The note attached to an interval across ``n`` runs ("" when ``n >= FEW_RUNS``)."""
    if n < 2:
        return NO_REPLICATES
    if n < FEW_RUNS:
        return f"few runs ({n}): wide, approximate interval"
    return ""


def range_interval(values, bounds: tuple[float | None, float | None] = (None, None),
                   level: float = 0.95, axis: int = 0) -> dict[str, np.ndarray | float]:
    """Mean of per-run estimates with a t interval that stays inside the quantity's range.

    The estimand is the mean over runs (replicates) of a per-run quantity; its
    standard error is ``sd / sqrt(n)`` over the runs (runs, not spells, are the
    independent units). The ``level`` t interval (``n - 1`` degrees of freedom) is
    formed on a scale on which the range is unbounded and mapped back (delta
    method), so it always contains the mean and never leaves the range:

    - both bounds finite (shares in [0, 1], an RMST in [0, tau]): logit of
      ``(m - lo) / (hi - lo)``;
    - only the lower bound (durations, ratios): log of ``m - lo``;
    - no bound: the plain t interval.

    With fewer than two runs, or runs whose values are all identical (an interval
    of width 0 would look precise and is not), the interval is NaN. NaN values
    (a run without the quantity) are left out of ``n``.

    Args:
        values: per-run estimates, 1-d, or 2-d with runs along ``axis`` (e.g. a
            survival curve per run on a common grid: one interval per column).
        bounds: ``(lower, upper)`` of the quantity's range; None for unbounded.
        level: confidence level.
        axis: the runs' axis of a 2-d ``values``.

    Returns:
        ``{"mean", "sd", "n", "lower", "upper"}``: floats for 1-d input, arrays
        for 2-d.
    """
    x = np.asarray(values, dtype=float)
    scalar = x.ndim == 1
    x = x[:, None] if scalar else np.moveaxis(x, axis, 0)
    n = np.sum(np.isfinite(x), axis=0)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(np.where(np.isfinite(x), x, np.nan), axis=0)
        sd = np.nanstd(np.where(np.isfinite(x), x, np.nan), axis=0, ddof=1)
        tq = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
        se = sd / np.sqrt(n)
        lo, hi = bounds
        lo = -np.inf if lo is None else float(lo)
        hi = np.inf if hi is None else float(hi)
        if np.isfinite(lo) and np.isfinite(hi):
            p = (mean - lo) / (hi - lo)
            g = np.log(p / (1 - p))
            half = tq * se / ((hi - lo) * p * (1 - p))
            lower = lo + (hi - lo) / (1 + np.exp(-(g - half)))
            upper = lo + (hi - lo) / (1 + np.exp(-(g + half)))
        elif np.isfinite(lo):
            g = np.log(mean - lo)
            half = tq * se / (mean - lo)
            lower, upper = lo + np.exp(g - half), lo + np.exp(g + half)
        elif np.isfinite(hi):
            g = np.log(hi - mean)
            half = tq * se / (hi - mean)
            lower, upper = hi - np.exp(g + half), hi - np.exp(g - half)
        else:
            lower, upper = mean - tq * se, mean + tq * se
    # runs that agree up to floating-point noise (e.g. differences of 1.0000000000004) are
    # identical: their spread is 0, and they get no interval (not a spurious tiny one)
    sd = np.where(sd <= 1e-10 * np.maximum(1.0, np.abs(mean)), 0.0, sd)
    bad = (n < 2) | ~(sd > 0) | ~np.isfinite(lower) | ~np.isfinite(upper)
    lower, upper = np.where(bad, np.nan, lower), np.where(bad, np.nan, upper)
    sd = np.where(n < 2, np.nan, sd)
    if scalar:
        return {"mean": float(mean[0]), "sd": float(sd[0]), "n": int(n[0]),
                "lower": float(lower[0]), "upper": float(upper[0])}
    return {"mean": mean, "sd": sd, "n": n, "lower": lower, "upper": upper}


def interval_note(n: int, sd: float) -> str:
    """Why an interval across ``n`` runs with spread ``sd`` is missing or weak ("" if fine)."""
    if n >= 2 and not (sd > 0):
        return IDENTICAL
    return few_runs_note(n)


def paired_difference(d, bounds: tuple[float, float] = (-np.inf, np.inf),
                      level: float = 0.95) -> dict[str, float]:
    """Mean of paired per-seed differences, paired t interval and two-sided p-value.

    The interval is the paired t interval intersected with the difference's
    possible range (``bounds``, e.g. ``(-1, 1)`` for a difference of shares): a
    difference can be negative, so it is not transformed.

    Args:
        d: one difference per seed (e.g. lions minus everyone in the runs of that seed).
        bounds: the range a difference can take.
        level: confidence level.

    Returns:
        ``{"diff", "sd", "n", "lower", "upper", "p_value"}``; interval and p-value
        NaN with fewer than two seeds or identical differences.
    """
    ti = range_interval(d, (None, None), level)
    p = np.nan
    if np.isfinite(ti["lower"]):
        x = np.asarray(d, float)
        x = x[np.isfinite(x)]
        p = float(stats.ttest_1samp(x, 0.0).pvalue)
    lo, hi = bounds
    lower = max(ti["lower"], lo) if np.isfinite(ti["lower"]) else np.nan
    upper = min(ti["upper"], hi) if np.isfinite(ti["upper"]) else np.nan
    return {"diff": ti["mean"], "sd": ti["sd"], "n": ti["n"], "lower": lower, "upper": upper,
            "p_value": p}


def holm(p) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values.

    Args:
        p: p-values (array-like); NaN entries are not tests: they are left out of
            the family and stay NaN.

    Returns:
        Adjusted p-values, same shape; each >= its raw value and <= 1.
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    q = p[ok]
    m = len(q)
    if m == 0:
        return out
    order = np.argsort(q, kind="stable")
    adj = np.maximum.accumulate((m - np.arange(m)) * q[order])
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out
