"""The hiring funnel (issue 11, points 1 and 2; docs/ODD.md 7.5 and 7.7): hand-counted
screenings, a hand-counted market of two vacancies and three applicants, the funnel's
weekly counts with the funnel off and on, and the per-run figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.core.config import ConfigError, FunnelConfig, build_config
from sim.core.firms import FILLED, OPEN
from sim.core.funnel import Pool, accept_best, best_per_pair, screen
from sim.core.model import LabourMarket
from sim.core.records import FORMAL, LEAD, REFERRAL
from sim.core.reference import ReferenceMarket
from sim.core.ties import ACQUAINTANCE
from sim.results.contract import FUNNEL_CHANNELS, FUNNEL_SERIES, SERIES_COLUMNS
from sim.results.metrics import funnel_figures
from tests.conftest import legacy, mix, small

MIXED = mix(lions=0.5, everyone=0.5)


def _pool(pos, worker, signal, channel=None) -> Pool:
    k = len(pos)
    channel = np.full(k, FORMAL, np.int8) if channel is None else np.array(channel, np.int8)
    return Pool(np.array(pos, np.int64), np.zeros(k, np.int32), np.array(worker, np.int64),
                np.zeros(k, np.int64), np.array(signal, float), channel,
                np.where(channel == FORMAL, -1, 99).astype(np.int64), np.zeros(k, bool))


# ------------------------------------------------------------------ the pure steps
def test_best_per_pair_and_accept_best_by_hand():
    # worker 7 applied twice to vacancy 1 (signals 0.2 and 0.9): the 0.9 is kept
    keep = best_per_pair(np.array([1, 1, 1, 2]), np.array([7, 8, 7, 7]),
                         np.array([0.2, 0.5, 0.9, 0.1]))
    assert sorted(keep.tolist()) == [1, 2, 3]
    # offers: worker 3 at signals 1.0 and 2.0, worker 4 at 0.5: 3 takes the 2.0
    assert sorted(accept_best(np.array([3, 3, 4]), np.array([1.0, 2.0, 0.5])).tolist()) == [1, 2]


def test_screen_shortlists_offers_and_keeps_the_runners_up_by_hand():
    # vacancy 10: signals 2.0, 1.5, 0.4, -5 (shortlist 2, threshold 0): 2.0 and 1.5 are
    # shortlisted, 2.0 gets the offer, 1.5 is the runner-up, 0.4 and -5 are rejected;
    # vacancy 11: -1 and -2 shortlisted, none reaches the threshold: no offer, no runner-up;
    # vacancy 12 is not screened this week
    pool = _pool([10, 10, 10, 10, 11, 11, 12], [1, 2, 3, 4, 1, 2, 3],
                 [2.0, 1.5, 0.4, -5.0, -1.0, -2.0, 3.0])
    screened = pool.pos != 12
    listed, offer, runner = screen(pool, screened, 2, 0.0, priority=False)
    assert listed.tolist() == [True, True, False, False, True, True, False]
    assert offer.tolist() == [True, False, False, False, False, False, False]
    assert runner.tolist() == [False, True, False, False, False, False, False]


def test_referral_priority_puts_referrals_on_the_shortlist():
    # one vacancy, shortlist 1: formal 3.0 and 2.0, a referral at 0.5 (threshold 0)
    pool = _pool([5, 5, 5], [1, 2, 3], [3.0, 2.0, 0.5], [FORMAL, FORMAL, REFERRAL])
    on = np.ones(3, bool)
    _, offer, _ = screen(pool, on, 1, 0.0, priority=False)
    assert offer.tolist() == [True, False, False]
    listed, offer, runner = screen(pool, on, 1, 0.0, priority=True)
    assert listed.tolist() == [False, False, True]
    assert offer.tolist() == [False, False, True]
    assert not runner.any()
    # with priority but below the threshold the referral gets no offer (the firm waits)
    _, offer, _ = screen(pool, on, 1, 1.0, priority=True)
    assert not offer.any()


# ------------------------------------------------------- a market counted by hand
def _hand_market():
    """A market whose pool is set by hand: vacancies A (open since week -3) and B (since
    week -1); searchers x, y, z. Pool: A: x 2.0, y 1.5, z -5; B: x 1.0, y 0.5.
    Shortlist 2, threshold 0, every pool screened every week, no new applications (from
    searchers or, on-the-job search, from employed workers)."""
    cfg = small(strategy=mix(passive=1.0), n_workers=200, burn_in=0, weeks=5, seed=0,
                funnel__enabled=True, funnel__applications=0.0, funnel__screen_rate=1.0,
                funnel__employed_applications=0.0, funnel__shortlist=2, hiring__threshold=0.0)
    m = LabourMarket(cfg)
    open_pos = m.firms.open_positions()
    a, b = int(open_pos[0]), int(open_pos[-1])
    x, y, z = (int(w) for w in np.flatnonzero(~m.employed)[:3])
    assert (m.ti_unemployed[[x, y, z]] < m.week).all()  # searching
    m._note_opened()
    m._opened_week[a], m._opened_week[b] = -3, -1
    pos, worker = [a, a, a, b, b], [x, y, z, x, y]
    m._pool = Pool(np.array(pos, np.int64), m._opened_week[pos], np.array(worker, np.int64),
                   m.spell_row[worker].astype(np.int64), np.array([2.0, 1.5, -5.0, 1.0, 0.5]),
                   np.full(5, FORMAL, np.int8), np.full(5, -1, np.int64), np.zeros(5, bool))
    return m, (a, b), (x, y, z)


def _hiring_week(m: LabourMarket) -> dict:
    m._counts = {"separations": 0, "layoffs": 0, "hires_formal": 0, "hires_lead": 0,
                 "hires_referral": 0, "hires_recall": 0}
    none = np.empty(0, np.int64)
    m.hiring({"seeker": none, "helper": none, "row": none, "knows": np.empty(0),
              "channel": np.empty(0, np.int8)})
    out = dict(m._counts)
    m.week += 1
    return out


def test_a_hand_counted_market_two_vacancies_three_applicants():
    m, (a, b), (x, y, z) = _hand_market()
    # week 0: A offers x (2.0), B offers x (1.0); x takes A; B's offer is declined and B
    # stays open with y as its runner-up; z is rejected
    c = _hiring_week(m)
    assert c["shortlisted_formal"] == 4 and c["offers_formal"] == 2
    assert c["hires_formal"] == 1 and c["vacancies_filled"] == 1
    assert c["vacancy_weeks_filled"] == 0 - (-3)  # A filled in week 0, open since week -3
    assert m.firms.pos_state[a] == FILLED and m.firms.pos_holder[a] == x and m.employer[x] >= 0
    assert m.firms.pos_state[b] == OPEN
    assert {(int(p), int(w)) for p, w in zip(m._pool.pos, m._pool.worker, strict=True)} >= {
        (b, y)}
    assert z not in m._pool.worker[m._pool.pos == b]
    # week 1: B screens its pool again: y, already shortlisted (not counted twice), gets the
    # offer and takes it; B was open 2 weeks (since week -1)
    c = _hiring_week(m)
    assert c["shortlisted_formal"] == 0 and c["offers_formal"] == 1
    assert c["hires_formal"] == 1 and c["vacancies_filled"] == 1
    assert c["vacancy_weeks_filled"] == 1 - (-1)
    assert m.firms.pos_holder[b] == y
    # week 2: nothing left (z was rejected, the rows of hires and filled vacancies purged)
    c = _hiring_week(m)
    assert c["offers_formal"] == 0 and c["vacancies_filled"] == 0 and len(m._pool) == 0
    sp = m.spells_frame()
    hired = sp[~sp["censored"]].set_index("worker_id")
    assert hired.loc[x, "end_week"] == 0 and hired.loc[y, "end_week"] == 1
    assert (hired.loc[[x, y], "channel"] == "formal").all()
    assert hired.loc[x, "hired_by"] == m.firms.pos_firm[a]


def test_a_hand_counted_week_with_the_funnel_off():
    """The legacy one-round weekly matching (funnel.enabled=false), counted by hand."""
    # noiseless signals (signal = ability): x (1.0) by a lead, y (0.5) by a referral and z
    # (-3.0) by a lead, all through helper h at firm F with one vacancy, open since week -4;
    # threshold -1: x and y are ranked, z is not; F offers x, who takes it
    cfg = small(strategy=mix(passive=1.0), n_workers=200, burn_in=0, weeks=5, seed=0,
                funnel__enabled=False, hiring__applications=0.0, hiring__formal_noise=0.0,
                hiring__referral_noise=0.0,
                hiring__referral_bonus=0.0, hiring__threshold=-1.0,
                market__cross_sector_penalty=0.0)
    m = LabourMarket(cfg)
    f = m.firms
    vac = f.vacancies()
    firm_of = np.where(m.employed, m.employer, -1)
    h = int(np.flatnonzero((firm_of >= 0) & (vac[np.maximum(firm_of, 0)] == 1))[0])
    firm = int(m.employer[h])
    pos = int(f.open_positions()[f.pos_firm[f.open_positions()] == firm][0])
    x, y, z = (int(w) for w in np.flatnonzero(~m.employed)[:3])
    m.ability[[x, y, z]] = [1.0, 0.5, -3.0]
    rows = m._add_ties(np.full(3, h), np.array([x, y, z]), ACQUAINTANCE)
    m._note_opened()
    m._opened_week[pos] = -4
    m._counts = {"separations": 0, "layoffs": 0, "hires_formal": 0, "hires_lead": 0,
                 "hires_referral": 0, "hires_recall": 0}
    m.hiring({"seeker": np.array([x, y, z]), "helper": np.full(3, h), "row": rows,
              "knows": np.array([0.0, 1.0, 0.0]),
              "channel": np.array([LEAD, REFERRAL, LEAD], np.int8)})
    c = m._counts
    assert (c["applications_lead"], c["applications_referral"], c["applications_formal"]) == (
        2, 1, 0)
    assert (c["shortlisted_lead"], c["shortlisted_referral"]) == (1, 1)
    assert (c["offers_lead"], c["offers_referral"]) == (1, 0)
    assert c["hires_lead"] == 1 and c["vacancies_filled"] == 1 and c["vacancy_weeks_filled"] == 4
    assert f.pos_holder[pos] == x and m.employer[x] == firm and not m.employed[[y, z]].any()


# ------------------------------------------------------------- whole runs
def _counts(ts: pd.DataFrame, stage: str) -> np.ndarray:
    return ts[[f"{stage}_{c}" for c in FUNNEL_CHANNELS]].to_numpy()


@pytest.mark.parametrize("funnel", [False, True])
def test_the_weekly_funnel_counts_are_consistent(funnel):
    """The funnel's weekly counts, with the legacy one-round matching (off) and the funnel
    (on), the other settings (recall, on-the-job search with the funnel) as the defaults."""
    m = LabourMarket(small(strategy=MIXED, seed=4, weeks=60, funnel__enabled=funnel)).run()
    ts = m.timeseries_frame()
    assert set(SERIES_COLUMNS) <= set(ts.columns)
    hires = ts[[f"hires_{c}" for c in FUNNEL_CHANNELS]].to_numpy()
    apps, listed, offers = (_counts(ts, s) for s in ("applications", "shortlisted", "offers"))
    assert (offers >= hires).all()  # an accepted offer is a hire of the week
    if not funnel:  # one round a week: everything from this week's applications
        assert (apps >= listed).all() and (listed >= offers).all()
    else:  # applications wait in the pools: only the totals are ordered
        assert (apps.sum(0) >= listed.sum(0)).all() and (listed.sum(0) >= offers.sum(0)).all()
        assert offers.sum() > hires.sum()  # some offers are declined
    # every hire (a recall too) and every job-to-job move (on-the-job search) fills a
    # vacancy, and a vacancy filled was open at least this week
    assert (ts["vacancies_filled"] == ts["hires"] + ts["job_to_job"]).all()
    assert (ts["vacancy_weeks_filled"] >= 0).all()
    # every hire but a recall comes from an application
    assert ts["hires"].sum() > 50 and apps.sum() > hires.sum()


def test_funnel_applications_per_searcher_week_follow_the_rate():
    # 10 sectors with open positions nearly always: each searcher sends Poisson(3) formal
    # applications a week, all landing (no cross-market share, and recall off: with it an
    # application to the last employer is dropped, and in a sector of 7 firms the open
    # positions are often the searcher's own vacated one); the employed workers' formal
    # applications (on-the-job search, at its default rate) are counted apart and left out
    m = LabourMarket(small(strategy=MIXED, seed=5, weeks=40, funnel__enabled=True,
                           funnel__applications=3.0, market__cross_market_applications=0.0,
                           recall__enabled=False)).run()
    ts = m.timeseries_frame()
    searcher_weeks = ts["n_searching"].sum()
    rate = (ts["applications_formal"] - ts["applications_employed"]).sum() / searcher_weeks
    # the Poisson count over the searcher-weeks has s.d. sqrt(3 / searcher_weeks) per week;
    # allow 4 s.d. below (a week without an open position in a sector loses some) and above
    sd = np.sqrt(3.0 / searcher_weeks)
    assert 3.0 - 4 * sd - 0.05 < rate < 3.0 + 4 * sd


def test_funnel_off_ignores_the_funnel_parameters_and_draws_nothing_more():
    """With the funnel off (the legacy matching) the funnel's parameters, on-the-job
    search among them, change nothing."""
    base = small(strategy=MIXED, seed=2, weeks=30, funnel__enabled=False)
    other = small(strategy=MIXED, seed=2, weeks=30, funnel__enabled=False,
                  funnel__applications=0.5, funnel__screen_rate=0.9, funnel__shortlist=1,
                  funnel__referral_priority=not FunnelConfig().referral_priority,
                  funnel__employed_applications=0.7)
    a, b = LabourMarket(base).run(), LabourMarket(other).run()
    assert a.spells_frame().equals(b.spells_frame())
    assert a.timeseries_frame().equals(b.timeseries_frame())


def test_funnel_runs_are_reproducible_and_work_with_recall():
    cfg = small(strategy=MIXED, seed=6, weeks=40, funnel__enabled=True, recall__enabled=True,
                funnel__referral_priority=True)
    a, b = LabourMarket(cfg).run(), LabourMarket(cfg).run()
    assert a.spells_frame().equals(b.spells_frame())
    ts = a.timeseries_frame()
    assert ts.equals(b.timeseries_frame())
    assert ts["hires_recall"].sum() > 0
    # every hire (recalls too) and every job-to-job move fills a vacancy
    assert (ts["vacancies_filled"] == ts["hires"] + ts["job_to_job"]).all()
    sp = a.spells_frame()
    done = sp[~sp["censored"]]
    # with recall on every return to the last employer is a recall, funnel or not
    back = (done["hired_by"] == done["last_employer"]).fillna(False).to_numpy(bool)
    assert (done.loc[back, "channel"] == "recall").all()


def test_funnel_needs_firms_and_the_reference_refuses_it():
    with pytest.raises(ConfigError, match="funnel.enabled=true"):
        build_config({"funnel": {"enabled": True}, "recall": {"enabled": False},
                      "market": {"jobs": "exogenous", "market_size": None}})
    # the reference runs the legacy configuration only: the funnel on in it is refused
    with pytest.raises(NotImplementedError, match="funnel.enabled=true"):
        ReferenceMarket(legacy(n_workers=100, funnel__enabled=True))


# ------------------------------------------------------------- per-run figures
def test_funnel_figures_by_hand():
    week = {"n_searching": 50, "n_vacancies": 10, "vacancies_filled": 2,
            "vacancy_weeks_filled": 9, "hires_formal": 1, "hires_lead": 0,
            "hires_referral": 1, "hires_recall": 3,
            "applications_formal": 40, "applications_lead": 0, "applications_referral": 4,
            "shortlisted_formal": 8, "shortlisted_lead": 0, "shortlisted_referral": 3,
            "offers_formal": 2, "offers_lead": 0, "offers_referral": 1}
    assert set(week) - {"n_searching", "n_vacancies"} <= set(FUNNEL_SERIES) | {
        f"hires_{c}" for c in ("formal", "lead", "referral", "recall")}
    ts = pd.DataFrame([week, week])  # two equal weeks: every ratio as for one
    f = funnel_figures(ts)
    assert f["applications_per_searcher_week"] == pytest.approx(44 / 50)
    assert f["applications_per_vacancy"] == pytest.approx(44 / 2)
    assert f["applications_per_vacancy_week"] == pytest.approx(44 / 10)
    assert f["offers_per_application"] == {"formal": pytest.approx(2 / 40), "lead": None,
                                           "referral": pytest.approx(1 / 4)}
    assert f["referral_formal_offer_ratio"] == pytest.approx((1 / 4) / (2 / 40))
    assert f["hires_per_application"] == pytest.approx(2 / 44)  # recalls are no application
    assert f["offers_per_hire"] == pytest.approx(3 / 2)
    assert f["mean_vacancy_duration_weeks"] == pytest.approx(9 / 2)


# ------------------------------------------------------- on-the-job search
def test_a_hand_counted_job_to_job_move():
    """An employed applicant e with the best signal at vacancy A takes it: e's old position
    opens this week, no spell ends, the move is counted as job-to-job; x, outbid at A,
    takes B."""
    m, (a, b), (x, y, z) = _hand_market()
    e = int(np.flatnonzero(m.employed & (m.firms.pos_firm[np.maximum(m.slot, 0)]
                                         != m.firms.pos_firm[a]))[0])
    old, old_firm = int(m.slot[e]), int(m.employer[e])
    n_jobs = int(m.n_jobs[e])
    row = Pool(np.array([a], np.int64), m._opened_week[[a]], np.array([e], np.int64),
               m._applicant_key(np.array([e])), np.array([3.0]), np.full(1, FORMAL, np.int8),
               np.full(1, -1, np.int64), np.zeros(1, bool))
    assert row.spell[0] == -2 - old
    m._pool = m._pool.extend(row)
    c = _hiring_week(m)
    assert c["job_to_job"] == 1 and c["offers_formal"] == 2
    assert c["hires_formal"] == 1 and c["vacancies_filled"] == 2  # e at A, x at B
    assert m.firms.pos_holder[a] == e and m.slot[e] == a and m.employer[e] != old_firm
    assert m.firms.pos_holder[b] == x
    assert m.firms.pos_state[old] == OPEN and m.firms.pos_holder[old] == -1
    assert m._opened_week[old] == 0  # opened in week 0, when e left
    assert m.n_jobs[e] == n_jobs + 1 and m.spell_row[e] == -1
    sp = m.spells_frame()
    assert e not in set(sp["worker_id"])  # no spell: e was never unemployed


def test_an_employed_applicants_rows_go_stale_when_the_job_changes():
    m, (a, b), _ = _hand_market()
    e = int(np.flatnonzero(m.employed)[0])
    key = m._applicant_key(np.array([e]))[0]
    m.slot[e] = m.slot[e] + 1  # moved (by hand): another position
    assert m._applicant_key(np.array([e]))[0] != key
    m.employed[e] = False
    m.spell_row[e] = 7  # lost the job: a spell
    assert m._applicant_key(np.array([e]))[0] == 7


def test_on_the_job_search_keeps_the_books_and_follows_its_rate():
    rate = 0.3
    # one market of 1,500 workers (about 75 firms): an application lands at the own firm's
    # open positions about 1 time in 75
    m = LabourMarket(small(strategy=MIXED, seed=8, weeks=60, funnel__enabled=True,
                           recall__enabled=True, funnel__employed_applications=rate,
                           market__market_size=1500)).run()
    ts = m.timeseries_frame()
    assert ts["job_to_job"].sum() > 20
    # every vacancy filled is a hire out of unemployment or a job-to-job move
    assert (ts["vacancies_filled"] == ts["hires"] + ts["job_to_job"]).all()
    # one holder per filled position and it is that worker's slot
    f = m.firms
    filled = np.flatnonzero(f.pos_state == FILLED)
    holders = f.pos_holder[filled]
    assert len(np.unique(holders)) == len(holders)
    assert (m.slot[holders] == filled).all() and m.employed[holders].all()
    assert m.employed.sum() == len(filled)
    # employed applications: Poisson(rate) per employed worker-week, less those landing
    # at the own firm (about 1 in 75, so 1.3 %; allow 4 %) and 4 s.d. of Poisson noise
    employed_weeks = (m.cfg.n_workers - ts["n_unemployed"]).sum()
    per = ts["applications_employed"].sum() / employed_weeks
    sd = np.sqrt(rate / employed_weeks)
    assert rate * 0.96 - 4 * sd < per < rate + 4 * sd
    # employed applications are formal ones
    assert (ts["applications_employed"] <= ts["applications_formal"]).all()


def test_best_per_pair_equals_its_definition_on_random_rows():
    """The fast path (one integer key, stable sort, duplicates resolved apart) against the
    definition: sort by group, worker, best signal (stable), keep each pair's first row."""
    def definition(group, worker, signal):
        order = np.lexsort((-signal, worker, group))
        g, w = group[order], worker[order]
        return order[np.r_[True, (g[1:] != g[:-1]) | (w[1:] != w[:-1])]]

    rng = np.random.default_rng(0)
    for _ in range(500):
        n = int(rng.integers(1, 60))
        g = rng.integers(0, rng.integers(1, 10), n)
        w = rng.integers(0, rng.integers(1, 10), n)
        s = rng.integers(0, 4, n).astype(float)  # many equal signals: the tie rule matters
        assert np.array_equal(best_per_pair(g, w, s), definition(g, w, s))


