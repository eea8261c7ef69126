"""Docking (Axtell et al. 1996): the fast model against the plain-Mesa reference.

``sim/core/reference.py`` implements the same mechanics the plain way (one object per
worker, a networkx graph, agents acting themselves). It implements the LEGACY model
only: one round of matching a week (no hiring funnel, so no on-the-job search), no
recall channel, the hard awareness threshold, and it refuses the rest. So every
configuration here is the legacy configuration (configs/preset/legacy.yaml, the model
before the defaults were flipped, with its earlier calibration) with the setup's size,
horizon and strategy on top: what is docked is the fast model's legacy path (the new
mechanisms are tested on their own in test_funnel.py, test_recall.py and
test_awareness.py). The two models draw different random numbers, so they are compared
as distributions over independent replicates:
30 fixed seeds per model and strategy, at a small market size that keeps the slow
reference affordable (about 3.5 minutes for the whole module on one core).

How the tolerances are set (all decided before looking at the comparison):

* **The seed is the unit of replication.** Spells of one run share a market (its
  vacancies, its layoffs), so they are not independent; tests that pool spells
  over runs would overstate the sample size. Pooled statistics (the KS distance
  between duration distributions, the chi-square of the channel table) are
  therefore tested by permuting whole runs between the two models (1,999
  permutations), which is exact whatever the within-run correlation; per-seed
  summaries (restricted mean duration, share re-employed within 4 weeks, share of
  hires through contacts, unemployment rate) by Welch's t-test over the 30 + 30
  seeds (Mann-Whitney is reported alongside).
* **Difference tests** (the docking criterion): no test may reject at a family-wise
  level of 0.01, Bonferroni over all of them (6 per strategy, 12 in all). A
  low family-wise level because the test runs in CI with fixed seeds: it should
  not fail for identical models.
* **Equivalence margins** come from the between-seed variance: for each per-seed
  summary, the TOST interval of the difference (Welch, Bonferroni over the 8
  per-seed summaries at family-wise 0.05) must lie within +-1.5 between-seed
  standard deviations (pooled over both models). 1.5 SD is the smallest margin
  that 30 seeds per model can certify: the standard error of a standardised
  difference is sqrt(2/30) = 0.26 SD and the one-sided critical value 2.5, so
  identical models pass with probability above 99 % (|d| < 1.5 - 2.5 x 0.26 =
  0.85 SD, more than 3 standard errors).
* **Negative control**: the same tests must reject a model that differs in one
  parameter (the fast model with ``hiring.applications`` doubled, against the
  same reference sample), so passing is evidence, not a test unable to fail.

``python tests/test_docking.py`` prints the full report (every statistic,
p-value and effect size).
"""

from __future__ import annotations

import copy
import math
from functools import cache

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.core.model import LabourMarket
from sim.core.reference import ReferenceMarket
from sim.results.metrics import kaplan_meier, km_cdf_at
from tests.conftest import with_legacy

SEEDS = range(30)
# Small markets and short horizons: the reference costs about 23 ms (CPU) per week with 400
# lions workers, and 45 ms on average with 300 everyone workers, whose degree grows to about
# 65 by the end; the whole module takes about 3.5 minutes of CPU, most of it the reference.
SETUPS = {
    "lions": {"n_workers": 400, "burn_in": 26, "weeks": 78,
              "strategy": {"name": "lions", "shares": {"lions": 1.0}}},
    "everyone": {"n_workers": 300, "burn_in": 26, "weeks": 52,
                 "strategy": {"name": "everyone", "shares": {"everyone": 1.0}}},
}
MODELS = {"reference": ReferenceMarket, "fast": LabourMarket}
RMST_WEEKS = 26  # restricted mean: mean weeks unemployed within the first half-year
FAMILY_ALPHA = 0.01  # difference tests, family-wise over all strategies
N_DIFFERENCE_TESTS = 6 * len(SETUPS)
EQUIV_ALPHA = 0.05  # equivalence (TOST), family-wise over the per-seed summaries
EQUIV_MARGIN_SD = 1.5
N_PERMUTATIONS = 1999
PER_SEED = ("rmst_weeks", "reemployed_4w", "contact_share", "unemployment_rate")


# ---------------------------------------------------------------------------- samples
def rmst(durations: np.ndarray, observed: np.ndarray, horizon: float) -> float:
    """Restricted mean survival time: area under the Kaplan-Meier curve up to ``horizon``."""
    t, s = kaplan_meier(durations, observed)
    keep = t < horizon
    edges = np.concatenate([[0.0], t[keep], [horizon]])
    levels = np.concatenate([[1.0], s[keep]])
    return float(np.sum(np.diff(edges) * levels))


