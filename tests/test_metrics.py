"""Headline metrics (sim/results/metrics.py): the Kaplan-Meier estimator against lifelines, its
median against the known median of an exponential, and ``headline`` on hand-made spells."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from sim.results.metrics import format_headline, headline, kaplan_meier, km_cdf_at, km_median


def censored_exponential(seed, n, rate, censor_rate, horizon=math.inf, weeks=False):
    """Exponential durations with independent exponential censoring and an administrative
    horizon; ``weeks`` rounds up to whole weeks (as the model's spells, many ties)."""
    rng = np.random.default_rng(seed)
    t = rng.exponential(1 / rate, n)
    c = np.minimum(rng.exponential(1 / censor_rate, n), horizon)
    if weeks:
        t, c = np.ceil(t), np.ceil(c)
    return np.minimum(t, c), t <= c


CASES = {
    # seed, n, event rate, censoring rate, horizon, whole weeks
    "light": (1, 400, 0.10, 0.02, math.inf, False),
    "moderate_weeks": (2, 1_000, 0.08, 0.05, 60, True),
    "small": (3, 25, 0.2, 0.1, math.inf, False),
    "heavy": (4, 600, 0.05, 0.15, 5, False),
    "heavy_weeks": (5, 600, 0.03, 0.10, 8, True),
}


@pytest.mark.parametrize("case", CASES)
def test_kaplan_meier_matches_lifelines(case):
    d, e = censored_exponential(*CASES[case])
    assert 0 < e.sum() < len(e)
    kmf = KaplanMeierFitter().fit(d, event_observed=e)

    t, s = kaplan_meier(d, e)
    table = kmf.event_table
    np.testing.assert_array_equal(t, table.index[table["observed"] > 0].to_numpy())
    np.testing.assert_allclose(s, kmf.survival_function_at_times(t).to_numpy(),
                               rtol=1e-10, atol=1e-12)

    # the step function everywhere (between, at and beyond the observed times, and at the
    # model's integer weeks): km_cdf_at = 1 - S
    grid = np.unique(np.concatenate([d, d + 1e-6, np.arange(0, 70), [1e6]]))
    ours = np.array([km_cdf_at(d, e, x) for x in grid])
    np.testing.assert_allclose(ours, 1 - kmf.survival_function_at_times(grid).to_numpy(),
                               rtol=1e-10, atol=1e-12)
    assert km_cdf_at(d, e, d.min() - 1) == 0.0  # before the first time (lifelines: nan)

    med = km_median(d, e)
    assert med == kmf.median_survival_time_
    if case.startswith("heavy"):
        assert s[-1] > 0.5 and med == math.inf  # the median is never reached
    else:
        assert math.isfinite(med)


def test_kaplan_meier_without_censoring_is_the_empirical_survival():
    d = np.array([3.0, 1.0, 2.0, 2.0, 5.0])
    t, s = kaplan_meier(d, np.ones(5, bool))
    np.testing.assert_array_equal(t, [1, 2, 3, 5])
    np.testing.assert_allclose(s, [4 / 5, 2 / 5, 1 / 5, 0.0])
    assert km_median(d, np.ones(5, bool)) == 2.0  # S(2) = 0.4 <= 0.5 first
    assert km_cdf_at(d, np.ones(5, bool), 2.5) == pytest.approx(3 / 5)


def test_empty_and_all_censored():
    t, s = kaplan_meier(np.array([]), np.array([], dtype=bool))
    assert len(t) == 0 and len(s) == 0
    assert km_median([], []) == math.inf
    assert km_cdf_at([], [], 4) == 0.0
    d, e = np.array([1.0, 2.0, 3.0]), np.zeros(3, bool)
    assert km_median(d, e) == math.inf and km_cdf_at(d, e, 10) == 0.0


@pytest.mark.parametrize("seed", [0, 1])
def test_km_median_of_censored_exponential_near_true_median(seed):
    lam, mu, n = 0.1, 0.05, 20_000  # event rate, independent censoring rate, spells
    d, e = censored_exponential(seed, n, lam, mu)
    m = math.log(2) / lam
    # Asymptotic s.e. of the KM median: Var(m_hat) ~ Var(S_hat(m)) / f(m)^2 with the density
    # f(m) = lam * S(m) = lam / 2. Greenwood, asymptotically:
    #   Var(S_hat(m)) = S(m)^2 / n * int_0^m h(t) / P(at risk at t) dt,  h = lam,
    #   P(at risk at t) = exp(-(lam + mu) t)
    #   => Var(S_hat(m)) = (1/4) / n * lam / (lam + mu) * (exp((lam + mu) m) - 1)
    #   => Var(m_hat) = (exp((lam + mu) m) - 1) / (n * lam * (lam + mu))
    # (without censoring, mu = 0, this is 1 / (n lam^2), the sample median's variance).
    # Here se = 0.078 weeks for m = 6.93; 4 s.e. is a two-sided 6e-5 error rate for a
    # correct estimator; the KM median's bias, O(1/n), is negligible.
    se = math.sqrt((math.exp((lam + mu) * m) - 1) / (n * lam * (lam + mu)))
    assert km_median(d, e) == pytest.approx(m, abs=4 * se)
    # the test has power: ignoring censoring (median of the finished spells, whose median is
    # ln 2 / (lam + mu) = 4.6) misses by far more than the tolerance
    assert abs(np.median(d[e]) - m) > 20 * se


# ------------------------------------------------------------------ headline


def spells_frame() -> pd.DataFrame:
    """Spells as ``Spells.frame`` writes them (categoricals, channel missing if censored)."""
    rows = [
        # strategy, left_truncated, duration_weeks, censored, channel
        ("lions", False, 2, False, "referral"),
        ("lions", False, 5, False, "formal"),
        ("lions", False, 10, True, None),
        ("lions", True, 1, False, "lead"),
        ("passive", False, 3, False, "formal"),
        ("passive", False, 8, True, None),
        ("passive", False, 8, True, None),
        ("passive", True, 20, False, "lead"),
    ]
    strategy, lt, dur, cens, channel = zip(*rows, strict=True)
    return pd.DataFrame({
        "strategy": pd.Categorical(strategy, categories=["lions", "passive", "broadcast"]),
        "left_truncated": np.array(lt),
        "duration_weeks": np.array(dur, dtype=np.int32),
        "censored": np.array(cens),
        "channel": pd.Categorical(channel, categories=["formal", "lead", "referral"]),
    })


def test_headline_by_hand():
    out = headline(spells_frame(), ["lions", "passive", "broadcast"])
    assert list(out) == ["all", "lions", "passive", "broadcast"]
    # One basis: spells begun in the horizon (left-truncated ones left out of every
    # count and share but n_hires_all_in_horizon).
    # lions, fresh spells 2 (referral hire), 5 (formal hire), 10 (censored):
    # S(2) = 2/3, S(5) = 1/3; hires of fresh spells: referral, formal -> 1/2 contacts;
    # all hires in the horizon: also the left-truncated lead hire -> 3
    assert out["lions"] == {"n_spells": 3, "n_hires": 2, "km_median_weeks": 5.0,
                            "share_reemployed_4w": pytest.approx(1 / 3),
                            "share_hires_contacts": pytest.approx(1 / 2),
                            "n_hires_all_in_horizon": 3}
    # passive, fresh 3 (formal hire), 8, 8 (censored): S(3) = 2/3 and never <= 1/2.
    # Hires of fresh spells: formal -> 0 contacts; all hires: formal, lead -> 2
    assert out["passive"] == {"n_spells": 3, "n_hires": 1, "km_median_weeks": None,
                              "share_reemployed_4w": pytest.approx(1 / 3),
                              "share_hires_contacts": 0.0, "n_hires_all_in_horizon": 2}
    # all, fresh 2, 3, 5 (hires), 8, 8, 10 (censored): S = 5/6, 4/6, 3/6 at 2, 3, 5.
    # Hires of fresh spells: referral, formal, formal -> 1/3; all hires: 5
    assert out["all"] == {"n_spells": 6, "n_hires": 3, "km_median_weeks": 5.0,
                          "share_reemployed_4w": pytest.approx(1 / 3),
                          "share_hires_contacts": pytest.approx(1 / 3),
                          "n_hires_all_in_horizon": 5}
    for m in out.values():  # the hires counted are hires of the spells counted
        assert m["n_hires"] <= m["n_spells"]
    # a strategy without spells
    assert out["broadcast"] == {"n_spells": 0, "n_hires": 0, "km_median_weeks": None,
                                "share_reemployed_4w": None, "share_hires_contacts": None,
                                "n_hires_all_in_horizon": 0}
    # (with the left-truncated spells in the duration metrics, lions' median would be 2 and
    # its 4-week share 1/2: the numbers above show they are left out)
    table = format_headline(out)
    # a strategy with no workers (no spells, no hires) is left out of the table
    assert len(table.splitlines()) == 4 and "n/a" in table


def test_headline_with_plain_string_columns():
    df = spells_frame()
    df["strategy"] = df["strategy"].astype(str)
    df["channel"] = df["channel"].astype(object)
    assert headline(df, ["lions"])["lions"] == headline(spells_frame(), ["lions"])["lions"]


@pytest.mark.parametrize("horizon", [5.0, 20.0, 200.0])
def test_km_rmst_matches_lifelines(horizon):
    from lifelines.utils import restricted_mean_survival_time

    from sim.results.metrics import km_rmst

    rng = np.random.default_rng(3)
    d = rng.geometric(0.08, size=400).astype(float)
    obs = rng.random(400) < 0.8
    kmf = KaplanMeierFitter().fit(d, obs)
    assert km_rmst(d, obs, horizon) == pytest.approx(
        float(restricted_mean_survival_time(kmf, t=horizon)), rel=1e-9)


def test_km_rmst_without_censoring_is_mean_of_truncated_durations():
    from sim.results.metrics import km_rmst

    d = np.array([1.0, 2.0, 3.0, 10.0])
    assert km_rmst(d, np.ones(4, bool), 5.0) == pytest.approx(np.minimum(d, 5.0).mean())
