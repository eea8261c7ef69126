"""Headline metrics of one run (written to ``summary.json`` and printed).

Durations are right-censored at the horizon, so the median is the Kaplan-Meier
median, not the median of finished spells. The estimator here is the plain
product-limit formula in numpy (a run's summary must not pay lifelines' import
time); ``tests/test_metrics.py`` checks it against lifelines. Spells already
running at week 0 (``left_truncated``) are left out of every headline count and
share (one basis: spells begun in the horizon), except the count named
``n_hires_all_in_horizon``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def kaplan_meier(durations: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier survival function.

    Args:
        durations: time of each spell (event or censoring).
        observed: True where the spell ended in the event (re-employment).

    Returns:
        ``(times, survival)``: the distinct event times and S(t) just after each.
    """
    d = np.asarray(durations, dtype=np.float64)
    e = np.asarray(observed, dtype=bool)
    if len(d) == 0:
        return np.empty(0), np.empty(0)
    times, inv = np.unique(d, return_inverse=True)
    events = np.bincount(inv, weights=e, minlength=len(times))
    leaving = np.bincount(inv, minlength=len(times))
    at_risk = len(d) - np.concatenate([[0], np.cumsum(leaving)[:-1]])
    keep = events > 0
    surv = np.cumprod(1.0 - events[keep] / at_risk[keep])
    return times[keep], surv


def km_median(durations, observed) -> float:
    """Smallest time at which S(t) <= 0.5 (lifelines' convention); inf if never."""
    t, s = kaplan_meier(durations, observed)
    hit = np.flatnonzero(s <= 0.5)
    return float(t[hit[0]]) if len(hit) else math.inf


def km_cdf_at(durations, observed, at: float) -> float:
    """Share re-employed within ``at`` weeks, 1 - S(at), censoring handled."""
    t, s = kaplan_meier(durations, observed)
    idx = np.searchsorted(t, at, side="right") - 1
    return float(1.0 - s[idx]) if idx >= 0 else 0.0


def km_rmst(durations, observed, horizon: float) -> float:
    """Restricted mean time to re-employment: the area under S(t) on [0, horizon]."""
    t, s = kaplan_meier(durations, observed)
    edges = np.concatenate([[0.0], np.minimum(t, horizon), [horizon]])
    levels = np.concatenate([[1.0], s])
    return float(np.sum(np.diff(edges) * levels))


def headline(spells: pd.DataFrame, strategies: list[str]) -> dict[str, dict]:
    """Headline metrics per strategy and for all workers.

    One counting basis: every count and share except ``n_hires_all_in_horizon``
    is over the spells that *began in the horizon* (``left_truncated`` spells,
    which began in the burn-in, left out), the same flow sample as the duration
    metrics.

    Returns:
        A mapping ``{strategy or "all": {...}}`` with

        - ``n_spells``: spells begun in the horizon;
        - ``n_hires``: those of them that ended in a hire (so ``n_hires <= n_spells``);
        - ``km_median_weeks``: Kaplan-Meier median duration of those spells (None
          when fewer than half ever end);
        - ``share_reemployed_4w``: Kaplan-Meier share re-employed within 4 weeks;
        - ``share_hires_contacts``: share of ``n_hires`` made through a contact
          (lead or referral); None without hires;
        - ``n_hires_all_in_horizon``: every hire made in the horizon, including the
          hires that end spells begun before week 0 (on the basis of the weekly
          ``hires`` series of ``timeseries.parquet``, not of the shares above).
    """
    out = {}
    groups = [("all", np.ones(len(spells), dtype=bool))]
    groups += [(s, (spells["strategy"] == s).to_numpy()) for s in strategies]
    lt = spells["left_truncated"].to_numpy()
    dur = spells["duration_weeks"].to_numpy()
    obs = ~spells["censored"].to_numpy()
    contact = spells["channel"].isin(["lead", "referral"]).to_numpy()
    for name, mask in groups:
        fresh = mask & ~lt
        hires = fresh & obs
        med = km_median(dur[fresh], obs[fresh])
        out[name] = {
            "n_spells": int(fresh.sum()),
            "n_hires": int(hires.sum()),
            "km_median_weeks": None if math.isinf(med) else med,
            "share_reemployed_4w": km_cdf_at(dur[fresh], obs[fresh], 4) if fresh.any() else None,
            "share_hires_contacts": float(contact[hires].mean()) if hires.any() else None,
            "n_hires_all_in_horizon": int((mask & obs).sum()),
        }
    return out


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den > 0 else None


