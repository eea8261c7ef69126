"""Run-level inference against known answers: intervals that stay in range and cover
at the nominal rate with 2, 3 and 10 replicates, a market-level (run-level) random
effect that pooled-spell intervals miss, the total effect of a strategy that works
through the network, a non-proportional hazard that the check catches, log-rank
tests stratified by seed, pairing by seed with a third swept factor, and Holm.

Tolerances come from the sampling variance (binomial s.e. of a coverage, the
between-seed s.e. of an estimate), stated beside each assertion; seeds are fixed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import multivariate_logrank_test, proportional_hazard_test
from scipy import stats

from analysis import survival
from analysis.coxph import cox_efron, ph_test_km
from analysis.stats import IDENTICAL, holm, paired_difference, range_interval
from tests.test_analysis import exp_spells, rmst_exp  # the synthetic spells both test files use

# ---------------------------------------------------------------------------- synthetic data


def weekly_spells(rng, n, hazard, weeks, **cols) -> pd.DataFrame:
    """Whole-week durations (the model's grid): hired in week t with probability
    ``hazard(t)`` among those still searching; censored after ``weeks`` weeks."""
    dur = np.full(n, weeks)
    hired = np.zeros(n, bool)
    for t in range(1, weeks + 1):
        new = ~hired & (rng.random(n) < hazard(t))
        dur[new] = t
        hired |= new
    df = pd.DataFrame({"duration_weeks": dur.astype(float), "censored": ~hired})
    for k, v in cols.items():
        df[k] = v
    return df


# ---------------------------------------------------------------------------- range_interval


def test_range_interval_stays_in_range_and_refuses_false_precision():
    # two runs of a share near 0 (the "4.4 % [-0.8, 9.7]")
    ri = range_interval([0.088, 0.0], (0.0, 1.0))
    assert 0.0 < ri["lower"] < ri["mean"] < ri["upper"] < 1.0
    # a t interval would go below 0 here
    assert ri["mean"] - stats.t.ppf(0.975, 1) * ri["sd"] / math.sqrt(2) < 0
    # an RMST in [0, tau] with two runs far apart stays in [0, tau]
    ri = range_interval([2.0, 50.0], (0.0, 52.0))
    assert 0.0 < ri["lower"] and ri["upper"] < 52.0
    # identical replicates: no zero-width interval
    ri = range_interval([7.0, 7.0, 7.0], (0.0, 104.0))
    assert ri["mean"] == 7.0 and np.isnan(ri["lower"]) and np.isnan(ri["upper"])
    # one run: no interval
    assert np.isnan(range_interval([3.0], (0.0, None))["lower"])
    # 2-d: one interval per column; NaN entries are runs without the quantity
    ri = range_interval(np.array([[0.2, 0.5], [0.3, np.nan], [0.25, 0.4]]), (0.0, 1.0))
    assert list(ri["n"]) == [3, 2] and (ri["lower"] < ri["mean"]).all()


def test_paired_difference_stays_in_its_range():
    res = paired_difference([0.9, -0.3], (-1.0, 1.0))
    assert res["lower"] >= -1.0 and res["upper"] <= 1.0 and res["lower"] < res["diff"]
    same = paired_difference([0.5, 0.5, 0.5])
    assert np.isnan(same["lower"]) and np.isnan(same["p_value"])


def test_holm_known_values():
    # p sorted 0.01, 0.03, 0.04 with m = 3: 0.03, 0.06, 0.06 (monotone); NaN is no test
    np.testing.assert_allclose(holm([0.04, 0.01, np.nan, 0.03]), [0.06, 0.03, np.nan, 0.06])
    assert (holm([0.5, 0.9]) == [1.0, 1.0]).all()


# ---------------------------------------------------------------------------- coverage


@pytest.mark.parametrize("n_runs", [2, 3, 10])
def test_replicate_interval_covers_the_truth_with_few_and_many_runs(n_runs):
    """Independent replicate runs: the run-level interval covers the true RMST and
    share at the nominal 95%, with 2, 3 and 10 runs, and never leaves the range."""
    lam, c, tau, at = 0.1, 0.03, 20.0, 4.0
    n_sets, n = 200, 150
    rng = np.random.default_rng(100 + n_runs)
    frames = [exp_spells(rng, n, lam, c, set=s, run_id=f"s{s}r{r}", strategy="lions")
              for s in range(n_sets) for r in range(n_runs)]
    res = survival.replicate_summary(pd.concat(frames, ignore_index=True), by="set",
                                     horizon=tau, at=at)
    assert len(res) == n_sets and (res["n_runs"] == n_runs).all()
    # coverage ~ Binomial(200, 0.95) / 200: s.e. 0.0154; allow 3 s.e.
    tol = 3 * math.sqrt(0.95 * 0.05 / n_sets)
    for metric, truth, hi in (("rmst", rmst_exp(lam, tau), tau),
                              ("share_within", 1 - math.exp(-lam * at), 1.0)):
        lo_, up_ = res[f"{metric}_lower"], res[f"{metric}_upper"]
        assert ((lo_ >= 0) & (up_ <= hi)).all(), metric  # inside the range, always
        covered = ((lo_ <= truth) & (truth <= up_)).mean()
        assert abs(covered - 0.95) <= tol, (metric, n_runs, covered)
    if n_runs < 5:
        assert res["rmst_note"].str.startswith("few runs").all()
    else:
        assert (res["rmst_note"] == "").all()


def test_market_effect_run_level_covers_pooled_does_not():
    """Each run has its own market (a log-normal frailty shared by all its spells):
    the run-level interval covers the scenario's RMST at about 95%, the pooled-spell
    (within-run) interval, which treats spells as independent, far less often."""
    lam, c, tau, sigma = 0.1, 0.03, 20.0, 0.25
    n_sets, n_runs, n = 200, 5, 400
    rng = np.random.default_rng(7)
    frames = []
    for s in range(n_sets):
        for r in range(n_runs):
            u = rng.normal(0.0, sigma)
            frames.append(exp_spells(rng, n, lam * math.exp(u), c, set=s, run_id=f"s{s}r{r}",
                                     strategy="x"))
    df = pd.concat(frames, ignore_index=True)
    # truth: E_u[RMST(lam e^u)] (= the RMST of the mixture, which the pooled KM estimates)
    x, w = np.polynomial.hermite_e.hermegauss(40)
    truth = float(np.sum(w * np.array([rmst_exp(lam * math.exp(sigma * xi), tau) for xi in x]))
                  / w.sum())
    run = survival.replicate_summary(df, by="set", horizon=tau)
    pooled = survival.pooled_summary(df, by="set", horizon=tau)
    cov_run = ((run["rmst_lower"] <= truth) & (truth <= run["rmst_upper"])).mean()
    cov_pooled = ((pooled["rmst_lower"] <= truth) & (truth <= pooled["rmst_upper"])).mean()
    tol = 3 * math.sqrt(0.95 * 0.05 / n_sets)
    assert abs(cov_run - 0.95) <= tol, cov_run
    # between-run s.d. of a run's RMST is about sigma * |dRMST/dlog lam| = 1.5 weeks, so
    # the mean of 5 runs varies by 0.66 while the pooled s.e. is about 0.12: the pooled
    # interval covers far less than 95% (about 20%)
    assert cov_pooled < 0.5, cov_pooled


# ---------------------------------------------------------------------------- estimands


def network_spells(rng, seeds=5, n=3000):
    """Strategy raises degree, degree raises the hazard: everyone has about 84
    contacts, lions about 15; at a given degree lions are *faster* (direct log HR
    log 1/0.7), but through the network they are slower in total."""
    gamma, direct = 0.4, math.log(1 / 0.7)
    frames = []
    for seed in range(seeds):
        for strat, mean_log2 in (("everyone", 6.4), ("lions", 4.0)):
            log2deg = rng.normal(mean_log2, 0.2, n)
            ability = rng.normal(0, 1, n)
            lin = gamma * log2deg + 0.3 * ability + (direct if strat == "lions" else 0.0)
            t = rng.exponential(1 / (0.01 * np.exp(lin)))
            cens = rng.uniform(5, 60, n)
            frames.append(pd.DataFrame({
                "duration_weeks": np.minimum(t, cens), "censored": t > cens,
                "strategy": strat, "seed": seed, "run_id": f"{strat}{seed}",
                "worker_id": np.arange(n), "sector": rng.integers(0, 3, n),
                "ability": ability, "degree_at_start": np.round(2 ** log2deg - 1)}))
    df = pd.concat(frames, ignore_index=True)
    df["strategy"] = pd.Categorical(df["strategy"], ["everyone", "lions"])
    total = direct + gamma * (4.0 - 6.4)  # log HR lions / everyone through both paths
    return df, total, direct


def test_default_cox_recovers_the_total_effect_not_the_adjusted_one():
    df, total, direct = network_spells(np.random.default_rng(11))
    cox = survival.cox_by_seed(df, within=[])
    row = cox[cox["covariate"] == "strategy[lions]"].iloc[0]
    assert set(cox["covariate"]) == {"strategy[lions]", "ability"}  # no degree by default
    assert row["reference"] == "everyone" and row["n_seeds"] == 5
    # total HR exp(-0.59) = 0.55: lions slower; the between-seed s.e. is about 0.03 on the
    # log scale; the degree spread within strategy (s.d. 0.08 on the log hazard) biases
    # the marginal HR towards 1 by well under 0.01
    assert abs(math.log(row["hr"]) - total) < 4 * row["se"] + 0.02, (row["hr"], math.exp(total))
    assert row["hr_lower"] < math.exp(total) < row["hr_upper"]
    assert row["hr_upper"] < 1.0
    adj = survival.cox_by_seed(df, survival.ADJUSTED_COVARIATES, within=[])
    arow = adj[adj["covariate"] == "strategy[lions]"].iloc[0]
    # the adjusted model answers another question: the direct effect, the other way
    assert arow["hr"] > 1.0 and abs(math.log(arow["hr"]) - direct) < 4 * arow["se"] + 0.05
    # fit_cox's default (one model on all spells) is the total effect too
    pooled = survival.cox_table(survival.fit_cox(df, within=[])).set_index("covariate")
    assert "log2_degree_at_start" not in pooled.index
    assert abs(pooled.loc["strategy[lions]", "coef"] - total) < 4 * row["se"] + 0.02
    # the RMST difference agrees in direction with the default model: lions slower
    diff = survival.strategy_difference(df, "lions", "everyone", "rmst", by=[], horizon=52)
    assert diff["diff"].iloc[0] > 0 and diff["paired"].iloc[0]


# ---------------------------------------------------------------------------- hazards


def two_strategy_weekly(rng, ratio, seeds=5, n=3000, weeks=52, base=0.12):
    frames = []
    for seed in range(seeds):
        m = math.exp(rng.normal(0, 0.1))  # the seed's market, shared by both strategies
        for strat in ("everyone", "lions"):
            def h(t, strat=strat, m=m):
                return base * m * (ratio(t) if strat == "lions" else 1.0)
            f = weekly_spells(rng, n, h, weeks, strategy=strat, seed=seed,
                              run_id=f"{strat}{seed}")
            f["worker_id"] = np.arange(n)
            f["sector"] = rng.integers(0, 3, n)
            f["ability"] = rng.normal(0, 1, n)
            frames.append(f)
    df = pd.concat(frames, ignore_index=True)
    df["strategy"] = pd.Categorical(df["strategy"], ["everyone", "lions"])
    return df


def test_ph_check_fires_on_non_proportional_hazards_and_piecewise_recovers_bands():
    # lions: half the hazard of everyone in weeks 1-4, 1.5 times after
    df = two_strategy_weekly(np.random.default_rng(12), lambda t: 0.5 if t <= 4 else 1.5)
    ph = survival.ph_test(df, within=[])
    p = ph.loc[ph["covariate"] == "strategy[lions]", "p"].iloc[0]
    assert p < 1e-6, p
    pw = survival.piecewise_hazard_ratio(df, "lions", "everyone", by=[])
    assert list(pw["band"]) == ["1-4", "5-13", "14-26", "27-52"]
    truth = {"1-4": 0.5, "5-13": 1.5, "14-26": 1.5, "27-52": 1.5}
    for r in pw.itertuples():
        # between-seed s.e. on the log scale from the interval's half-width
        se = (math.log(r.hr_upper) - math.log(r.hr_lower)) / (2 * stats.t.ppf(0.975, 4))
        assert abs(math.log(r.hr) - math.log(truth[r.band])) < 4 * se, r


def test_ph_check_quiet_on_proportional_hazards():
    df = two_strategy_weekly(np.random.default_rng(13), lambda t: 0.7)
    ph = survival.ph_test(df, within=[])
    # under the null the p-value is uniform: at this seed it is not below 1%
    assert (ph["p"] > 0.01).all(), ph


def test_hazard_run_level_recovers_weekly_hazard_within_range():
    df = two_strategy_weekly(np.random.default_rng(14), lambda t: 0.7, seeds=4, n=2000,
                             weeks=20)
    h = survival.hazard_run_level(df, by="strategy")
    assert ((h["lower"] >= 0) & (h["upper"] <= 1)).all()
    e = h[(h["strategy"] == "everyone") & (h["week"] <= 10)]
    assert (e["n_runs"] == 4).all()
    # the seed markets have s.d. 0.1 on the log hazard: the mean hazard of 4 runs is
    # within 3 * 0.12 * 0.1 / 2 of 0.12 (plus the binomial noise, much smaller)
    assert (abs(e["hazard"] - 0.12) < 0.03).all()
    km = survival.km_run_level(df, by="strategy", max_week=20)
    assert ((km["lower"].dropna() >= 0).all() and (km["upper"].dropna() <= 1).all())
    assert np.isnan(km.loc[km["week"] == 0, "lower"]).all()  # S(0) = 1 in every run: no band
    assert (km.loc[km["week"] == 0, "survival"] == 1.0).all()


# ---------------------------------------------------------------------------- tests by seed


def test_stratified_logrank_equals_lifelines_with_one_stratum():
    rng = np.random.default_rng(15)
    d = rng.geometric(0.1, 3000).astype(float)
    g = rng.choice(["a", "b", "c"], 3000)
    o = rng.random(3000) < 0.8
    ours = survival.stratified_logrank(d, g, o)
    ref = multivariate_logrank_test(d, g, o)
    assert ours["statistic"] == pytest.approx(ref.test_statistic, rel=1e-9)
    assert ours["p"] == pytest.approx(ref.p_value, rel=1e-6)


def test_logrank_stratified_by_seed_removes_a_market_confound():
    """No strategy effect within any market, but the fast market has mostly lions:
    the pooled test 'finds' lions faster, the test stratified by seed does not."""
    rng = np.random.default_rng(16)
    frames = []
    for seed, lam, share_lions in ((0, 0.2, 0.8), (1, 0.05, 0.2)):
        n = 4000
        strat = np.where(rng.random(n) < share_lions, "lions", "everyone")
        f = exp_spells(rng, n, lam, 0.02, seed=seed, run_id=f"r{seed}")
        f["strategy"] = pd.Categorical(strat, ["everyone", "lions"])
        frames.append(f)
    df = pd.concat(frames, ignore_index=True)
    pooled = survival.logrank(df, within=[], strata=None)
    strat = survival.logrank(df, within=[])
    assert (pooled["p"] < 1e-10).all()
    assert (strat["strata"] == "seed").all() and (strat["n_strata"] == 2).all()
    assert (strat["p"] > 0.01).all()  # the null holds within seed; not below 1% at this seed
    assert (strat["p_holm"] >= strat["p"]).all()


def test_difference_keeps_pairing_with_a_third_factor():
    """Two levels of another factor per seed: the runs are averaged within seed, then
    paired (the issue's E3 cell was unpaired, a Welch test on 6 'replicates')."""
    rng = np.random.default_rng(17)
    frames = []
    for seed in range(3):
        shift = rng.normal(0, 0.3)  # the seed's market
        for f in (1, 2):
            for strat, lam in (("lions", 0.12), ("everyone", 0.10)):
                frames.append(exp_spells(rng, 300, lam * f * math.exp(shift), 0.02,
                                         strategy=strat, seed=seed, third=f,
                                         run_id=f"{strat}{seed}f{f}"))
    df = pd.concat(frames, ignore_index=True)
    row = survival.strategy_difference(df, "lions", "everyone", "rmst", by=[],
                                       horizon=20).iloc[0]
    assert row["paired"] and row["n_seeds"] == 3 and row["n_a"] == 6
    est = survival.per_run(df, ["strategy", "third"], horizon=20)
    by_seed = est.groupby(["seed", "strategy"], observed=True)["rmst"].mean().unstack()
    d = (by_seed["lions"] - by_seed["everyone"]).to_numpy()
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / math.sqrt(3)
    assert row["diff"] == pytest.approx(d.mean())
    assert row["lower"] == pytest.approx(max(d.mean() - half, -20))
    assert row["upper"] == pytest.approx(min(d.mean() + half, 20))


def test_single_run_has_no_interval():
    rng = np.random.default_rng(18)
    df = exp_spells(rng, 500, 0.1, 0.02, strategy="lions", run_id="r0", seed=0)
    res = survival.replicate_summary(df, by="strategy", horizon=20)
    assert np.isnan(res["rmst_lower"].iloc[0]) and res["rmst_note"].iloc[0].startswith("no repl")
    # identical runs: no interval either
    two = pd.concat([df, df.assign(run_id="r1", seed=1)], ignore_index=True)
    res = survival.replicate_summary(two, by="strategy", horizon=20)
    assert np.isnan(res["rmst_lower"].iloc[0]) and res["rmst_note"].iloc[0] == IDENTICAL


@pytest.mark.slow
def test_cox_by_seed_covers_with_run_effects_pooled_cox_does_not():
    """Every run has its own market (a frailty shared by its spells), so the per-seed
    hazard ratio varies around the true one from seed to seed: the interval combined
    across seeds covers it at about 95%; one Cox model on all spells (lifelines'
    worker-clustered robust variance, within-run) is far too narrow."""
    beta, sigma = math.log(0.8), 0.15
    n_sets, seeds, n = 60, 4, 300
    rng = np.random.default_rng(19)
    by_seed, pooled = [], []
    for _ in range(n_sets):
        frames = []
        for seed in range(seeds):
            for strat in ("everyone", "lions"):
                lam = 0.1 * math.exp(rng.normal(0, sigma) + (beta if strat == "lions" else 0.0))
                f = exp_spells(rng, n, lam, 0.02, strategy=strat, seed=seed,
                               run_id=f"{strat}{seed}", sector=0, ability=0.0)
                f["worker_id"] = np.arange(n)
                frames.append(f)
        df = pd.concat(frames, ignore_index=True)
        df["strategy"] = pd.Categorical(df["strategy"], ["everyone", "lions"])
        df["ability"] = rng.normal(0, 1, len(df))  # no effect; keeps the design as in the report
        row = survival.cox_by_seed(df, within=[]).set_index("covariate").loc["strategy[lions]"]
        by_seed.append((row["hr_lower"], row["hr_upper"]))
        pc = survival.cox_table(survival.fit_cox(df, within=[])).set_index("covariate")
        pooled.append((pc.loc["strategy[lions]", "hr_lower"], pc.loc["strategy[lions]", "hr_upper"]))
    truth = math.exp(beta)
    cov_seed = np.mean([lo <= truth <= hi for lo, hi in by_seed])
    cov_pooled = np.mean([lo <= truth <= hi for lo, hi in pooled])
    # coverage ~ Binomial(60, 0.95) / 60: s.e. 0.028; allow 3 s.e.
    assert abs(cov_seed - 0.95) <= 3 * math.sqrt(0.95 * 0.05 / n_sets), cov_seed
    # the between-seed s.d. of the mean log HR is sigma * sqrt(2 / 4) = 0.11 while the
    # pooled s.e. is about 0.045: the pooled interval covers P(|Z| < 0.77), about 55%
    # (60% at this seed; the combined interval 98%)
    assert cov_pooled < 0.75, cov_pooled


def test_difference_stays_paired_when_a_run_is_missing():
    """A failed run costs its seed, not the pairing: lions has seeds 0-4, everyone 0-3;
    the difference is the paired one over seeds 0-3, and the note says one seed was
    left out."""
    rng = np.random.default_rng(23)
    frames = []
    for seed in range(5):
        shift = rng.normal(0, 0.3)
        for strat, lam in (("lions", 0.12), ("everyone", 0.10)):
            if strat == "everyone" and seed == 4:
                continue  # its run failed
            frames.append(exp_spells(rng, 300, lam * math.exp(shift), 0.02, strategy=strat,
                                     seed=seed, run_id=f"{strat}{seed}"))
    df = pd.concat(frames, ignore_index=True)
    row = survival.strategy_difference(df, "lions", "everyone", "rmst", by=[],
                                       horizon=20).iloc[0]
    assert row["paired"] and row["n_seeds"] == 4
    assert "1 seeds without both left out" in row["note"]
    est = survival.per_run(df, ["strategy"], horizon=20)
    by_seed = est.groupby(["seed", "strategy"], observed=True)["rmst"].mean().unstack()
    d = (by_seed["lions"] - by_seed["everyone"]).dropna().to_numpy()
    assert row["diff"] == pytest.approx(d.mean())


def test_km_run_level_counts_the_runs_followed_each_week():
    """n_runs is the number of runs still followed at that week, not a constant."""
    df = pd.concat([pd.DataFrame({"duration_weeks": [1.0, 2.0, 3.0], "censored": False,
                                  "strategy": "lions", "run_id": "r0", "seed": 0}),
                    pd.DataFrame({"duration_weeks": [1.0, 2.0, 8.0], "censored": False,
                                  "strategy": "lions", "run_id": "r1", "seed": 1})],
                   ignore_index=True)
    km = survival.km_run_level(df, by="strategy", max_week=8).set_index("week")
    assert km.loc[2, "n_runs"] == 2 and km.loc[6, "n_runs"] == 1


def test_piecewise_keeps_seeds_without_a_hire_in_a_sparse_band():
    """Few spells reach the last band: a seed where lions has no hire there is kept (half
    a hire added), not dropped; dropping the low-rate seeds would bias the ratio up."""
    rows = []
    for seed in range(6):
        # everyone: 3 spells searching through weeks 27-52, one hired at week 30
        rows += [("everyone", seed, 30.0, False), ("everyone", seed, 52.0, True),
                 ("everyone", seed, 52.0, True)]
        # lions: the same exposure, hired only in even seeds
        rows += [("lions", seed, 30.0 if seed % 2 == 0 else 52.0, seed % 2 != 0),
                 ("lions", seed, 52.0, True), ("lions", seed, 52.0, True)]
    df = pd.DataFrame(rows, columns=["strategy", "seed", "duration_weeks", "censored"])
    df["run_id"] = df["strategy"] + df["seed"].astype(str)
    pw = survival.piecewise_hazard_ratio(df, "lions", "everyone", bands=[(27, 52)], by=[])
    r = pw.iloc[0]
    assert r["n_seeds"] == 6 and "left out" not in r["note"]
    # weeks searched in the band: 4 + 26 + 26 = 56 with a hire at week 30, 3 x 26 = 78 without
    d = [math.log((1 + 0.5) / 56) - math.log(1.5 / 56) if s % 2 == 0 else
         math.log(0.5 / 78) - math.log(1.5 / 56) for s in range(6)]
    assert r["hr"] == pytest.approx(math.exp(np.mean(d)))
    assert r["hr"] < 1  # lions hired in half the seeds: slower in this band


def test_cox_efron_equals_lifelines_on_tied_stratified_data():
    """cox_by_seed's fast fit maximises lifelines' partial likelihood (Efron ties, a
    baseline per stratum): same coefficients and log-likelihood."""
    rng = np.random.default_rng(1)
    for _ in range(3):
        n = 800
        x1, x2, st = rng.integers(0, 2, n), rng.normal(size=n), rng.integers(0, 5, n)
        dur = np.ceil(rng.exponential(1 / (0.1 * np.exp(0.4 * x1 - 0.3 * x2 + 0.2 * st))))
        ev, dur = dur <= 30, np.minimum(dur, 30)  # weekly durations: many ties
        ref = CoxPHFitter().fit(pd.DataFrame({"d": dur, "e": ev.astype(int), "x1": x1, "x2": x2,
                                              "s": st}), "d", "e", strata=["s"])
        fit = cox_efron(dur, ev, np.c_[x1, x2], st)
        assert fit.converged
        np.testing.assert_allclose(fit.coef, ref.params_.to_numpy(), atol=1e-6)
        assert abs(fit.loglik - ref.log_likelihood_) < 1e-8


def test_cox_efron_reports_separation_as_not_converged():
    """A covariate level without any event has no finite maximum (lifelines returns a
    log-HR near -20 with warnings): the fast fit says it did not converge."""
    rng = np.random.default_rng(2)
    n = 500
    x1 = rng.integers(0, 2, n)
    dur = np.minimum(np.ceil(rng.exponential(5, n)), 20)
    fit = cox_efron(dur, (dur < 20) & (x1 == 0), np.c_[x1, rng.normal(size=n)])
    assert not fit.converged and np.isnan(fit.coef).all()


def test_ph_test_km_equals_lifelines_proportional_hazard_test():
    """The fast PH test gives lifelines' statistic and p-value (KM transform) on tied,
    stratified data, with and without a hazard ratio that changes with time."""
    rng = np.random.default_rng(5)
    for drift in (0.0, 1.0):
        n = 3000
        x1, x2, st = rng.integers(0, 2, n), rng.normal(size=n), rng.integers(0, 40, n)
        rate = 0.1 * np.exp(0.4 * x1 - 0.3 * x2 + 0.02 * st)
        dur = np.ceil(rng.exponential(1 / rate) * (1 + drift * x1 * rng.random(n)))
        ev, dur = dur <= 30, np.minimum(dur, 30)
        df = pd.DataFrame({"d": dur, "e": ev.astype(int), "x1": x1, "x2": x2, "s": st})
        ref = proportional_hazard_test(CoxPHFitter().fit(df, "d", "e", strata=["s"]), df,
                                       time_transform="km").summary
        stat, p = ph_test_km(dur, ev, np.c_[x1, x2], st)
        np.testing.assert_allclose(stat, ref["test_statistic"].to_numpy(), rtol=1e-6)
        np.testing.assert_allclose(p, ref["p"].to_numpy(), rtol=1e-5, atol=1e-12)