@pytest.mark.parametrize("priority", [False, True])
def test_screen_of_a_sorted_pool_equals_the_screen_by_sorting(priority):
    """The compiled pass over a pool sorted by vacancy gives the masks of the sorting path,
    on random pools with many equal signals (the tie rules matter), referrals among the
    applicants, some rows of a vacancy screened and others not, and any shortlist."""
    from sim.core.funnel import _screen_by_sorting

    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(400):
        n = int(rng.integers(1, 80))
        pos = np.sort(rng.integers(0, rng.integers(1, 12), n))
        pool = _pool(pos, rng.integers(0, 50, n), rng.integers(-3, 4, n) / 2.0,
                     rng.choice([FORMAL, LEAD, REFERRAL], n))
        screened = rng.random(n) < rng.choice([0.3, 0.9, 1.0])
        shortlist, threshold = int(rng.integers(1, 5)), float(rng.choice([-9.0, 0.0, 0.5]))
        listed, offer, runner = screen(pool, screened, shortlist, threshold, priority)
        want_listed, want_offer = np.zeros(n, bool), np.zeros(n, bool)
        if screened.any():
            _screen_by_sorting(pool, screened, shortlist, threshold, priority, want_listed,
                               want_offer)
        np.testing.assert_array_equal(listed, want_listed)
        np.testing.assert_array_equal(offer, want_offer)
        np.testing.assert_array_equal(runner, want_listed & ~want_offer
                                      & (pool.signal >= threshold))
        checked += int(offer.sum())
    assert checked > 100


