"""Validation against the stylized facts of docs/RESEARCH.md section 5.

``python -m sim validate`` runs the default configuration (a mixed population
of lions and everyone, ``+strategy=mixed``) over several seeds, measures every
fact on each run, and prints one table: fact, target, source, simulated value
(mean over seeds with a 95 % t interval across seeds, formed on a scale on which
the quantity's range is unbounded so that it never leaves the range: logit for
shares, log for ratios and durations), pass/fail. With fewer than 5 seeds it
says that the intervals rest on few runs. It exits 1 when a fact fails.
Informational rows (:data:`INFO_FACTS`: weak ties by kind) and, after the
table, a stationarity diagnostic (:func:`stationarity`, :func:`stationarity_table`)
are printed but never change the exit code. The
measures are defined once here (:func:`measure`) and used by the calibration
(``sim.studies.calibrate``) and the tests.

Definitions (each documented in docs/VALIDATION.md):

* **contact hires**: hires through a lead or a referral, among all hires made
  in the recorded horizon.
* **returns to the last employer**: among the completed spells begun in the horizon
  of workers separated from a firm, those ending in a hire by that firm
  (``hired_by == last_employer``), whatever the channel: a recall (with
  ``recall.enabled``), or, without it, a formal application, lead or referral.
* **weak ties**: a tie weaker than the strength working together keeps
  (``ties.work_strength``): people the seeker no longer sees every working day.
  This is Granovetter's (1973, 1974) definition by frequency of contact
  ("occasionally" or "rarely"), which counted most former colleagues as weak.
  It is fact 2's pass/fail row.
* **weak ties by kind** (informational row of fact 2): contact hires through an
  acquaintance or an online-only tie (not a colleague or supervisor).
* **help per tie**: contact hires through ties of a strength band per
  seeker-tie-week in that band (exposure sampled every ``every`` weeks); the
  fact compares strong (>= work strength) with weak ties.
* **spells in progress**: durations (weeks, counting the current one) of the
  spells running at the sampled weeks, as the CPS measures them.
* **flows**: weekly rates from the market series, turned into monthly ones as
  ``1 - (1 - weekly)^(52/12)``.
* **correlation along ties**: Pearson correlation of the unemployment of the
  two ends of every tie (both orientations), averaged over the sampled weeks.
* **hazard falls with duration**: the weekly re-employment hazard of spells
  that began in the horizon, at durations 27-52 weeks over 1-8 weeks (< 1).
* **concave in degree**: a linear probability model of re-employment within 13
  weeks on the seeker's degree (standardised) and its square, with strategy
  fixed effects: the square's coefficient (< 0) given a positive slope.
* **work ties and ability**: hires through work ties (colleague, supervisor)
  per spell-week of the top ability tercile over the bottom tercile (> 1).
* **stationarity** (diagnostic): per run, the least-squares slope per year of
  the weekly mean degree, unemployment and vacancy rates and of the mean tie
  strength at the sampled weeks, and the change per year of the share
  re-employed within 4 weeks and the RMST of spells begun in the first vs the
  second half of the horizon; then the mean slope over seeds with a t interval
  (runs are the unit) and whether 0 lies in it.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numba
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm import tqdm

from analysis.stats import FEW_RUNS, range_interval
from sim.core.config import SimConfig, to_dict
from sim.core.model import LabourMarket
from sim.errors import ConfigError, StudyFailed
from sim.results.files import write_text_atomic
from sim.results.metrics import funnel_figures, km_cdf_at, km_rmst
from sim.studies.common import config_from_args, parse_args
from sim.workflow.run import git_commit, package_versions

# the default population of the validation: both strategies of the claim in one market
MONTH = 52.0 / 12.0  # weeks per month
STRENGTH_BINS = np.round(np.linspace(0.0, 1.0, 11), 2)
EARLY, LATE = (1, 8), (27, 52)  # duration bands (weeks) of the hazard comparison
WITHIN = 13  # weeks: re-employment window of the degree regression
WORK_KINDS = ("colleague", "supervisor")
CONTACT = ("lead", "referral")


# the possible ranges of the facts' quantities (their intervals stay inside)
SHARE = (0.0, 1.0)
POSITIVE = (0.0, None)
CORRELATION = (-1.0, 1.0)


# ---------------------------------------------------------------------- facts
@dataclass(frozen=True)
class Fact:
    """One stylized fact: the run-level statistic and its target.

    ``lo``/``hi`` bound the target range (either may be None for a one-sided
    target). Range facts pass when the mean over seeds lies in the range;
    one-sided (sign) facts pass when the whole 95 % interval is on the right
    side, so that noise alone cannot pass them.
    """

    id: str
    number: int
    name: str
    target: str
    source: str
    key: str  # column of the per-run measures
    lo: float | None = None
    hi: float | None = None
    sign: bool = False  # one-sided: the interval must clear the bound
    fmt: str = "{:.3f}"
    # the quantity's possible range (None: unbounded); the interval stays inside it
    bounds: tuple[float | None, float | None] = (None, None)

    def passes(self, mean: float, lower: float, upper: float) -> bool:
        if not np.isfinite(mean):
            return False
        if self.sign:
            ok_lo = self.lo is None or lower > self.lo
            ok_hi = self.hi is None or upper < self.hi
            return ok_lo and ok_hi
        return (self.lo is None or mean >= self.lo) and (self.hi is None or mean <= self.hi)


FACTS: tuple[Fact, ...] = (
    Fact("contact_share", 1, "hires through personal contacts", "30-60 %",
         "Granovetter 1974; Ioannides & Loury 2004", "contact_share", 0.30, 0.60, fmt="{:.1%}",
         bounds=SHARE),
    Fact("weak_share", 2, "contact hires through weak ties, by strength (tie < ties.work_strength)",
         "55-85 %",
         "Granovetter 1973/1974; Gee, Jones & Burke 2017", "weak_share", 0.55, 0.85, fmt="{:.1%}",
         bounds=SHARE),
    Fact("help_ratio", 3, "help per tie rises with strength (strong / weak)", "> 1",
         "Gee et al. 2017; Garg & Telang 2018", "help_ratio", 1.0, None, sign=True, fmt="{:.2f}",
         bounds=POSITIVE),
    Fact("median_in_progress", 4, "median duration of spells in progress (weeks)", "8-10",
         "US CPS 2020-2024", "median_in_progress", 8.0, 10.0, fmt="{:.1f}",
         bounds=POSITIVE),
    Fact("mean_over_median", 4, "mean / median duration in progress", "about 2 (1.6-2.4)",
         "US CPS 2020-2024", "mean_over_median", 1.6, 2.4, fmt="{:.2f}",
         bounds=POSITIVE),
    Fact("share_27", 4, "spells in progress at 27+ weeks", "18-22 %",
         "US CPS 2020-2024", "share_27", 0.18, 0.22, fmt="{:.1%}",
         bounds=SHARE),
    Fact("job_finding", 5, "monthly job-finding rate", "0.28-0.45",
         "Shimer 2012", "job_finding", 0.28, 0.45, fmt="{:.3f}",
         bounds=SHARE),
    Fact("separation", 5, "monthly separation rate", "1.3-3 %",
         "Shimer 2012; JOLTS", "separation", 0.013, 0.03, fmt="{:.2%}",
         bounds=SHARE),
    Fact("unemployment", 5, "unemployment rate", "4-6 %",
         "CPS; JOLTS 2019", "unemployment", 0.04, 0.06, fmt="{:.2%}",
         bounds=SHARE),
    Fact("vacancy", 5, "vacancy rate", "about 4 % (3-5 %)",
         "JOLTS 2019; Davis, Faberman & Haltiwanger 2006", "vacancy", 0.03, 0.05, fmt="{:.2%}",
         bounds=SHARE),
    Fact("neighbour_corr", 6, "unemployment correlated along ties", "> 0",
         "Calvo-Armengol & Jackson 2004; Topa 2001", "neighbour_corr", 0.0, None, sign=True,
         fmt="{:.4f}", bounds=CORRELATION),
    Fact("hazard_ratio", 6, "hazard falls with duration (27-52 wk / 1-8 wk)", "< 1",
         "Calvo-Armengol & Jackson 2004", "hazard_ratio", None, 1.0, sign=True, fmt="{:.2f}",
         bounds=POSITIVE),
    Fact("degree_curvature", 7, "diminishing returns to contacts (degree^2 coef.)", "< 0",
         "Calvo-Armengol 2004; Wahba & Zenou 2005", "degree_curvature", None, 0.0, sign=True,
         fmt="{:.4f}"),
    Fact("degree_slope", 7, "more contacts help (degree coef.)", "> 0",
         "Calvo-Armengol 2004; Wahba & Zenou 2005", "degree_slope", 0.0, None, sign=True,
         fmt="{:.4f}"),
    Fact("work_tie_ability", 8, "work-tie hires, top / bottom ability tercile", "> 1",
         "Oesch & von Ow 2017", "work_tie_ability", 1.0, None, sign=True, fmt="{:.2f}",
         bounds=POSITIVE),
    Fact("last_employer_share", 9, "completed spells ending in a hire by the last employer "
         "(any channel)", "30-45 %", "Fujita & Moscarini 2017", "last_employer_share", 0.30,
         0.45, fmt="{:.1%}", bounds=SHARE),
    # the hiring funnel (docs/VALIDATION.md, fact 10): competition for each vacancy
    Fact("apps_per_vacancy", 10, "applications a vacancy collects over its life", "10-60",
         "Fernandez & Weinberg 1997; Davis & Samaniego de la Parra 2017", "apps_per_vacancy",
         10.0, 60.0, fmt="{:.1f}", bounds=POSITIVE),
    Fact("hires_per_application", 10, "share of applications that end in a hire", "1-12 %",
         "industry hiring funnels (about 59 applicants per hire)", "hires_per_application",
         0.01, 0.12, fmt="{:.1%}", bounds=SHARE),
    Fact("apps_per_searcher_week", 10, "applications per searcher and week", "1-3",
         "Faberman & Kudlyak 2019", "apps_per_searcher_week", 1.0, 3.0, fmt="{:.2f}",
         bounds=POSITIVE),
    Fact("referral_offer_ratio", 10, "offers per application, referral / formal", "about 3 (2-9)",
         "Fernandez & Weinberg 1997; industry data", "referral_offer_ratio", 2.0, 9.0,
         fmt="{:.2f}", bounds=POSITIVE),
    Fact("vacancy_duration", 10, "mean vacancy duration (weeks)", "3-6",
         "Davis, Faberman & Haltiwanger 2013", "vacancy_duration", 3.0, 6.0, fmt="{:.1f}",
         bounds=POSITIVE),
    Fact("job_to_job", 10, "monthly job-to-job moves (share of the employed)", "1.5-3.5 %",
         "Fallick & Fleischman 2004 (about 2.6 %)", "job_to_job", 0.015, 0.035, fmt="{:.2%}",
         bounds=SHARE),
)
FACT_BY_ID = {f.id: f for f in FACTS}

# informational rows: printed under the fact of the same number, never pass or fail
# (they do not change validate's result); shown when their key was measured
INFO_FACTS: tuple[Fact, ...] = (
    Fact("weak_share_by_kind", 2, "contact hires through weak ties, by kind (acquaintance or "
         "online; not colleague or supervisor)", "55-85 %",
         "Granovetter 1973/1974; Gee, Jones & Burke 2017", "weak_share_by_kind", 0.55, 0.85,
         fmt="{:.1%}", bounds=SHARE),
)
INFO_BY_ID = {f.id: f for f in INFO_FACTS}
WEAK_KINDS = ("acquaintance", "online")  # weak ties by kind: people seen rarely, not at work

# the study's own figure, set beside the simulated outcome (not a target)
EXPECTATION = ("everyone_contacts_4wk", "open networkers re-employed through contacts within 4 weeks",
               "barely 3 in 10 expect it (study, 2010)", 0.30)


# ---------------------------------------------------------------------- measures
def _monthly(weekly: np.ndarray) -> float:
    return float(1.0 - (1.0 - np.nanmean(weekly)) ** MONTH)


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def _flows(ts: pd.DataFrame, n: int) -> dict[str, float]:
    u = ts["n_unemployed"].to_numpy(float)
    sep = ts["separations"].to_numpy(float)  # (layoffs included)
    hires = ts["hires"].to_numpy(float)
    u_prev, e_prev = u[:-1], n - u[:-1]
    # separations come first in the week, so their workers can be hired the same week
    f = hires[1:] / np.maximum(u_prev + sep[1:], 1)
    s = sep[1:] / np.maximum(e_prev, 1)
    jj = (ts["job_to_job"].to_numpy(float)[1:] if "job_to_job" in ts
          else np.zeros(len(ts) - 1)) / np.maximum(e_prev, 1)
    return {"job_finding": _monthly(f), "separation": _monthly(s),
            "unemployment": float(ts["unemployment_rate"].mean()),
            "vacancy": float(ts["vacancy_rate"].mean()), "job_to_job": _monthly(jj)}


def _hazard_ratio(sp: pd.DataFrame) -> float:
    """Weekly hazard at durations LATE over EARLY (spells begun in the horizon)."""
    d = sp["duration_weeks"].to_numpy()
    ev = ~sp["censored"].to_numpy()

    def band(lo, hi):
        at_risk = np.clip(np.minimum(d, hi) - lo + 1, 0, None).sum()  # spell-weeks in [lo, hi]
        events = (ev & (d >= lo) & (d <= hi)).sum()
        return _ratio(events, at_risk)

    return _ratio(band(*LATE), band(*EARLY))


def _degree_fit(sp: pd.DataFrame, weeks: int) -> tuple[float, float]:
    """(slope, curvature) of re-employment within WITHIN weeks on standardised degree."""
    s = sp[sp["start_week"] <= weeks - 1 - WITHIN]
    if len(s) < 50:
        return math.nan, math.nan
    y = (~s["censored"].to_numpy() & (s["duration_weeks"].to_numpy() <= WITHIN)).astype(float)
    deg = s["degree_at_start"].to_numpy(float)
    z = (deg - deg.mean()) / (deg.std() or 1.0)
    strat = pd.get_dummies(s["strategy"].astype(str), drop_first=True).to_numpy(float)
    X = np.column_stack([np.ones_like(z), z, z * z, strat])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    return float(beta[1]), float(beta[2])


def _work_tie_ability(sp: pd.DataFrame) -> float:
    """Work-tie hires per spell-week, top over bottom ability tercile."""
    q = sp["ability"].quantile([1 / 3, 2 / 3]).to_numpy()
    work = (~sp["censored"]) & sp["channel"].isin(CONTACT) & sp["tie_kind"].isin(WORK_KINDS)
    exposure = sp["duration_weeks"].clip(lower=1)
    lo, hi = sp["ability"] <= q[0], sp["ability"] > q[1]
    return _ratio(_ratio(work[hi].sum(), exposure[hi].sum()), _ratio(work[lo].sum(), exposure[lo].sum()))


def last_employer_share(sp: pd.DataFrame) -> float:
    """Share of completed spells that end in a hire by the worker's last employer.

    Args:
        sp: spells with ``censored``, ``last_employer`` and ``hired_by`` (null where
            unknown).

    Returns:
        Among the completed spells with a last employer, the share with ``hired_by``
        equal to it, whatever the channel; NaN without such spells (e.g.
        ``market.jobs=exogenous``, where there are no firms).
    """
    done = sp[~sp["censored"].to_numpy(bool) & sp["last_employer"].notna().to_numpy(bool)]
    if done.empty:
        return math.nan
    hired_by = pd.to_numeric(done["hired_by"]).to_numpy(float, na_value=np.nan)
    back = hired_by == pd.to_numeric(done["last_employer"]).to_numpy(float, na_value=np.nan)
    return float(back.mean())


def _everyone_contacts(sp: pd.DataFrame, weeks: int, within: int = 4) -> float:
    s = sp[(sp["strategy"].astype(str) == "everyone") & (sp["start_week"] <= weeks - 1 - within)]
    if s.empty:
        return math.nan
    hit = (~s["censored"]) & s["channel"].isin(CONTACT) & (s["duration_weeks"] <= within)
    return float(hit.mean())


# ---------------------------------------------------------------------- stationarity
YEAR = 52.0  # weeks per year: trends are given per year
S4_WITHIN, RMST_TAU = 4, 52  # weeks: the headline outcomes of the stationarity check


def _slope_per_year(weeks: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope of ``values`` on ``weeks``, per year (NaN with < 3 points)."""
    w, v = np.asarray(weeks, float), np.asarray(values, float)
    ok = np.isfinite(w) & np.isfinite(v)
    if ok.sum() < 3 or np.ptp(w[ok]) == 0:
        return math.nan
    return float(np.polyfit(w[ok] / YEAR, v[ok], 1)[0])


