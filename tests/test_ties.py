"""The tie store (sim/core/ties.py): creation, reinforcement, lookup, pruning and queries."""

from __future__ import annotations

from itertools import chain

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from sim.core.ties import ACQUAINTANCE, COLLEAGUE, KIND_RANK, ONLINE, SUPERVISOR, HalfEdges, Ties
from sim.results.contract import TIE_KINDS

ALL_COLUMNS = ["a", "b", "kind", "strength", "knows_a", "knows_b", "created",
               "share_a", "share_b", "asks_a", "asks_b", "cowork"]


def records(t: Ties) -> dict[tuple[int, int], tuple]:
    """Every tie's full record, keyed by its endpoints."""
    cols = [getattr(t, c) for c in ALL_COLUMNS]
    return {(int(r[0]), int(r[1])): tuple(x.item() for x in r) for r in zip(*cols, strict=True)}


def kept_pairs(u, v):
    """Reference for ``add``'s batch filter: first occurrence of each unordered pair, no loops."""
    seen, out = set(), []
    for i, (x, y) in enumerate(zip(u.tolist(), v.tolist(), strict=True)):
        key = (min(x, y), max(x, y))
        if x != y and key not in seen:
            seen.add(key)
            out.append(i)
    return np.array(out, dtype=np.int64)


class Model:
    """A dict-based reference of the store's add/prune semantics."""

    def __init__(self):
        self.ties: dict[tuple[int, int], list] = {}

    def add(self, u, v, kind, strength, knows_u, knows_v, week, keep):
        rank = KIND_RANK.tolist()
        u, v, kind, strength = u.tolist(), v.tolist(), kind.tolist(), strength.tolist()
        knows_u, knows_v = knows_u.tolist(), knows_v.tolist()  # float32 -> exact floats
        for i in keep.tolist():
            x, y = u[i], v[i]
            lo, hi = min(x, y), max(x, y)
            k_lo, k_hi = (knows_u[i], knows_v[i]) if x == lo else (knows_v[i], knows_u[i])
            rec = self.ties.get((lo, hi))
            if rec is None:
                self.ties[(lo, hi)] = [kind[i], strength[i], k_lo, k_hi, week]
            else:
                if rank[kind[i]] > rank[rec[0]]:
                    rec[0] = kind[i]
                rec[1] = max(rec[1], strength[i])
                rec[2] = max(rec[2], k_lo)
                rec[3] = max(rec[3], k_hi)

    def prune(self, below):
        self.ties = {k: r for k, r in self.ties.items() if r[1] >= below}

    def check(self, t: Ties):
        keys = t.keys()
        assert len(np.unique(keys)) == t.n, "a pair is stored twice"
        assert (t.a < t.b).all()
        assert t.n == len(self.ties)
        n = len(self.ties)
        pairs = np.fromiter(chain.from_iterable(self.ties), np.int64, 2 * n).reshape(-1, 2)
        vals = np.fromiter(chain.from_iterable(self.ties.values()), np.float64, 5 * n
                           ).reshape(-1, 5)
        ref = np.column_stack([pairs, vals])[np.lexsort((pairs[:, 1], pairs[:, 0]))]
        order = np.argsort(keys)
        got = np.column_stack([getattr(t, c)[order].astype(np.float64) for c in
                               ("a", "b", "kind", "strength", "knows_a", "knows_b", "created")])
        np.testing.assert_array_equal(got, ref)