def summarise(spells: pd.DataFrame, series: pd.DataFrame) -> dict:
    """What one run contributes: its completed durations and channel counts (pooled
    later) and its per-seed summaries."""
    fresh = spells[~spells["left_truncated"]]  # spells that started in the horizon
    dur = fresh["duration_weeks"].to_numpy()
    obs = ~fresh["censored"].to_numpy()
    hires = spells[~spells["censored"]]  # every hire of the horizon, as in sim.results.metrics
    channels = hires["channel"].value_counts().reindex(["formal", "lead", "referral"],
                                                       fill_value=0).to_numpy()
    return {
        "durations": dur[obs],
        "channels": channels,
        "rmst_weeks": rmst(dur, obs, RMST_WEEKS),
        "reemployed_4w": km_cdf_at(dur, obs, 4),
        "contact_share": (channels[1] + channels[2]) / max(1, channels.sum()),
        "unemployment_rate": float(series["unemployment_rate"].mean()),
    }


def config(setup: str, seed: int, overrides: tuple = ()) -> dict:
    """The legacy configuration (configs/preset/legacy.yaml) with the setup, the seed and
    ``overrides`` on top."""
    cfg = with_legacy(copy.deepcopy(SETUPS[setup]) | {"seed": seed, "output": {"progress": "off"}})
    for key, value in overrides:  # ("hiring.applications", 0.12)
        node = cfg
        *path, last = key.split(".")
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    return cfg


@cache
def sample(model: str, setup: str, overrides: tuple = ()) -> tuple[dict, ...]:
    """One summary per seed (cached: each sample is run once per session)."""
    out = []
    for seed in SEEDS:
        m = MODELS[model](config(setup, seed, overrides)).run()
        out.append(summarise(m.spells_frame(), m.timeseries_frame()))
    return tuple(out)


# ---------------------------------------------------------------------------- statistics
def ks_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov distance (largest gap between the empirical CDFs)."""
    x, y = np.sort(x), np.sort(y)
    grid = np.concatenate([x, y])
    return float(np.max(np.abs(np.searchsorted(x, grid, side="right") / len(x)
                               - np.searchsorted(y, grid, side="right") / len(y))))


def chi_square(table: np.ndarray) -> float:
    """Pearson's chi-square of a 2 x k table of counts (empty columns dropped)."""
    table = table[:, table.sum(axis=0) > 0]
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    return float(((table - expected) ** 2 / expected).sum())


def pooled_durations(runs) -> np.ndarray:
    return np.concatenate([r["durations"] for r in runs])


def channel_table(a, b) -> np.ndarray:
    return np.array([sum(r["channels"] for r in a), sum(r["channels"] for r in b)])


def permutation_p(statistic, a, b, seed: int = 12345) -> tuple[float, float]:
    """The statistic of samples ``a`` and ``b`` (lists of runs) and its p-value under
    random relabelling of whole runs: exact however correlated a run's spells are."""
    observed = statistic(a, b)
    runs = list(a) + list(b)
    rng = np.random.default_rng(seed)
    hits = 1
    for _ in range(N_PERMUTATIONS):
        idx = rng.permutation(len(runs))
        pa = [runs[i] for i in idx[: len(a)]]
        pb = [runs[i] for i in idx[len(a):]]
        hits += statistic(pa, pb) >= observed
    return observed, hits / (N_PERMUTATIONS + 1)


def compare(ref, fast) -> pd.DataFrame:
    """All docking statistics of two samples of runs; one row per comparison.

    Columns: ``test``, ``statistic``, ``p`` (difference test), and for per-seed
    summaries ``ref_mean``, ``fast_mean``, ``sd`` (between-seed, pooled), ``d``
    (standardised difference), ``tost_lo``/``tost_hi`` (the equivalence interval of
    the difference), ``margin`` (+- EQUIV_MARGIN_SD x sd) and ``mw_p`` (Mann-Whitney).
    """
    rows = []
    ks, p = permutation_p(lambda a, b: ks_distance(pooled_durations(a), pooled_durations(b)),
                          ref, fast)
    rows.append({"test": "durations KS (run permutation)", "statistic": ks, "p": p,
                 "ref_mean": float(np.mean(pooled_durations(ref))),
                 "fast_mean": float(np.mean(pooled_durations(fast)))})
    chi, p = permutation_p(lambda a, b: chi_square(channel_table(a, b)), ref, fast)
    shares = channel_table(ref, fast) / channel_table(ref, fast).sum(axis=1, keepdims=True)
    rows.append({"test": "channels chi2 (run permutation)", "statistic": chi, "p": p,
                 "ref_mean": shares[0, 0], "fast_mean": shares[1, 0]})  # formal share
    z = stats.norm.ppf(1 - EQUIV_ALPHA / len(PER_SEED) / len(SETUPS))
    for key in PER_SEED:
        x = np.array([r[key] for r in ref])
        y = np.array([r[key] for r in fast])
        welch = stats.ttest_ind(x, y, equal_var=False)
        se = math.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
        sd = math.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)
        diff = x.mean() - y.mean()
        rows.append({"test": f"{key} Welch", "statistic": welch.statistic, "p": welch.pvalue,
                     "ref_mean": x.mean(), "fast_mean": y.mean(), "sd": sd,
                     "d": diff / sd if sd > 0 else 0.0,
                     "tost_lo": diff - z * se, "tost_hi": diff + z * se,
                     "margin": EQUIV_MARGIN_SD * sd,
                     "mw_p": stats.mannwhitneyu(x, y).pvalue})
    return pd.DataFrame(rows)


