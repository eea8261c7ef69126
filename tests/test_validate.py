"""Validation, calibration and sensitivity: the measures against known answers,
the commands end to end, and the stylized facts at fixed seeds (slow)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.core.config import build_config, with_values
from sim.studies import calibrate, sensitivity, validate
from sim.studies.common import DEFAULT_OVERRIDES
from sim.studies.validate import FACT_BY_ID, FACTS, Fact


# ---------------------------------------------------------------- measures, known answers
def _spells(d, censored, **cols):
    n = len(d)
    base = {"duration_weeks": np.asarray(d), "censored": np.asarray(censored, bool),
            "start_week": np.zeros(n, int), "strategy": ["lions"] * n}
    base.update(cols)
    return pd.DataFrame(base)


def test_hazard_ratio_is_one_for_a_constant_hazard_and_below_one_for_a_mixture():
    rng = np.random.default_rng(0)
    d = rng.geometric(0.05, size=200_000)
    r = validate._hazard_ratio(_spells(d, np.zeros(len(d))))
    # geometric: the same weekly hazard at every duration; s.e. of the log ratio ~ 0.01
    assert r == pytest.approx(1.0, abs=0.04)
    # two types with hazards 0.2 and 0.02: the fast leave first, the hazard falls
    d2 = np.concatenate([rng.geometric(0.2, 100_000), rng.geometric(0.02, 100_000)])
    assert validate._hazard_ratio(_spells(d2, np.zeros(len(d2)))) < 0.5


def test_hazard_ratio_counts_censored_spells_as_at_risk():
    # 1000 spells censored at 60 weeks and 1000 hired at week 2: no event late, ratio 0
    d = np.r_[np.full(1000, 60), np.full(1000, 2)]
    cens = np.r_[np.ones(1000, bool), np.zeros(1000, bool)]
    assert validate._hazard_ratio(_spells(d, cens)) == 0.0


def test_flows_turn_weekly_rates_into_monthly_ones():
    n, weeks = 1000, 50
    ts = pd.DataFrame({"n_unemployed": np.full(weeks, 50), "separations": np.full(weeks, 10),
                       "layoffs": np.zeros(weeks, int), "hires": np.full(weeks, 6),
                       "unemployment_rate": np.full(weeks, 0.05), "vacancy_rate": np.full(weeks, 0.04)})
    f = validate._flows(ts, n)
    assert f["job_finding"] == pytest.approx(1 - (1 - 6 / 60) ** (52 / 12))
    assert f["separation"] == pytest.approx(1 - (1 - 10 / 950) ** (52 / 12))
    assert f["unemployment"] == pytest.approx(0.05) and f["vacancy"] == pytest.approx(0.04)


def test_degree_fit_recovers_a_concave_relation():
    rng = np.random.default_rng(1)
    n = 40_000
    deg = rng.integers(1, 60, n)
    z = (deg - deg.mean()) / deg.std()
    p = np.clip(0.5 + 0.1 * z - 0.05 * z * z, 0.01, 0.99)
    hired = rng.random(n) < p
    sp = _spells(np.where(hired, 5, 30), ~hired, degree_at_start=deg,
                 strategy=rng.choice(["lions", "everyone"], n))
    slope, curv = validate._degree_fit(sp, weeks=100)
    assert slope == pytest.approx(0.1, abs=0.01)
    assert curv == pytest.approx(-0.05, abs=0.01)


def test_work_tie_ability_ratio():
    # top tercile: 2 work-tie hires per 10 spell-weeks; bottom: 1 per 10
    ability = np.r_[np.full(3, -1.0), np.full(3, 0.0), np.full(3, 1.0)]
    kind = ["colleague", "online", "online", "online", "online", "online",
            "colleague", "supervisor", "online"]
    sp = _spells(np.full(9, 10.0 / 3), np.zeros(9), ability=ability, tie_kind=kind,
                 channel=["referral"] * 9)
    assert validate._work_tie_ability(sp) == pytest.approx(2.0)


@pytest.mark.parametrize(("fact", "mean", "lo", "hi", "ok"), [
    (FACT_BY_ID["contact_share"], 0.45, 0.2, 0.7, True),   # range: the mean decides
    (FACT_BY_ID["contact_share"], 0.65, 0.6, 0.7, False),
    (FACT_BY_ID["neighbour_corr"], 0.01, 0.002, 0.02, True),  # sign: the interval decides
    (FACT_BY_ID["neighbour_corr"], 0.01, -0.001, 0.02, False),
    (FACT_BY_ID["hazard_ratio"], 0.5, 0.4, 0.99, True),
    (FACT_BY_ID["hazard_ratio"], 0.5, 0.4, 1.01, False),
    (FACT_BY_ID["contact_share"], float("nan"), 0, 1, False),
])
def test_fact_pass_rules(fact: Fact, mean, lo, hi, ok):
    assert fact.passes(mean, lo, hi) is ok


def test_table_and_interval():
    runs = pd.DataFrame({f.key: [1.0, 2.0, 3.0] for f in FACTS} | {"seed": [0, 1, 2],
                        "everyone_contacts_4wk": [0.2, 0.3, 0.25]})
    tab = validate.table(runs)
    assert len(tab) == len(FACTS) and (tab["seeds"] == 3).all()
    m, lo, hi = validate.t_interval(np.array([1.0, 2.0, 3.0]))
    assert (m, round(lo, 4), round(hi, 4)) == (2.0, round(2 - 4.302653 / np.sqrt(3), 4),
                                               round(2 + 4.302653 / np.sqrt(3), 4))
    text = validate.format_table(tab, runs, markdown=True)
    assert text.count("\n|") == len(FACTS) + 1 and "not a target" in text


def test_intervals_stay_inside_the_range_and_few_runs_are_said():
    """With 2 or 3 seeds a plain t interval of a share or a ratio reaches below 0; the
    table's intervals stay in [0, 1] for shares and above 0 for ratios, contain the
    mean, and the table says that they rest on few runs (not with 5 seeds)."""
    shares = [f for f in FACTS if f.bounds == validate.SHARE]
    ratios = [f for f in FACTS if f.bounds == validate.POSITIVE]
    assert {"contact_share", "unemployment", "share_27"} <= {f.id for f in shares}
    assert {"help_ratio", "hazard_ratio", "mean_over_median"} <= {f.id for f in ratios}
    for values in ([0.01, 0.09], [0.002, 0.05, 0.004], [0.9, 0.999]):
        n = len(values)
        runs = pd.DataFrame({f.key: values for f in FACTS} | {"seed": range(n),
                            "everyone_contacts_4wk": values})
        _, plain_lo, plain_hi = validate.t_interval(np.array(values))
        assert plain_lo < 0 or plain_hi > 1  # the case that needs the transformation
        tab = validate.table(runs).set_index("id")
        for f in shares + ratios:
            r = tab.loc[f.id]
            assert r["lower"] <= r["value"] <= r["upper"], f.id
            assert r["lower"] > 0, f.id
            if f in shares:
                assert r["upper"] < 1, f.id
        e = validate.expectation_row(runs)
        assert 0 < e["lower"] < e["upper"] < 1
        text = validate.format_table(validate.table(runs), runs)
        assert f"{n} seeds: the intervals rest on few runs" in text
    runs5 = pd.DataFrame({f.key: [0.04, 0.05, 0.06, 0.05, 0.045] for f in FACTS} |
                         {"seed": range(5), "everyone_contacts_4wk": [0.3] * 5})
    assert "few runs" not in validate.format_table(validate.table(runs5), runs5)
    one = runs5.iloc[:1]
    text = validate.format_table(validate.table(one), one)
    assert "1 seed: no replicates" in text and "(no interval)" in text


# ---------------------------------------------------------------- calibration pieces
def test_distance_is_zero_at_the_middle_of_every_range_and_one_at_an_edge():
    mid = {FACT_BY_ID[f].key: (FACT_BY_ID[f].lo + FACT_BY_ID[f].hi) / 2 for f in calibrate.RANGE_FACTS}
    mid["neighbour_corr"] = 0.01
    assert calibrate.distance(mid)[0] == 0.0
    edge = dict(mid, share_27=FACT_BY_ID["share_27"].hi)
    assert calibrate.distance(edge)[0] == pytest.approx(1.0)
    below = dict(mid, neighbour_corr=0.0)
    assert calibrate.distance(below)[1]["neighbour_corr"] == pytest.approx(1.0)


def test_with_values_sets_dotted_keys_and_validates():
    cfg = build_config({"strategy": {"name": "lions"}})
    new = with_values(cfg, {"hiring.applications": 0.1, "leads.hear_prob": 0.02})
    assert new.hiring.applications == 0.1 and new.leads.hear_prob == 0.02
    from sim.core.config import ConfigError

    with pytest.raises(ConfigError, match="hear_prob"):
        with_values(cfg, {"leads.hear_prob": 2.0})


def test_with_values_scales_a_group():
    cfg = build_config({"strategy": {"name": "lions"}})
    new = with_values(cfg, {"ties.decay.*": 2.0, "market.vacancy_rate": 0.05})
    assert new.ties.decay.online == pytest.approx(2 * cfg.ties.decay.online)
    assert new.ties.decay.colleague == pytest.approx(2 * cfg.ties.decay.colleague)
    assert new.market.vacancy_rate == 0.05


def test_morris_wiring_ranks_a_known_function(tmp_path, monkeypatch):
    """The pipeline (sampling, evaluation order, analysis) on an analytic model:
    the outcome depends on the vacancy rate only, so only it has mu* > 0."""
    from SALib.sample import morris as morris_sample

    def fake(lions, everyone, values, seeds):
        v = values["market.vacancy_rate"]
        return {"rmst": 100 * v, "diff": -50 * v, "rmst_lions": 0.0, "rmst_everyone": 0.0,
                "rmst_sd": 0.0, "diff_sd": 0.0, "n_seeds": len(seeds), "first_seed": seeds[0]}

    monkeypatch.setattr(sensitivity, "evaluate", fake)
    cfg = build_config({"strategy": {"name": "lions"}})
    X = morris_sample.sample(sensitivity.problem(), 4, num_levels=4, seed=0)
    pts = sensitivity.run_points("morris", X, cfg, cfg, tmp_path, jobs=1, chunk=5)
    m = sensitivity.morris(X, pts, 4, 0).set_index(["output", "parameter"])["mu_star"]
    # SALib's elementary effect is per unit of the scaled [0, 1] range: slope x range
    lo, hi = next((p.low, p.high) for p in sensitivity.PARAMS if p.key == "market.vacancy_rate")
    assert m[("rmst", "market.vacancy_rate")] == pytest.approx(100 * (hi - lo), rel=1e-6)
    assert m[("diff", "market.vacancy_rate")] == pytest.approx(50 * (hi - lo), rel=1e-6)
    assert m.drop(index="market.vacancy_rate", level=1).abs().max() == 0.0
    # resuming evaluates nothing again
    monkeypatch.setattr(sensitivity, "evaluate", lambda *a: pytest.fail("evaluated twice"))
    again = sensitivity.run_points("morris", X, cfg, cfg, tmp_path, jobs=1, chunk=5)
    pd.testing.assert_frame_equal(again, pts)


def test_sobol_indices_are_reproducible():
    """Same points and seed, same intervals (SALib's bootstrap ignores a seed of 0)."""
    from SALib.sample import sobol as sobol_sample

    X = sobol_sample.sample(sensitivity.problem(), 256, calc_second_order=False, seed=0)
    lo, hi = np.array(sensitivity.problem()["bounds"]).T
    c = np.arange(1.0, len(sensitivity.PARAMS) + 1)
    y = ((X - lo) / (hi - lo)) @ c  # additive, each input uniform on [0, 1] times c_j
    pts = pd.DataFrame({"rmst": y, "diff": -y})
    a, b = sensitivity.sobol(pts, 0), sensitivity.sobol(pts, 0)
    pd.testing.assert_frame_equal(a, b)
    # additive model: S1_j = ST_j = c_j^2 / sum(c^2), within 3 bootstrap standard errors
    # (S1_conf is the 95 % half-width, 1.96 of them)
    r = a[a["output"] == "rmst"]
    err = np.abs(r["S1"].to_numpy() - c**2 / (c**2).sum())
    assert (err < 3 / 1.96 * r["S1_conf"].to_numpy()).all(), (err, r["S1_conf"].to_numpy())


# ---------------------------------------------------------------- commands
def _sim(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize(("args", "needle"), [
    (["validate", "--seeds", "0"], "--seeds=0: must be >= 1"),
    (["validate", "--facts", "nope"], "--facts=nope: unknown fact id"),
    (["validate", "n_wrkers=3"], "n_wrkers=3: unknown key (did you mean 'n_workers'?)"),
    (["validate", "n_workers=5000"], "n_workers=5000: set it with --n-workers 5000"),
    (["calibrate", "weeks=52"], "weeks=52: set it with --weeks 52"),
    (["calibrate", "hiring.applications=-1"], "hiring.applications=-1"),
    (["sensitivity", "--sobol-n", "3"], "--sobol-n=3: must be 0 or a power of 2"),
    (["sensitivity", "--seeds-per-point", "0"], "--seeds-per-point=0: must be >= 1"),
    (["sensitivity", "--noise-groups", "1"], "--noise-groups=1: must be >= 2"),
])
def test_bad_input_one_line_exit_2(args, needle, tmp_path):
    r = _sim(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and needle in r.stderr
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.mark.slow
def test_validate_command_writes_table_and_exits_by_result(tmp_path):
    out = tmp_path / "val"
    r = _sim("validate", "--seeds", "2", "--n-workers", "400", "--weeks", "60", "--jobs", "1",
             "--facts", "unemployment,separation", "--out", str(out), "burn_in=20")
    assert r.returncode in (0, 1), r.stderr
    tab = pd.read_csv(out / "validation.csv")
    assert list(tab["id"]) == ["unemployment", "separation"]
    assert r.returncode == (0 if tab["pass"].all() else 1)
    assert {"validation.md", "validation.json", "runs.csv"} <= {p.name for p in out.iterdir()}
    again = _sim("validate", "--seeds", "1", "--out", str(out))
    assert again.returncode == 2 and "not overwritten" in again.stderr


@pytest.mark.slow
def test_calibrate_command_writes_a_loadable_preset_and_resumes(tmp_path):
    out = tmp_path / "cal"
    args = ["calibrate", "--seeds", "1", "--n-workers", "300", "--weeks", "40", "--jobs", "1",
            "--out", str(out), "burn_in=20"]
    r = _sim(*args, "--trials", "2")
    assert r.returncode == 0, r.stderr
    assert len(pd.read_csv(out / "trials.csv")) == 2
    r = _sim(*args, "--trials", "3")  # resumes: one more trial
    assert r.returncode == 0, r.stderr
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 3 and trials["trial"].tolist() == [0, 1, 2]
    # trial 0 is the current defaults (inside the search ranges)
    assert trials.loc[0, "funnel.applications"] == build_config(
        {"strategy": {"name": "lions"}}).funnel.applications
    import yaml

    preset = yaml.safe_load((out / "calibrated.yaml").read_text())
    from sim.workflow.compose import compose

    cfg = compose(["+strategy=lions", *(f"{g}.{k}={v}" for g, d in preset.items() for k, v in d.items())])
    best = trials.loc[trials["distance"].idxmin()]
    assert cfg.funnel.applications == pytest.approx(best["funnel.applications"], rel=1e-3)
    # a derived parameter follows its source (a referral ~12 % less noisy than a formal signal)
    assert cfg.hiring.referral_noise == pytest.approx(0.88 * best["hiring.formal_noise"], rel=1e-3)


@pytest.mark.slow
def test_sensitivity_command_small(tmp_path):
    out = tmp_path / "sens"
    r = _sim("sensitivity", "--n-workers", "200", "--weeks", "30", "--trajectories", "2",
             "--seeds-per-point", "2", "--noise-groups", "3", "--jobs", "1", "--out", str(out),
             "burn_in=10")
    assert r.returncode == 0, r.stderr
    m = pd.read_csv(out / "morris.csv")
    assert len(m) == 2 * len(sensitivity.PARAMS) and np.isfinite(m["mu_star"]).all()
    assert np.isfinite(m["mu_star_floor"]).all() and m["above_noise"].dtype == bool
    pts = pd.read_parquet(out / "points.parquet")
    assert len(pts) == 3 + 2 * (len(sensitivity.PARAMS) + 1)  # noise groups + Morris points
    assert (pts["n_seeds"] == 2).all()
    noise = pd.read_csv(out / "noise.csv")
    assert list(noise["df"]) == [5, 5] and (noise["sd"] > 0).all()
    assert (out / "sensitivity.pdf").stat().st_size > 0
    assert "floor" in (out / "report.md").read_text()


# ---------------------------------------------------------------- facts at fixed seeds
@pytest.fixture(scope="module")
def default_runs():
    """The default population at validate's default size and seeds (two markets of 10,000
    workers x 520 weeks after the default burn-in, seeds 0-4): the table of
    docs/VALIDATION.md, section 1."""
    from sim.workflow.compose import compose

    return validate.measure_seeds(compose(DEFAULT_OVERRIDES), list(range(5)), jobs=2)


def _assert_fact(fact: Fact, runs: pd.DataFrame) -> None:
    m, lo, hi = validate.t_interval(runs[fact.key].to_numpy())
    assert fact.passes(m, lo, hi), f"{fact.name}: {m:.4g} [{lo:.4g}, {hi:.4g}], target {fact.target}"


# No known failure at the default population (two markets of 10,000): every fact passes,
# fact 7's curvature included (at one market alone its interval included 0;
# docs/VALIDATION.md section 1). A fact listed here is a strict expected failure.
KNOWN_FAILURES: dict[str, str] = {}


@pytest.mark.slow
@pytest.mark.parametrize("fact", [pytest.param(f, marks=pytest.mark.xfail(
    reason=KNOWN_FAILURES[f.id], strict=True)) if f.id in KNOWN_FAILURES else f for f in FACTS],
    ids=[f.id for f in FACTS])
def test_stylized_fact_holds_at_fixed_seeds(fact: Fact, default_runs):
    """Each fact of docs/RESEARCH.md section 5 (and the hiring funnel's, fact 10) by
    validate's own rule: range facts by the mean over seeds, sign facts by the whole 95 %
    interval across seeds."""
    _assert_fact(fact, default_runs)


@pytest.mark.slow
def test_calvo_jackson_preset_reproduces_the_papers_qualitative_results():
    """Calvo-Armengol & Jackson (2004): employment is positively correlated between
    neighbours, and the re-employment hazard falls with the spell's duration."""
    from sim.workflow.compose import compose

    cfg = compose(["+preset=calvo_jackson", "n_workers=2000", "weeks=260"])
    runs = validate.measure_seeds(cfg, [0, 1, 2, 3], jobs=2)
    for fid in ("neighbour_corr", "hazard_ratio"):
        _assert_fact(FACT_BY_ID[fid], runs)


# ---------------------------------------------------------------- weak ties, stationarity
def test_weak_shares_by_strength_and_by_kind_hand_counted():
    contact = pd.DataFrame({
        "tie_kind": ["acquaintance", "colleague", "colleague", "online", "supervisor"],
        "tie_strength": [0.6, 0.49, 0.5, 0.1, 0.3]})
    # by strength (< 0.5): 0.49, 0.1, 0.3 -> 3 of 5; by kind: acquaintance, online -> 2 of 5
    assert validate.weak_shares(contact, 0.5) == (pytest.approx(3 / 5), pytest.approx(2 / 5))
    assert validate.weak_shares(contact, 0.2)[0] == pytest.approx(1 / 5)
    empty = validate.weak_shares(contact.iloc[:0], 0.5)
    assert all(np.isnan(v) for v in empty)


def test_weak_ties_by_kind_is_an_informational_row_under_fact_2():
    runs = pd.DataFrame({f.key: [0.5, 0.6, 0.7] for f in FACTS} | {"seed": [0, 1, 2],
                        "everyone_contacts_4wk": [0.2, 0.3, 0.25],
                        "weak_share_by_kind": [0.01, 0.02, 0.015]})
    tab = validate.table(runs)
    assert len(tab) == len(FACTS) and "weak_share_by_kind" not in set(tab["id"])  # not a fact
    lines = validate.format_table(tab, runs).splitlines()
    i = next(j for j, ln in enumerate(lines) if "by strength (tie < ties.work_strength)" in ln)
    assert "by kind (acquaintance or online" in lines[i + 1]
    assert lines[i + 1].rstrip().endswith("info: outside target") and "1.5%" in lines[i + 1]
    md = validate.format_table(tab, runs, markdown=True)
    assert md.count("\n|") == len(FACTS) + 2 and "info: outside target" in md
    # only fact 3 selected: no row of fact 2, no informational row
    three = validate.table(runs, [validate.FACT_BY_ID["help_ratio"]])
    assert "by kind" not in validate.format_table(three, runs)


def _series(weeks: int, degree_slope: float) -> pd.DataFrame:
    w = np.arange(weeks)
    return pd.DataFrame({"week": w, "mean_degree": 10 + degree_slope * w,
                         "mean_degree_lions": np.full(weeks, 5.0),
                         "mean_degree_passive": np.full(weeks, np.nan),  # no member
                         "unemployment_rate": np.full(weeks, 0.05),
                         "vacancy_rate": 0.04 + 0.001 * (w % 2)})


def test_stationarity_slopes_known_answers():
    weeks = 104  # halves of 52 weeks: one year between their midpoints
    ts = _series(weeks, degree_slope=0.1)
    # spells begun in the first half all end after 2 weeks, in the second after 10
    start = np.r_[np.arange(0, 52), np.arange(52, 90)]
    d = np.where(start < 52, 2, 10)
    sp = _spells(d, np.zeros(len(d)), start_week=start,
                 strategy=np.where(np.arange(len(d)) % 2 == 0, "lions", "everyone"))
    out = validate.stationarity(ts, sp, weeks, strength_weeks=[3, 7, 11, 15],
                                mean_strength=[0.2, 0.25, 0.3, 0.35],
                                sampled={"strong_degree": [10, 11, 12, 13],
                                         "strong_degree_lions": [5, 5, 5, 5]})
    assert out["trend_strong_degree"] == pytest.approx(1 / 4 * 52)
    assert out["level_strong_degree"] == pytest.approx(11.5)
    assert out["trend_strong_degree_lions"] == pytest.approx(0.0, abs=1e-9)
    assert validate._label("strong_degree_lions", 26).startswith("degree, ties >= ")
    assert out["trend_mean_degree"] == pytest.approx(0.1 * 52)
    assert out["level_mean_degree"] == pytest.approx(10 + 0.1 * 51.5)
    assert out["trend_mean_degree_lions"] == pytest.approx(0.0, abs=1e-9)
    assert "trend_mean_degree_passive" not in out
    assert out["trend_unemployment_rate"] == pytest.approx(0.0, abs=1e-12)
    assert abs(out["trend_vacancy_rate"]) < 1e-4  # alternating around 0.0405, no trend
    assert out["trend_mean_strength"] == pytest.approx(0.05 / 4 * 52)
    # S4: 1 in the first half, 0 in the second; RMST(26): 2 then 10 weeks
    assert out["rmst_tau"] == 26
    assert out["trend_s4"] == pytest.approx(-1.0) and out["trend_rmst"] == pytest.approx(8.0)
    assert out["trend_s4_lions"] == pytest.approx(-1.0)
    assert out["trend_s4_gap"] == pytest.approx(0.0) and out["trend_rmst_gap"] == pytest.approx(0.0)
    assert out["level_s4"] == pytest.approx(52 / 90)


def test_stationarity_table_interval_across_runs_and_verdict():
    from scipy import stats

    runs = pd.DataFrame({"seed": [0, 1, 2], "rmst_tau": [52] * 3,
                         "level_mean_degree": [40.0, 42.0, 44.0], "trend_mean_degree": [1.0, 1.2, 0.8],
                         "level_s4": [0.4] * 3, "trend_s4": [-0.01, 0.02, 0.0]})
    st = validate.stationarity_table(runs).set_index("quantity")
    r = st.loc["mean_degree"]
    half = stats.t.ppf(0.975, 2) * 0.2 / np.sqrt(3)  # sd of (1.0, 1.2, 0.8) is 0.2
    assert (r["slope"], r["level"]) == (pytest.approx(1.0), pytest.approx(42.0))
    assert (r["lower"], r["upper"]) == (pytest.approx(1 - half), pytest.approx(1 + half))
    assert r["verdict"] == "trend" and st.loc["s4", "verdict"] == "no trend"
    one = validate.stationarity_table(runs.iloc[:1]).set_index("quantity")
    assert (one["verdict"] == "no interval").all()
    text = validate.format_stationarity(st.reset_index())
    assert "Stationarity" in text and "+2.4%/yr" in text and "pp" in text


def test_last_employer_share_hand_counted():
    # 6 spells: 1 censored, 1 without a last employer (left out); of the 4 others, 2
    # end at the last employer (one formal, one recall): 50 %, whatever the channel
    sp = pd.DataFrame({
        "censored": [True, False, False, False, False, False],
        "last_employer": pd.array([3, None, 3, 5, 7, 8], dtype="Int32"),
        "hired_by": pd.array([None, 3, 3, 5, 1, 2], dtype="Int32"),
        "channel": [None, "formal", "formal", "recall", "lead", "referral"]})
    assert validate.last_employer_share(sp) == pytest.approx(0.5)
    assert np.isnan(validate.last_employer_share(sp.iloc[:2]))
    fact = FACT_BY_ID["last_employer_share"]
    assert (fact.lo, fact.hi, fact.number) == (0.30, 0.45, 9)
    assert "Fujita & Moscarini 2017" in fact.source


@pytest.mark.slow
def test_identification_finds_that_the_separation_rate_moves_the_separation_fact():
    """At a small market the central difference of the monthly separation rate in
    ``market.separation_rate`` has the size the definitions give, and no other parameter
    moves that fact as much."""
    from sim.workflow.compose import compose

    cfg = compose(["+strategy=mixed", "n_workers=600", "weeks=60", "burn_in=20",
                   "funnel.enabled=true", "recall.enabled=true"])
    best = {p.key: (p.low * p.high) ** 0.5 if p.log else (p.low + p.high) / 2 for p in calibrate.FREE}
    table = calibrate.identification(cfg, best, seeds=[0], jobs=1, every=4)
    assert list(table["parameter"]) == [p.key for p in calibrate.FREE]
    row = table.set_index("parameter").loc["market.separation_rate"]
    # expected: weekly 0.0046 -> 0.0058 over two steps, monthly 2.0 % -> 2.5 %, so 0.25 points
    # per step over a tolerance of 0.85 points: 0.29 (measured 0.293; common random numbers
    # make the separation draws the same at both points, so the noise is small)
    assert 0.2 < row["separation"] < 0.4
    assert table.set_index("parameter")["separation"].abs().idxmax() == "market.separation_rate"
    md = calibrate.identification_md(table)
    assert "market.separation_rate" in md and "| separation |" in md


def test_tie_sample_counts_what_numpy_counts():
    """The sampler's one pass over the ties against the numpy formulation it replaced:
    unemployed ends per strength band (strengths on the band edges included), the
    correlation of the two ends' unemployment over both orientations, and the degree in
    ties at least the covariate threshold."""
    rng = np.random.default_rng(7)
    n, m = 300, 5000
    a = rng.integers(0, n, m).astype(np.int32)
    b = rng.integers(0, n, m).astype(np.int32)
    strength = rng.random(m).astype(np.float32)
    strength[:50] = validate.STRENGTH_BINS[rng.integers(0, 11, 50)].astype(np.float32)
    unemployed = rng.random(n) < 0.3
    deg = np.zeros(n, dtype=np.int64)
    exposure, ends, both = validate._tie_sample(a, b, strength, unemployed,
                                                validate.STRENGTH_BINS, np.float32(0.2), deg)
    ua, ub = unemployed[a].astype(float), unemployed[b].astype(float)
    s = np.concatenate([strength[ua > 0], strength[ub > 0]])
    bins = validate.STRENGTH_BINS
    idx = np.clip(np.digitize(s, bins) - 1, 0, len(bins) - 2)
    np.testing.assert_array_equal(exposure, np.bincount(idx, minlength=len(bins) - 1))
    assert ends == ua.sum() + ub.sum() and both == (ua * ub).sum()
    strong = strength >= np.float32(0.2)
    np.testing.assert_array_equal(deg, np.bincount(a[strong], minlength=n)
                                  + np.bincount(b[strong], minlength=n))
    x, y = np.concatenate([ua, ub]), np.concatenate([ub, ua])
    p = ends / (2 * m)
    assert (both / m - p * p) / (p - p * p) == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-12)


def test_format_gap_reports_the_private_return_with_its_interval():
    runs = pd.DataFrame({"gap_rmst52": [-1.0, -1.2, -1.4], "gap_s4": [0.02, 0.03, 0.04]})
    line = validate.format_gap(runs)
    # mean -1.2, s.d. 0.2, t(0.975, 2) = 4.303: half-width 4.303 * 0.2 / sqrt(3) = 0.50
    assert "-1.20 [-1.70, -0.70] weeks" in line and "+3.0 [+0.5, +5.5] points" in line
    assert "3 seeds" in line
    assert validate.format_gap(pd.DataFrame({"gap_rmst52": [np.nan], "gap_s4": [np.nan]})) is None
    assert validate.format_gap(pd.DataFrame({"x": [1.0]})) is None
