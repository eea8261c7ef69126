"""Firms and their positions.

A firm owns a contiguous block of positions (its size). A firm belongs to one sector
(a local labour market): uniformly at random (the legacy rule), or, with ``balanced``,
so that sectors hold nearly equal numbers of positions. A position is *filled*
(held by a worker), *open* (a posted vacancy) or *closed* (removed by a mass
layoff; it reopens as a vacancy over time). Firms are numbered in sector order
and positions in firm order, so "the open positions of sector s" and "the open
positions of firm f" are contiguous runs of ``np.flatnonzero(open)``.
"""

from __future__ import annotations

import heapq

import numpy as np

FILLED, OPEN, CLOSED = 0, 1, 2


class Firms:
    """Firm and position arrays.

    Args:
        n_positions: total positions to create (all firms).
        n_sectors: number of sectors.
        mean_size: mean positions per firm.
        size_sigma: log-normal sigma of firm sizes.
        rng: generator used for sizes and sectors.
        balanced: sectors of nearly equal numbers of positions: firms, largest first,
            each join the sector with the fewest positions so far (greedy
            longest-processing-time rule: a sector exceeds the mean by less than one
            firm's size); then firms are renumbered in sector order, keeping their drawn
            order within a sector. False (legacy): each firm draws its sector uniformly,
            so sector sizes vary (about 25 % at 1,000 workers per sector).
    """

    def __init__(self, n_positions: int, n_sectors: int, mean_size: float, size_sigma: float,
                 rng: np.random.Generator, balanced: bool = False):
        n_firms = max(1, int(round(n_positions / mean_size)))
        # log-normal weights with the requested dispersion, scaled to n_positions
        n_firms = min(n_firms, n_positions)
        w = rng.lognormal(0.0, size_sigma, n_firms) if size_sigma > 0 else np.ones(n_firms)
        # every firm has one position; the rest are shared by log-normal weights with
        # the largest-remainder rule, so the sizes add up to n_positions exactly
        quota = (n_positions - n_firms) * w / w.sum()
        size = 1 + np.floor(quota).astype(np.int64)
        left = n_positions - int(size.sum())
        size[np.argsort(-(quota - np.floor(quota)), kind="stable")[:left]] += 1
        if balanced:
            sector = _balanced_sectors(size, n_sectors)
            order = np.argsort(sector, kind="stable")
            sector, size = sector[order], size[order]
        else:
            sector = np.sort(rng.integers(0, n_sectors, n_firms)).astype(np.int32)
        self.n_firms = n_firms
        self.n_sectors = n_sectors
        self.sector = sector
        self.size = size
        self.start = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
        self.n_positions = int(size.sum())
        self.pos_firm = np.repeat(np.arange(n_firms, dtype=np.int32), size)
        self.pos_sector = sector[self.pos_firm]
        self.pos_state = np.full(self.n_positions, OPEN, dtype=np.int8)
        self.pos_holder = np.full(self.n_positions, -1, dtype=np.int32)
        # first position of each sector (positions are in sector order)
        self.sector_start = np.searchsorted(self.pos_sector, np.arange(n_sectors + 1))

    def open_positions(self) -> np.ndarray:
        """Indices of open positions, sorted (so grouped by firm and by sector)."""
        return np.flatnonzero(self.pos_state == OPEN)

    def vacancies(self) -> np.ndarray:
        """Open positions per firm."""
        return np.bincount(self.pos_firm[self.pos_state == OPEN], minlength=self.n_firms)

    def random_coworkers(self, slots: np.ndarray, k: int | np.ndarray,
                         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw up to ``k`` coworkers for the holder of each given position.

        Draws ``k`` (one number, or one per position) random positions of the
        same firm; keeps those filled by someone else. Returns ``(index into
        slots, coworker id)`` pairs.
        """
        if np.all(np.asarray(k) <= 0) or len(slots) == 0:
            return np.empty(0, np.int64), np.empty(0, np.int32)
        f = self.pos_firm[slots]
        idx = np.repeat(np.arange(len(slots)), k)
        draw = self.start[f][idx] + (rng.random(len(idx)) * self.size[f][idx]).astype(np.int64)
        ok = (self.pos_state[draw] == FILLED) & (draw != slots[idx])
        return idx[ok], self.pos_holder[draw[ok]]


def _balanced_sectors(size: np.ndarray, n_sectors: int) -> np.ndarray:
    """Sector of each firm: largest firm first, into the sector with the fewest positions.

    Args:
        size: positions of each firm.
        n_sectors: number of sectors.

    Returns:
        The sector of each firm (int32), unsorted.
    """
    load = [(0, s) for s in range(n_sectors)]  # (positions so far, sector): a min-heap
    sector = np.empty(len(size), dtype=np.int32)
    for i in np.argsort(-size, kind="stable"):
        positions, s = load[0]
        sector[i] = s
        heapq.heapreplace(load, (positions + int(size[i]), s))
    return sector