def verdict(table: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(difference tests that reject, summaries outside their equivalence margin)."""
    alpha = FAMILY_ALPHA / N_DIFFERENCE_TESTS
    rejected = table.loc[table["p"] < alpha, "test"].tolist()
    eq = table.dropna(subset=["margin"])
    outside = eq.loc[(eq["tost_lo"] <= -eq["margin"]) | (eq["tost_hi"] >= eq["margin"]),
                     "test"].tolist()
    return rejected, outside


def report(table: pd.DataFrame) -> str:
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", "{:.4g}".format):
        return table.to_string(index=False)


# ---------------------------------------------------------------------------- tests
def test_reference_bookkeeping():
    """The reference keeps its books (one open spell per unemployed worker, positions
    match employers, hires = closed spells) and writes the fast model's spell columns
    (both in the legacy configuration, the only one the reference runs)."""
    cfg = with_legacy({"n_workers": 200, "burn_in": 8, "weeks": 20, "seed": 3,
                       "strategy": {"name": "mix",
                                    "shares": {"lions": 0.25, "everyone": 0.25,
                                               "passive": 0.25, "broadcast": 0.25}}})
    m = ReferenceMarket(cfg)
    while m.week < m.cfg.weeks:
        m.step()
        open_spells = [s for s in m.spells if s["end_week"] is None]
        assert sorted(s["worker_id"] for s in open_spells) == [w.wid for w in m.workers
                                                                if not w.employed]
        for w in m.workers:
            assert (w.firm is None) == (w.slot == -1)
            if w.employed:
                assert w.firm.holder[w.slot] is w and w.firm.state[w.slot] == "filled"
        assert sum(f.state.count("filled") for f in m.firms) == sum(w.employed for w in m.workers)
    spells, series = m.spells_frame(), m.timeseries_frame()
    fast = LabourMarket(cfg).run().spells_frame()
    assert list(spells.columns) == list(fast.columns)
    assert (spells.dtypes.astype(str) == fast.dtypes.astype(str)).all()
    assert (~spells["censored"]).sum() == series["hires"].sum() > 0
    assert set(spells["channel"].dropna()) <= {"formal", "lead", "referral"}


@pytest.mark.slow
@pytest.mark.parametrize("setup", list(SETUPS))
def test_fast_model_docks_with_reference(setup):
    table = compare(sample("reference", setup), sample("fast", setup))
    rejected, outside = verdict(table)
    assert not rejected, f"difference tests reject {rejected}:\n{report(table)}"
    assert not outside, f"outside the equivalence margin {outside}:\n{report(table)}"


@pytest.mark.slow
def test_docking_detects_a_changed_parameter():
    """Negative control: twice the formal applications must be told apart."""
    changed = sample("fast", "lions", (("hiring.applications", 0.12),))
    table = compare(sample("reference", "lions"), changed)
    rejected, outside = verdict(table)
    assert "durations KS (run permutation)" in rejected, report(table)
    assert "channels chi2 (run permutation)" in rejected, report(table)
    assert "rmst_weeks Welch" in outside, report(table)


if __name__ == "__main__":  # the full report, for the documentation
    import time

    for name in SETUPS:
        t0 = time.perf_counter()
        ref = sample("reference", name)
        t1 = time.perf_counter()
        fast = sample("fast", name)
        t2 = time.perf_counter()
        print(f"\n== {name}: {len(SEEDS)} seeds per model; reference {t1 - t0:.0f} s, "
              f"fast {t2 - t1:.0f} s")
        print(f"spells per run (completed, fresh): reference "
              f"{np.mean([len(r['durations']) for r in ref]):.0f}, "
              f"fast {np.mean([len(r['durations']) for r in fast]):.0f}")
        t = compare(ref, fast)
        print(report(t), "\nverdict:", verdict(t))
    print("\n== negative control: fast model with hiring.applications doubled vs reference (lions)")
    t = compare(sample("reference", "lions"), sample("fast", "lions", (("hiring.applications", 0.12),)))
    print(report(t), "\nverdict:", verdict(t))


def test_reference_lions_announce():
    """``lions.announce`` in the reference: its lions announce (as the fast model's do),
    and only with the parameter on (legacy configuration)."""
    for announce in (False, True):
        cfg = with_legacy({"n_workers": 200, "burn_in": 4, "weeks": 4, "seed": 1,
                           "strategy": {"name": "mix", "shares": {"lions": 0.5, "everyone": 0.5},
                                        "params": {"lions": {"announce": announce}}}})
        m = ReferenceMarket(cfg)
        for w in m.workers:
            w.plan()
        fast = LabourMarket(cfg)
        fast.plan_networking()
        lions = [w.strategy == "lions" for w in m.workers]
        assert any(lions) and not all(lions)
        assert [w.announces for w in m.workers] == [announce and x for x in lions]
        k = fast.strategy_names.index("lions")
        assert (fast.announces == (announce & (fast.strategy == k))).all()
