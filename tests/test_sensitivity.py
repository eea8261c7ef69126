"""Sensitivity analysis against known answers: seeds per point, the noise of a
point measured at the base point, and the noise floor of the Morris and Sobol
indices (a parameter without effect is classed as noise, one with an effect is not)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.core.config import build_config
from sim.errors import ConfigError
from sim.studies import sensitivity

EFFECT = 4.0  # weeks of lions' RMST over the whole range of applications per week
SD = 1.0  # s.d. of one run's RMST (each population)
K = 4  # seeds per point
ACTIVE = "funnel.applications"  # the one parameter with an effect in the analytic model
NULL = [p.key for p in sensitivity.PARAMS if p.key != ACTIVE]
D = len(sensitivity.PARAMS)


def _fake_rmst(cfg) -> float:
    """One run's RMST: applications per week raise the lions' RMST linearly, nothing
    else matters; the run adds normal noise (s.d. SD) drawn from its seed, its
    population and its parameter values (a chaotic run: any change is a new draw)."""
    lo, hi = 1.0, 3.0
    u = (cfg.funnel.applications - lo) / (hi - lo)
    values = [cfg.networking.time_budget, cfg.ties.decay.colleague, cfg.market.vacancy_rate,
              cfg.funnel.applications, cfg.leads.hear_prob, cfg.leads.aware_strength,
              cfg.hiring.referral_bonus, cfg.networking.max_gain]
    key = [cfg.seed, int(cfg.strategy.name == "lions"), *(int(round(v * 1e9)) for v in values)]
    noise = np.random.default_rng(key).normal(0.0, SD)
    return 10.0 + (EFFECT * u if cfg.strategy.name == "lions" else 0.0) + noise


@pytest.fixture
def fake_model(monkeypatch):
    """The real evaluation path (seeds, pairing, averaging) on the analytic model."""
    monkeypatch.setattr(sensitivity, "rmst_of", _fake_rmst)
    return build_config({"strategy": {"name": "lions"}}), build_config({"strategy": {"name": "everyone"}})


def _noise(lions, everyone, folder, groups=12):
    Xn = np.tile(sensitivity.base_point(lions), (groups, 1))
    seeds = [tuple(g * K + i for i in range(K)) for g in range(groups)]
    pts = sensitivity.run_points(f"noise-k{K}", Xn, lions, everyone, folder, jobs=1,
                                 seed_sets=seeds, chunk=64)
    return sensitivity.noise_sd(pts, K)


def test_evaluate_averages_seeds_and_pairs_the_populations(fake_model):
    lions, everyone = fake_model
    v = {"funnel.applications": 3.0}
    r = sensitivity.evaluate(lions, everyone, v, [0, 1, 2])
    from dataclasses import replace

    from sim.core.config import with_values

    rl = [_fake_rmst(replace(with_values(lions, v), seed=s)) for s in (0, 1, 2)]
    re = [_fake_rmst(replace(with_values(everyone, v), seed=s)) for s in (0, 1, 2)]
    d = np.subtract(rl, re)
    assert r["diff"] == pytest.approx(d.mean()) and r["diff_sd"] == pytest.approx(d.std(ddof=1))
    assert r["rmst"] == pytest.approx((np.mean(rl) + np.mean(re)) / 2)
    assert r["n_seeds"] == 3 and r["first_seed"] == 0


def test_noise_sd_recovers_the_noise_of_a_point(fake_model, tmp_path):
    """At the base point the outputs vary by noise alone: one run's diff has s.d.
    SD sqrt(2), a K-seed mean SD sqrt(2 / K); the estimate is within its chi-square
    99.9 % range (47 degrees of freedom)."""
    noise = _noise(*fake_model, tmp_path).set_index("output")
    df = int(noise.loc["diff", "df"])
    assert df == 12 * K - 1
    lo, hi = np.sqrt(stats.chi2.ppf([0.0005, 0.9995], df) / df)
    for y, sd_run in (("diff", SD * np.sqrt(2)), ("rmst", SD / np.sqrt(2))):
        assert lo < noise.loc[y, "sd_run"] / sd_run < hi
        assert noise.loc[y, "sd"] == pytest.approx(noise.loc[y, "sd_run"] / np.sqrt(K))


def test_elementary_effects_are_salibs():
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    X = morris_sample.sample(sensitivity.problem(), 6, num_levels=4, seed=3)
    Y = np.random.default_rng(0).normal(size=(3, len(X))) + X @ np.arange(float(D))
    ee = sensitivity.elementary_effects(X, Y, 4)
    for y, e in zip(Y, ee, strict=True):
        res = morris_analyze.analyze(sensitivity.problem(), X, y, num_levels=4, seed=0)
        np.testing.assert_allclose(np.abs(e).mean(axis=0), res["mu_star"])
        np.testing.assert_allclose(e.mean(axis=0), res["mu"])


def test_morris_noise_floor_separates_an_effect_from_none(fake_model, tmp_path):
    """Morris (r = 20, K seeds per point) on the analytic model: applications per week
    (effect EFFECT on lions, so EFFECT on diff and EFFECT / 2 on rmst per unit of
    range) are above the floor; the seven parameters without effect, whose mu* is
    pure noise (mean about 1.13 sd / delta), are classed as noise."""
    from SALib.sample import morris as morris_sample

    lions, everyone = fake_model
    noise = _noise(lions, everyone, tmp_path)
    X = morris_sample.sample(sensitivity.problem(), 20, num_levels=4, seed=0)
    pts = sensitivity.run_points(f"morris-k{K}", X, lions, everyone, tmp_path, jobs=1,
                                 seed_sets=[tuple(range(K))] * len(X), chunk=64)
    m = sensitivity.morris(X, pts, 4, 0, noise).set_index(["output", "parameter"])
    for y, effect in (("diff", EFFECT), ("rmst", EFFECT / 2)):
        assert m.loc[(y, ACTIVE), "above_noise"]
        sd = noise.set_index("output").loc[y, "sd"]
        # the floor sits above the mean pure-noise mu* and below the real effect
        floor = m.loc[(y, ACTIVE), "mu_star_floor"]
        assert 1.13 * sd / (2 / 3) < floor < effect
        for key in NULL:
            assert not m.loc[(y, key), "above_noise"], (y, key, m.loc[(y, key), "mu_star"], floor)
    # the Monte Carlo p-value tells the same: below ALPHA / D exactly when above the floor
    assert ((m["mu_star_p"] < sensitivity.ALPHA / D) == m["above_noise"]).all()
    # without the floor the null parameters' mu* are far from 0 (what E6 once read as effects)
    assert (m.loc["diff"].loc[NULL, "mu_star"] > 0.3).all()


def test_sobol_noise_floor_separates_an_effect_from_none(fake_model, tmp_path):
    """Sobol (N = 128, K seeds per point) on the analytic model: applications per week
    carry S1 = ST = (EFFECT^2 / 12) / (EFFECT^2 / 12 + noise variance) of diff, above
    both floors; the null parameters' S1 and ST are classed as noise although their
    ST is well above 0 (the noise's share of the variance)."""
    from SALib.sample import sobol as sobol_sample

    lions, everyone = fake_model
    noise = _noise(lions, everyone, tmp_path)
    X = sobol_sample.sample(sensitivity.problem(), 128, calc_second_order=False, seed=0)
    pts = sensitivity.run_points(f"sobol-k{K}", X, lions, everyone, tmp_path, jobs=1,
                                 seed_sets=[tuple(range(K))] * len(X), chunk=512)
    s = sensitivity.sobol(pts, 0, noise).set_index(["output", "parameter"])
    d = s.loc["diff"]
    assert d.loc[ACTIVE, "S1_above_noise"] and d.loc[ACTIVE, "ST_above_noise"]
    assert not d.loc[NULL, "S1_above_noise"].any() and not d.loc[NULL, "ST_above_noise"].any()
    share = 2 * SD**2 / K  # the noise variance of a point's diff
    assert d.loc[NULL, "ST"].mean() == pytest.approx(share / (EFFECT**2 / 12 + share), abs=0.1)


def test_report_prints_the_floor_and_marks_noise(fake_model, tmp_path):
    from types import SimpleNamespace

    from SALib.sample import morris as morris_sample

    lions, everyone = fake_model
    noise = _noise(lions, everyone, tmp_path)
    X = morris_sample.sample(sensitivity.problem(), 10, num_levels=4, seed=0)
    pts = sensitivity.run_points(f"morris-k{K}", X, lions, everyone, tmp_path, jobs=1,
                                 seed_sets=[tuple(range(K))] * len(X), chunk=64)
    m = sensitivity.morris(X, pts, 4, 0, noise)
    args = SimpleNamespace(argv=["--jobs", "1"], seeds_per_point=K)
    text = sensitivity._report(args, m, None, noise, {"rmst": (0.7, 0.61), "diff": (1.4, 1.23)},
                               len(X), lions)
    assert "the mu* floor would be 0.61 (rmst) and 1.23 (diff)" in text
    floor = m.loc[m["output"] == "diff", "mu_star_floor"].iloc[0]
    assert f"floor {floor:.2f}" in text
    row = next(line for line in text.splitlines() if line.startswith("| referral bonus") and
               f"{m.set_index(['output', 'parameter']).loc[('diff', 'hiring.referral_bonus'), 'mu_star']:.2f}"
               in line)
    assert "(noise)" in row
    assert pd.notna(m["mu_star_floor"]).all()


def test_an_output_folder_of_other_settings_is_refused(tmp_path, capsys):
    """Points are reused by design name; a folder of another configuration or sample
    seed must not lend its points to this one."""
    sensitivity._claim_folder(tmp_path / "a", '{"seed": 0}')
    sensitivity._claim_folder(tmp_path / "a", '{"seed": 0}')  # the same settings resume
    with pytest.raises(ConfigError, match="holds a sensitivity analysis of other settings") as e:
        sensitivity._claim_folder(tmp_path / "a", '{"seed": 1}')
    assert e.value.exit_code == 2 and "\n" not in str(e.value)


def test_each_model_gets_its_design_and_its_base_point_lies_inside():
    """The calibrated defaults vary funnel.applications (the legacy hiring.applications
    does nothing with the funnel on), the legacy preset the legacy design; in both the
    configured values lie inside the ranges (the noise is measured there)."""
    from sim.workflow.compose import compose

    for overrides, params in (([], sensitivity.PARAMS), (["+preset=legacy"], sensitivity.LEGACY_PARAMS)):
        cfg = compose(["+strategy=lions", *overrides])
        assert sensitivity.design_for(cfg) is params
        sensitivity.check_base_point(cfg, params)
    assert "funnel.applications" in [p.key for p in sensitivity.PARAMS]
    assert "hiring.applications" not in [p.key for p in sensitivity.PARAMS]


def test_a_base_point_outside_the_design_is_refused():
    cfg = build_config({"strategy": {"name": "lions"}, "leads": {"hear_prob": 0.5}})
    with pytest.raises(ConfigError, match=r"leads.hear_prob=0.5: outside the sensitivity range") as e:
        sensitivity.check_base_point(cfg, sensitivity.PARAMS)
    assert "\n" not in str(e.value)
