"""Strategies: the plans they make, and the compiled fast paths against their references."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core import kernels
from sim.core.model import LabourMarket
from sim.core.strategies import Context, available, get_strategy
from tests.conftest import mix, small


def context(m: LabourMarket, k: int) -> Context:
    """The :class:`Context` the model would give strategy ``k`` (its members and ties)."""
    ties = m.ties
    members = m.strategy == k
    egos = np.flatnonzero(members)
    position = np.empty(m.cfg.n_workers, dtype=np.int64)
    position[egos] = np.arange(len(egos))
    view = ties.incident(members)
    strength, knows, alter_employed, same_sector = kernels.tie_context(view, ties, m.employed,
                                                                       m.sector)
    return Context(m.week, egos, ~m.employed[egos], view, position[view.ego], strength, knows,
                   alter_employed, same_sector, np.random.default_rng(0))


def reference_plan(m: LabourMarket, k: int):
    """Run the strategy's readable plan() on the model's ties; return (share, asks) per side."""
    ties = m.ties
    ctx = context(m, k)
    view = ctx.ties
    plan = m.strategies[k].plan(ctx)
    sa, sb = ties.share_a.copy(), ties.share_b.copy()
    aa, ab = ties.asks_a.copy(), ties.asks_b.copy()
    for arr in (sa, sb):
        arr[:] = -1  # rows the plan does not cover stay -1
    ia, ib = view.edge[view.ego_is_a], view.edge[~view.ego_is_a]
    sa[ia], sb[ib] = plan.tie_share[view.ego_is_a], plan.tie_share[~view.ego_is_a]
    aa[ia], ab[ib] = plan.ask[view.ego_is_a], plan.ask[~view.ego_is_a]
    return sa, sb, aa, ab, ia, ib


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lions_fast_plan_equals_reference(seed):
    m = LabourMarket(small(strategy=mix(lions=0.5, everyone=0.5), seed=seed, weeks=20))
    for _ in range(m.cfg.burn_in + 9):  # evolved ties: many distinct scores, some equal
        m.step()
    k = m.strategy_names.index("lions")
    sa, sb, aa, ab, ia, ib = reference_plan(m, k)
    m.strategies[k].plan_ties(m.ties, m.strategy == k, m.employed, m.sector)
    t = m.ties
    assert len(ia) + len(ib) > 1000
    np.testing.assert_array_equal(t.share_a[ia], sa[ia])
    np.testing.assert_array_equal(t.share_b[ib], sb[ib])
    np.testing.assert_array_equal(t.asks_a[ia], aa[ia])
    np.testing.assert_array_equal(t.asks_b[ib], ab[ib])
    # each lion tends at most focus_k ties, with shares summing to 1 if any
    focus_k = m.strategies[k].params.focus_k
    per_ego = np.bincount(t.a[ia][t.share_a[ia] > 0], minlength=m.cfg.n_workers) + \
        np.bincount(t.b[ib][t.share_b[ib] > 0], minlength=m.cfg.n_workers)
    assert per_ego.max() <= focus_k and per_ego.max() == focus_k


@pytest.mark.parametrize("announce", [False, True])
def test_lions_announce_is_the_same_in_both_plans(announce):
    """``lions.announce``: both plans give every member the same announce flag (and the
    same ties' plan), and the model stores it per worker; the other strategy is untouched."""
    strategy = {**mix(lions=0.5, everyone=0.5), "params": {"lions": {"announce": announce}}}
    m = LabourMarket(small(strategy=strategy, seed=3, weeks=20))
    for _ in range(m.cfg.burn_in + 9):
        m.step()
    k = m.strategy_names.index("lions")
    members = m.strategy == k
    lions = m.strategies[k]
    assert lions.params.announce is announce
    reference = lions.plan(context(m, k))
    sa, sb, aa, ab, ia, ib = reference_plan(m, k)
    fast = lions.plan_ties(m.ties, members, m.employed, m.sector)
    np.testing.assert_array_equal(fast.announce, reference.announce)
    assert len(fast.announce) == members.sum() and (fast.announce == announce).all()
    np.testing.assert_array_equal(m.ties.share_a[ia], sa[ia])
    np.testing.assert_array_equal(m.ties.asks_b[ib], ab[ib])
    m.plan_networking()
    assert (m.announces[members] == announce).all() and not m.announces[~members].any()


def test_lions_fast_plan_with_equal_scores_at_start():
    """At the start all ties of a kind are equal: tie-breaking must match too."""
    m = LabourMarket(small(strategy=mix(lions=1.0), burn_in=0))
    sa, sb, aa, ab, ia, ib = reference_plan(m, 0)
    m.strategies[0].plan_ties(m.ties, m.strategy == 0, m.employed, m.sector)
    np.testing.assert_array_equal(m.ties.share_a[ia], sa[ia])
    np.testing.assert_array_equal(m.ties.share_b[ib], sb[ib])


def test_lions_fast_plan_over_several_blocks_and_again_with_kept_buffers():
    """More workers than one block of the compiled plan (4096), members spread over
    all blocks; a second plan on changed ties reuses the kept buffers."""
    m = LabourMarket(small(strategy=mix(lions=0.6, passive=0.4), n_workers=9000, seed=4,
                           burn_in=6))
    assert m.cfg.n_workers > 2 * kernels._BLOCK
    k = m.strategy_names.index("lions")
    for _ in range(2):
        for _ in range(5):
            m.step()
        sa, sb, aa, ab, ia, ib = reference_plan(m, k)
        m.strategies[k].plan_ties(m.ties, m.strategy == k, m.employed, m.sector)
        t = m.ties
        np.testing.assert_array_equal(t.share_a[ia], sa[ia])
        np.testing.assert_array_equal(t.share_b[ib], sb[ib])
        np.testing.assert_array_equal(t.asks_a[ia], aa[ia])
        np.testing.assert_array_equal(t.asks_b[ib], ab[ib])
        assert (t.share_a[ia] > 0).sum() + (t.share_b[ib] > 0).sum() > 10_000


def test_every_strategy_is_discovered_and_has_a_config():
    from sim.workflow.compose import CONFIG_DIR

    names = available()
    assert set(names) == {"broadcast", "everyone", "lions", "passive"}
    for n in names:
        assert (CONFIG_DIR / "strategy" / f"{n}.yaml").is_file()
        assert get_strategy(n).name == n


def test_everyone_and_broadcast_plans():
    m = LabourMarket(small(strategy=mix(everyone=0.5, broadcast=0.5), burn_in=0))
    m.plan_networking()
    ev = m.strategy == m.strategy_names.index("everyone")
    br = ~ev
    p = m.strategies[m.strategy_names.index("everyone")].params
    assert np.allclose(m.new_tie_share[ev], p.new_tie_share)
    assert np.allclose(m.spread_share[ev], 1 - p.new_tie_share)
    assert np.allclose(m.spread_share[br], 1.0) and (m.new_tie_share[br] == 0).all()
    assert m.announces[br].all() and not m.announces[ev].any()


def test_lions_announcing_raises_their_contact_hires():
    """``+strategy=lions`` at 2,000 workers, 50 weeks of burn-in + 100 observed, the same
    seeds with ``announce`` off and on: announcing makes every contact aware of the search,
    so more hires come through contacts (leads and referrals).

    Measured over seeds 0-9 (this config): spells ending in a contact hire 356.5 (SD 19.5
    between seeds) without, 402.3 (SD 13.8) with announcing; the paired difference is
    +45.8 per run (SD 19.6, SE 6.2; positive at all 10 seeds, smallest +9), i.e. +13 %.
    The share of ended spells ending through a contact goes from 41.0 % to 45.9 % (paired
    +4.9 points, SD 1.8, smallest +1.8). Hires of all channels rise less: +12.6 per run
    (SD 11.1) on about 764 (headline ``n_hires``, spells starting in the window).
    The assertion: at these four seeds the mean paired rise exceeds twice its own
    standard error (the seed noise of the difference), and so does the share's.
    """
    runs = {}
    for announce in (False, True):
        strategy = {"name": "lions", "shares": {"lions": 1.0},
                    "params": {"lions": {"announce": announce}}}
        for seed in range(4):
            sp = LabourMarket(small(strategy=strategy, n_workers=2000, weeks=100, burn_in=50,
                                    seed=seed)).run().spells_frame()
            contact = sp["channel"].isin(["lead", "referral"])
            runs[announce, seed] = (contact.sum(), contact.sum() / sp["channel"].notna().sum())
    for i in (0, 1):  # contact hires, share of hires through contacts
        diff = np.array([runs[True, s][i] - runs[False, s][i] for s in range(4)], float)
        se = diff.std(ddof=1) / np.sqrt(len(diff))
        assert diff.mean() > 2 * se, (i, diff)


def test_lions_asking_changes_their_contact_hires_without_a_direction_beyond_noise():
    """``lions.ask=false`` (issue 17): at fixed seeds the runs differ (asks change who is
    told of an opening), but at the current defaults asking has no effect beyond the seed
    noise, so no direction is asserted. Same config as the announce test, seeds 0-9:
    spells ending in a contact hire 356.5 per run with asking, 355.8 without (paired
    difference +0.7, SD 16.5, SE 5.2; 5 of 10 seeds negative); share re-employed within
    4 weeks +0.6 points (SE 0.7). With graded awareness (``leads.aware_width=0.1``):
    +3.3 (SD 20.8, SE 6.6). The lions' focus ties are strong enough for the contact to
    know of the search without being asked.
    """
    for seed in range(4):
        counts = []
        for ask in (True, False):
            strategy = {"name": "lions", "shares": {"lions": 1.0},
                        "params": {"lions": {"ask": ask}}}
            sp = LabourMarket(small(strategy=strategy, n_workers=2000, weeks=100, burn_in=50,
                                    seed=seed)).run().spells_frame()
            counts.append(int(sp["channel"].isin(["lead", "referral"]).sum()))
        assert counts[0] != counts[1], (seed, counts)
