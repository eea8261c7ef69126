"""Strategies: the plans they make, and the compiled fast paths against their references."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core import kernels
from sim.core.model import LabourMarket
from sim.core.strategies import Context, available, get_strategy
from tests.conftest import mix, small


def reference_plan(m: LabourMarket, k: int):
    """Run the strategy's readable plan() on the model's ties; return (share, asks) per side."""
    ties = m.ties
    strategy = m.strategies[k]
    members = m.strategy == k
    egos = np.flatnonzero(members)
    position = np.empty(m.cfg.n_workers, dtype=np.int64)
    position[egos] = np.arange(len(egos))
    view = ties.incident(members)
    strength, knows, alter_employed, same_sector = kernels.tie_context(view, ties, m.employed,
                                                                       m.sector)
    ctx = Context(m.week, egos, ~m.employed[egos], view, position[view.ego], strength, knows,
                  alter_employed, same_sector, np.random.default_rng(0))
    plan = strategy.plan(ctx)
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