def _outcomes(sp: pd.DataFrame, tau: float) -> tuple[float, float]:
    """(share re-employed within S4_WITHIN weeks, RMST to ``tau``) by Kaplan-Meier."""

    if sp.empty:
        return math.nan, math.nan
    d = sp["duration_weeks"].to_numpy(float)
    ev = ~sp["censored"].to_numpy(bool)
    return km_cdf_at(d, ev, S4_WITHIN), km_rmst(d, ev, tau)


def stationarity(ts: pd.DataFrame, sp: pd.DataFrame, weeks: int,
                 strength_weeks: Sequence[int] = (), mean_strength: Sequence[float] = (),
                 sampled: Mapping[str, Sequence[float]] | None = None) -> dict:
    """Levels and linear trends (per year) of one run over the recorded horizon.

    Weekly series (mean degree overall and by strategy, unemployment rate,
    vacancy rate) and the mean tie strength at the sampled weeks: the
    least-squares slope on the week. Headline outcomes (share re-employed within
    4 weeks, RMST to 52 weeks or a quarter of the horizon if shorter, by Kaplan-
    Meier; all spells and by strategy) of the spells begun in the first and in the
    second half of the horizon: (second - first) / (half the horizon in years),
    the slope between the halves' midpoints. A run that has reached its steady
    state has slopes near 0; the burn-in ends inside a transient when they are not.

    Args:
        ts: the weekly series (``timeseries_frame``, with a ``week`` column).
        sp: the spells begun in the horizon (not left-truncated).
        weeks: recorded weeks.
        strength_weeks: the weeks at which the tie strengths were sampled.
        mean_strength: the mean tie strength at those weeks.
        sampled: more quantities at those weeks, by name (``measure`` passes the
            covariate degree, ties >= ``ties.degree_min_strength``: ``strong_degree``
            and ``strong_degree_<strategy>``), each with its level and slope.

    Returns:
        ``{"level_<q>": mean over the horizon, "trend_<q>": slope per year}`` for
        each quantity ``q`` (see :data:`STATIONARITY_LABELS` for the names).
    """
    out: dict = {}
    w = ts["week"].to_numpy(float)
    series = ["mean_degree"] + sorted(c for c in ts.columns if c.startswith("mean_degree_"))
    series += ["unemployment_rate", "vacancy_rate"]
    for c in series:
        if not ts[c].notna().any():  # a strategy without members
            continue
        out[f"level_{c}"] = float(ts[c].mean())
        out[f"trend_{c}"] = _slope_per_year(w, ts[c].to_numpy(float))
    ms = np.asarray(mean_strength, float)
    out["level_mean_strength"] = float(ms.mean()) if len(ms) else math.nan
    out["trend_mean_strength"] = _slope_per_year(np.asarray(strength_weeks, float), ms)
    for name, values in (sampled or {}).items():
        v = np.asarray(values, float)
        out[f"level_{name}"] = float(v.mean()) if len(v) else math.nan
        out[f"trend_{name}"] = _slope_per_year(np.asarray(strength_weeks, float)[:len(v)], v)
    half = weeks // 2
    tau = float(min(RMST_TAU, max(1, weeks // 4)))
    groups = [("", None)] + [(f"_{s}", s) for s in sorted(sp["strategy"].astype(str).unique())]
    years = (weeks - half) / YEAR if weeks > half else math.nan
    strat = sp["strategy"].astype(str)
    for suffix, s in groups:
        g = sp if s is None else sp[strat == s]
        both = _outcomes(g, tau)
        a = _outcomes(g[g["start_week"] < half], tau)
        b = _outcomes(g[g["start_week"] >= half], tau)
        for j, name in enumerate(("s4", "rmst")):
            out[f"level_{name}{suffix}"] = both[j]
            out[f"trend_{name}{suffix}"] = (b[j] - a[j]) / years
    if {"lions", "everyone"} <= set(strat.unique()):  # the claim's gap, lions - everyone
        for name in ("s4", "rmst"):
            for kind in ("level", "trend"):
                out[f"{kind}_{name}_gap"] = out[f"{kind}_{name}_lions"] - out[f"{kind}_{name}_everyone"]
    out["rmst_tau"] = tau
    return out


def _label(key: str, tau: float) -> str:
    """The printed name of a stationarity quantity."""
    base, _, strat = key.partition("_") if key.startswith(("s4_", "rmst_")) else (key, "", "")
    names = {"mean_degree": "mean degree (all workers)", "unemployment_rate": "unemployment rate",
             "vacancy_rate": "vacancy rate", "mean_strength": "mean tie strength (sampled weeks)",
             "s4": f"re-employed within {S4_WITHIN} wk, by spell start half",
             "rmst": f"RMST({tau:g}) weeks, by spell start half"}
    if key.startswith("mean_degree_"):
        return f"mean degree ({key[len('mean_degree_'):]})"
    if key.startswith("strong_degree"):
        who = key[len("strong_degree_"):] or "all workers"
        return f"degree, ties >= ties.degree_min_strength ({who}; sampled weeks)"
    label = names.get(base, key)
    strat = "lions - everyone" if strat == "gap" else strat
    return f"{label} ({strat})" if strat else label


def stationarity_table(runs: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """One row per quantity: mean level, mean slope per year across runs with its
    t interval (runs are the unit: one slope per run), and whether 0 lies in it.

    Args:
        runs: per-run measures (:func:`measure_seeds`), with ``level_*`` and
            ``trend_*`` columns.
        level: confidence level.

    Returns:
        Columns ``quantity`` (key), ``label``, ``level``, ``slope``, ``lower``,
        ``upper``, ``seeds``, ``verdict`` ("no trend", "trend" or "no interval").
    """

    tau = float(runs["rmst_tau"].iloc[0]) if "rmst_tau" in runs else float(RMST_TAU)
    rows = []
    for col in [c for c in runs.columns if c.startswith("trend_")]:
        q = col[len("trend_"):]
        x = runs[col].to_numpy(float)
        r = range_interval(x[np.isfinite(x)], (None, None), level)
        lo, hi = r["lower"], r["upper"]
        verdict = ("no interval" if not np.isfinite(lo)
                   else "no trend" if lo <= 0.0 <= hi else "trend")
        rows.append({"quantity": q, "label": _label(q, tau),
                     "level": float(np.nanmean(runs[f"level_{q}"])), "slope": r["mean"],
                     "lower": lo, "upper": hi, "seeds": r["n"], "verdict": verdict})
    return pd.DataFrame(rows)


def format_stationarity(st: pd.DataFrame, markdown: bool = False) -> str:
    """The stationarity table as aligned text or Markdown, with its heading."""
    def num(v: float, q: str, slope: bool = False) -> str:
        if not np.isfinite(v):
            return "n/a"
        if q.endswith("_rate") or q.startswith("s4"):  # shares; their slopes in points
            return f"{100 * v:.2f} pp" if slope else f"{v:.2%}"
        return f"{v:.3g}"

    cells = []
    for _, r in st.iterrows():
        q = r["quantity"]
        ci = f" [{num(r['lower'], q, True)}, {num(r['upper'], q, True)}]" \
            if np.isfinite(r["lower"]) else " (no interval)"
        rel = r["slope"] / r["level"] if r["level"] and not q.endswith("_gap") else math.nan
        cells.append([r["label"], num(r["level"], q), num(r["slope"], q, True) + ci,
                      f"{rel:+.1%}/yr" if np.isfinite(rel) else "-", r["verdict"]])
    head = ["quantity", "level over horizon", "slope per year (95 % CI over seeds)",
            "slope / level", "0 in CI?"]
    title = ("Stationarity (diagnostic, not a fact: does the market still drift after the "
             "burn-in? slopes over the recorded horizon)")
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join([title, ""] + lines + ["| " + " | ".join(c) + " |" for c in cells])
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head), fmt.format(*["-" * w for w in widths])]
    return "\n".join([title] + lines + [fmt.format(*c) for c in cells])


def weak_shares(contact: pd.DataFrame, work_strength: float) -> tuple[float, float]:
    """Shares of contact hires through weak ties, by strength and by kind.

    Args:
        contact: the contact hires (lead or referral), with ``tie_strength`` (at the
            hire) and ``tie_kind``.
        work_strength: ``ties.work_strength``; a tie below it is weak by strength.

    Returns:
        ``(by_strength, by_kind)``: the share with ``tie_strength < work_strength``
        and the share with ``tie_kind`` in :data:`WEAK_KINDS` (acquaintance,
        online); NaN without contact hires.
    """
    strength = contact["tie_strength"].to_numpy(float)
    return (_ratio((strength < work_strength).sum(), len(contact)),
            _ratio(contact["tie_kind"].isin(WEAK_KINDS).sum(), len(contact)))


@numba.njit(cache=True, nogil=True)
def _tie_sample(a, b, strength, unemployed, bins, min_strong, deg):
    """One pass over the ties for :class:`_Sampler`: the unemployed ends per strength band
    (``np.digitize`` on ``bins``, clipped to the bands), the unemployed ends and the ties
    with both ends unemployed, and in ``deg`` each worker's ties at least ``min_strong``."""
    n_bins = len(bins) - 1
    exposure = np.zeros(n_bins, dtype=np.int64)
    ends = 0
    both = 0
    for r in range(len(a)):
        ia, ib = a[r], b[r]
        s = strength[r]
        k = np.int64(unemployed[ia]) + np.int64(unemployed[ib])
        if k:
            x = np.float64(s)
            i = 0  # np.digitize: the number of bins <= x
            while i < len(bins) and bins[i] <= x:
                i += 1
            exposure[min(max(i - 1, 0), n_bins - 1)] += k
            ends += k
            both += k == 2
        if s >= min_strong:
            deg[ia] += 1
            deg[ib] += 1
    return exposure, ends, both


class _Sampler:
    """What the facts need from the state of the market at sampled weeks."""

    def __init__(self, n_bins: int):
        self.in_progress: list[np.ndarray] = []
        self.corr: list[float] = []
        self.exposure = np.zeros(n_bins, dtype=np.float64)
        self.strength_weeks: list[int] = []
        self.mean_strength: list[float] = []
        # the covariate degree (ties >= ties.degree_min_strength) at the sampled weeks:
        # "strong_degree" (all workers) and "strong_degree_<strategy>"
        self.strong_degree: dict[str, list[float]] = {}

    def sample(self, model, every: int) -> None:
        week = model.week - 1  # the week just simulated
        unemployed = ~model.employed
        starts = model.spells.cols["start_week"][model.spell_row[unemployed]]
        self.in_progress.append(week - starts + 1)
        t = model.ties
        n = len(unemployed)
        deg = np.zeros(n, dtype=np.int64)
        exposure, ends, both = _tie_sample(t.a, t.b, t.strength, unemployed, STRENGTH_BINS,
                                           np.float32(model.cfg.ties.degree_min_strength), deg)
        # correlation of the unemployment of a tie's two ends, over both orientations of
        # every tie (x = [u_a, u_b], y = [u_b, u_a]), from the counts: both means are
        # ends / 2T, E[xy] = both / T and a 0/1 variable's variance is p (1 - p)
        pairs = 2 * len(t.a)
        if 0 < ends < pairs:
            p = ends / pairs
            self.corr.append(float((both / len(t.a) - p * p) / (p - p * p)))
        # seeker-tie-weeks by strength band: each tie counts once per unemployed end
        self.exposure += every * exposure
        if len(t.strength):
            self.strength_weeks.append(week)
            self.mean_strength.append(float(np.mean(t.strength)))
            values = {"strong_degree": float(deg.mean())}
            size = np.bincount(model.strategy, minlength=len(model.strategy_names))
            total = np.bincount(model.strategy, weights=deg, minlength=len(size))
            for j, name in enumerate(model.strategy_names):
                if size[j]:
                    values[f"strong_degree_{name}"] = float(total[j] / size[j])
            for k, v in values.items():
                self.strong_degree.setdefault(k, []).append(v)


def measure(cfg: SimConfig, every: int = 4) -> dict:
    """Run one simulation and measure every fact on it.

    Args:
        cfg: the run's configuration.
        every: weeks between two samples of the market's state (spells in
            progress, correlation along ties, tie exposure).

    Returns:
        A flat dict of run-level measures (one key per fact, see :data:`FACTS`,
        plus ``everyone_contacts_4wk`` and the help-per-tie rates by band).
    """


    logging.getLogger("MESA").setLevel(logging.WARNING)
    model = LabourMarket(cfg)
    sampler = _Sampler(len(STRENGTH_BINS) - 1)
    model.burn_in()  # from the burn-in cache when it is on (nothing is sampled before week 0)
    while model.week < cfg.weeks:
        model.step()
        if model.week > 0 and (model.week - 1) % every == every - 1:
            sampler.sample(model, every)
    sp = model.spells_frame()
    ts = model.timeseries_frame()
    weeks, work = cfg.weeks, cfg.ties.work_strength

    out: dict = {"seed": cfg.seed}
    hired = sp[~sp["censored"]]
    contact = hired[hired["channel"].isin(CONTACT)]
    out["contact_share"] = _ratio(len(contact), len(hired))
    strength = contact["tie_strength"].to_numpy(float)
    out["weak_share"], out["weak_share_by_kind"] = weak_shares(contact, work)
    # help per tie, by strength band and strong vs weak
    idx = np.clip(np.digitize(strength, STRENGTH_BINS) - 1, 0, len(STRENGTH_BINS) - 2)
    hires_by_bin = np.bincount(idx, minlength=len(STRENGTH_BINS) - 1)
    strong = STRENGTH_BINS[:-1] >= work - 1e-9
    out["help_ratio"] = _ratio(_ratio(hires_by_bin[strong].sum(), sampler.exposure[strong].sum()),
                               _ratio(hires_by_bin[~strong].sum(), sampler.exposure[~strong].sum()))
    for j, (h, e) in enumerate(zip(hires_by_bin, sampler.exposure, strict=True)):
        out[f"help_{STRENGTH_BINS[j]:.1f}"] = _ratio(h, e)
    # spells in progress
    d = np.concatenate(sampler.in_progress) if sampler.in_progress else np.empty(0)
    med = float(np.median(d)) if len(d) else math.nan
    out["median_in_progress"] = med
    out["mean_in_progress"] = float(d.mean()) if len(d) else math.nan
    out["mean_over_median"] = _ratio(out["mean_in_progress"], med)
    out["share_27"] = float((d >= 27).mean()) if len(d) else math.nan
    out.update(_flows(ts, cfg.n_workers))
    out["neighbour_corr"] = float(np.mean(sampler.corr)) if sampler.corr else math.nan
    fresh = sp[~sp["left_truncated"]]
    out["hazard_ratio"] = _hazard_ratio(fresh)
    out["degree_slope"], out["degree_curvature"] = _degree_fit(fresh, weeks)
    out["work_tie_ability"] = _work_tie_ability(fresh)
    out["everyone_contacts_4wk"] = _everyone_contacts(fresh, weeks)
    out["last_employer_share"] = last_employer_share(fresh)
    out.update(funnel_measures(ts))
    out.update(strategy_gap(fresh))
    out.update(stationarity(ts, fresh, weeks, sampler.strength_weeks, sampler.mean_strength,
                            sampler.strong_degree))
    return out


def strategy_gap(fresh: pd.DataFrame, a: str = "lions", b: str = "everyone") -> dict[str, float]:
    """The within-run gap ``a`` - ``b`` (same market, same seed) in the headline outcomes of
    spells begun in the horizon: ``gap_rmst52`` (Kaplan-Meier restricted mean weeks to
    re-employment within 52 weeks; negative: ``a`` faster) and ``gap_s4`` (share
    re-employed within 4 weeks; positive: ``a`` faster). NaN when either has no spell."""
    out = {}
    for name in (a, b):
        s = fresh[fresh["strategy"].astype(str) == name]
        dur, obs = s["duration_weeks"].to_numpy(), ~s["censored"].to_numpy()
        out[name] = ((km_rmst(dur, obs, RMST_TAU), km_cdf_at(dur, obs, S4_WITHIN)) if len(s)
                     else (math.nan, math.nan))
    return {"gap_rmst52": out[a][0] - out[b][0], "gap_s4": out[a][1] - out[b][1]}


def format_gap(runs: pd.DataFrame, level: float = 0.95) -> str | None:
    """The claim's estimand in one line: lions - everyone within the run's market (the
    private return, :func:`strategy_gap`), mean over seeds with its t interval; None when
    the population does not hold both strategies.

    Args:
        runs: per-run measures (:func:`measure_seeds`), with ``gap_rmst52`` and ``gap_s4``.
        level: confidence level.

    Returns:
        The line, or None.
    """
    if not {"gap_rmst52", "gap_s4"} <= set(runs.columns) or not runs["gap_rmst52"].notna().any():
        return None
    r, rl, rh = t_interval(runs["gap_rmst52"].to_numpy(), level)
    s, sl, sh = t_interval(100 * runs["gap_s4"].to_numpy(), level)
    n = int(runs["gap_rmst52"].notna().sum())
    return (f"Lions - everyone within the market (the private return; spells begun in the "
            f"horizon, Kaplan-Meier; mean over {n} seeds, {level:.0%} t interval): RMST({RMST_TAU:g}) "
            f"{r:+.2f} [{rl:+.2f}, {rh:+.2f}] weeks (negative: lions sooner); re-employed "
            f"within {S4_WITHIN} weeks {s:+.1f} [{sl:+.1f}, {sh:+.1f}] points")


def funnel_measures(ts: pd.DataFrame) -> dict[str, float]:
    """Fact 10's measures, from a run's weekly series (:func:`funnel_figures`; NaN when
    a figure's denominator is 0, e.g. no referral application)."""
    fig = funnel_figures(ts)

    def num(v) -> float:
        return math.nan if v is None else float(v)

    return {"apps_per_vacancy": num(fig["applications_per_vacancy"]),
            "hires_per_application": num(fig["hires_per_application"]),
            "apps_per_searcher_week": num(fig["applications_per_searcher_week"]),
            "referral_offer_ratio": num(fig["referral_formal_offer_ratio"]),
            "vacancy_duration": num(fig["mean_vacancy_duration_weeks"])}


# ---------------------------------------------------------------------- many seeds
def _measure_seed(cfg: SimConfig, seed: int, every: int) -> dict:

    return measure(replace(cfg, seed=seed), every)


def measure_seeds(cfg: SimConfig, seeds: Sequence[int], jobs: int = 1, every: int = 4,
                  progress: bool = False) -> pd.DataFrame:
    """:func:`measure` for each seed (in parallel processes with ``jobs`` > 1);
    one row per seed, in seed order."""
    if jobs <= 1 or len(seeds) == 1:
        it = (_measure_seed(cfg, s, every) for s in seeds)
    else:

        it = Parallel(n_jobs=jobs, return_as="generator_unordered")(
            delayed(_measure_seed)(cfg, s, every) for s in seeds)
    if progress:

        it = tqdm(it, total=len(seeds), unit="run", desc="validate", dynamic_ncols=True)
    rows = list(it)
    return pd.DataFrame(rows).sort_values("seed").reset_index(drop=True)


def t_interval(x: np.ndarray, level: float = 0.95,
               bounds: tuple[float | None, float | None] = (None, None)) -> tuple[float, float, float]:
    """Mean and t interval across replicates (NaNs dropped).

    Args:
        x: one value per replicate (seed).
        level: confidence level.
        bounds: the quantity's possible range (None: unbounded); with a bound the
            interval is formed on the logit or log scale and mapped back, so that it
            stays inside the range (:func:`analysis.stats.range_interval`).

    Returns:
        ``(mean, lower, upper)``; the interval is NaN with fewer than two finite
        values or identical ones.
    """

    x = np.asarray(x, float)
    r = range_interval(x[np.isfinite(x)], bounds, level)
    return r["mean"], r["lower"], r["upper"]


def table(runs: pd.DataFrame, facts: Sequence[Fact] = FACTS) -> pd.DataFrame:
    """One row per fact: target, source, mean and 95 % interval across seeds, pass."""
    rows = []
    for f in facts:
        m, lo, hi = t_interval(runs[f.key].to_numpy(), bounds=f.bounds)
        rows.append({"fact": f.number, "id": f.id, "measure": f.name, "target": f.target,
                     "source": f.source, "value": m, "lower": lo, "upper": hi,
                     "pass": f.passes(m, lo, hi), "seeds": int(np.isfinite(runs[f.key]).sum())})
    return pd.DataFrame(rows)


def expectation_row(runs: pd.DataFrame) -> dict:
    key, name, study, _ = EXPECTATION
    m, lo, hi = t_interval(runs[key].to_numpy(), bounds=SHARE)
    return {"measure": name, "study": study, "value": m, "lower": lo, "upper": hi}


def _fmt(f: Fact, v: float) -> str:
    return "n/a" if not np.isfinite(v) else f.fmt.format(v)


def few_runs_line(n_seeds: int) -> str:
    """The warning printed under the table when the intervals rest on fewer than
    :data:`analysis.stats.FEW_RUNS` seeds ("" otherwise)."""

    if n_seeds < 2:
        return f"Note: {n_seeds} seed: no replicates, so no interval (run --seeds {FEW_RUNS} or more)."
    if n_seeds < FEW_RUNS:
        return (f"Note: {n_seeds} seeds: the intervals rest on few runs (fewer than {FEW_RUNS}); "
                f"they are wide and approximate, and the sign facts are hard to pass.")
    return ""


def format_table(tab: pd.DataFrame, runs: pd.DataFrame, markdown: bool = False) -> str:
    """The validation table as aligned text or a Markdown table, with the
    few-runs warning (:func:`few_runs_line`) when it applies."""
    info = [f for f in INFO_FACTS if f.key in runs.columns]
    info_tab = table(runs, info).set_index("id") if info else None
    rows = list(tab.iterrows())
    cells = []
    for i, (_, r) in enumerate(rows):
        f = FACT_BY_ID[r["id"]]
        ci = f"[{_fmt(f, r['lower'])}, {_fmt(f, r['upper'])}]" if np.isfinite(r["lower"]) else \
            "(no interval)"
        cells.append([str(r["fact"]), r["measure"], r["target"], r["source"],
                      f"{_fmt(f, r['value'])} {ci}", "pass" if r["pass"] else "FAIL"])
        last = i + 1 == len(rows) or rows[i + 1][1]["fact"] != r["fact"]
        for g in (g for g in info if last and g.number == r["fact"]):  # after its fact's rows
            q = info_tab.loc[g.id]
            ci = f"[{_fmt(g, q['lower'])}, {_fmt(g, q['upper'])}]" if np.isfinite(q["lower"]) \
                else "(no interval)"
            cells.append([str(g.number), g.name, g.target, g.source, f"{_fmt(g, q['value'])} {ci}",
                          "info: " + ("in target" if q["pass"] else "outside target")])
    head = ["#", "fact", "target", "source", "simulated (95 % CI over seeds)", "result"]
    e = expectation_row(runs)
    e_ci = f" [{e['lower']:.1%}, {e['upper']:.1%}]" if np.isfinite(e["lower"]) else ""
    exp = (f"Expectation vs outcome (not a target): {e['measure']}: simulated "
           f"{e['value']:.1%}{e_ci} of `everyone` spells; "
           f"{e['study']}.") if np.isfinite(e["value"]) else ""
    few = few_runs_line(len(runs))
    tail = ["", exp] + (["", few] if few else [])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c) + " |" for c in cells]
        return "\n".join(lines + tail)
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*c) for c in cells]
    return "\n".join(lines + tail)


