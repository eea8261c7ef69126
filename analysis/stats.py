"""Small statistical helpers: intervals across replicates, for proportions and
counts, and the sampling variance of a Kaplan-Meier restricted mean.

The survival estimators themselves come from lifelines (:mod:`analysis.survival`);
this module holds only what lifelines does not provide.
"""

from __future__ import annotations

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
