"""Known-answer tests of the run-level bands and paired differences
(:mod:`analysis.bands`) and of the figures built on them: per-run Kaplan-Meier
curves against lifelines, bands computed by hand, the pairing by seed with three
swept factors, Holm's adjustment, bands inside [0, 1], every cell shown."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from matplotlib.collections import LineCollection, PolyCollection
from scipy import stats

from analysis import bands, survival
from analysis.data import Data
from analysis.figures import (
    MAX_PANELS,
    make_figures,
    plot_difference_heatmap,
    plot_hazard,
    plot_km,
    plot_outcome_vs_param,
)

STRATS = ["everyone", "lions"]
X, Y, Z = "market.vacancy_rate", "networking.time_budget", "ties.decay.colleague"


def make_data(durations: dict[tuple, list[int] | int], params: list[str], weeks: int = 60,
              censor_at: int | None = None) -> Data:
    """A synthetic sweep: ``durations[(strategy, seed, *param values)]`` gives the
    spell durations of that run (an int: 20 spells of that duration, all hired, so
    the run's KM RMST is exactly that int). Spells longer than ``censor_at`` are
    censored there."""
    rows, runs = [], []
    for key, dur in durations.items():
        strat, seed, *values = key
        run_id = f"{strat}_s{seed}_" + "_".join(map(str, values))
        dur = [dur] * 20 if isinstance(dur, int) else list(dur)
        for i, d in enumerate(dur):
            cens = censor_at is not None and d > censor_at
            rows.append({"run_id": run_id, "worker_id": i, "seed": seed, "strategy": strat,
                         "duration_weeks": min(d, censor_at) if cens else d, "censored": cens,
                         "left_truncated": False, "channel": None if cens else "formal",
                         **dict(zip(params, values, strict=True))})
        runs.append({"run_id": run_id, "status": "complete", "seed": seed, "weeks": weeks,
                     "strategy_mix": strat, **dict(zip(params, values, strict=True))})
    spells = pd.DataFrame(rows)
    spells["strategy"] = pd.Categorical(spells["strategy"], categories=STRATS)
    spells["channel"] = pd.Categorical(spells["channel"], categories=["formal", "lead", "referral"])
    spells["duration_weeks"] = spells["duration_weeks"].astype("int32")
    return Data("sweep", Path("/nonexistent"), spells, pd.DataFrame(runs), list(params), {})


# ---------------------------------------------------------------------------- helpers


def logit_t(values, level: float = 0.95) -> tuple[float, float, float]:
    """By hand: the mean of per-run values in (0, 1) with a t interval on the
    logit scale (delta method), as a figure's band should be."""
    x = np.asarray(values, float)
    m, se = x.mean(), x.std(ddof=1) / np.sqrt(len(x))
    half = stats.t.ppf(0.5 + level / 2, len(x) - 1) * se / (m * (1 - m))
    g = np.log(m / (1 - m))
    return m, 1 / (1 + np.exp(-(g - half))), 1 / (1 + np.exp(-(g + half)))


def test_stars_and_few_runs_note():
    assert bands.stars(0.049) == "*" and bands.stars(0.0009) == "***" and bands.stars(0.05) == ""
    assert bands.stars(np.nan) == ""
    assert bands.few_runs_sentence(5) == ""
    assert "rest on few runs" in bands.few_runs_sentence(2)
    assert "no interval" in bands.few_runs_sentence(1, "seeds")


def test_hazard_band_by_hand():
    # three runs; run r has 10 spells: k_r hired in week 1, the others in week 3
    hired_week1 = [3, 4, 6]
    durs = {("everyone", s): [1] * k + [3] * (10 - k) for s, k in enumerate(hired_week1)}
    durs[("everyone", 3)] = [1] * 2 + [2] * 2  # a fourth run, too small to count (4 at risk)
    data = make_data(durs, [])
    band = survival.hazard_run_level(data, ["strategy"], 4, min_at_risk=5).rename(
        columns={"hazard": "mean"})
    row = band[band["week"] == 1].iloc[0]
    mean, lo, hi = logit_t(np.array(hired_week1) / 10)
    assert row["n_runs"] == 3 and row["at_risk"] == 30
    assert (row["mean"], row["lower"], row["upper"]) == pytest.approx((mean, lo, hi))
    assert 0 < row["lower"] < row["upper"] < 1
    # week 3: every counted run hires all its spells (hazard 1): no interval, not [1, 1]
    w3 = band[band["week"] == 3].iloc[0]
    assert w3["mean"] == 1.0 and np.isnan(w3["lower"]) and np.isnan(w3["upper"])
    # week 2: runs 0 and 1 have 7 and 6 spells at risk and no hire; run 2 has 4 (not counted)
    w2 = band[band["week"] == 2].iloc[0]
    assert w2["n_runs"] == 2 and w2["mean"] == 0.0 and np.isnan(w2["lower"])


def test_km_band_is_the_logit_t_interval_of_per_run_km():
    rng = np.random.default_rng(7)
    durs = {("lions", s): list(rng.geometric(0.15, 200)) for s in range(4)}
    data = make_data(durs, [], censor_at=25)
    s1 = []
    for _, g in data.spells.groupby("run_id"):
        kmf = KaplanMeierFitter().fit(g["duration_weeks"], ~g["censored"])
        s1.append(float(kmf.survival_function_at_times(5).iloc[0]))
    mean, lo, hi = logit_t(s1)
    row = survival.km_run_level(data, ["strategy"], 20).set_index("week").loc[5]
    assert (row["survival"], row["lower"], row["upper"]) == pytest.approx((mean, lo, hi))
    fig = plot_km(data, max_week=20)  # the figure draws that band
    (poly,) = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    verts = np.vstack([p.vertices for p in poly.get_paths()])
    at5 = verts[verts[:, 0] == 5, 1]
    assert np.isclose(at5, lo).any() and np.isclose(at5, hi).any()
    line = fig.axes[0].lines[0]
    assert line.get_ydata()[list(line.get_xdata()).index(5)] == pytest.approx(mean)


# ---------------------------------------------------------------------------- pairing


def three_factor_data() -> tuple[Data, dict]:
    """3 seeds x 2 x 2 x 2 levels, both strategies; per-run RMST = a chosen integer.
    The seed effect is large and shared by both strategies (common random numbers)
    and the third factor moves both strategies as well, so the pairing matters."""
    rng = np.random.default_rng(3)
    seed_effect = {0: 0, 1: 8, 2: 16}
    durs, truth = {}, {}
    for seed, x, y, z in itertools.product(range(3), (0.02, 0.06), (2.0, 10.0), (0.005, 0.02)):
        base = 10 + seed_effect[seed] + (4 if z == 0.02 else 0) + (2 if x == 0.06 else 0)
        diff = 1 + seed + int(rng.integers(0, 3))  # lions - everyone: 1..5 weeks
        durs[("everyone", seed, x, y, z)] = base
        durs[("lions", seed, x, y, z)] = base + diff
        truth[(seed, x, y, z)] = diff
    return make_data(durs, [X, Y, Z]), truth


def test_paired_difference_three_factors_equals_hand_paired_t():
    data, truth = three_factor_data()
    d = survival.strategy_difference(data, "lions", "everyone", "rmst", by=[X, Y], horizon=52)
    assert len(d) == 4 and d["paired"].all() and (d["n_seeds"] == 3).all()
    for r in d.itertuples():
        x, y = r[1], r[2]  # the X and Y columns come first
        per_seed = np.array([np.mean([truth[(s, x, y, z)] for z in (0.005, 0.02)])
                             for s in range(3)])
        assert per_seed.std() > 0
        half = stats.t.ppf(0.975, 2) * per_seed.std(ddof=1) / np.sqrt(3)
        assert r.diff == pytest.approx(per_seed.mean())
        assert r.lower == pytest.approx(per_seed.mean() - half)
        assert r.upper == pytest.approx(per_seed.mean() + half)
        assert r.p_value == pytest.approx(stats.ttest_1samp(per_seed, 0.0).pvalue)
        # the wrong answer of issue 18 point 4: Welch on 6 "replicates" (3 seeds x 2 levels of Z)
        cell = data.spells[(data.spells[X] == x) & (data.spells[Y] == y)]
        rmst = cell.groupby(["run_id", "strategy"], observed=True)["duration_weeks"].first()
        a = rmst.xs("lions", level="strategy").to_numpy(float)
        b = rmst.xs("everyone", level="strategy").to_numpy(float)
        welch = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
        assert len(a) == 6 and welch.high - welch.low > 2 * (r.upper - r.lower)
    p = np.sort(d["p_value"].to_numpy())  # Holm by hand: 4 tests
    holm = np.minimum(np.maximum.accumulate(p * [4, 3, 2, 1]), 1.0)
    np.testing.assert_allclose(np.sort(d["p_holm"].to_numpy()), holm)


def test_share_difference_interval_stays_in_range():
    # two seeds, lions far faster in one, far slower in the other: t interval beyond +-1
    durs = {("everyone", 0): 10, ("lions", 0): 2, ("everyone", 1): 2, ("lions", 1): 10}
    durs[("everyone", 2)] = 3
    durs[("lions", 2)] = 9
    d = survival.strategy_difference(make_data(durs, []), "lions", "everyone", "share_within",
                                     by=[])
    assert d["lower"].iloc[0] == -1.0 and d["upper"].iloc[0] == 1.0


# ---------------------------------------------------------------------------- figures


def bands_y(fig) -> np.ndarray:
    """The y coordinates of every band (filled area) and error bar of a figure."""
    ys = []
    for ax in fig.axes:
        for c in ax.collections:
            if isinstance(c, PolyCollection):
                ys += [p.vertices[:, 1] for p in c.get_paths()]
            elif isinstance(c, LineCollection):
                ys += [np.asarray(seg)[:, 1] for seg in c.get_segments()]
    return np.concatenate(ys) if ys else np.array([])


def test_km_and_hazard_bands_stay_in_unit_interval():
    rng = np.random.default_rng(11)
    # two very different runs per strategy: the t band (t_1 = 12.7) would leave [0, 1]
    durs = {("everyone", 0): list(rng.geometric(0.6, 300)),
            ("everyone", 1): list(rng.geometric(0.05, 300)),
            ("lions", 0): list(rng.geometric(0.5, 300)),
            ("lions", 1): list(rng.geometric(0.08, 300))}
    data = make_data(durs, [], censor_at=40)
    s10 = [KaplanMeierFitter().fit(g["duration_weeks"], ~g["censored"]).predict(10)
           for _, g in data.spells.groupby("run_id")]
    assert np.mean(s10[:2]) - 12.7 * np.std(s10[:2], ddof=1) / np.sqrt(2) < 0  # plain t: < 0
    km = plot_km(data, max_week=40)
    y = bands_y(km)
    assert len(y) and y.min() >= 0.0 and y.max() <= 1.0
    assert "across runs" in km._suptitle.get_text()
    # the hazard with 2 runs per curve: the runs are drawn, not a band
    hz = plot_hazard(data, max_week=40)
    assert not len(bands_y(hz)) and "Thin lines: the runs" in hz._suptitle.get_text()
    # with 5 very different runs per curve: a band, inside [0, 100] %
    probs = (0.6, 0.05, 0.3, 0.1, 0.8)
    durs = {(s, seed): list(rng.geometric(p * f, 300)) for s, f in (("everyone", 1.0), ("lions", 0.8))
            for seed, p in enumerate(probs)}
    hz = plot_hazard(make_data(durs, [], censor_at=40), max_week=40)
    y = bands_y(hz)
    assert len(y) and y.min() >= 0.0 and y.max() <= 100.0  # percent
    assert "Band: pointwise 95% t interval across runs" in hz._suptitle.get_text()


def test_single_run_band_is_labelled_within_run():
    data = make_data({("lions", 0): list(np.random.default_rng(1).geometric(0.2, 300))}, [])
    text = plot_km(data)._suptitle.get_text().replace("\n", " ")
    assert "within-run" in text and "not uncertainty between runs" in text


def test_heatmap_three_factors_shows_every_cell_paired_with_holm_stars():
    data, truth = three_factor_data()
    fig = plot_difference_heatmap(data, X, Y)
    d = survival.strategy_difference(data, "lions", "everyone", "rmst", by=[X, Y])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 4  # every (x, y) cell
    for r in d.itertuples():
        star = bands.stars(r.p_holm)
        assert any(t.startswith(f"{r.diff:+.1f}{star}\n[{r.lower:+.1f}, {r.upper:+.1f}]")
                   for t in texts), (texts, r)
    head = fig._suptitle.get_text().replace("\n", " ")
    assert "averaged within seed over" in head and "Holm" in head and "n = 3 seeds" in head


def test_every_cell_on_some_page_with_a_note(tmp_path):
    levels = [0.01, 0.02, 0.03, 0.04, 0.05]
    durs = {}
    for seed, x, y in itertools.product(range(2), levels, (2.0, 10.0)):
        for s, add in (("everyone", 0), ("lions", 1)):
            durs[(s, seed, x, y)] = list(np.random.default_rng([seed, add]).geometric(0.2, 30))
    data = make_data(durs, [X, Y])
    n_cells = len(levels) * 2
    assert n_cells > MAX_PANELS
    first = plot_km(data)
    assert first.n_pages == 2 and "Page 1 of 2" in first._suptitle.get_text()
    titles = {ax.get_title() for p in (1, 2) for ax in plot_km(data, page=p).axes}
    assert len(titles) == n_cells
    for stale in ("km_p3.png", "km_p3.pdf"):  # left by an earlier sweep with more cells
        (tmp_path / stale).write_bytes(b"old")
    skipped: dict[str, str] = {}
    made = {p.stem for p in make_figures(data, tmp_path, skipped=skipped)}
    assert {"km", "km_p2", "hazard", "hazard_p2"} <= made
    assert not (tmp_path / "km_p3.png").exists() and not (tmp_path / "km_p3.pdf").exists()
    # outcome against each swept parameter, panels = levels of the other one (fits one page)
    assert {"rmst_vs_market-vacancy_rate", "rmst_vs_networking-time_budget"} <= made
    assert "market" in skipped and "rmst_vs_share_lions" in skipped
    assert "no mixed population" in skipped["rmst_vs_share_lions"]


def test_outcome_vs_param_interval_in_range_and_few_runs_note():
    durs = {}
    for seed, x in itertools.product(range(2), (0.02, 0.04)):
        durs[("lions", seed, x)] = 3 if seed == 0 else 50  # huge spread between 2 runs
        durs[("everyone", seed, x)] = 5
    data = make_data(durs, [X])
    fig = plot_outcome_vs_param(data, X, "rmst")
    y = bands_y(fig)
    assert len(y) and y.min() >= 0.0 and y.max() <= 52.0
    assert "rest on few runs" in fig._suptitle.get_text()
