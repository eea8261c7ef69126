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
from matplotlib.collections import PolyCollection
from scipy import stats

from analysis import bands
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


# ---------------------------------------------------------------------------- primitives


def test_holm_known_answer_and_nan():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4*0.005=0.02, 3*0.01=0.03, 2*0.03=0.06, max(0.06, 0.04)
    np.testing.assert_allclose(bands.holm(p)[:4], [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(bands.holm(p)[4])
    assert bands.holm([0.9, 0.8]).tolist() == [1.0, 1.0]
    assert bands.stars(0.049) == "*" and bands.stars(0.0009) == "***" and bands.stars(0.05) == ""


def test_bounded_interval_is_the_t_interval_cut_to_the_range():
    x = np.array([0.01, 0.08])  # two runs of a share: the t interval runs below 0
    half = stats.t.ppf(0.975, 1) * x.std(ddof=1) / np.sqrt(2)
    assert x.mean() - half < 0
    ti = bands.bounded_interval(x, 0.95, (0.0, 1.0))
    assert ti["lower"] == 0.0 and ti["upper"] == pytest.approx(x.mean() + half)
    inside = bands.bounded_interval([0.4, 0.5, 0.6], 0.95, (0.0, 1.0))
    assert inside["lower"] == pytest.approx(0.5 - stats.t.ppf(0.975, 2) * 0.1 / np.sqrt(3))
    assert np.isnan(bands.bounded_interval([0.3])["lower"])
    assert bands.metric_bounds("share_within", 52, 100, difference=True, scale=100) == (-100, 100)
    assert bands.metric_bounds("rmst", 29, 29) == (0.0, 29)


def test_few_runs_note():
    assert bands.few_runs_note(5) == ""
    assert "rest on few runs" in bands.few_runs_note(2)
    assert "no interval" in bands.few_runs_note(1, "seeds")


def test_run_curves_are_lifelines_kaplan_meier_per_run():
    rng = np.random.default_rng(7)
    durs = {("lions", s): list(rng.geometric(0.15, 200)) for s in range(3)}
    data = make_data(durs, [], censor_at=25)
    curves = bands.run_curves(data, ["strategy"], max_week=30)
    assert set(curves["run_id"]) == set(data.spells["run_id"])
    for run_id, g in data.spells.groupby("run_id"):
        kmf = KaplanMeierFitter().fit(g["duration_weeks"], ~g["censored"])
        ref = kmf.survival_function_at_times(np.arange(31)).to_numpy()
        np.testing.assert_allclose(curves.loc[curves["run_id"] == run_id, "survival"], ref,
                                   atol=1e-12)
        et = kmf.event_table
        mine = curves[(curves["run_id"] == run_id) & (curves["week"].isin(et.index))]
        np.testing.assert_array_equal(mine["at_risk"], et.loc[mine["week"], "at_risk"])


def test_curve_band_by_hand():
    # three runs; run r has 10 spells, of which k_r are hired in week 1 and the rest in week 3
    hired_week1 = [3, 4, 6]
    durs = {("everyone", s): [1] * k + [3] * (10 - k) for s, k in enumerate(hired_week1)}
    data = make_data(durs, [])
    band = bands.curve_band(bands.run_curves(data, ["strategy"], 4), ["strategy"], "survival")
    s1 = 1 - np.array(hired_week1) / 10  # S_r(1)
    half = stats.t.ppf(0.975, 2) * s1.std(ddof=1) / np.sqrt(3)
    row = band[band["week"] == 1].iloc[0]
    assert row["n_runs"] == 3 and row["mean"] == pytest.approx(s1.mean())
    assert row["lower"] == pytest.approx(s1.mean() - half)
    assert row["upper"] == pytest.approx(s1.mean() + half) and row["upper"] < 1
    assert band.loc[band["week"] == 3, "mean"].iloc[0] == 0.0
    # the hazard in week 3 is 1 in every run: a zero-width band at 1, not above it
    hz = bands.curve_band(bands.run_curves(data, ["strategy"], 4), ["strategy"], "hazard")
    assert hz.loc[hz["week"] == 3, ["mean", "lower", "upper"]].iloc[0].tolist() == [1.0, 1.0, 1.0]


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
    d = bands.paired_difference(data, "lions", "everyone", "rmst", by=[X, Y], horizon=52)
    assert len(d) == 4 and d["paired"].all() and (d["n"] == 3).all()
    assert (d["averaged_over"] == Z).all()
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
    np.testing.assert_allclose(d["p_holm"], bands.holm(d["p_value"].to_numpy()))


def test_paired_difference_falls_back_to_welch_without_common_seeds():
    durs = {("everyone", 0): 10, ("everyone", 1): 12, ("lions", 2): 14, ("lions", 3): 13}
    d = bands.paired_difference(make_data(durs, []), "lions", "everyone", "rmst")
    assert not d["paired"].iloc[0] and d["diff"].iloc[0] == pytest.approx(13.5 - 11)
    ref = stats.ttest_ind([14, 13], [10, 12], equal_var=False).confidence_interval(0.95)
    assert d["lower"].iloc[0] == pytest.approx(max(ref.low, -52))


def test_paired_difference_share_interval_stays_in_range():
    # two seeds, lions far faster in one, far slower in the other: t interval beyond +-1
    durs = {("everyone", 0): 10, ("lions", 0): 2, ("everyone", 1): 2, ("lions", 1): 10}
    durs[("everyone", 2)] = 3
    durs[("lions", 2)] = 9
    d = bands.paired_difference(make_data(durs, []), "lions", "everyone", "share_within")
    assert d["lower"].iloc[0] == -1.0 and d["upper"].iloc[0] == 1.0


# ---------------------------------------------------------------------------- figures


def bands_y(fig) -> np.ndarray:
    ys = [p.vertices[:, 1] for ax in fig.axes for c in ax.collections
          if isinstance(c, PolyCollection) for p in c.get_paths()]
    return np.concatenate(ys) if ys else np.array([])


def test_km_and_hazard_bands_stay_in_unit_interval():
    rng = np.random.default_rng(11)
    # two very different runs per strategy: the t band (t_1 = 12.7) would leave [0, 1]
    durs = {("everyone", 0): list(rng.geometric(0.6, 300)),
            ("everyone", 1): list(rng.geometric(0.05, 300)),
            ("lions", 0): list(rng.geometric(0.5, 300)),
            ("lions", 1): list(rng.geometric(0.08, 300))}
    data = make_data(durs, [], censor_at=40)
    raw = bands.run_curves(data, ["strategy"], 40)
    wide = raw.pivot_table(index=["strategy", "week"], columns="run_id", values="survival")
    assert ((wide.mean(axis=1) - 12.7 * wide.std(axis=1) / np.sqrt(2)) < 0).any()
    km = plot_km(data, max_week=40)
    y = bands_y(km)
    assert len(y) and y.min() >= 0.0 and y.max() <= 1.0
    assert "across runs" in km.texts[0].get_text() or "across runs" in km._suptitle.get_text()
    hz = plot_hazard(data, max_week=40)
    y = bands_y(hz)
    assert len(y) and y.min() >= 0.0 and y.max() <= 100.0  # percent
    assert "rest on few runs" in hz._suptitle.get_text()


def test_single_run_band_is_labelled_within_run():
    data = make_data({("lions", 0): list(np.random.default_rng(1).geometric(0.2, 300))}, [])
    text = plot_km(data)._suptitle.get_text().replace("\n", " ")
    assert "within-run" in text and "not uncertainty between runs" in text


def test_heatmap_three_factors_shows_every_cell_paired_with_holm_stars():
    data, truth = three_factor_data()
    fig = plot_difference_heatmap(data, X, Y)
    d = bands.paired_difference(data, "lions", "everyone", "rmst", by=[X, Y])
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
            durs[(s, seed, x, y)] = list(np.random.default_rng(seed).geometric(0.2, 30) + add)
    data = make_data(durs, [X, Y])
    n_cells = len(levels) * 2
    assert n_cells > MAX_PANELS
    first = plot_km(data)
    assert first.n_pages == 2 and "Page 1 of 2" in first._suptitle.get_text()
    titles = {ax.get_title() for p in (1, 2) for ax in plot_km(data, page=p).axes}
    assert len(titles) == n_cells
    skipped: dict[str, str] = {}
    made = {p.stem for p in make_figures(data, tmp_path, skipped=skipped)}
    assert {"km", "km_p2", "hazard", "hazard_p2"} <= made
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
    assert y.min() >= 0.0 and y.max() <= 52.0
    assert "rest on few runs" in fig._suptitle.get_text()
