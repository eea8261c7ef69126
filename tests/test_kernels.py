"""Compiled kernels (sim/core/kernels.py): segmented top-k against a sort-per-group reference,
and the tie kernels against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.kernels import group_top_k


def brute_top_k(group, score, k):
    """Per group, rows sorted by score descending, earlier row first among equal scores."""
    out = np.zeros(len(group), dtype=bool)
    for g in np.unique(group):
        rows = np.flatnonzero(group == g)
        order = sorted(rows.tolist(), key=lambda r: (-score[r], r))
        out[order[:k]] = True
    return out


@pytest.mark.parametrize("k", [1, 2, 3, 7, 40])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force_with_tied_scores(k, seed):
    rng = np.random.default_rng(seed)
    n, n_groups = 3_000, 120
    # uneven group sizes (some groups empty, some larger than k); few distinct scores, so
    # many ties, and negative ones too
    group = rng.choice(n_groups, n, p=rng.dirichlet(np.full(n_groups, 0.3)))
    score = rng.integers(-3, 4, n).astype(np.float64)
    sizes = np.bincount(group, minlength=n_groups)
    assert (sizes == 0).any() and (sizes > 40).any() and ((sizes > 0) & (sizes < 7)).any()
    got = group_top_k(group, score, k, n_groups)
    expected = brute_top_k(group, score, k)
    assert got.dtype == bool and len(got) == n
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.bincount(group[got], minlength=n_groups),
                                  np.minimum(sizes, k))
    # n_groups defaults to group.max() + 1
    np.testing.assert_array_equal(group_top_k(group, score, k), expected)


@pytest.mark.parametrize("k", [1, 2, 7])
def test_rows_sorted_by_group_match_brute_force(k):
    """Rows already sorted by group (the leads' pairs, helper by helper) take the path
    without a counting sort: the same mask as the brute force, with tied scores, groups of
    one and groups larger than k; and one row out of order takes the other paths (the
    counting sort, and the stable sort when the groups far outnumber the rows), alike."""
    rng = np.random.default_rng(k)
    group = np.sort(rng.choice(300, 4_000, p=rng.dirichlet(np.full(300, 0.3))))
    score = rng.integers(-3, 4, len(group)).astype(np.float64)
    sizes = np.bincount(group)
    assert (sizes == 1).any() and (sizes > 3 * k).any()
    np.testing.assert_array_equal(group_top_k(group, score, k, 300), brute_top_k(group, score, k))
    group[[10, -10]] = group[[-10, 10]]  # no longer sorted
    np.testing.assert_array_equal(group_top_k(group, score, k, 300), brute_top_k(group, score, k))
    np.testing.assert_array_equal(group_top_k(group * 1000, score, k, 300_000),
                                  brute_top_k(group, score, k))


def test_continuous_scores_and_int32_input():
    rng = np.random.default_rng(5)
    group = rng.integers(0, 500, 20_000).astype(np.int32)
    score = rng.normal(size=20_000).astype(np.float32)
    np.testing.assert_array_equal(group_top_k(group, score, 4, 500),
                                  brute_top_k(group, score.astype(np.float64), 4))


def test_earlier_row_wins_among_equal_scores():
    group = np.array([0, 0, 0, 1, 0, 1])
    score = np.array([1.0, 2.0, 1.0, 5.0, 1.0, 5.0])
    assert group_top_k(group, score, 2).tolist() == [True, True, False, True, False, True]
    assert group_top_k(group, score, 1).tolist() == [False, True, False, True, False, False]


def test_k_larger_than_every_group_keeps_all():
    group = np.array([2, 0, 2, 2, 0])
    score = np.array([0.1, -5.0, 3.0, 0.0, 1e300])
    assert group_top_k(group, score, 10).all()


def test_empty_input_and_nonpositive_k():
    out = group_top_k(np.array([], dtype=np.int64), np.array([]), 3)
    assert out.dtype == bool and len(out) == 0
    out = group_top_k(np.array([], dtype=np.int64), np.array([]), 3, n_groups=5)
    assert len(out) == 0
    assert not group_top_k(np.array([0, 1]), np.array([1.0, 2.0]), 0).any()


def test_minus_infinity_scores_are_still_ranked():
    group = np.array([0, 0, 1])
    score = np.array([-np.inf, -np.inf, 1.0])
    np.testing.assert_array_equal(group_top_k(group, score, 1), brute_top_k(group, score, 1))


def test_invest_skipping_the_share_columns_changes_nothing_when_no_share_is_set():
    from sim.core.kernels import invest

    rng = np.random.default_rng(3)
    n, m = 300, 5000
    a, b = rng.integers(0, n, m).astype(np.int32), rng.integers(0, n, m).astype(np.int32)
    zero = np.zeros(m, np.float32)
    hours = rng.random(n).astype(np.float32) * 5
    even = np.where(rng.random(n) < 0.5, hours / 20, 0).astype(np.float32)
    s1 = rng.random(m).astype(np.float32)
    s2 = s1.copy()
    invest(a, b, zero, zero, hours, even, s1, 0.25, 1.0)
    invest(a, b, zero, zero, hours, even, s2, 0.25, 1.0, any_share=False)
    assert (s1 != rng.random(m).astype(np.float32)).any()
    np.testing.assert_array_equal(s1, s2)


def test_set_cowork_with_repeated_rows():
    from sim.core.kernels import set_cowork

    rng = np.random.default_rng(4)
    n, m = 50, 2000
    a, b = rng.integers(0, n, m).astype(np.int32), rng.integers(0, n, m).astype(np.int32)
    employer = np.where(rng.random(n) < 0.2, -1, rng.integers(0, 5, n)).astype(np.int32)
    rows = rng.integers(0, m, 3000)  # repeats, and some rows left out
    cowork = np.zeros(m, bool)
    set_cowork(rows, a, b, employer, cowork)
    expected = np.zeros(m, bool)
    expected[rows] = (employer[a[rows]] >= 0) & (employer[a[rows]] == employer[b[rows]])
    np.testing.assert_array_equal(cowork, expected)
    assert cowork.any() and not cowork.all()


def test_invest_matches_its_formula_bit_for_bit_in_chunks(monkeypatch):
    """invest (two compiled passes per chunk of ties, a vectorised second one) gives
    exactly the documented float arithmetic: hours summed in float32 in the order
    share_a, share_b, even, the Hill gain in float64, stored as float32."""
    from sim.core import kernels
    from sim.core.kernels import invest

    monkeypatch.setattr(kernels, "_INVEST_CHUNK", 1024)  # several chunks, a partial last

    rng = np.random.default_rng(5)
    n = 400
    hours = (rng.random(n) * 5).astype(np.float32)
    even = np.where(rng.random(n) < 0.5, hours / 17, 0).astype(np.float32)
    for m in (3000, 1000, 9000, 500):
        a, b = rng.integers(0, n, m).astype(np.int32), rng.integers(0, n, m).astype(np.int32)
        share_a = np.where(rng.random(m) < 0.3, rng.random(m), 0).astype(np.float32)
        share_b = np.where(rng.random(m) < 0.3, rng.random(m), 0).astype(np.float32)
        s = rng.random(m).astype(np.float32)
        h = np.float32(0) + share_a * hours[a]
        h = h + share_b * hours[b]
        h = h + (even[a] + even[b])
        x = h / np.float32(1.5)
        x2 = x * x
        gain = (np.float32(0.25) * x2).astype(np.float64) / (1.0 + x2.astype(np.float64))
        want = (s.astype(np.float64) + gain * (1.0 - s.astype(np.float64))).astype(np.float32)
        invest(a, b, share_a, share_b, hours, even, s, 0.25, 1.5)
        np.testing.assert_array_equal(s.view(np.int32), want.view(np.int32))
        assert (h == 0).any() and (h > 0).any()


def test_invest_through_the_rows_with_a_share_is_the_full_pass_bit_for_bit(monkeypatch):
    """invest given share_rows (the only rows with a share) changes the same strengths to
    the same bits as the pass over every share column: with workers spreading hours (a
    pass over every tie, the listed rows corrected chunk by chunk) and without (only the
    listed rows visited), with rows listed but holding no share, and with none listed."""
    from sim.core import kernels
    from sim.core.kernels import invest

    monkeypatch.setattr(kernels, "_INVEST_CHUNK", 1024)  # several chunks, a partial last
    rng = np.random.default_rng(8)
    n, m = 300, 5000
    hours = (rng.random(n) * 5).astype(np.float32)
    for spread in (True, False):
        even = (np.where(rng.random(n) < 0.5, hours / 13, 0) if spread
                else np.zeros(n)).astype(np.float32)
        for p_share in (0.05, 0.0):
            a, b = rng.integers(0, n, m).astype(np.int32), rng.integers(0, n, m).astype(np.int32)
            share_a = np.where(rng.random(m) < p_share, rng.random(m), 0).astype(np.float32)
            share_b = np.where(rng.random(m) < p_share, rng.random(m), 0).astype(np.float32)
            listed = np.flatnonzero((share_a != 0) | (share_b != 0) | (rng.random(m) < 0.01))
            s = rng.random(m).astype(np.float32)
            want, got = s.copy(), s.copy()
            invest(a, b, share_a, share_b, hours, even, want, 0.25, 1.5)
            invest(a, b, share_a, share_b, hours, even, got, 0.25, 1.5, share_rows=listed)
            np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))
            assert (want != s).any() == (spread or p_share > 0)


def test_runs_of_a_sorted_key():
    """runs gives each row's run, its rank in the run and the number of runs: by hand, and
    against numpy's diff and cumsum on random sorted keys (and on an empty key);
    first_of_runs marks the first row of each run (also of an unsorted key's runs)."""
    from sim.core.kernels import first_of_runs, runs

    run, rank, k = runs(np.array([3, 3, 5, 7, 7, 7]))
    assert run.tolist() == [0, 0, 1, 2, 2, 2] and rank.tolist() == [0, 1, 0, 0, 1, 2] and k == 3
    run, rank, k = runs(np.empty(0, np.int64))
    assert len(run) == len(rank) == k == 0
    rng = np.random.default_rng(2)
    for _ in range(100):
        key = np.sort(rng.integers(0, 10, int(rng.integers(1, 50))))
        first = np.r_[True, key[1:] != key[:-1]]
        want_run = np.cumsum(first) - 1
        start = np.flatnonzero(first)
        run, rank, k = runs(key)
        np.testing.assert_array_equal(run, want_run)
        np.testing.assert_array_equal(rank, np.arange(len(key)) - start[want_run])
        assert k == first.sum()
        np.testing.assert_array_equal(first_of_runs(key), first)
    assert first_of_runs(np.array([4, 4, 1, 1, 4])).tolist() == [True, False, True, False, True]
    assert first_of_runs(np.empty(0, np.int64)).shape == (0,)


def test_formal_application_kernels_equal_their_numpy_definitions():
    """applications_in_sector is np.repeat without the sectors that have no open position;
    keep_applications drops exactly an employed applicant's application to the own firm
    and (with recall) an unemployed one's to the last employer."""
    from sim.core.kernels import applications_in_sector, keep_applications

    rng = np.random.default_rng(8)
    n_workers, n_pos, n_sectors = 300, 120, 6
    sector = rng.integers(0, n_sectors, n_workers).astype(np.int32)
    pos_sector = np.sort(rng.integers(0, n_sectors - 1, n_pos))  # the last sector: none open
    open_pos = np.sort(rng.choice(n_pos, 40, replace=False))
    start = np.searchsorted(pos_sector[open_pos], np.arange(n_sectors + 1))
    workers = np.sort(rng.choice(n_workers, 150, replace=False))
    n_apps = rng.poisson(1.5, len(workers))
    app, lo, size = applications_in_sector(workers, n_apps, sector, start)
    want = np.repeat(workers, n_apps)
    s = sector[want]
    has = start[s + 1] > start[s]
    assert (~has).any() and has.any()
    np.testing.assert_array_equal(app, want[has])
    np.testing.assert_array_equal(lo, start[s][has])
    np.testing.assert_array_equal(size, (start[s + 1] - start[s])[has])

    pos_firm = (np.arange(n_pos) // 10).astype(np.int32)
    employed = rng.random(n_workers) < 0.5
    employer = np.where(employed, rng.integers(0, 12, n_workers), -1)
    last = rng.integers(-1, 12, n_workers)
    idx = rng.integers(0, len(open_pos), 2000)
    app = rng.integers(0, n_workers, 2000)
    for recall in (False, True):
        w, p = keep_applications(app, idx, open_pos, pos_firm, employed, last, employer, recall)
        firm = pos_firm[open_pos[idx]]
        drop = (employed[app] & (firm == employer[app])) | (
            recall & ~employed[app] & (firm == last[app]))
        assert drop.any()
        np.testing.assert_array_equal(w, app[~drop])
        np.testing.assert_array_equal(p, open_pos[idx][~drop])


@pytest.mark.parametrize("horizon", [-1, 3])
def test_recall_candidates_equal_their_numpy_definition(horizon):
    from sim.core.kernels import recall_candidates

    rng = np.random.default_rng(4)
    n, week = 3000, 10
    employed = rng.random(n) < 0.5
    ti = rng.integers(0, 13, n).astype(np.int32)
    last = rng.integers(-1, 30, n)
    vac = rng.integers(0, 2, 30)
    since = week - ti
    want = ~employed & (since > 0) & (last >= 0) & ((since <= horizon) | (horizon < 0))
    want = np.flatnonzero(want & (vac[last] > 0))
    got = recall_candidates(employed, ti, last, vac, week, horizon)
    np.testing.assert_array_equal(got, want)
    assert 0 < len(want) < n // 4


def test_separate_and_hearing_equal_their_numpy_definitions():
    """separate: quits (u < rate) open their positions, layoffs at shocked firms (v < the
    fraction, not quitting) close them, both free the holder; hearing: employed workers at
    a firm with an open position whose draw is below the probability."""
    from sim.core.kernels import hearing, separate

    rng = np.random.default_rng(6)
    n, n_firms = 4000, 50
    employed = rng.random(n) < 0.8
    employer = np.where(employed, rng.integers(0, n_firms, n), -1).astype(np.int32)
    slot = np.where(employed, rng.permutation(2 * n)[:n], -1)
    u, v = rng.random(n), rng.random(n)
    shocked = rng.random(n_firms) < 0.2
    pos_state = np.zeros(2 * n, np.int8)
    pos_holder = np.full(2 * n, 7, np.int32)
    lost, laid = separate(employed, employer, slot, u, v, shocked, 0.05, 0.3, pos_state,
                          pos_holder, 1, 2)
    quit_ = employed & (u < 0.05)
    laid_off = employed & shocked[np.maximum(employer, 0)] & (v < 0.3) & ~quit_
    np.testing.assert_array_equal(lost, np.flatnonzero(quit_ | laid_off))
    np.testing.assert_array_equal(laid, laid_off[lost])
    assert quit_.any() and laid_off.any()
    want_state = np.zeros(2 * n, np.int8)
    want_state[slot[quit_]], want_state[slot[laid_off]] = 1, 2
    np.testing.assert_array_equal(pos_state, want_state)
    assert (pos_holder[slot[lost]] == -1).all() and (pos_holder == -1).sum() == len(lost)

    vac = rng.integers(0, 2, n_firms)
    want = np.flatnonzero(employed & (vac[employer] > 0) & (u < 0.2))
    np.testing.assert_array_equal(hearing(employed, employer, vac, u, 0.2), want)


def test_lead_weights_and_seeker_knows_equal_their_numpy_definitions():
    from sim.core.kernels import lead_weights, seeker_knows
    from sim.core.ties import Ties

    rng = np.random.default_rng(10)
    n_workers, m = 500, 3000
    t = Ties(n_workers)
    u, v = rng.integers(0, n_workers, 2 * m), rng.integers(0, n_workers, 2 * m)
    t.add(u, v, 0, rng.random(2 * m).astype(np.float32), rng.random(2 * m).astype(np.float32),
          rng.random(2 * m).astype(np.float32), 0)
    row = rng.integers(0, t.n, m)
    seeker = np.where(rng.random(m) < 0.5, t.a[row], t.b[row]).astype(np.int64)
    helper = np.where(seeker == t.a[row], t.b[row], t.a[row]).astype(np.int64)
    asked = rng.random(m) < 0.3
    employer = rng.integers(-1, 20, n_workers)
    last = rng.integers(-1, 20, n_workers)
    for recall in (False, True):
        h, s, r, w = lead_weights(helper, seeker, row, asked, employer, last, recall,
                                  t.strength, 4.0)
        keep = ~(recall & (employer[helper] == last[seeker]))
        assert keep.all() != recall
        np.testing.assert_array_equal(h, helper[keep])
        np.testing.assert_array_equal(s, seeker[keep])
        np.testing.assert_array_equal(r, row[keep])
        want = t.strength[row] * np.where(asked, 4.0, 1.0)
        assert w.dtype == want.dtype
        np.testing.assert_array_equal(w, want[keep])
    want = np.where(t.a[row] == seeker, t.knows_a[row], t.knows_b[row])
    got = seeker_knows(row, seeker, t)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_partners_across_markets_equal_their_numpy_definition():
    """The compiled partner draw across markets equals the numpy expression it replaced
    (own sector where asked or where there is no other sector, else another sector's
    worker, skipping the own block), with a one-sector market among several."""
    from sim.core.kernels import partners_across_markets

    rng = np.random.default_rng(12)
    n = 5_000
    sector = rng.choice(np.array([0, 1, 2, 3]), n, p=[0.4, 0.3, 0.2999, 0.0001]).astype(np.int32)
    by_sector = np.argsort(sector, kind="stable").astype(np.int32)
    sector_start = np.searchsorted(sector[by_sector], np.arange(5))
    src = rng.integers(0, n, 20_000)
    same = rng.random(len(src)) < 0.5
    r = rng.random(len(src))
    s = sector[src]
    lo, hi = sector_start[s], sector_start[s + 1]
    size, others = hi - lo, n - (hi - lo)
    inside = same | (others == 0)
    idx = np.where(inside, lo + (r * size).astype(np.int64), (r * others).astype(np.int64))
    idx += np.where(~inside & (idx >= lo), size, 0)
    expected = by_sector[idx]
    got = partners_across_markets(src, same, r, sector, sector_start, by_sector, n)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    # one sector only: everyone's partner is in it
    one = np.zeros(n, dtype=np.int32)
    got = partners_across_markets(src, same, r, one, np.array([0, n]), np.arange(n, dtype=np.int32),
                                  n)
    np.testing.assert_array_equal(got, (r * n).astype(np.int64))