# ---------------------------------------------------------------------- command
def write_outputs(out: Path, tab: pd.DataFrame, runs: pd.DataFrame, cfg: SimConfig,
                  argv: Sequence[str]) -> None:
    """validation.csv (the table), runs.csv (per-seed measures), stationarity.csv
    (the stationarity diagnostic), validation.md (both tables), validation.json
    (config and command); each written whole or not at all."""

    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "validation.csv", tab.to_csv(index=False))
    write_text_atomic(out / "runs.csv", runs.to_csv(index=False))
    md = format_table(tab, runs, markdown=True)
    if (gap := format_gap(runs)) is not None:
        md += "\n\n" + gap
    if any(c.startswith("trend_") for c in runs.columns):
        st = stationarity_table(runs)
        write_text_atomic(out / "stationarity.csv", st.to_csv(index=False))
        md += "\n\n" + format_stationarity(st, markdown=True)
    write_text_atomic(out / "validation.md", md + "\n")
    write_text_atomic(out / "validation.json", json.dumps(
        {"command": ["python", "-m", "sim", "validate", *argv], "config": to_dict(cfg),
         "seeds": runs["seed"].tolist(), "versions": package_versions(), "git": git_commit()},
        indent=2, default=str))


def main(argv: Sequence[str]) -> None:
    def extra(p):
        p.add_argument("--out", help="also write validation.csv, runs.csv, stationarity.csv, "
                       "validation.md and validation.json here")
        p.add_argument("--facts", help="comma-separated fact ids to check (default: all): "
                       + ", ".join(FACT_BY_ID))

    args = parse_args(argv, "python -m sim validate", __doc__.splitlines()[0], extra)
    facts = FACTS
    if args.facts:
        ids = [f.strip() for f in args.facts.split(",") if f.strip()]
        unknown = [f for f in ids if f not in FACT_BY_ID]
        if unknown or not ids:
            raise ConfigError(f"--facts={args.facts}: unknown fact id(s) "
                              f"{', '.join(unknown) or '(none given)'}; ids: {', '.join(FACT_BY_ID)}")
        facts = tuple(FACT_BY_ID[f] for f in ids)
    if args.out and (Path(args.out) / "validation.csv").exists():
        raise ConfigError(f"--out={args.out}: already holds a validation (not overwritten); "
                          "choose another folder")
    cfg = config_from_args(args)
    runs = measure_seeds(cfg, list(range(args.seeds)), jobs=args.jobs, every=args.every,
                         progress=sys.stderr.isatty())
    tab = table(runs, facts)
    print(f"{cfg.strategy.name} population, {cfg.n_workers} workers x {cfg.weeks} weeks, "
          f"{args.seeds} seeds")
    print(format_table(tab, runs))
    if (gap := format_gap(runs)) is not None:
        print()
        print(gap)
    if any(c.startswith("trend_") for c in runs.columns):
        print()
        print(format_stationarity(stationarity_table(runs)))
    if args.out:
        write_outputs(Path(args.out), tab, runs, cfg, argv)
        print(f"written to {args.out}")
    failed = tab.loc[~tab["pass"], "measure"].tolist()
    if failed:
        raise StudyFailed(f"{len(failed)} of {len(tab)} facts fail: {'; '.join(failed)}")