def test_stable_argsort_equals_numpys_stable_sort():
    """Sorting the keys made unique by their rows gives numpy's stable order: on keys sorted
    but for a tail (the pool's shape), with many equal keys, negative keys, keys too large
    for the unique form, and on sorted, reversed, empty and one-element keys."""
    from sim.core.funnel import stable_argsort

    rng = np.random.default_rng(3)
    cases = [np.empty(0, np.int64), np.array([4]), np.arange(9), np.arange(9)[::-1].copy(),
             np.array([2**61, -(2**61), 2**61, 0, 5, 0])]
    for _ in range(300):
        n = int(rng.integers(2, 200))
        key = rng.integers(-5, rng.integers(1, 40), n)
        head = int(rng.integers(0, n + 1))
        key[:head] = np.sort(key[:head])
        cases.append(key)
    for key in cases:
        np.testing.assert_array_equal(stable_argsort(key), np.argsort(key, kind="stable"))


def test_live_rows_equals_the_three_conditions():
    """live_rows keeps exactly the rows whose vacancy is open, opened in the week of the
    application, and whose applicant's key (spell row, or -2 - slot while employed) is
    unchanged, in row order."""
    from sim.core.funnel import live_rows

    rng = np.random.default_rng(9)
    n_pos, n_workers, n = 40, 30, 2000
    pos_state = rng.choice(np.array([OPEN, FILLED], np.int8), n_pos)
    opened_week = rng.integers(0, 3, n_pos).astype(np.int32)
    employed = rng.random(n_workers) < 0.5
    slot = np.where(employed, rng.integers(0, n_pos, n_workers), -1)
    spell_row = np.where(employed, -1, rng.integers(0, 5, n_workers))
    key_now = np.where(employed, -2 - slot, spell_row)
    worker = rng.integers(0, n_workers, n)
    pool = Pool(rng.integers(0, n_pos, n), rng.integers(0, 3, n).astype(np.int32), worker,
                np.where(rng.random(n) < 0.7, key_now[worker], rng.integers(-9, 5, n)),
                rng.random(n), np.zeros(n, np.int8), np.full(n, -1), np.zeros(n, bool))
    want = np.flatnonzero((pos_state[pool.pos] == OPEN)
                          & (opened_week[pool.pos] == pool.opened)
                          & (key_now[pool.worker] == pool.spell))
    got = live_rows(pool, pos_state, OPEN, opened_week, employed, slot, spell_row)
    np.testing.assert_array_equal(got, want)
    assert 0 < len(want) < n // 4


