"""The model as a whole: invariants, determinism, and each submodel's behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.core.config import LeadsConfig
from sim.core.firms import CLOSED, FILLED, OPEN
from sim.core.model import LabourMarket
from sim.core.ties import ACQUAINTANCE, COLLEAGUE, ONLINE
from sim.core.workers import WORKER_STATE
from tests.conftest import mix, small

ALL4 = mix(lions=0.25, everyone=0.25, passive=0.25, broadcast=0.25)


def check_state(m: LabourMarket) -> None:
    """Invariants that must hold after every step."""
    n = m.cfg.n_workers
    emp, unemp = np.flatnonzero(m.employed), np.flatnonzero(~m.employed)
    assert len(emp) + len(unemp) == n
    # every unemployed worker has exactly one open spell, employed ones none
    c = m.spells.cols
    open_rows = np.flatnonzero(~c["closed"][: m.spells.n])
    owners = c["worker_id"][open_rows]
    assert len(np.unique(owners)) == len(owners), "a worker is in two open spells"
    assert set(owners.tolist()) == set(unemp.tolist())
    assert np.array_equal(np.sort(m.spell_row[unemp]), np.sort(open_rows))
    assert (m.spell_row[emp] == -1).all()
    if m.cfg.market.jobs == "vacancies":
        f = m.firms
        # an employed worker holds exactly one filled position of its employer
        assert (m.slot[emp] >= 0).all() and (m.employer[emp] >= 0).all()
        assert (f.pos_holder[m.slot[emp]] == emp).all()
        assert (f.pos_firm[m.slot[emp]] == m.employer[emp]).all()
        assert (f.pos_state == FILLED).sum() == len(emp)
        assert (f.pos_holder[f.pos_state != FILLED] == -1).all()
        assert (m.slot[unemp] == -1).all() and (m.employer[unemp] == -1).all()
    t = m.ties
    assert (t.a < t.b).all()
    assert len(np.unique(t.keys())) == t.n, "duplicate ties"
    assert ((t.strength >= 0) & (t.strength <= 1)).all()
    assert ((t.knows_a >= 0) & (t.knows_a <= 1)).all()
    # the weekly investment reads the shares of these rows only: they hold every share
    # (new ties have none; a prune renumbers the rows and the list with them)
    assert np.isin(t.rows_with_share(), m._share_rows).all()


@pytest.mark.parametrize("strategy", [ALL4, mix(lions=1.0), mix(everyone=1.0)])
def test_invariants_every_step(strategy):
    m = LabourMarket(small(strategy=strategy, weeks=30, burn_in=10))
    check_state(m)
    while m.week < m.cfg.weeks:
        m.step()
        check_state(m)


def test_each_hire_closes_exactly_one_spell():
    m = LabourMarket(small(strategy=ALL4)).run()
    ts, sp = m.timeseries_frame(), m.spells_frame()
    closed = sp[~sp.censored]
    assert len(closed) == ts["hires"].sum() > 0
    by_channel = closed["channel"].value_counts()
    for ch in ("formal", "lead", "referral"):
        assert by_channel.get(ch, 0) == ts[f"hires_{ch}"].sum()
    # separations in the horizon open exactly one spell each
    started = sp[sp.start_week >= 0]
    assert len(started) == ts["separations"].sum()
    # flows balance the stock: u(t) = u(t-1) + separations - hires
    du = ts["n_unemployed"].diff().iloc[1:]
    assert (du == (ts["separations"] - ts["hires"]).iloc[1:]).all()


def test_spells_frame_contract():
    m = LabourMarket(small(strategy=ALL4)).run()
    sp = m.spells_frame()
    for col in ("worker_id", "strategy", "start_week", "end_week", "duration_weeks", "censored",
                "channel", "helper_id", "tie_kind", "tie_strength", "tie_common_neighbors"):
        assert col in sp.columns
    cens = sp[sp.censored]
    assert cens["end_week"].isna().all() and cens["channel"].isna().all()
    assert (cens["duration_weeks"] == m.cfg.weeks - 1 - cens["start_week"]).all()
    done = sp[~sp.censored]
    assert (done["duration_weeks"] == done["end_week"] - done["start_week"]).all()
    assert (done["duration_weeks"] >= 1).all(), "a job loser searches from the next week"
    # contact hires (lead, referral) name the helper and the tie; formal hires and recalls
    # (the last employer's, no helper) name neither
    net = done[done.channel.isin(["lead", "referral"])]
    assert len(net) > 0
    assert net["helper_id"].notna().all() and net["tie_kind"].notna().all()
    assert net["tie_strength"].between(0, 1).all()
    other = done[done.channel.isin(["formal", "recall"])]
    assert len(other) > 0
    assert other["helper_id"].isna().all() and other["tie_kind"].isna().all()
    # spells running at week 0 are flagged and have started before it
    assert (sp.loc[sp.left_truncated, "start_week"] < 0).all()
    assert (sp.loc[~sp.left_truncated, "start_week"] >= 0).all()


def test_same_seed_identical_different_seed_differs(tmp_path):
    cfg = small(strategy=ALL4)
    a = LabourMarket(cfg).run()
    b = LabourMarket(cfg).run()
    pd.testing.assert_frame_equal(a.spells_frame(), b.spells_frame())
    pd.testing.assert_frame_equal(a.timeseries_frame(), b.timeseries_frame())
    for name, m in (("a", a), ("b", b)):
        m.spells_frame().to_parquet(tmp_path / f"{name}.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    c = LabourMarket({**cfg, "seed": 1}).run()
    assert not a.timeseries_frame().equals(c.timeseries_frame())


def test_common_random_numbers_across_strategies():
    """Runs that differ only by strategy start from the same market and network."""
    a = LabourMarket(small(strategy=mix(lions=1.0)))
    b = LabourMarket(small(strategy=mix(everyone=1.0)))
    assert np.array_equal(a.ability, b.ability)
    assert np.array_equal(a.employer, b.employer)
    assert np.array_equal(a.ties.keys(), b.ties.keys())


def test_separation_rate_matches_parameter():
    rate = 0.01
    m = LabourMarket(small(strategy=mix(passive=1.0), n_workers=4000, weeks=60,
                           market__separation_rate=rate, market__firm_shock_rate=0.0)).run()
    ts = m.timeseries_frame()
    employed = 4000 - ts["n_unemployed"].shift(1).iloc[1:]
    seps = ts["separations"].iloc[1:]
    exposure = employed.sum()
    se = np.sqrt(exposure * rate * (1 - rate))
    assert abs(seps.sum() - exposure * rate) < 4 * se


def test_mass_layoff_hits_colleagues_together():
    m = LabourMarket(small(strategy=mix(passive=1.0), n_workers=3000, burn_in=0, weeks=1,
                           market__firm_shock_rate=1.0, market__layoff_fraction=0.5,
                           market__separation_rate=0.0, market__recovery_rate=0.0))
    employed_before = m.employed.copy()
    employer_before = m.employer.copy()
    m.step()
    lost = employed_before & ~m.employed
    share = lost.sum() / employed_before.sum()
    n = employed_before.sum()
    assert abs(share - 0.5) < 4 * np.sqrt(0.25 / n)
    # their positions closed (not reopened as vacancies this week)
    assert (m.firms.pos_state == CLOSED).sum() == lost.sum() - 0
    # a laid-off worker's former colleagues were laid off too: same-firm pairs
    firms_hit = np.unique(employer_before[lost])
    assert len(firms_hit) > 0.5 * m.firms.n_firms


def test_closed_positions_reopen_at_recovery_rate():
    m = LabourMarket(small(strategy=mix(passive=1.0), burn_in=0, weeks=1,
                           market__recovery_rate=0.2))
    f = m.firms
    cand = np.flatnonzero(f.pos_state == OPEN)[:200]
    f.pos_state[cand] = CLOSED
    m.reopen_positions()
    back = (f.pos_state[cand] == OPEN).mean()
    assert abs(back - 0.2) < 4 * np.sqrt(0.2 * 0.8 / 200)


@pytest.mark.parametrize("width", [0.0, LeadsConfig().aware_width], ids=["hard", "default"])
def test_leads_go_only_to_aware_searching_contacts(width):
    """Leads go from employed helpers to searching contacts along a tie, at most per_helper
    a helper, referrals only where the helper knows the work. With the hard threshold
    (``leads.aware_width=0``) only aware contacts get them: a tie at least
    ``leads.aware_strength``, an announcement or an ask (graded awareness, a draw each
    week, is tested in test_awareness.py)."""
    m = LabourMarket(small(strategy=ALL4, leads__hear_prob=0.5, leads__aware_width=width))
    for _ in range(15):
        m.step()
    offers = m.leads()
    assert len(offers["seeker"]) > 0
    seeker, helper, row = offers["seeker"], offers["helper"], offers["row"]
    t = m.ties
    assert (~m.employed[seeker]).all() and m.employed[helper].all()
    assert (m.ti_unemployed[seeker] < m.week).all()
    # the tie joins helper and seeker
    assert np.array_equal(np.minimum(seeker, helper), t.a[row])
    assert np.array_equal(np.maximum(seeker, helper), t.b[row])
    asked = np.where(t.a[row] == seeker, t.asks_a[row], t.asks_b[row])
    aware = (t.strength[row] >= m.cfg.leads.aware_strength) | m.announces[seeker] | asked
    if width == 0:
        assert aware.all()
    else:  # graded: weaker ties know too, now and then
        assert not aware.all()
    # scarce attention: at most per_helper leads per helper per week
    assert np.bincount(helper).max() <= m.cfg.leads.per_helper
    # referrals need a contact who knows the work and is engaged
    ref = offers["channel"] == 2
    assert (offers["knows"][ref] >= m.cfg.leads.referral_knows).all()
    assert (t.strength[row[ref]] >= m.cfg.leads.referral_strength).all()


def test_helper_dilution_splits_leads():
    """A helper with many seeking contacts gives each of them less (Calvo-Armengol 2004)."""
    m = LabourMarket(small(strategy=mix(broadcast=1.0), leads__hear_prob=1.0, n_workers=3000,
                           burn_in=0, market__initial_unemployment=0.3,
                           market__vacancy_rate=0.3))
    for _ in range(2):
        m.step()
    offers = m.leads()
    searching = ~m.employed & (m.ti_unemployed < m.week)
    t = m.ties
    # number of searching contacts (all aware: broadcasters announce) of each helper who may
    # get its lead: with recall on, not those the helper's firm separated (it recalls them
    # or not; its colleagues pass no lead there)
    n_seek = np.zeros(m.cfg.n_workers)
    for h, s in ((t.a, t.b), (t.b, t.a)):
        ok = searching[s]
        if m.cfg.recall.enabled:
            ok = ok & ~(m.employed[h] & (m.employer[h] == m.last_employer[s]))
        np.add.at(n_seek, h, ok)
    got = np.bincount(offers["helper"], minlength=m.cfg.n_workers)
    vac = m.firms.vacancies()
    hearing = m.employed & (vac[np.maximum(m.employer, 0)] > 0) & (n_seek > 0)
    # each helper passes one lead whatever the number of seekers, so per-seeker help falls
    per_seeker = got[hearing] / n_seek[hearing]
    few, many = n_seek[hearing] == 1, n_seek[hearing] >= 3
    assert (got[hearing] == 1).all(), "every helper who hears passes the lead to someone"
    assert few.sum() > 10 and many.sum() > 10
    assert per_seeker[many].mean() < per_seeker[few].mean()


def test_formal_hiring_favours_ability():
    """Without leads every hire is formal (or, with recall on, a recall, which ignores
    ability): the able are re-employed more often."""
    m = LabourMarket(small(strategy=mix(passive=1.0), n_workers=4000, weeks=80,
                           leads__hear_prob=0.0)).run()
    sp = m.spells_frame()
    fresh = sp[~sp.left_truncated]
    hi = fresh[fresh.ability > 0.5]
    lo = fresh[fresh.ability < -0.5]
    assert (~hi.censored).mean() > (~lo.censored).mean()
    channels = {"formal", "recall"} if m.cfg.recall.enabled else {"formal"}
    assert set(sp["channel"].dropna()) <= channels
    # the formal channel itself: the share of spells ending in a formal hire
    assert (hi.channel == "formal").mean() > (lo.channel == "formal").mean()


def test_untended_ties_decay_and_work_ties_stay_warm():
    m = LabourMarket(small(strategy=mix(passive=1.0), burn_in=0, weeks=1,
                           networking__time_budget=0.0))
    t = m.ties
    before = t.strength.copy()
    kinds = t.kind.copy()
    same = (m.employer[t.a] >= 0) & (m.employer[t.a] == m.employer[t.b])
    m.update_ties()
    decay = m.cfg.ties.decay.as_array()[kinds]
    expect = before * (1 - decay).astype(np.float32)
    off = ~same
    np.testing.assert_allclose(t.strength[off], expect[off], rtol=1e-6)
    assert (t.strength[same] >= m.cfg.ties.work_strength - 1e-6).all()
    # co-workers become colleagues
    assert not np.isin(t.kind[same], [ACQUAINTANCE, ONLINE]).any()


def test_new_hires_get_colleague_ties():
    m = LabourMarket(small(strategy=mix(passive=1.0)))
    for _ in range(5):
        m.step()
    hires = m._week_hires
    assert len(hires) > 0
    t = m.ties
    new = t.created == m.week - 1
    ends = np.concatenate([t.a[new], t.b[new]])
    assert np.isin(hires, ends).mean() > 0.5
    col = new & (t.kind == COLLEAGUE)
    assert (m.employer[t.a[col]] == m.employer[t.b[col]]).mean() > 0.9


def test_strategies_shape_networks():
    m = LabourMarket(small(strategy=ALL4, weeks=40, burn_in=40)).run()
    ts = m.timeseries_frame().iloc[-1]
    assert ts["mean_degree_everyone"] > 1.5 * ts["mean_degree_passive"]
    # lions concentrate time: their strongest ties are stronger than passive workers'
    t = m.ties
    strongest = np.zeros(m.cfg.n_workers, np.float32)
    np.maximum.at(strongest, t.a, t.strength)
    np.maximum.at(strongest, t.b, t.strength)
    names = m.strategy_names
    lions = m.strategy == names.index("lions")
    passive = m.strategy == names.index("passive")
    unemp = ~m.employed
    assert strongest[lions & unemp].mean() > strongest[passive & unemp].mean() or \
        (unemp & lions).sum() < 5
    # broadcasters announce; only they do
    assert m.announces[m.strategy == names.index("broadcast")].all()
    assert not m.announces[m.strategy != names.index("broadcast")].any()


def test_mixed_shares_assign_strategies():
    m = LabourMarket(small(n_workers=5000, strategy=mix(lions=0.3, everyone=0.7)))
    share = (m.strategy == 0).mean()
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 5000)
    e = LabourMarket(small(n_workers=1001, strategy={**mix(lions=0.3, everyone=0.7),
                                                     "assign": "exact"}))
    assert (e.strategy == 0).sum() == 300


def test_calvo_jackson_preset_runs_without_formal_channel():
    import yaml

    from sim.workflow.compose import CONFIG_DIR

    preset = yaml.safe_load((CONFIG_DIR / "preset" / "calvo_jackson.yaml").read_text())
    preset.update(n_workers=2000, weeks=60, burn_in=40, output={"progress": "off"})
    m = LabourMarket(preset)
    edges_before = m.ties.keys().copy()
    m.run()
    check_state(m)
    assert np.array_equal(edges_before, m.ties.keys()), "the network is fixed"
    sp = m.spells_frame()
    done = sp[~sp.censored]
    assert set(done.channel.unique()) <= {"formal", "lead"}
    assert (done.channel == "lead").any()
    ts = m.timeseries_frame()
    # steady state of u' = b(1-u) - (hazard) u, with hazard >= a: u <= b / (a + b)
    a, b = preset["market"]["job_arrival_prob"], preset["market"]["separation_rate"]
    assert ts["unemployment_rate"].iloc[-20:].mean() < b / (a + b) + 0.02


@pytest.mark.parametrize("n_workers,market_size", [(3_000, 500), (6_000, 500), (2_000, 2_000)])
def test_market_size_sets_the_number_and_size_of_markets(n_workers, market_size):
    m = LabourMarket(small(strategy=ALL4, n_workers=n_workers,
                           market__market_size=market_size, weeks=4, burn_in=0))
    k = n_workers // market_size
    assert m.cfg.market.n_sectors == m.firms.n_sectors == k
    workers = np.bincount(m.sector, minlength=k)
    assert len(workers) == k
    # balanced markets: positions nearly equal, workers drawn by position (binomial noise
    # for the unemployed only) -> every market within 10 % of market_size
    assert (np.abs(workers - market_size) <= 0.1 * market_size).all(), workers
    check_state(m.run())


def test_more_workers_add_markets_of_the_same_size():
    firms = {}
    for n in (2_000, 8_000):
        m = LabourMarket(small(strategy=mix(passive=1.0), n_workers=n,
                               market__market_size=1_000, weeks=1, burn_in=0))
        assert m.cfg.market.n_sectors == n // 1_000
        workers = np.bincount(m.sector)
        assert (np.abs(workers - 1_000) <= 100).all(), workers
        firms[n] = np.bincount(m.firms.sector)
    # each market has about as many firms (about 1,000 / 20 / 0.96 = 52) whatever n_workers
    for n, per_market in firms.items():
        assert (np.abs(per_market - 52) <= 12).all(), (n, per_market)


def test_cross_market_applications():
    # passive workers and no leads: every hire is formal; with no share across markets a
    # worker only ever works in their own sector, with a share some work elsewhere
    def mismatched(share):
        m = LabourMarket(small(strategy=mix(passive=1.0), market__cross_market_applications=share,
                               market__market_size=300, leads__hear_prob=0.0, seed=2))
        m.run()
        check_state(m)
        emp = np.flatnonzero(m.employed)
        moved = emp[m.n_jobs[emp] > 1]  # hired at least once during the run
        assert len(moved) > 50
        return float((m.firms.sector[m.employer[moved]] != m.sector[moved]).mean())

    assert mismatched(0.0) == 0.0
    # half the applications go to the other 4 markets, where they are hired at a penalty
    assert 0.1 < mismatched(0.5) < 0.5


@pytest.mark.parametrize("market_size,expected", [(None, 0.5 + 0.5 / 6), (1_000, 0.5)])
def test_share_of_random_ties_within_the_market(market_size, expected):
    # initial acquaintance and online ties: in the own sector with probability
    # same_sector_share, otherwise anyone (legacy: 1/6 of them in the own sector again) or,
    # with a market size, someone of another market
    over = {"market__market_size": market_size} if market_size else {"market__n_sectors": 6}
    m = LabourMarket(small(strategy=mix(passive=1.0), n_workers=6_000, weeks=1, burn_in=0,
                           **over))
    t = m.ties
    rnd = np.isin(t.kind[: t.n], (ACQUAINTANCE, ONLINE))
    same = m.sector[t.a[: t.n][rnd]] == m.sector[t.b[: t.n][rnd]]
    sd = np.sqrt(expected * (1 - expected) / rnd.sum())  # binomial, ~36,000 ties
    assert abs(same.mean() - expected) < 4 * sd + 0.002, (same.mean(), expected, sd)


def test_worker_state_is_declared_in_one_place():
    """Every per-worker array the model holds is declared in sim.core.workers with its
    dtype (a new state array must be declared there, with its meaning)."""
    m = LabourMarket(small(n_workers=300, weeks=4, burn_in=2, strategy=mix(lions=0.5, everyone=0.5)))
    m.run()
    n = m.cfg.n_workers
    held = {k for k, v in vars(m).items()
            if not k.startswith("_") and isinstance(v, np.ndarray) and v.shape == (n,)}
    assert held == set(WORKER_STATE)
    for name, (dtype, _initial, meaning) in WORKER_STATE.items():
        assert getattr(m, name).dtype == np.dtype(dtype), name
        assert meaning