def funnel_figures(series: pd.DataFrame) -> dict:
    """Figures of the hiring funnel over a run's recorded weeks, from its weekly series.

    Each figure is a ratio of totals over the horizon (weeks 0 to ``weeks`` - 1), so weeks
    with more activity weigh more; None when its denominator is 0 (e.g. no referral
    applications, or ``market.jobs=exogenous``, which records no funnel). The estimands
    (docs/ODD.md section 7.7):

    - ``applications_per_searcher_week``: applications received by firms from unemployed
      searchers (all channels) per worker searching in a week's hiring step (on-the-job
      applications left out);
    - ``applications_per_vacancy``: applications per vacancy filled, which in a steady
      state is the mean number of applications a vacancy collects over its life
      (vacancies end only by being filled);
    - ``applications_per_vacancy_week``: applications per open vacancy and week;
    - ``offers_per_application``: by channel (formal, lead, referral), offers made per
      application received;
    - ``referral_formal_offer_ratio``: referral over formal offers per application;
    - ``hires_per_application``: hires through an application (formal, lead, referral, and
      job-to-job moves; not recalls) per application;
    - ``offers_per_hire``: offers made per hire through an application;
    - ``mean_vacancy_duration_weeks``: mean weeks a vacancy filled in the horizon was open
      (week filled - week opened; vacancies opened before week 0 included).

    Args:
        series: a run's ``timeseries.parquet`` (the columns of
            :data:`sim.results.contract.SERIES_COLUMNS`).

    Returns:
        The figures, by name.
    """
    s = series.sum(numeric_only=True)
    channels = ("formal", "lead", "referral")
    apps = {c: float(s[f"applications_{c}"]) for c in channels}
    offers = {c: float(s[f"offers_{c}"]) for c in channels}
    moves = float(s.get("job_to_job", 0.0))
    hires = sum(float(s[f"hires_{c}"]) for c in channels) + moves
    per_app = {c: _ratio(offers[c], apps[c]) for c in channels}
    total_apps = sum(apps.values())
    employed_apps = float(s.get("applications_employed", 0.0))
    return {
        "applications_per_searcher_week": _ratio(total_apps - employed_apps, s["n_searching"]),
        "applications_per_vacancy": _ratio(total_apps, s["vacancies_filled"]),
        "applications_per_vacancy_week": _ratio(total_apps, s["n_vacancies"]),
        "offers_per_application": per_app,
        "referral_formal_offer_ratio": (_ratio(per_app["referral"], per_app["formal"])
                                        if per_app["referral"] is not None
                                        and per_app["formal"] is not None else None),
        "hires_per_application": _ratio(hires, total_apps),
        "offers_per_hire": _ratio(sum(offers.values()), hires),
        "mean_vacancy_duration_weeks": _ratio(s["vacancy_weeks_filled"], s["vacancies_filled"]),
    }


def format_headline(metrics: dict[str, dict]) -> str:
    """A small fixed-width table of the headline metrics."""
    lines = [f"{'strategy':<12}{'spells':>8}{'KM median wk':>14}{'<=4 wk':>9}{'via contacts':>14}"]

    def f(v, fmt):
        return "n/a" if v is None else format(v, fmt)

    for name, m in metrics.items():
        if m["n_spells"] == 0 and m.get("n_hires_all_in_horizon", m["n_hires"]) == 0:
            continue  # a strategy with no workers (share 0)
        lines.append(f"{name:<12}{m['n_spells']:>8}{f(m['km_median_weeks'], '.0f'):>14}"
                     f"{f(m['share_reemployed_4w'], '.1%'):>9}"
                     f"{f(m['share_hires_contacts'], '.1%'):>14}")
    if len(lines) == 1:  # a header alone would look like a failure: say why there is no row
        lines.append("(no row: no unemployment spell began in the recorded weeks; more workers "
                     "or more weeks give some)")
    return "\n".join(lines)
