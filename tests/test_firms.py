"""Firms and positions (sim/core/firms.py): sizes, sector order, coworker draws."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.core.firms import CLOSED, FILLED, OPEN, Firms


def check_layout(f: Firms, n_positions: int, mean_size: float) -> None:
    assert f.n_firms == max(1, round(n_positions / mean_size))
    assert len(f.size) == f.n_firms and (f.size >= 1).all()
    assert int(f.size.sum()) == n_positions
    assert f.n_positions == n_positions
    assert len(f.pos_firm) == n_positions
    # firm f owns the contiguous block [start[f], start[f] + size[f])
    np.testing.assert_array_equal(f.start, np.concatenate([[0], np.cumsum(f.size)[:-1]]))
    np.testing.assert_array_equal(np.bincount(f.pos_firm, minlength=f.n_firms), f.size)
    np.testing.assert_array_equal(f.pos_firm[f.start], np.arange(f.n_firms))
    assert (np.diff(f.pos_firm) >= 0).all()
    assert (f.pos_state == OPEN).all() and (f.pos_holder == -1).all()


# sizes and dispersions as in the model's defaults and around them (firm_size_sigma <= 1)
@pytest.mark.parametrize("n_positions", [1, 7, 100, 1_003, 10_000])
@pytest.mark.parametrize("mean_size", [5.0, 20.0, 50.0])
@pytest.mark.parametrize("sigma", [0.0, 0.5, 1.0])
def test_positions_sum_exactly(n_positions, mean_size, sigma):
    for seed in range(4):
        f = Firms(n_positions, 10, mean_size, sigma, np.random.default_rng(seed))
        check_layout(f, n_positions, mean_size)


def test_equal_sizes_without_dispersion():
    f = Firms(1_003, 4, 20.0, 0.0, np.random.default_rng(0))
    assert f.n_firms == 50
    assert f.size.max() - f.size.min() == 1 and sorted(set(f.size.tolist())) == [20, 21]


def test_positions_sum_exactly_for_dispersed_or_small_firms():
    # all these are valid configurations (mean_firm_size >= 1, firm_size_sigma in [0, 5])
    cases = [(1_000, 20.0, 3.0), (1_000, 5.0, 5.0), (10_000, 20.0, 2.0), (100, 1.0, 1.0)]
    wrong = []
    for n, mean, sigma in cases:
        for seed in range(4):
            f = Firms(n, 10, mean, sigma, np.random.default_rng(seed))
            if int(f.size.sum()) != n or f.n_positions != n:
                wrong.append((n, mean, sigma, seed, int(f.size.sum())))
    assert not wrong, f"(n_positions, mean, sigma, seed, got): {wrong}"


@pytest.mark.parametrize("n_sectors,n_positions", [(10, 2_000), (3, 500), (50, 200), (1, 40)])
def test_sector_order_and_sector_start(n_sectors, n_positions):
    f = Firms(n_positions, n_sectors, 20.0, 1.0, np.random.default_rng(n_sectors))
    assert (np.diff(f.sector) >= 0).all()
    assert ((f.sector >= 0) & (f.sector < n_sectors)).all()
    assert (np.diff(f.pos_sector) >= 0).all()
    np.testing.assert_array_equal(f.pos_sector, f.sector[f.pos_firm])
    st = f.sector_start
    assert len(st) == n_sectors + 1 and st[0] == 0 and st[-1] == f.n_positions
    for s in range(n_sectors):
        block = f.pos_sector[st[s]:st[s + 1]]
        assert (block == s).all()
        assert len(block) == (f.pos_sector == s).sum()  # every position of s is inside
    if n_sectors == 50:  # 10 firms: most sectors are empty, with start == stop
        assert (np.diff(st) == 0).sum() >= 40


@pytest.mark.parametrize("n_sectors,n_positions,sigma", [
    (10, 10_000, 1.0), (100, 100_000, 1.0), (7, 3_000, 0.5), (3, 60, 0.0), (1, 500, 1.0)])
def test_balanced_sectors_have_nearly_equal_positions(n_sectors, n_positions, sigma):
    f = Firms(n_positions, n_sectors, 20.0, sigma, np.random.default_rng(n_positions),
              balanced=True)
    check_layout(f, n_positions, 20.0)
    assert (np.diff(f.sector) >= 0).all()  # firms numbered in sector order
    np.testing.assert_array_equal(f.pos_sector, f.sector[f.pos_firm])
    per_sector = np.diff(f.sector_start)
    assert per_sector.sum() == n_positions
    np.testing.assert_array_equal(per_sector, np.bincount(f.pos_sector, minlength=n_sectors))
    # greedy largest-first: no sector exceeds another by more than the largest firm
    assert per_sector.max() - per_sector.min() <= f.size.max()
    if n_positions >= 10_000:  # many firms per sector: within a few per cent of the mean
        assert per_sector.max() - per_sector.min() <= 0.05 * n_positions / n_sectors


def test_balanced_firms_keep_the_size_distribution():
    # the firms are re-ordered, not re-drawn: the same sizes as the legacy layout's
    a = Firms(20_000, 10, 20.0, 1.0, np.random.default_rng(3))
    b = Firms(20_000, 10, 20.0, 1.0, np.random.default_rng(3), balanced=True)
    np.testing.assert_array_equal(np.sort(a.size), np.sort(b.size))


def filled_market(seed, n_positions=600, p_filled=0.6, p_closed=0.1):
    rng = np.random.default_rng(seed)
    f = Firms(n_positions, 3, 10.0, 1.0, rng)
    u = rng.random(f.n_positions)
    f.pos_state[:] = np.where(u < p_filled, FILLED, np.where(u < p_filled + p_closed, CLOSED,
                                                             OPEN))
    filled = np.flatnonzero(f.pos_state == FILLED)
    f.pos_holder[filled] = rng.permutation(10 * n_positions)[: len(filled)]  # unique worker ids
    return f, rng


def test_random_coworkers_are_other_holders_of_filled_positions_of_the_same_firm():
    f, rng = filled_market(0)
    slots = np.flatnonzero(f.pos_state == FILLED)
    idx, cw = f.random_coworkers(slots, 5, rng)
    assert len(idx) > 0 and len(idx) == len(cw)
    assert ((idx >= 0) & (idx < len(slots))).all()
    pos_of = {int(h): p for p, h in enumerate(f.pos_holder) if h >= 0}
    assert all(int(w) in pos_of for w in cw)  # holders of FILLED positions only
    pos = np.array([pos_of[int(w)] for w in cw])
    assert (f.pos_state[pos] == FILLED).all()
    np.testing.assert_array_equal(f.pos_firm[pos], f.pos_firm[slots[idx]])  # same firm
    assert (cw != f.pos_holder[slots[idx]]).all()  # never the worker itself
    assert (pos != slots[idx]).all()

    # how many draws are kept: each of the k draws of slot i hits another filled position
    # of its firm with probability p_i = (filled_i - 1) / size_i, independently
    filled_per_firm = np.bincount(f.pos_firm[slots], minlength=f.n_firms)
    firm = f.pos_firm[slots]
    p = (filled_per_firm[firm] - 1) / f.size[firm]
    mean, sd = 5 * p.sum(), math.sqrt(5 * (p * (1 - p)).sum())
    assert abs(len(cw) - mean) < 4 * sd, (len(cw), mean, sd)


def test_random_coworkers_uniform_over_the_firm():
    f, rng = filled_market(1)
    firm = int(np.argmax(f.size))
    block = np.arange(f.start[firm], f.start[firm] + f.size[firm])
    mine = block[f.pos_state[block] == FILLED]
    assert len(mine) >= 3
    k = 20_000
    idx, cw = f.random_coworkers(mine[:1], k, rng)
    assert (idx == 0).all()
    others = f.pos_holder[mine[1:]]
    assert set(cw.tolist()) == set(others.tolist())
    # each draw lands on a given position with probability 1/size: binomial counts
    p = 1.0 / f.size[firm]
    counts = np.array([(cw == w).sum() for w in others])
    sd = math.sqrt(k * p * (1 - p))
    assert (np.abs(counts - k * p) < 4 * sd).all(), (counts, k * p, sd)


def test_random_coworkers_alone_or_empty():
    f, rng = filled_market(2)
    firm = int(np.argmax(f.size))
    block = np.arange(f.start[firm], f.start[firm] + f.size[firm])
    f.pos_state[block] = OPEN
    f.pos_state[block[0]] = FILLED  # the only worker of the firm
    idx, cw = f.random_coworkers(block[:1], 50, rng)
    assert len(idx) == 0 and len(cw) == 0
    for slots, k in ((np.array([], dtype=np.int64), 3), (block[:1], 0)):
        idx, cw = f.random_coworkers(slots, k, rng)
        assert len(idx) == 0 and len(cw) == 0


def test_open_positions_and_vacancies():
    f, _ = filled_market(3)
    op = f.open_positions()
    np.testing.assert_array_equal(op, np.flatnonzero(f.pos_state == OPEN))
    vac = f.vacancies()
    assert len(vac) == f.n_firms and vac.sum() == len(op)
    np.testing.assert_array_equal(vac, np.bincount(f.pos_firm[op], minlength=f.n_firms))
