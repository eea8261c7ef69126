"""Recall: the last employer's own hiring channel (issue 17, point 1; docs/ODD.md 7.5)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.config import ConfigError, build_config
from sim.core.firms import OPEN
from sim.core.model import LabourMarket
from sim.core.reference import ReferenceMarket
from tests.conftest import legacy, mix, small

MIXED = mix(lions=0.5, everyone=0.5)


class Watched(LabourMarket):
    """The model, recording each week's vacancies per firm before the recalls and the
    recalled workers' firms."""

    def __init__(self, config):
        self.log: list[tuple[np.ndarray, np.ndarray]] = []
        super().__init__(config)

    def _recall(self):
        vac = self.firms.vacancies().copy()
        workers = super()._recall()
        self.log.append((vac, self.employer[workers].copy()))
        return workers


def _recall_run(**over) -> Watched:
    cfg = small(**{"strategy": MIXED, "seed": 3, "weeks": 60, "recall__enabled": True, **over})
    return Watched(cfg).run()


def test_recalls_go_only_to_the_last_employer_and_at_most_its_vacancies():
    # every separation recalled at once if the firm has room: the vacancy cap binds
    m = _recall_run(recall__temporary_share=1.0, recall__temporary_rate=1.0)
    sp = m.spells_frame()
    rec = sp[sp["channel"] == "recall"]
    assert len(rec) > 100
    assert (rec["hired_by"] == rec["last_employer"]).all()
    assert rec["helper_id"].isna().all() and rec["tie_kind"].isna().all()
    binding = 0
    for vac, firms in m.log:
        per_firm = np.bincount(firms, minlength=len(vac))
        assert (per_firm <= vac).all()
        binding += int((per_firm == vac)[per_firm > 0].sum())
    assert binding > 0  # the cap was reached: the check above could fail
    # with recall on, every return to the last employer is a recall
    done = sp[~sp["censored"]]
    back = done["hired_by"] == done["last_employer"]
    assert (done.loc[back.fillna(False).to_numpy(bool), "channel"] == "recall").all()
    # the series counts them
    assert m.timeseries_frame()["hires_recall"].sum() == len(rec[rec["end_week"] >= 0])


def test_no_recall_after_the_horizon_with_the_step_decay():
    horizon = 3
    m = _recall_run(recall__permanent_rate=0.3, recall__temporary_rate=0.3, recall__decay="step",
                    recall__horizon=horizon, hiring__applications=0.0, leads__hear_prob=0.0)
    sp = m.spells_frame()
    rec = sp[sp["channel"] == "recall"]
    assert len(rec) > 50
    assert rec["duration_weeks"].max() == horizon  # recalls up to the horizon, none after
    # without other channels, spells of workers whose employer had no room ran past it
    assert (sp["censored"] & (sp["duration_weeks"] > horizon)).any()


def test_recall_rates_are_the_weekly_probabilities():
    # permanent separations only, rate r, and firms always with room (vacancy rate 30 %):
    # recalled in the first searching week with probability r
    r = 0.2
    m = _recall_run(recall__temporary_share=0.0, recall__permanent_rate=r,
                    market__vacancy_rate=0.3, hiring__applications=0.0, leads__hear_prob=0.0)
    sp = m.spells_frame()
    fresh = sp[~sp["left_truncated"] & sp["last_employer"].notna()
               & (sp["start_week"] < m.cfg.weeks - 2)]
    first = (fresh["channel"] == "recall") & (fresh["duration_weeks"] == 1)
    n = len(fresh)
    assert n > 300
    assert abs(first.mean() - r) < 4 * np.sqrt(r * (1 - r) / n)