def test_merge_equals_extend_live_rows_and_best_per_pair():
    """merge (the model's weekly pool: last week's rows, then this week's, the live ones,
    one per vacancy and worker) gives the rows, in order, of its definition: extend, keep
    the live rows, take the best per pair. On old pools sorted by pair with one row each
    (the compiled merge) and on unsorted or repeating ones (the path by sorting), with many
    equal signals (the first row wins), pairs in both pools and stale rows in each; and
    with rows of the old pool dropped by a mask (``keep``: as if taken first)."""
    from dataclasses import fields

    from sim.core.funnel import live_rows, merge

    rng = np.random.default_rng(13)
    n_pos, n_workers = 12, 15
    merged = 0
    for trial in range(400):
        pos_state = rng.choice(np.array([OPEN, FILLED], np.int8), n_pos, p=[0.8, 0.2])
        opened_week = rng.integers(0, 2, n_pos).astype(np.int32)
        employed = rng.random(n_workers) < 0.4
        slot = np.where(employed, rng.integers(0, n_pos, n_workers), -1)
        spell_row = np.where(employed, -1, rng.integers(0, 3, n_workers))
        key_now = np.where(employed, -2 - slot, spell_row)

        def rows(k, pos_state=pos_state, opened_week=opened_week, key_now=key_now):
            worker = rng.integers(0, n_workers, k)
            pos = rng.integers(0, n_pos, k)
            return Pool(pos, np.where(rng.random(k) < 0.9, opened_week[pos], 5).astype(np.int32),
                        worker, np.where(rng.random(k) < 0.9, key_now[worker], 7),
                        rng.integers(0, 3, k) / 2.0, rng.choice([FORMAL, LEAD, REFERRAL], k),
                        rng.integers(-1, n_workers, k), rng.random(k) < 0.3)

        old = rows(int(rng.integers(0, 40)))
        if trial % 4:  # (most) as the model keeps it: sorted by pair, one row each
            old = old.take(best_per_pair(old.pos, old.worker, old.signal))
        new = rows(int(rng.integers(0, 40)))
        args = (pos_state, OPEN, opened_week, employed, slot, spell_row)
        keep = rng.random(len(old)) < 0.7 if trial % 3 == 0 else None
        p = (old if keep is None else old.take(keep)).extend(new)
        live = live_rows(p, *args)
        want = p.take(live[best_per_pair(p.pos[live], p.worker[live], p.signal[live])])
        got = merge(old, new, *args, keep)
        for f in fields(Pool):
            np.testing.assert_array_equal(getattr(got, f.name), getattr(want, f.name))
            assert getattr(got, f.name).dtype == getattr(want, f.name).dtype
        merged += len(want)
    assert merged > 2000
