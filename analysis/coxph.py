"""A small, fast Cox proportional-hazards fit (Efron ties, strata), for many small fits.

:func:`analysis.survival.cox_by_seed` fits one Cox model per seed and cell: on a
sweep of thousands of runs that is thousands of fits of a few hundred to a few
thousand spells and two or three covariates. lifelines' ``CoxPHFitter`` spends most
of such a fit on bookkeeping (summary statistics of the data, baseline hazards,
variance), about 0.1 s each; :func:`cox_efron` maximises the same partial likelihood
(Efron's approximation for tied times, a baseline hazard per stratum) by
Newton-Raphson with step halving, vectorised over strata and event times, and
returns the coefficients only. ``tests/test_inference.py`` checks it against
lifelines to 1e-6 on tied, stratified data, and that it reports a fit without a
finite maximum (separation: a covariate whose level has no event) as not converged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from lifelines import KaplanMeierFitter
from scipy import stats

#: a log hazard ratio beyond this is separation (a hazard ratio of e^15 is not an estimate)
MAX_COEF = 15.0


@dataclass
class CoxFit:
    """Result of :func:`cox_efron`.

    Attributes:
        coef: the log hazard ratios, one per column of ``x`` (NaN if not converged).
        converged: whether Newton-Raphson reached a finite maximum.
        iterations: Newton steps taken.
        loglik: the partial log-likelihood at ``coef``.
        variance: model-based covariance of ``coef`` (the inverse of the observed
            information), when converged.
        schoenfeld: the Schoenfeld residuals, one row per event (Efron's weighted mean
            of the tied events' risk sets), when converged.
        event_duration: the duration of each row of ``schoenfeld``.
    """

    coef: np.ndarray
    converged: bool
    iterations: int
    loglik: float
    variance: np.ndarray | None = None
    schoenfeld: np.ndarray | None = None
    event_duration: np.ndarray | None = None


def cox_efron(duration: np.ndarray, event: np.ndarray, x: np.ndarray,
              strata: np.ndarray | None = None, max_iter: int = 50,
              tol: float = 1e-9) -> CoxFit:
    """Maximum partial-likelihood Cox coefficients (Efron ties, one baseline per stratum).

    Args:
        duration: time of each spell (ties allowed).
        event: 1 (or True) where the spell ended in the event, 0 where censored.
        x: covariates, shape ``(n, p)``.
        strata: stratum label of each spell (None: one stratum).
        max_iter: most Newton steps.
        tol: convergence when the largest change of a coefficient is below it.

    Returns:
        A :class:`CoxFit`; ``converged`` is false when no finite maximum was reached
        (e.g. a covariate level without events), and ``coef`` is then NaN.
    """
    duration = np.asarray(duration, dtype=float)
    event = np.asarray(event).astype(bool)
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    n, p = x.shape
    strata = np.zeros(n, dtype=np.int64) if strata is None else \
        np.unique(np.asarray(strata), return_inverse=True)[1]
    # within each stratum, rows by descending time: the risk set at time t is the
    # stratum's rows up to the last row with that time
    order = np.lexsort((-duration, strata))
    t, d, s, z = duration[order], event[order], strata[order], x[order]
    z = z - z.mean(axis=0)  # centring leaves the coefficients unchanged, steadies exp()
    new_group = np.r_[True, (t[1:] != t[:-1]) | (s[1:] != s[:-1])]
    group = np.cumsum(new_group) - 1
    last = np.r_[np.flatnonzero(new_group)[1:] - 1, n - 1]  # last row of each group
    stratum_start = np.r_[0, np.flatnonzero(s[1:] != s[:-1]) + 1]
    start_of_row = np.repeat(stratum_start, np.diff(np.r_[stratum_start, n]))
    group_start = start_of_row[last]  # first row of each group's stratum
    n_events = np.bincount(group, weights=d, minlength=len(last))
    has = n_events > 0
    if not has.any():
        return CoxFit(np.full(p, np.nan), False, 0, np.nan)
    ev_groups = np.flatnonzero(has)
    d_g = n_events[ev_groups].astype(np.int64)
    # Efron: the l-th of d tied events sees the risk set minus l/d of the tied events
    rep = np.repeat(np.arange(len(ev_groups)), d_g)
    frac = (np.arange(len(rep)) - np.repeat(np.cumsum(d_g) - d_g, d_g)) / np.repeat(d_g, d_g)
    zz = z[:, :, None] * z[:, None, :]
    ev_rows = np.flatnonzero(d)
    sum_x_events = z[ev_rows].sum(axis=0)

    def parts(beta):  # log-likelihood, gradient, Hessian, Efron's mean of x per event
        eta = z @ beta
        theta = np.exp(eta)
        def risk(values):  # sums over each event group's risk set
            cs = np.cumsum(values, axis=0)
            before = np.where(group_start[ev_groups] > 0, group_start[ev_groups] - 1, 0)
            out = cs[last[ev_groups]]
            return out - np.where((group_start[ev_groups] > 0).reshape(
                (-1,) + (1,) * (values.ndim - 1)), cs[before], 0.0)

        def tied(values):  # sums over each event group's events
            w = values * d.reshape((-1,) + (1,) * (values.ndim - 1))
            shape = (len(last),) + values.shape[1:]
            out = np.zeros(shape)
            np.add.at(out, group, w)
            return out[ev_groups]

        th1, th2 = theta[:, None] * z, theta[:, None, None] * zz
        r0, r1, r2 = risk(theta), risk(th1), risk(th2)
        e0, e1, e2 = tied(theta), tied(th1), tied(th2)
        den = r0[rep] - frac * e0[rep]
        num1 = r1[rep] - frac[:, None] * e1[rep]
        num2 = r2[rep] - frac[:, None, None] * e2[rep]
        loglik = float(eta[ev_rows].sum() - np.log(den).sum())
        mean1 = num1 / den[:, None]
        grad = sum_x_events - mean1.sum(axis=0)
        hess = -((num2 / den[:, None, None]).sum(axis=0)
                 - (mean1[:, :, None] * mean1[:, None, :]).sum(axis=0))
        return loglik, grad, hess, mean1

    beta = np.zeros(p)
    loglik, grad, hess, mean1 = parts(beta)
    for it in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(hess, -grad)
        except np.linalg.LinAlgError:
            return CoxFit(np.full(p, np.nan), False, it, loglik)
        scale = 1.0
        while True:  # step halving: the partial likelihood is concave, so this ends
            trial = beta + scale * step
            new = parts(trial)
            if np.isfinite(new[0]) and new[0] >= loglik - 1e-12:
                break
            scale /= 2
            if scale < 1e-10:
                return CoxFit(np.full(p, np.nan), False, it, loglik)
        change = np.max(np.abs(trial - beta))
        beta, (loglik, grad, hess, mean1) = trial, new
        if np.max(np.abs(beta)) > MAX_COEF:
            return CoxFit(np.full(p, np.nan), False, it, loglik)
        if change < tol:
            mean_g = np.zeros((len(ev_groups), p))  # Efron's mean of x at each event time
            np.add.at(mean_g, rep, mean1 / np.repeat(d_g, d_g)[:, None])
            slot = np.full(len(last), -1)
            slot[ev_groups] = np.arange(len(ev_groups))
            resid = z[ev_rows] - mean_g[slot[group[ev_rows]]]
            try:
                variance = np.linalg.inv(-hess)
            except np.linalg.LinAlgError:
                return CoxFit(np.full(p, np.nan), False, it, loglik)
            return CoxFit(beta, True, it, loglik, variance, resid, t[ev_rows])
    return CoxFit(np.full(p, np.nan), False, max_iter, loglik)


def ph_test_km(duration: np.ndarray, event: np.ndarray, x: np.ndarray,
               strata: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Grambsch-Therneau test of proportional hazards, Kaplan-Meier time transform.

    The statistic lifelines' ``proportional_hazard_test(model, df, time_transform="km")``
    computes, on the fit of :func:`cox_efron`: per covariate ``j``,
    ``T_j = (sum_i (g_i - g) r*_ij)^2 / (D se_j^2 sum_i (g_i - g)^2)`` over the ``D``
    events, with ``g_i = 1 - KM(t_i)`` (Kaplan-Meier of all spells pooled), ``g`` their
    mean, ``r* = D r V`` the scaled Schoenfeld residuals and ``V`` the model-based
    covariance; chi-squared with 1 degree of freedom.

    Args:
        duration, event, x, strata: as in :func:`cox_efron`.

    Returns:
        ``(statistic, p)`` per covariate, or None if the fit did not converge.
    """
    fit = cox_efron(duration, event, x, strata)
    if not fit.converged:
        return None
    n_deaths = len(fit.schoenfeld)
    scaled = n_deaths * fit.schoenfeld @ fit.variance
    km = KaplanMeierFitter().fit(np.asarray(duration, float), np.asarray(event).astype(bool))
    g = 1.0 - km.survival_function_["KM_estimate"].reindex(fit.event_duration).to_numpy()
    g = g - g.mean()
    se2 = np.diag(fit.variance)
    statistic = (g[:, None] * scaled).sum(axis=0) ** 2 / (n_deaths * se2 * (g ** 2).sum())
    return statistic, stats.chi2.sf(statistic, 1)