def test_the_exponential_decay_is_the_weekly_probability_at_each_duration():
    """recall.decay=exponential (the default): a worker separated d weeks ago whose last
    employer has room is recalled with probability rate x exp(-(d - 1) / horizon), so the
    recall hazard falls smoothly and recalls go on past the horizon. Without any other
    channel and with firms always with room, the recall hazard at duration d is exactly
    that probability (binomial tolerance, 4 s.e., per duration)."""
    r, horizon = 0.3, 4
    m = _recall_run(recall__temporary_share=0.0, recall__permanent_rate=r,
                    recall__horizon=horizon, market__vacancy_rate=0.3, hiring__applications=0.0,
                    leads__hear_prob=0.0, weeks=120)
    sp = m.spells_frame()
    sp = sp[~sp["left_truncated"] & sp["last_employer"].notna()]
    d = sp["duration_weeks"].to_numpy()
    recalled = (sp["channel"] == "recall").to_numpy()
    assert (recalled & (d > horizon)).sum() > 20  # recalls past the horizon: no step
    for week in range(1, 6):
        at_risk = (d >= week) & ~(sp["censored"].to_numpy() & (d == week))
        n, k = at_risk.sum(), (recalled & (d == week)).sum()
        p = r * np.exp(-(week - 1) / horizon)
        assert n > 50, (week, n)
        assert abs(k / n - p) < 4 * np.sqrt(p * (1 - p) / n), (week, k / n, p)


def test_the_exponential_decay_needs_a_horizon_of_a_week_at_least():
    with pytest.raises(ConfigError, match=r"^recall\.horizon=0: must be at least 1"):
        build_config(small(recall__horizon=0))
    build_config(small(recall__horizon=0, recall__decay="step"))  # step: recall never


def _vacated(recall: bool) -> tuple[LabourMarket, int, int]:
    """A model in which worker ``w`` just quit firm ``f`` (the position reopened), has
    former colleagues there and searches; every helper hears of openings."""
    m = LabourMarket(small(strategy=mix(passive=1.0), seed=4, recall__enabled=recall,
                           leads__hear_prob=1.0, leads__per_helper=1000))
    for _ in range(25):
        m.step()
    t = m.ties
    # an employed worker with at least 3 ties to people at the same firm
    cowork = np.bincount(np.r_[t.a[t.cowork[: t.n]], t.b[t.cowork[: t.n]]],
                         minlength=m.cfg.n_workers)
    w = int(np.flatnonzero(m.employed & (cowork >= 3))[0])
    f, slot = int(m.employer[w]), int(m.slot[w])
    m.firms.pos_state[slot] = OPEN
    m.firms.pos_holder[slot] = -1
    m._lose_jobs(np.array([w]), np.array([False]))
    m.ti_unemployed[w] = m.week - 1  # searching this week
    return m, w, f


@pytest.mark.parametrize("recall", [False, True])
def test_the_own_vacated_position_is_not_offered_back_as_a_lead(recall):
    m, w, f = _vacated(recall)
    assert m.last_employer[w] == f
    offers = m.leads()
    from_last = (offers["seeker"] == w) & (m.employer[offers["helper"]] == f)
    if recall:
        assert not from_last.any()
        assert not (m.employer[offers["helper"]] == m.last_employer[offers["seeker"]]).any()
    else:  # legacy: the former colleagues pass the opening (the case the rule removes)
        assert from_last.sum() >= 3


def test_recall_off_ignores_the_recall_parameters():
    """With recall off (the legacy setting) its parameters change nothing and a return to
    the last employer is an ordinary hire."""
    base = small(strategy=MIXED, seed=2, weeks=30, recall__enabled=False)
    other = small(strategy=MIXED, seed=2, weeks=30, recall__enabled=False,
                  recall__temporary_share=0.9,
                  recall__temporary_rate=0.9, recall__permanent_rate=0.5, recall__horizon=2)
    a, b = LabourMarket(base).run(), LabourMarket(other).run()
    pa, pb = a.spells_frame(), b.spells_frame()
    assert pa.equals(pb)
    assert a.timeseries_frame().equals(b.timeseries_frame())
    assert a.timeseries_frame()["hires_recall"].sum() == 0
    done = pa[~pa["censored"]]
    # returns to the last employer happen without recall, through the other channels
    assert (done["hired_by"] == done["last_employer"]).fillna(False).any()


def test_recall_needs_firms_and_the_reference_refuses_it():
    with pytest.raises(ConfigError, match="recall.enabled=true"):
        build_config({"recall": {"enabled": True}, "funnel": {"enabled": False},
                      "market": {"jobs": "exogenous", "market_size": None}})
    # the reference runs the legacy configuration only: recall on in it is refused
    with pytest.raises(NotImplementedError, match="recall.enabled=true"):
        ReferenceMarket(legacy(n_workers=100, recall__enabled=True))
