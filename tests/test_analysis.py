"""Tests of the analysis package: estimators on synthetic data with known truth,
and loading / mechanisms on small real runs made in-process.

Tolerances come from the sampling variance of each estimator (stated next to
each assertion); seeds are fixed, so each test is deterministic.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import yaml
from lifelines import KaplanMeierFitter
from lifelines.utils import restricted_mean_survival_time
from scipy import integrate, stats

from analysis import load, mechanisms, survival
from analysis.stats import clopper_pearson, km_rmst_variance, poisson_interval, t_interval
from sim.core.config import build_config
from sim.results.metrics import km_cdf_at, km_median
from sim.workflow.run import run_simulation

# ---------------------------------------------------------------------------- synthetic data


def exp_spells(rng, n, lam, cens_rate=0.0, admin=None, **cols) -> pd.DataFrame:
    """Exponential(lam) durations, censored by an independent Exponential(cens_rate)
    and/or at ``admin``; extra columns are constants."""
    t = rng.exponential(1 / lam, n)
    c = rng.exponential(1 / cens_rate, n) if cens_rate > 0 else np.full(n, np.inf)
    if admin is not None:
        c = np.minimum(c, admin)
    df = pd.DataFrame({"duration_weeks": np.minimum(t, c), "censored": t > c})
    for k, v in cols.items():
        df[k] = v
    return df


def rmst_exp(lam, tau):
    return (1 - math.exp(-lam * tau)) / lam


# ---------------------------------------------------------------------------- Kaplan-Meier


def test_km_median_recovers_exponential_median():
    lam, c, n = 0.1, 0.05, 4000
    df = exp_spells(np.random.default_rng(1), n, lam, c, strategy="lions", run_id="r0")
    res = survival.pooled_summary(df, by="strategy")
    truth = math.log(2) / lam
    # asymptotic s.e. of the KM median: sqrt(Var S(m)) / f(m), with
    # Var S(m) = S(m)^2 * lam/(lam+c) * (exp((lam+c) m) - 1) / n and f(m) = lam S(m)
    se = math.sqrt(lam / (lam + c) * (math.exp((lam + c) * truth) - 1) / n) / lam
    assert abs(res["median"].iloc[0] - truth) < 4 * se
    assert res["median_lower"].iloc[0] <= res["median"].iloc[0] <= res["median_upper"].iloc[0]
    assert res["n_spells"].iloc[0] == n and res["n_runs"].iloc[0] == 1


def test_km_agrees_with_the_simulation_metrics():
    rng = np.random.default_rng(2)
    df = exp_spells(rng, 500, 0.15, 0.05, strategy="x", run_id="r")
    df["duration_weeks"] = np.ceil(df["duration_weeks"])
    kmf = survival.fit_km(df, by="strategy")[("x",)]
    obs = ~df["censored"].to_numpy()
    assert kmf.median_survival_time_ == km_median(df["duration_weeks"], obs)
    share, lo, hi = survival.share_within(kmf, 4)
    assert share == pytest.approx(km_cdf_at(df["duration_weeks"], obs, 4))
    assert lo <= share <= hi
    table = survival.km_table(survival.fit_km(df, by="strategy"))
    assert {"strategy", "week", "survival", "lower", "upper", "at_risk"} <= set(table.columns)
    assert (table["survival"].diff().dropna() <= 1e-12).all()  # non-increasing


def test_rmst_variance_matches_its_asymptotic_value():
    lam, c, n, tau = 0.1, 0.04, 20000, 20.0
    df = exp_spells(np.random.default_rng(3), n, lam, c)
    kmf = KaplanMeierFitter().fit(df["duration_weeks"], ~df["censored"])
    assert restricted_mean_survival_time(kmf, t=tau) == pytest.approx(rmst_exp(lam, tau), rel=0.02)

    # n Var = int_0^tau A(t)^2 lam / y(t) dt, A(t) = int_t^tau S, y(t) = P(at risk at t)
    def integrand(t):
        a = (math.exp(-lam * t) - math.exp(-lam * tau)) / lam
        return a * a * lam / math.exp(-(lam + c) * t)

    expected = integrate.quad(integrand, 0, tau)[0] / n
    assert km_rmst_variance(kmf, tau) == pytest.approx(expected, rel=0.05)


def test_rmst_variance_matches_the_spread_of_estimates():
    lam, c, n, tau, reps = 0.1, 0.04, 300, 20.0, 150
    rng = np.random.default_rng(13)
    est, var = [], []
    for _ in range(reps):
        df = exp_spells(rng, n, lam, c)
        kmf = KaplanMeierFitter().fit(df["duration_weeks"], ~df["censored"])
        est.append(restricted_mean_survival_time(kmf, t=tau))
        var.append(km_rmst_variance(kmf, tau))
    est = np.array(est)
    # the KM RMST is (nearly) unbiased: mean within 4 s.e. of the truth
    assert abs(est.mean() - rmst_exp(lam, tau)) < 4 * est.std(ddof=1) / math.sqrt(reps)
    # a sample variance of `reps` values has relative s.e. sqrt(2 / (reps - 1)): allow 4
    ratio = np.mean(var) / est.var(ddof=1)
    assert abs(ratio - 1) < 4 * math.sqrt(2 / (reps - 1))


# (coverage of the run-level interval with 2, 3 and 10 runs: tests/test_inference.py)


def test_replicate_summary_flags_undefined_medians():
    rng = np.random.default_rng(5)
    # most spells censored early: the KM curve never reaches 0.5
    frames = [exp_spells(rng, 200, 0.01, admin=5, run_id=f"r{i}", strategy="x") for i in range(3)]
    res = survival.replicate_summary(pd.concat(frames), by="strategy", horizon=4)
    assert res["median_undefined"].iloc[0] == 3
    assert np.isnan(res["median_mean"].iloc[0])
    assert np.isfinite(res["rmst_mean"].iloc[0])


def test_rmst_horizon_is_clipped_to_the_follow_up(caplog):
    df = exp_spells(np.random.default_rng(6), 300, 0.2, admin=10.0, strategy="x", run_id="r")
    with caplog.at_level("WARNING"):
        res = survival.pooled_summary(df, by="strategy", horizon=500)
    assert res["horizon"].iloc[0] == pytest.approx(df["duration_weeks"].max())


def test_strategy_difference_is_paired_on_seed():
    rng = np.random.default_rng(7)
    frames = []
    for seed in range(6):
        shift = rng.normal(0, 0.3)  # a market effect shared by the runs of one seed
        for strat, lam in (("lions", 0.12), ("everyone", 0.10)):
            frames.append(exp_spells(rng, 400, lam * math.exp(shift), 0.02, strategy=strat,
                                     seed=seed, run_id=f"{strat}{seed}"))
    df = pd.concat(frames, ignore_index=True)
    row = survival.strategy_difference(df, "lions", "everyone", "rmst", by=[], horizon=20).iloc[0]
    assert row["paired"] and row["n_a"] == row["n_b"] == 6
    se = (row["upper"] - row["lower"]) / (2 * stats.t.ppf(0.975, 5))
    truth = rmst_exp(0.12, 20) - rmst_exp(0.10, 20)  # at no market shift
    assert abs(row["diff"] - truth) < 4 * se
    # pairing removes the shared market noise: narrower than the unpaired interval
    welch = survival.strategy_difference(df.drop(columns="seed"), "lions", "everyone", "rmst",
                                         by=[], horizon=20).iloc[0]
    assert not welch["paired"]
    assert row["upper"] - row["lower"] < welch["upper"] - welch["lower"]


# ---------------------------------------------------------------------------- tests and Cox


def test_logrank_detects_a_real_difference():
    rng = np.random.default_rng(8)
    df = pd.concat([exp_spells(rng, 1500, 0.10, 0.03, strategy="everyone"),
                    exp_spells(rng, 1500, 0.13, 0.03, strategy="lions")])
    res = survival.logrank(df)
    assert set(res["test"]) == {"multivariate", "pairwise"}
    assert (res["p"] < 1e-3).all()


def test_logrank_does_not_flag_a_null_difference():
    rng = np.random.default_rng(9)
    df = pd.concat([exp_spells(rng, 1500, 0.10, 0.03, strategy=s)
                    for s in ("everyone", "lions", "passive")])
    res = survival.logrank(df)
    pw = res[res["test"] == "pairwise"]
    assert len(pw) == 3
    assert (res["p"] > 0.01).all()  # the null holds; at this seed no p-value is below 1%
    assert (pw["p_holm"] >= pw["p"]).all()


def test_cox_recovers_known_hazard_ratios():
    rng = np.random.default_rng(10)
    n = 5000
    strategy = rng.choice(["passive", "everyone", "lions"], n)
    ability = rng.normal(0, 1, n)
    degree = rng.poisson(15, n)
    sector = rng.integers(0, 4, n)
    beta = {"strategy[everyone]": math.log(1.5), "strategy[lions]": math.log(0.7),
            "ability": 0.3, "log2_degree_at_start": 0.2}
    lin = (beta["strategy[everyone]"] * (strategy == "everyone")
           + beta["strategy[lions]"] * (strategy == "lions") + beta["ability"] * ability
           + beta["log2_degree_at_start"] * np.log2(1 + degree))
    base = np.array([0.02, 0.04, 0.03, 0.05])[sector]  # a baseline hazard per sector (strata)
    t = rng.exponential(1 / (base * np.exp(lin)))
    c = rng.uniform(5, 60, n)
    df = pd.DataFrame({"duration_weeks": np.minimum(t, c), "censored": t > c,
                       "strategy": pd.Categorical(strategy, ["passive", "everyone", "lions"]),
                       "ability": ability, "degree_at_start": degree, "sector": sector,
                       "worker_id": np.arange(n), "run_id": "r0"})
    # degree is independent of the strategy here, so the adjusted model's terms are known
    table = survival.cox_table(survival.fit_cox(df, survival.ADJUSTED_COVARIATES, within=[]))
    assert set(table["covariate"]) == set(beta)
    assert (table["reference"] == "passive").all()
    for row in table.itertuples():
        assert abs(row.coef - beta[row.covariate]) < 3.5 * row.se, row
        assert row.hr == pytest.approx(math.exp(row.coef))


def test_hazard_by_duration_recovers_a_constant_hazard():
    rng = np.random.default_rng(11)
    p, n = 0.08, 6000
    t = rng.geometric(p, n)  # hired in search week t: weekly hazard p
    c = rng.integers(1, 41, n)  # searched c weeks when the horizon ends
    df = pd.DataFrame({"duration_weeks": np.minimum(t, c), "censored": t > c, "strategy": "x"})
    h = survival.hazard_by_duration(df, by="strategy")
    h = h[h["at_risk"] >= 200]
    k = len(h)
    assert k >= 20
    # each exact 95% interval misses p with probability <= 5%: at most 5% of k
    # plus 3 binomial s.e.
    misses = int(((h["lower"] > p) | (h["upper"] < p)).sum())
    assert misses <= 0.05 * k + 3 * math.sqrt(k * 0.05 * 0.95)
    pooled = h["events"].sum() / h["at_risk"].sum()
    assert abs(pooled - p) < 4 * math.sqrt(p * (1 - p) / h["at_risk"].sum())
    # no trend in duration: the slope of the hazard is within noise
    slope = np.polyfit(h["week"], h["hazard"], 1, w=np.sqrt(h["at_risk"]))[0]
    assert abs(slope) < 1e-3


# ---------------------------------------------------------------------------- stats helpers


def test_interval_helpers():
    ti = t_interval([1.0, 2.0, 3.0])
    assert ti["mean"] == 2.0 and ti["lower"] < 2.0 < ti["upper"]
    assert np.isnan(t_interval([1.0])["lower"])
    lo, hi = clopper_pearson([0, 5, 10], [10, 10, 10])
    assert lo[0] == 0.0 and hi[2] == 1.0 and lo[1] < 0.5 < hi[1]
    lo, hi = poisson_interval([0, 10])
    assert lo[0] == 0.0 and hi[0] == pytest.approx(3.689, abs=1e-3) and lo[1] < 10 < hi[1]


# ---------------------------------------------------------------------------- correlation


def test_neighbour_correlation_known_cases():
    u = np.zeros(10, bool)
    u[:5] = True
    clique = [(i, j) for grp in (range(5), range(5, 10)) for i in grp for j in grp if i < j]
    a, b = np.array(clique).T
    res = mechanisms.neighbour_correlation(a, b, u, n_permutations=99)
    assert res.value == pytest.approx(1.0) and res.p_value <= 0.02
    cross = np.array([(i, j) for i in range(5) for j in range(5, 10)]).T
    assert mechanisms.neighbour_correlation(*cross, u, 0).value == pytest.approx(-1.0)
    none = mechanisms.neighbour_correlation(a, b, np.zeros(10, bool), 0)
    assert none.value is None and "vary" in none.reason
    assert mechanisms.neighbour_correlation([], [], u, 0).reason == "no ties"


def test_neighbour_correlation_equals_pearson_on_stacked_pairs():
    rng = np.random.default_rng(12)
    a, b = rng.integers(0, 300, (2, 2000))
    u = rng.random(300) < 0.2
    x = np.r_[u[a], u[b]].astype(float)
    y = np.r_[u[b], u[a]].astype(float)
    res = mechanisms.neighbour_correlation(a, b, u, n_permutations=199)
    assert res.value == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
    assert res.p_value > 0.01  # random labels: no correlation beyond the null


# ---------------------------------------------------------------------------- real runs


SWEEP = [("lions", 0.02), ("lions", 0.04), ("everyone", 0.02), ("everyone", 0.04)]


def _config(strategy, vacancy, seed, ties=True):
    # 400 workers: 10 sectors of 40 (market_size null), the other defaults as they are
    return build_config({"n_workers": 400, "weeks": 30, "burn_in": 10, "seed": seed,
                         "market": {"vacancy_rate": vacancy, "market_size": None},
                         "strategy": {"name": strategy, "shares": {strategy: 1.0}},
                         "output": {"ties": ties, "progress": "off"}})


@pytest.fixture(scope="module")
def mini_sweep(tmp_path_factory):
    """A sweep folder laid out as Hydra does (run folders with .hydra/overrides.yaml),
    made in-process: 2 strategies x 2 vacancy rates x 2 seeds, tiny markets."""
    root = tmp_path_factory.mktemp("sweep")
    for (strategy, vac), seed in ((s, seed) for s in SWEEP for seed in (0, 1)):
        over = [f"+strategy={strategy}", f"market.vacancy_rate={vac}", f"seed={seed}"]
        folder = root / ",".join(sorted(over))
        run_simulation(_config(strategy, vac, seed, ties=seed == 0), folder)
        (folder / ".hydra").mkdir()
        (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(over))
    return root


def test_load_sweep_collects_and_finds_the_parameters(mini_sweep):
    data = load(mini_sweep)
    assert (mini_sweep / "collected" / "spells.parquet").is_file()
    assert data.kind == "sweep" and data.params == ["market.vacancy_rate"]
    assert data.strategies == ["everyone", "lions"]
    assert len(data.runs) == 8 and data.runs["n_workers"].eq(400).all()
    assert not data.spells["left_truncated"].any() and data.all_spells["left_truncated"].any()
    assert data.horizon_weeks == 29
    ts = data.timeseries
    assert len(ts) == 8 * 30 and {"run_id", "seed", "market.vacancy_rate"} <= set(ts.columns)
    again = load(mini_sweep / "collected")
    pd.testing.assert_frame_equal(again.all_spells, data.all_spells)
    assert again.params == data.params


def test_load_single_run(mini_sweep):
    folder = next(p for p in sorted(mini_sweep.iterdir()) if (p / "summary.json").is_file())
    data = load(folder)
    assert data.kind == "run" and data.params == [] and len(data.runs) == 1
    assert data.all_spells["run_id"].nunique() == 1
    assert data.timeseries is not None and len(data.timeseries) == 30
    res = survival.pooled_summary(data)
    assert list(res["strategy"]) == data.strategies


def test_load_rejects_other_folders(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path)


def test_survival_tables_on_real_runs(mini_sweep):
    data = load(mini_sweep)
    rep = survival.replicate_summary(data)
    assert len(rep) == 4 and (rep["n_runs"] == 2).all()
    assert (rep["rmst_lower"] <= rep["rmst_mean"]).all()
    diff = survival.strategy_difference(data)
    assert len(diff) == 2 and diff["paired"].all()
    assert len(survival.logrank(data)) == 2 * 2  # per vacancy rate: multivariate + one pair
    cox = survival.cox_table(survival.fit_cox(data))  # default: total effect, no degree
    assert set(cox["covariate"]) == {"strategy[lions]", "ability"}
    assert (cox["reference"] == "everyone").all()
    adj = survival.cox_table(survival.fit_cox(data, survival.ADJUSTED_COVARIATES))
    assert "log2_degree_at_start" in set(adj["covariate"])


def test_hires_by_channel_adds_up(mini_sweep):
    data = load(mini_sweep)
    ch = mechanisms.hires_by_channel(data)
    sums = ch.groupby(["strategy", "market.vacancy_rate"], observed=True)["share"].sum()
    assert np.allclose(sums, 1.0)
    # one counting basis: hires ending spells begun in the horizon
    assert ch["hires"].sum() == (~data.spells["censored"]).sum()


def test_contact_ties_and_help_per_tie(mini_sweep):
    data = load(mini_sweep)
    ct = mechanisms.contact_ties(data, by="strategy")
    assert set(ct["definition"]) == {"kind", "strength<0.5"}
    assert ((ct["share"] >= 0) & (ct["share"] <= 1)).all()
    help_ = mechanisms.help_per_tie(data, by="strategy")
    with_ties = data.spells[data.spells["seed"] == 0]  # only seed 0 wrote ties
    n_contact = (~with_ties["censored"] & with_ties["channel"].isin(["lead", "referral"])).sum()
    _check_hires_by_bin(help_, with_ties, "tie_strength", mechanisms.STRENGTH_BINS, True, n_contact)
    assert (help_["lower"] <= help_["help_per_tie"]).all()
    # two runs per strategy wrote ties (seed 0 at two vacancy rates): the run-level
    # interval rests on few runs (or none, where a bin has hires in one run only) and says so
    ok = help_["mean_lower"].notna()
    assert (help_.loc[ok, "mean_lower"] <= help_.loc[ok, "mean_help"]).all()
    assert (help_.loc[ok, "mean_lower"] > 0).all()
    assert help_["note"].str.startswith(("few runs", "no repl", "replicates identical")).all()
    emb = mechanisms.help_per_tie(data, "common_neighbors", by="strategy")
    _check_hires_by_bin(emb, with_ties, "tie_common_neighbors", mechanisms.COMMON_BINS, False,
                        n_contact)


def _check_hires_by_bin(table, spells, col, edges, right, n_contact) -> None:
    """Each (strategy, bin) row of a help-per-tie table holds exactly the contact hires of
    the spells in that bin; a bin without exposure (no seeker's tie in it at the end of the
    run) has no row, so its hires are left out and the rows sum to at most every one."""
    hires = spells[~spells["censored"] & spells["channel"].isin(["lead", "referral"])]
    binned = pd.cut(hires[col].astype(float), np.asarray(edges, float), right=right,
                    include_lowest=True)
    direct = hires.assign(bin=binned.astype(str)).groupby(["strategy", "bin"],
                                                          observed=True).size()
    assert direct.sum() == n_contact  # every contact hire falls in a bin
    got = table.assign(bin=table["bin"].astype(str)).set_index(["strategy", "bin"])["hires"]
    assert len(got) > 0
    assert (got == direct.reindex(got.index, fill_value=0)).all()
    assert got.sum() <= n_contact


def test_employment_correlation_reports_missing_ties(mini_sweep):
    data = load(mini_sweep)
    corr = mechanisms.employment_correlation(data, n_permutations=19)
    assert len(corr) == 8
    missing = corr[corr["seed"] == 1]
    assert missing["corr"].isna().all() and missing["reason"].str.contains("ties").all()
    present = corr[corr["seed"] == 0]
    assert present["reason"].isna().all() and present["corr"].between(-1, 1).all()
    assert (present["n_unemployed"] > 0).all()


def test_help_per_tie_without_ties_is_none(mini_sweep):
    run = next(p for p in sorted(mini_sweep.iterdir()) if "seed=1" in p.name)
    assert mechanisms.help_per_tie(load(run)) is None


# ---------------------------------------------------------------------------- known answers (report)


def test_km_median_of_weekly_geometric_durations():
    """Weekly re-employment with a constant hazard p (the model's time grid): the true
    median is the first week t with (1 - p)^t <= 1/2, i.e. 7 weeks for p = 0.1
    (S(6) = 0.531, S(7) = 0.478); independent censoring must not move the estimate."""
    p, n = 0.1, 20_000
    rng = np.random.default_rng(21)
    t = rng.geometric(p, n)
    c = rng.geometric(0.03, n)
    df = pd.DataFrame({"duration_weeks": np.minimum(t, c).astype(float), "censored": t > c,
                       "strategy": "x", "run_id": "r"})
    assert 0.2 < df["censored"].mean() < 0.35  # a real share of censored spells
    res = survival.pooled_summary(df, by="strategy", horizon=30, at=4)
    assert res["median"].iloc[0] == 7.0
    # the naive median of the completed spells is biased down by the censoring
    assert df.loc[~df["censored"], "duration_weeks"].median() < 7.0
    # share within 4 weeks: 1 - 0.9^4 = 0.3439; s.e. about 0.004 at this n
    assert res["share_within"].iloc[0] == pytest.approx(1 - 0.9**4, abs=0.015)


def test_pooled_rmst_interval_covers_the_truth_at_the_nominal_rate():
    lam, c, tau, n_sets, n = 0.1, 0.03, 20.0, 200, 200
    rng = np.random.default_rng(22)
    frames = [exp_spells(rng, n, lam, c, set=s, run_id=f"s{s}", strategy="x")
              for s in range(n_sets)]
    res = survival.pooled_summary(pd.concat(frames, ignore_index=True), by="set", horizon=tau)
    truth = rmst_exp(lam, tau)
    covered = ((res["rmst_lower"] <= truth) & (truth <= res["rmst_upper"])).mean()
    # coverage ~ Binomial(200, 0.95) / 200: s.e. 0.0154; allow 3 s.e.
    assert abs(covered - 0.95) <= 3 * math.sqrt(0.95 * 0.05 / n_sets), covered


# ---------------------------------------------------------------------------- weak ties, two definitions


def _hand_data(tmp_path, work_strengths: dict | None, swept: bool = False):
    """Two runs of hand-made spells (contact hires with known kinds and strengths);
    ``work_strengths``: run id -> ``ties.work_strength`` written to the run's
    summary.json (a run left out, or None: no run folder)."""
    from analysis.data import Data, _normalise

    rows = [  # run, channel, tie kind, tie strength at the hire, censored
        ("r0", "lead", "acquaintance", 0.30, False),
        ("r0", "referral", "colleague", 0.45, False),
        ("r0", "lead", "colleague", 0.50, False),
        ("r0", "referral", "supervisor", 0.70, False),
        ("r0", "formal", None, np.nan, False),  # not a contact hire
        ("r0", "lead", "acquaintance", np.nan, True),  # censored: not a hire
        ("r1", "lead", "online", 0.10, False),
        ("r1", "lead", "colleague", 0.55, False),
        ("r1", "referral", "colleague", 0.50, False),
    ]
    n = len(rows)
    spells = pd.DataFrame({
        "run_id": [r[0] for r in rows], "seed": [int(r[0][1]) for r in rows],
        "worker_id": np.arange(n), "strategy": ["lions"] * n, "start_week": np.zeros(n, int),
        "end_week": np.ones(n, int), "duration_weeks": np.ones(n, int),
        "censored": [r[4] for r in rows], "channel": [r[1] if not r[4] else None for r in rows],
        "helper_id": np.zeros(n, int), "tie_kind": [r[2] for r in rows],
        "tie_strength": [r[3] for r in rows], "tie_common_neighbors": np.zeros(n, int),
        "left_truncated": np.zeros(n, bool), "ability": np.zeros(n), "sector": np.zeros(n, int),
        "degree_at_start": np.ones(n, int)})
    if swept:
        spells["ties.work_strength"] = spells["run_id"].map(work_strengths)
    folders = {}
    if work_strengths and not swept:
        import json

        for run_id, w in work_strengths.items():
            folders[run_id] = tmp_path / run_id
            folders[run_id].mkdir(parents=True)
            (folders[run_id] / "summary.json").write_text(
                json.dumps({"config": {"ties": {"work_strength": w}}}))
    runs = pd.DataFrame({"run_id": ["r0", "r1"], "status": "complete", "seed": [0, 1]})
    params = ["ties.work_strength"] if swept else []
    return Data("sweep", tmp_path, _normalise(spells), runs, params, folders)


def test_contact_ties_by_kind_and_by_the_runs_work_strength(tmp_path):
    # hand count: r0 has 4 contact hires, 1 by kind (acquaintance), 2 below 0.5 (0.30,
    # 0.45); r1 has 3, 1 by kind (online), 3 below its work strength 0.6
    data = _hand_data(tmp_path, {"r0": 0.5, "r1": 0.6})
    ct = mechanisms.contact_ties(data, by="strategy").set_index("definition")
    assert list(ct.index) == ["kind", "strength<ties.work_strength"]
    kind, strength = ct.loc["kind"], ct.loc["strength<ties.work_strength"]
    assert (kind["n"], kind["k"], strength["n"], strength["k"]) == (7, 2, 7, 5)
    assert kind["share_mean"] == pytest.approx((1 / 4 + 1 / 3) / 2)
    assert strength["share_mean"] == pytest.approx((2 / 4 + 3 / 3) / 2)
    assert "acquaintance or online" in kind["meaning"]
    assert "ties.work_strength" in strength["meaning"]
    # one work strength for all runs: its value in the label (r1 now: 0.10 only)
    one = mechanisms.contact_ties(_hand_data(tmp_path / "b", {"r0": 0.5, "r1": 0.5}),
                                  by="strategy").set_index("definition")
    assert one.loc["strength<0.5", "k"] == 3 and "(0.5)" in one.loc["strength<0.5", "meaning"]
    # swept: the spells' column decides (same counts as from summary.json)
    swept = mechanisms.contact_ties(_hand_data(tmp_path / "c", {"r0": 0.5, "r1": 0.6}, swept=True),
                                    by="strategy").set_index("definition")
    assert swept.loc["strength<ties.work_strength", "k"] == 5
    # an explicit threshold: 0.30, 0.45 in r0 and 0.10 in r1
    fixed = mechanisms.contact_ties(data, by="strategy", strength_threshold=0.46)
    assert fixed.set_index("definition").loc["strength<0.46", "k"] == 3


def test_contact_ties_without_the_work_strength_assume_no_default(tmp_path, caplog):
    # no run folders: ties.work_strength unknown, so no weak-by-strength share is made up
    with caplog.at_level("WARNING", logger="analysis.mechanisms"):
        ct = mechanisms.contact_ties(_hand_data(tmp_path / "a", None), by="strategy")
    assert list(ct["definition"]) == ["kind"] and ct["k"].iloc[0] == 2
    assert "ties.work_strength unknown for 2 run(s)" in caplog.text
    # a value the caller knows classifies them: 0.30, 0.45 in r0 and 0.10 in r1
    given = mechanisms.contact_ties(_hand_data(tmp_path / "b", None), by="strategy",
                                    strength_threshold=0.5).set_index("definition")
    assert given.loc["strength<0.5", "k"] == 3
    # known for r0 only: r1's 3 contact hires left out of the strength share, said so
    part = mechanisms.contact_ties(_hand_data(tmp_path / "c", {"r0": 0.5}),
                                   by="strategy").set_index("definition")
    assert (part.loc["kind", "n"], part.loc["strength<0.5", "n"]) == (7, 4)
    assert part.loc["strength<0.5", "k"] == 2  # 0.30, 0.45
    assert "1 run(s) with it unknown left out" in part.loc["strength<0.5", "meaning"]


def test_channels_table_shows_weak_ties_by_kind_and_by_strength(tmp_path):
    from analysis import tables

    tab = tables.channels_table(_hand_data(tmp_path, {"r0": 0.5, "r1": 0.6}))
    row = tab.iloc[0]
    assert row["weak_ties"] == pytest.approx((1 / 4 + 1 / 3) / 2)
    assert row["weak_strength"] == pytest.approx((2 / 4 + 3 / 3) / 2)
    assert {"weak_ties_lower", "weak_strength_upper"} <= set(tab.columns)


def _recall_data(tmp_path):
    """Hand-made spells of two runs with recall hires and last employers."""
    from analysis.data import Data, _normalise

    rows = [  # run, strategy, channel (None: censored), duration, last employer, hired by
        ("r0", "lions", "recall", 2, 5, 5),
        ("r0", "lions", "formal", 6, 5, 7),
        ("r0", "lions", "referral", 3, None, 4),  # unemployed at the start: no last employer
        ("r0", "everyone", "referral", 4, 2, 9),
        ("r0", "everyone", None, 20, 2, None),
        ("r1", "lions", "recall", 1, 3, 3),
        ("r1", "everyone", "formal", 5, 1, 1),  # a return without recall
    ]
    n = len(rows)
    col = list(zip(*rows, strict=True))
    spells = pd.DataFrame({
        "run_id": col[0], "seed": [int(r[1]) for r in col[0]], "worker_id": np.arange(n),
        "strategy": col[1], "start_week": np.zeros(n, int),
        "end_week": pd.array([d if c else None for c, d in zip(col[2], col[3], strict=True)],
                             dtype="Int32"),
        "duration_weeks": np.array(col[3]), "censored": [c is None for c in col[2]],
        "channel": list(col[2]), "helper_id": pd.array([None] * n, dtype="Int32"),
        "tie_kind": [None] * n, "tie_strength": np.full(n, np.nan),
        "tie_common_neighbors": pd.array([None] * n, dtype="Int32"),
        "left_truncated": np.zeros(n, bool), "ability": np.zeros(n), "sector": np.zeros(n, int),
        "degree_at_start": np.ones(n, int),
        "last_employer": pd.array(list(col[4]), dtype="Int32"),
        "hired_by": pd.array(list(col[5]), dtype="Int32")})
    runs = pd.DataFrame({"run_id": ["r0", "r1"], "status": "complete", "seed": [0, 1]})
    return Data("sweep", tmp_path, _normalise(spells), runs, [], {})


def test_recall_hires_censored_and_returns_to_the_last_employer(tmp_path):
    data = _recall_data(tmp_path)
    cens = mechanisms.censor_recalls(data)
    assert cens is not data
    was_recall = (data.all_spells["channel"] == "recall").to_numpy()
    assert was_recall.sum() == 2 and cens.all_spells["censored"].to_numpy()[was_recall].all()
    assert (cens.all_spells["duration_weeks"] == data.all_spells["duration_weeks"]).all()
    assert not data.all_spells["censored"].to_numpy()[was_recall].any()  # not modified
    no_recall = replace(data, all_spells=data.all_spells[~was_recall])
    assert mechanisms.censor_recalls(no_recall) is no_recall
    # hires of workers with a last employer: lions 3 (2 back, recalls), everyone 2 (1 back,
    # formal)
    back = mechanisms.last_employer_returns(data, by="strategy").set_index("strategy")
    assert back.loc["lions", ["k", "n"]].tolist() == [2, 3]
    assert back.loc["everyone", ["k", "n"]].tolist() == [1, 2]
    by_channel = mechanisms.hires_by_channel(data, by=[])
    assert "recall" in set(by_channel["channel"])
    assert by_channel.set_index("channel").loc["recall", "hires"] == 2