def random_batch(rng, n_workers, m, pool=None, p_old=0.0):
    """``m`` random pairs (some self-ties and in-batch repeats), with random attributes;
    a share ``p_old`` of the pairs is drawn from ``pool`` (existing ties, in random order)."""
    u = rng.integers(0, n_workers, m)
    v = rng.integers(0, n_workers, m)
    if pool is not None and p_old > 0:
        old = rng.random(m) < p_old
        pick = rng.integers(0, len(pool[0]), old.sum())
        flip = rng.random(old.sum()) < 0.5
        u[old] = np.where(flip, pool[1][pick], pool[0][pick])
        v[old] = np.where(flip, pool[0][pick], pool[1][pick])
    # repeats within the batch and self-ties
    rep, pos = rng.integers(0, m, m // 50), rng.integers(0, m, m // 50)
    flip = rng.random(len(rep)) < 0.5
    u[pos], v[pos] = np.where(flip, v[rep], u[rep]), np.where(flip, u[rep], v[rep])
    v[: m // 100] = u[: m // 100]
    kind = rng.integers(0, 4, m).astype(np.int8)
    strength = rng.random(m).astype(np.float32)
    ku = rng.random(m).astype(np.float32)
    kv = rng.random(m).astype(np.float32)
    return u, v, kind, strength, ku, kv


def small_store():
    t = Ties(10)
    u = np.array([0, 3, 5, 2, 4])
    v = np.array([1, 2, 5, 3, 9])
    rows = t.add(u, v, kind=np.array([COLLEAGUE, ACQUAINTANCE, ONLINE, SUPERVISOR, ONLINE]),
                 strength=np.array([0.5, 0.3, 0.9, 0.8, 0.1]),
                 knows_u=np.array([0.1, 0.2, 0.3, 0.4, 0.5]),
                 knows_v=np.array([0.6, 0.7, 0.8, 0.9, 1.0]), week=7)
    return t, rows


# ------------------------------------------------------------------ add


def test_add_creates_ordered_ties_and_drops_self_ties_and_batch_duplicates():
    t, rows = small_store()
    assert t.n == 3
    # kept pairs in batch order: (0,1), (3,2), (4,9); (5,5) is a self-tie, (2,3) repeats (3,2)
    assert rows.tolist() == [0, 1, 2]
    assert t.a.tolist() == [0, 2, 4] and t.b.tolist() == [1, 3, 9]
    # the first occurrence of (2,3) wins: acquaintance with strength 0.3, not supervisor 0.8
    assert t.kind.tolist() == [COLLEAGUE, ACQUAINTANCE, ONLINE]
    np.testing.assert_array_equal(t.strength, np.float32([0.5, 0.3, 0.1]))
    # knows_a = how well b knows a's work = the knows given for a's side;
    # for (u=3, v=2): a=2 is v, so knows_a = knows_v = 0.7 and knows_b = knows_u = 0.2
    np.testing.assert_array_equal(t.knows_a, np.float32([0.1, 0.7, 0.5]))
    np.testing.assert_array_equal(t.knows_b, np.float32([0.6, 0.2, 1.0]))
    assert t.created.tolist() == [7, 7, 7]
    assert (t.share_a == 0).all() and (t.share_b == 0).all()
    assert not t.asks_a.any() and not t.asks_b.any()


def test_add_reinforces_existing_tie_instead_of_duplicating():
    t, _ = small_store()
    before = records(t)
    # (1, 0) again as supervisor, weaker, b knows a's work better, a knows b's worse
    rows = t.add(np.array([1]), np.array([0]), SUPERVISOR, np.float32([0.2]),
                 knows_u=np.float32([0.05]), knows_v=np.float32([0.9]), week=30)
    assert rows.tolist() == [0]
    assert t.n == 3
    a, b, kind, strength, knows_a, knows_b, created, *_ = records(t)[(0, 1)]
    assert (a, b, kind, created) == (0, 1, SUPERVISOR, 7)  # creation week kept
    assert strength == np.float32(0.5)  # max(0.5, 0.2)
    assert knows_a == np.float32(0.9)  # knows of 0's work: max(0.1, knows_v=0.9)
    assert knows_b == np.float32(0.6)  # knows of 1's work: max(0.6, knows_u=0.05)
    # the other ties are untouched
    after = records(t)
    assert {k: after[k] for k in before if k != (0, 1)} == {
        k: v for k, v in before.items() if k != (0, 1)}


@pytest.mark.parametrize("old", range(4))
def test_reinforcing_keeps_the_higher_ranked_kind(old):
    # rank: supervisor > colleague > acquaintance > online
    order = [ONLINE, ACQUAINTANCE, COLLEAGUE, SUPERVISOR]
    assert [KIND_RANK[k] for k in order] == sorted(KIND_RANK[k] for k in order)
    for new in range(4):
        t = Ties(5)
        t.add([1], [2], old, [0.5], [0.5], [0.5], 0)
        t.add([2], [1], new, [0.5], [0.5], [0.5], 1)
        expected = old if order.index(old) >= order.index(new) else new
        assert t.n == 1 and t.kind[0] == expected, (TIE_KINDS[old], TIE_KINDS[new])


def test_add_matches_reference_model_across_reindex_and_prune():
    """Many batches (new pairs, existing pairs both ways round, repeats, self-ties),
    large enough that the sorted index is rebuilt, then pruned, then added to again."""
    rng = np.random.default_rng(11)
    n_workers = 3000
    t, ref = Ties(n_workers, capacity=16), Model()

    def step(m, p_old, week):
        pool = (t.a.copy(), t.b.copy()) if t.n else None
        u, v, kind, strength, ku, kv = random_batch(rng, n_workers, m, pool, p_old)
        rows = t.add(u, v, kind, strength, ku, kv, week)
        keep = kept_pairs(u, v)
        ref.add(u, v, kind, strength, ku, kv, week, keep)
        # returned rows are aligned with the kept pairs
        assert len(rows) == len(keep)
        np.testing.assert_array_equal(t.a[rows], np.minimum(u, v)[keep])
        np.testing.assert_array_equal(t.b[rows], np.maximum(u, v)[keep])
        ref.check(t)

    step(60_000, 0.0, 0)
    assert t._indexed == t.n  # the batch was large enough to rebuild the sorted index
    step(3_000, 0.5, 1)
    assert 0 < t._indexed < t.n  # existing pairs hit both the index and the tail
    step(3_000, 0.5, 2)
    dropped = t.prune(0.3)
    ref.prune(0.3)
    assert dropped > 0
    ref.check(t)
    step(3_000, 0.5, 3)
    assert 0 < t._indexed < t.n


# ------------------------------------------------------------------ find


def check_find(t: Ties, rng):
    a, b = t.a.astype(np.int64), t.b.astype(np.int64)
    rows = np.arange(t.n)
    np.testing.assert_array_equal(t.find(a, b), rows)
    np.testing.assert_array_equal(t.find(b, a), rows)
    # absent pairs (random, minus existing ones) and self-pairs give -1
    u = rng.integers(0, t.n_workers, 5000)
    v = rng.integers(0, t.n_workers, 5000)
    existing = set(zip(a.tolist(), b.tolist(), strict=True))
    absent = np.array([(min(x, y), max(x, y)) not in existing
                       for x, y in zip(u.tolist(), v.tolist(), strict=True)])
    assert absent.sum() > len(u) // 2
    assert (t.find(u[absent], v[absent]) == -1).all()
    assert (t.find(a[:100], a[:100]) == -1).all()
    return absent


def test_find_in_sorted_index_and_unsorted_tail():
    rng = np.random.default_rng(3)
    n_workers = 2000
    t = Ties(n_workers)
    u, v, kind, strength, ku, kv = random_batch(rng, n_workers, 60_000)
    t.add(u, v, kind, strength, ku, kv, 0)
    assert t._indexed == t.n  # > 50 000 unindexed rows trigger _reindex
    u, v, kind, strength, ku, kv = random_batch(rng, n_workers, 2_000)
    t.add(u, v, kind, strength, ku, kv, 1)
    assert t._indexed < t.n  # the new ones sit in the tail
    check_find(t, rng)
    # mixed query: index hits, tail hits and misses in one call, in random order
    q = rng.permutation(np.concatenate([np.arange(t.n), np.full(50, -1)]))
    u = np.where(q >= 0, t.b[np.maximum(q, 0)], 0)
    v = np.where(q >= 0, t.a[np.maximum(q, 0)], 0)  # (0, 0) is a self-pair: never a tie
    np.testing.assert_array_equal(t.find(u, v), q)


def test_find_before_any_index_and_after_prune():
    rng = np.random.default_rng(4)
    t = Ties(500)
    assert (t.find(np.array([1, 2]), np.array([2, 3])) == -1).all()  # empty store
    u, v, kind, strength, ku, kv = random_batch(rng, 500, 3_000)
    t.add(u, v, kind, strength, ku, kv, 0)
    assert t._indexed == 0  # only the tail so far
    check_find(t, rng)
    t.prune(0.5)
    assert t._indexed == t.n
    check_find(t, rng)
    u, v, kind, strength, ku, kv = random_batch(rng, 500, 1_000)
    t.add(u, v, kind, strength, ku, kv, 1)
    assert 0 < t._indexed < t.n
    check_find(t, rng)


# ------------------------------------------------------------------ prune


def test_prune_drops_exactly_weak_ties_and_keeps_columns_aligned():
    rng = np.random.default_rng(5)
    n_workers = 400
    t = Ties(n_workers)
    u, v, kind, strength, ku, kv = random_batch(rng, n_workers, 4_000)
    strength[-10:] = 0.25  # exactly at the threshold: kept (strength >= below)
    t.add(u, v, kind, strength, ku, kv, 0)
    t.add(*random_batch(rng, n_workers, 1_000)[:6], 5)  # other creation weeks
    # fill the plan columns with distinct values so misalignment would show
    h = t.incident(np.ones(n_workers, bool))
    t.set_plan(h, rng.random(len(h)), rng.random(len(h)) < 0.5)
    t.cowork[:] = rng.random(t.n) < 0.5
    before = records(t)
    n_weak = int((t.strength < 0.25).sum())
    assert n_weak > 0 and (t.strength == np.float32(0.25)).any()

    dropped = t.prune(0.25)

    assert dropped == n_weak
    assert t.n == len(before) - n_weak
    assert records(t) == {k: r for k, r in before.items() if r[3] >= 0.25}
    # both indexes were filtered and renumbered: every kept tie is found at its row,
    # and each worker's CSR neighbours are exactly its ties
    rows = t.find(t.a, t.b)
    assert (rows == np.arange(t.n)).all()
    kept = records(t)
    gone = [k for k in before if k not in kept]
    assert not (t.find(np.array([k[0] for k in gone]), np.array([k[1] for k in gone])) >= 0).any()
    h = t.rows_of(np.arange(n_workers))
    assert np.array_equal(np.bincount(h.ego, minlength=n_workers), t.degree())
    assert (np.minimum(h.ego, h.alter) == t.a[h.edge]).all()
    # a few full records, spelled out
    for key in list(records(t))[:: max(1, t.n // 5)]:
        row = t.find(np.array([key[0]]), np.array([key[1]]))[0]
        assert tuple(getattr(t, c)[row].item() for c in ALL_COLUMNS) == before[key]


def test_prune_everything_and_nothing():
    t, _ = small_store()
    assert t.prune(0.0) == 0 and t.n == 3
    assert t.prune(1.01) == 3 and t.n == 0
    assert (t.find(np.array([0]), np.array([1])) == -1).all()
    assert t.degree().sum() == 0


# ------------------------------------------------------------------ queries


def random_store(seed, n_workers=300, n_ties=1500):
    rng = np.random.default_rng(seed)
    g = nx.gnm_random_graph(n_workers, n_ties, seed=seed)
    e = np.array(g.edges())
    t = Ties(n_workers)
    flip = rng.random(len(e)) < 0.5  # give the endpoints in both orders
    t.add(np.where(flip, e[:, 1], e[:, 0]), np.where(flip, e[:, 0], e[:, 1]),
          rng.integers(0, 4, len(e)), rng.random(len(e)), rng.random(len(e)),
          rng.random(len(e)), 0)
    return t, g, rng


def test_degree():
    t, g, _ = random_store(1)
    assert t.degree().dtype == np.int32
    np.testing.assert_array_equal(t.degree(), [g.degree(i) for i in range(t.n_workers)])


def test_incident_lists_each_tie_once_per_selected_endpoint():
    t, g, rng = random_store(2)
    mask = rng.random(t.n_workers) < 0.3
    h = t.incident(mask)
    assert isinstance(h, HalfEdges)
    expected = mask[t.a].astype(int) + mask[t.b].astype(int)
    assert (expected == 2).any()  # ties with both endpoints selected are covered
    np.testing.assert_array_equal(np.bincount(h.edge, minlength=t.n), expected)
    assert mask[h.ego].all()
    np.testing.assert_array_equal(h.ego_is_a, h.ego == t.a[h.edge])
    np.testing.assert_array_equal(np.where(h.ego_is_a, t.b[h.edge], t.a[h.edge]), h.alter)
    # no half-edge twice
    assert len(set(zip(h.edge.tolist(), h.ego.tolist(), strict=True))) == len(h)
    # per ego, the alters are exactly its neighbours
    for ego in np.flatnonzero(mask)[:20]:
        assert sorted(h.alter[h.ego == ego].tolist()) == sorted(g.neighbors(int(ego)))
    sub = h.subset(h.ego_is_a)
    assert len(sub) == int(h.ego_is_a.sum()) and sub.ego_is_a.all()


def test_tie_context_knows_is_how_well_the_alter_knows_the_egos_work():
    t = Ties(6)
    # knows_u: how well v knows u's work; knows_v: how well u knows v's work
    t.add(np.array([4, 1, 2]), np.array([1, 3, 5]), COLLEAGUE, 0.5,
          knows_u=np.array([0.1, 0.2, 0.3]), knows_v=np.array([0.6, 0.7, 0.8]), week=0)
    h = t.incident(np.ones(6, bool))
    from sim.core.kernels import tie_context

    knows = tie_context(h, t, np.ones(6, bool), np.zeros(6, np.int32))[1]
    got = {(int(e), int(a)): float(k) for e, a, k in zip(h.ego, h.alter, knows, strict=True)}
    expected = {(4, 1): 0.1, (1, 4): 0.6, (1, 3): 0.2, (3, 1): 0.7, (2, 5): 0.3, (5, 2): 0.8}
    assert got == pytest.approx(expected)


def test_set_plan_writes_each_egos_side_only():
    t, _, rng = random_store(3)
    mask = rng.random(t.n_workers) < 0.4
    h = t.incident(mask)
    share = rng.random(len(h))
    asks = rng.random(len(h)) < 0.5
    t.set_plan(h, share, asks)
    ia, ib = h.ego_is_a, ~h.ego_is_a
    np.testing.assert_array_equal(t.share_a[h.edge[ia]], share[ia].astype(np.float32))
    np.testing.assert_array_equal(t.share_b[h.edge[ib]], share[ib].astype(np.float32))
    np.testing.assert_array_equal(t.asks_a[h.edge[ia]], asks[ia])
    np.testing.assert_array_equal(t.asks_b[h.edge[ib]], asks[ib])
    # sides whose endpoint is not selected are untouched
    assert (t.share_a[~mask[t.a]] == 0).all() and not t.asks_a[~mask[t.a]].any()
    assert (t.share_b[~mask[t.b]] == 0).all() and not t.asks_b[~mask[t.b]].any()


@pytest.mark.parametrize("seed", [1, 2])
def test_common_neighbors_matches_networkx(seed):
    # 20 isolated workers beyond the graph's nodes
    t, g, rng = random_store(seed, n_workers=320, n_ties=1500)
    g.add_nodes_from(range(t.n_workers))
    # all tied pairs, random (mostly untied) pairs, pairs with isolated workers, repeats
    u = np.concatenate([t.a, rng.integers(0, 320, 3000), rng.integers(300, 320, 50)])
    v = np.concatenate([t.b, rng.integers(0, 320, 3000), rng.integers(0, 320, 50)])
    keep = u != v
    u, v = u[keep].astype(np.int64), v[keep].astype(np.int64)
    expected = np.array([len(list(nx.common_neighbors(g, x, y)))
                         for x, y in zip(u.tolist(), v.tolist(), strict=True)])
    assert (expected > 0).sum() > 500 and (expected == 0).sum() > 500
    tied = np.array([g.has_edge(x, y) for x, y in zip(u.tolist(), v.tolist(), strict=True)])
    assert tied.sum() > 1000 and (~tied).sum() > 2000
    got = t.common_neighbors(u, v)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(t.common_neighbors(v, u), expected)  # symmetric


def test_common_neighbors_edge_cases():
    t = Ties(10)
    assert t.common_neighbors(np.array([1]), np.array([2])).tolist() == [0]  # empty store
    t.add([0, 1, 0], [1, 2, 2], COLLEAGUE, 0.5, 0.5, 0.5, 0)  # a triangle 0-1-2
    assert t.common_neighbors(np.array([], dtype=np.int64), np.array([], dtype=np.int64)
                              ).tolist() == []
    assert t.common_neighbors(np.array([5, 0, 1]), np.array([6, 1, 7])).tolist() == [0, 1, 0]


def test_frame_columns():
    t, g, rng = random_store(4, n_workers=100, n_ties=400)
    t.add([0], [99], ONLINE, 0.5, 0.5, 0.5, 9)  # a later tie (may reinforce an old one)
    df = t.frame(week=12)
    assert list(df.columns) == ["a", "b", "kind", "strength", "knows_a", "knows_b",
                                "common_neighbors", "age_weeks"]
    assert len(df) == t.n
    np.testing.assert_array_equal(df["a"], t.a)
    np.testing.assert_array_equal(df["b"], t.b)
    assert isinstance(df["kind"].dtype, pd.CategoricalDtype)
    assert list(df["kind"].cat.categories) == list(TIE_KINDS)
    np.testing.assert_array_equal(df["kind"].cat.codes, t.kind)
    np.testing.assert_array_equal(df["strength"], t.strength)
    np.testing.assert_array_equal(df["knows_a"], t.knows_a)
    np.testing.assert_array_equal(df["knows_b"], t.knows_b)
    np.testing.assert_array_equal(df["age_weeks"], 12 - t.created)
    assert set(df["age_weeks"]) <= {12, 3}
    g.add_edge(0, 99)
    np.testing.assert_array_equal(
        df["common_neighbors"],
        [len(list(nx.common_neighbors(g, int(a), int(b)))) for a, b in zip(t.a, t.b,
                                                                            strict=True)])
    # the frame is a copy, not a view of the store
    df.loc[0, "strength"] = -1.0
    assert t.strength[0] != -1.0


def test_unknown_attribute_raises():
    with pytest.raises(AttributeError):
        Ties(3).nonexistent  # noqa: B018


def test_rows_of_lists_indexed_rows_then_the_tail_in_a_fixed_order():
    """The order of rows_of decides which random draw goes to which tie in the leads
    submodel: per worker its merged batches (a-side rows, then b-side rows, each in row
    order), then the unmerged rows of all the workers (a-sides, then b-sides)."""
    rng = np.random.default_rng(8)
    n_workers = 2000
    t = Ties(n_workers)
    bounds = [0]  # ends of the merged batches
    for week, m in enumerate([25_000, 4_000, 9_000, 12_000, 3_000]):
        t.add(*random_batch(rng, n_workers, m)[:6], week)
        if t._indexed != bounds[-1]:
            bounds.append(t._indexed)
    assert len(bounds) >= 3 and 0 < t._indexed < t.n  # two merges, and a tail
    workers = rng.permutation(n_workers)[:60]
    h = t.rows_of(workers)
    a, b = t.a, t.b
    expected = []
    for w in workers:
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            rows = np.arange(lo, hi)
            expected += rows[a[lo:hi] == w].tolist() + rows[b[lo:hi] == w].tolist()
    tail = np.arange(t._indexed, t.n)
    member = np.isin(np.arange(n_workers), workers)
    expected += tail[member[a[tail]]].tolist() + tail[member[b[tail]]].tolist()
    assert h.edge.tolist() == expected
    np.testing.assert_array_equal(h.ego_is_a, h.ego == a[h.edge])
    np.testing.assert_array_equal(h.alter, np.where(h.ego_is_a, b[h.edge], a[h.edge]))


@pytest.mark.parametrize("share", [0.0, 0.05, 0.5, 1.0])
def test_rows_to_is_rows_of_subset_by_alter(share):
    """rows_to(workers, alters) gives exactly rows_of(workers).subset(alters[alter]): the
    same half-edges in the same order, from the indexed rows and from the unmerged tail,
    also after a prune, and for no worker or no tie at all."""
    rng = np.random.default_rng(12)
    n_workers = 2000
    t = Ties(n_workers)

    def check(workers, alters):
        want = t.rows_of(workers)
        want = want.subset(alters[want.alter])
        got = t.rows_to(workers, alters)
        for name in ("edge", "ego", "alter", "ego_is_a"):
            x, y = getattr(got, name), getattr(want, name)
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)
        return len(got)

    alters = rng.random(n_workers) < share
    assert check(np.arange(10), alters) == 0  # no ties yet
    kept = 0
    for week, m in enumerate([25_000, 4_000, 9_000, 12_000, 3_000]):
        t.add(*random_batch(rng, n_workers, m)[:6], week)
        if week == 2:
            t.strength[:] = rng.random(t.n).astype(np.float32)
            t.prune(0.2)
        workers = rng.permutation(n_workers)[: int(rng.integers(1, 400))]
        kept += check(workers, alters)
        kept += check(np.arange(n_workers), alters)
        check(np.empty(0, np.int64), alters)
    assert 0 < t._indexed < t.n  # the last checks saw indexed rows and a tail
    assert (kept > 0) == (share > 0)


def test_pair_index_grows_and_survives_many_batches():
    """The hash table is rebuilt as it fills and after pruning; every tie stays findable."""
    rng = np.random.default_rng(9)
    t = Ties(5_000, capacity=16)
    sizes = []
    for week in range(8):
        t.add(*random_batch(rng, 5_000, 4_000)[:6], week)
        sizes.append(len(t._table))
        assert 2 * t.n <= len(t._table)  # at most half full
        if week == 4:
            t.prune(0.3)
        check_find(t, rng)
    assert len(set(sizes)) > 2


def test_neighbour_index_keeps_its_order_through_moves_compactions_and_prunes():
    """The index's segments are appended in place, moved when full, compacted when the
    holes outgrow the rows and filtered by pruning; through all of it every worker's rows
    stay in the order of a plain list kept alongside (merged batches: a-side rows, then
    b-side rows; pruning drops rows and renumbers the rest), and the index's memory
    stays within its bound."""
    rng = np.random.default_rng(21)
    n_workers = 3_000
    t = Ties(n_workers, capacity=16)
    lists = [[] for _ in range(n_workers)]  # the reference: each worker's merged rows

    def merged(lo, hi):
        for r, w in enumerate(t.a[lo:hi].tolist(), lo):
            lists[w].append(r)
        for r, w in enumerate(t.b[lo:hi].tolist(), lo):
            lists[w].append(r)

    moved = compacted = 0
    for week in range(14):
        start_before, adj_before, indexed = t._start.copy(), t._adj, t._indexed
        t.add(*random_batch(rng, n_workers, int(rng.integers(21_000, 30_000)))[:6], week)
        if t._indexed != indexed:  # a merge appended rows [indexed, _indexed)
            merged(indexed, t._indexed)
            if t._adj is adj_before:
                moved += int((t._start != start_before).any())
            else:  # compacted: each segment with a quarter of room, a quarter free at the end
                compacted += 1
                room = t._len + t._len // 4 + 2
                np.testing.assert_array_equal(t._cap, room)
                assert t._adj_end == room.sum() and len(t._adj) == room.sum() * 5 // 4
        if week % 4 == 3:
            t.strength[:] = rng.random(t.n).astype(np.float32)
            keep = t.strength >= 0.7
            new_row = np.cumsum(keep) - 1
            merged(t._indexed, t.n)  # prune merges the tail first
            t.prune(0.7)  # drops most: the next merge compacts
            lists = [[int(new_row[r]) for r in rows if keep[r]] for rows in lists]
        h = t.rows_of(np.arange(n_workers))
        got = [[] for _ in range(n_workers)]
        for e, w in zip(h.edge.tolist(), h.ego.tolist(), strict=True):
            got[w].append(e)
        tail = np.arange(t._indexed, t.n)
        for w in range(n_workers):
            want = lists[w] + tail[t.a[tail] == w].tolist() + tail[t.b[tail] == w].tolist()
            assert got[w] == want
        np.testing.assert_array_equal(t._len, [len(rows) for rows in lists])
        assert (t._len <= t._cap).all()
        # beside each indexed row, the contact at its other end
        ego = np.repeat(np.arange(n_workers), t._len)
        idx = np.concatenate([np.arange(s, s + k) for s, k in zip(t._start, t._len,
                                                                   strict=True)])
        rows = t._adj[idx]
        np.testing.assert_array_equal(t._nbr[idx], np.where(t.a[rows] == ego, t.b[rows],
                                                            t.a[rows]))
    assert moved and compacted


def test_pruning_leaves_tombstones_that_lookups_pass_and_insertions_reuse():
    """Pruning renumbers the pair index in place: dropped rows' slots become tombstones
    (-2), every kept tie is found at its new row, dropped pairs are not found, new ties
    reuse tombstones, and the table is rebuilt once live rows and tombstones fill half."""
    rng = np.random.default_rng(33)
    t = Ties(4_000, capacity=16)
    for week in range(3):
        t.add(*random_batch(rng, 4_000, 20_000)[:6], week)
    size = len(t._table)
    t.strength[:] = rng.random(t.n).astype(np.float32)
    weak = t.strength < 0.4
    dropped_pairs = (t.a[weak].astype(np.int64), t.b[weak].astype(np.int64))
    dropped = t.prune(0.4)
    assert dropped == weak.sum() > 0
    assert len(t._table) == size  # swept, not rebuilt
    assert t._tombs == (t._table == -2).sum() == dropped
    check_find(t, rng)
    assert (t.find(*dropped_pairs) == -1).all()
    # re-adding dropped pairs: new rows, found again, some tombstones reused
    u, v = dropped_pairs[0][:3000], dropped_pairs[1][:3000]
    rows = t.add(u, v, 1, 0.5, 0.1, 0.1, 9)
    assert (rows >= t.n - 3000).all()
    assert t._tombs == (t._table == -2).sum() < dropped
    np.testing.assert_array_equal(t.find(u, v), rows)
    check_find(t, rng)
    # growing on: the table is rebuilt (tombstones gone) before it is half full
    while len(t._table) == size:
        t.add(*random_batch(rng, 4_000, 5_000)[:6], 10)
        assert 2 * (t.n + t._tombs) <= len(t._table)
    assert t._tombs == (t._table == -2).sum() == 0
    check_find(t, rng)


def test_set_cowork_of_recomputes_exactly_the_workers_ties():
    """set_cowork_of updates cowork on every tie of the given workers (indexed rows and the
    tail) from the employers, and on no other tie."""
    rng = np.random.default_rng(44)
    n_workers = 3_000
    t = Ties(n_workers)
    for week in range(3):
        t.add(*random_batch(rng, n_workers, 22_000)[:6], week)
    t.add(*random_batch(rng, n_workers, 2_000)[:6], 3)
    assert 0 < t._indexed < t.n  # indexed rows and a tail
    employer = rng.integers(-1, 40, n_workers)
    t.cowork[:] = True  # a marker: rows not of the workers keep it
    workers = rng.permutation(n_workers)[:300]
    t.set_cowork_of(workers, employer)
    mine = np.zeros(t.n, dtype=bool)
    mine[t.rows_of(workers).edge] = True
    ea, eb = employer[t.a], employer[t.b]
    np.testing.assert_array_equal(t.cowork[mine], (ea >= 0)[mine] & (ea == eb)[mine])
    assert t.cowork[~mine].all()
    assert (~t.cowork[mine]).sum() > 0


def test_pair_index_renumbered_alike_through_new_rows_and_through_the_bitmap(monkeypatch):
    """Pruning renumbers the pair index through the new rows (small stores) or through the
    bitmap of kept rows (large ones): the same table, slot for slot, and the same
    tombstones, over several prunes with tombstones left from earlier ones."""
    import sim.core.ties as ties_module

    stores = []
    for direct in (True, False):
        monkeypatch.setattr(ties_module, "_DIRECT_RENUMBER_ROWS", 10**9 if direct else 0)
        rng = np.random.default_rng(17)
        t = Ties(3_000, capacity=16)
        for week in range(6):
            t.add(*random_batch(rng, 3_000, 15_000)[:6], week)
            t.strength[:] = rng.random(t.n).astype(np.float32)
            t.prune(0.15)
        check_find(t, rng)
        stores.append(t)
    direct, bitmap = stores
    assert direct._tombs == bitmap._tombs > 0
    np.testing.assert_array_equal(direct._table, bitmap._table)


def test_common_neighbors_over_indexed_rows_and_the_tail():
    """The common contacts counted from merged rows and from rows added since (the tail)
    equal a count over plain neighbour sets, for tied and untied pairs."""
    rng = np.random.default_rng(23)
    n_workers = 1500
    t = Ties(n_workers)
    for week, m in enumerate([22_000, 3_000]):
        t.add(*random_batch(rng, n_workers, m)[:6], week)
    assert 0 < t._indexed < t.n
    nbrs = [set() for _ in range(n_workers)]
    for x, y in zip(t.a.tolist(), t.b.tolist(), strict=True):
        nbrs[x].add(y)
        nbrs[y].add(x)
    u = np.concatenate([t.a[-500:], rng.integers(0, n_workers, 500)]).astype(np.int64)
    v = np.concatenate([t.b[-500:], rng.integers(0, n_workers, 500)]).astype(np.int64)
    expected = [len(nbrs[x] & nbrs[y]) for x, y in zip(u.tolist(), v.tolist(), strict=True)]
    np.testing.assert_array_equal(t.common_neighbors(u, v), expected)
    assert sum(e > 0 for e in expected) > 300


def test_contact_counts_are_the_counts_over_rows_of():
    """contact_counts gives, per worker, the strong ties, all ties and the ties to employed
    contacts of rows_of's half-edges, over indexed rows and the tail, for workers in any
    order, after a prune, and for no worker."""
    rng = np.random.default_rng(31)
    n_workers = 2000
    t = Ties(n_workers)
    employed = rng.random(n_workers) < 0.6
    checked = 0
    for week, m in enumerate([25_000, 4_000, 9_000, 3_000]):
        t.add(*random_batch(rng, n_workers, m)[:6], week)
        t.strength[:] = rng.integers(0, 5, t.n).astype(np.float32) / 10  # ties at 0.2
        if week == 2:
            t.prune(0.1)
        for workers in (rng.permutation(n_workers)[: int(rng.integers(1, 400))],
                        np.arange(n_workers), np.empty(0, np.int64)):
            h = t.rows_of(workers)
            who = np.searchsorted(np.sort(workers), h.ego)
            who = np.argsort(workers)[who] if len(workers) else who
            k = len(workers)
            strong, total, emp = t.contact_counts(workers, employed, 0.2)
            np.testing.assert_array_equal(
                strong, np.bincount(who[t.strength[h.edge] >= np.float32(0.2)], minlength=k))
            np.testing.assert_array_equal(total, np.bincount(who, minlength=k))
            np.testing.assert_array_equal(emp, np.bincount(who[employed[h.alter]], minlength=k))
            checked += int(total.sum())
    assert 0 < t._indexed < t.n  # the last checks saw indexed rows and a tail
    assert checked > 0
