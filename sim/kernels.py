"""Compiled kernels for the few operations numpy cannot do in linear time.

Segmented "top k per group" is the one hot spot that needs a sort in numpy
(``lexsort`` on group and score, O(n log n)); here it is a counting sort by
group and k selection passes within each group, O(n k), which is fast for the
short groups it serves (a worker's ties, a helper's seeking contacts).
Compiled once and cached on disk by numba.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _top_k(group, score, k, n_groups):
    n = len(group)
    # counting sort of the rows by group (stable: rows keep their order in a group)
    start = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(n):
        start[group[i] + 1] += 1
    for g in range(n_groups):
        start[g + 1] += start[g]
    fill = start[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        g = group[i]
        order[fill[g]] = i
        fill[g] += 1
    sorted_score = np.empty(n)
    for j in range(n):
        sorted_score[j] = score[order[j]]
    out = np.zeros(n, dtype=np.bool_)
    taken = np.zeros(n, dtype=np.bool_)  # by sorted position: reads stay contiguous
    for g in range(n_groups):
        a, b = start[g], start[g + 1]
        if b - a <= k:
            for j in range(a, b):
                out[order[j]] = True
            continue
        # k passes of selection over the (short) group; earlier rows win ties
        for _ in range(k):
            best = -1
            best_score = 0.0
            for j in range(a, b):
                if not taken[j] and (best < 0 or sorted_score[j] > best_score):
                    best = j
                    best_score = sorted_score[j]
            taken[best] = True
            out[order[best]] = True
    return out


def group_top_k(group: np.ndarray, score: np.ndarray, k: int, n_groups: int | None = None
                ) -> np.ndarray:
    """Mask of the ``k`` highest-scoring rows of each group.

    Args:
        group: group id of each row (0 <= group < n_groups).
        score: score of each row; among equal scores the earlier row wins.
        k: rows kept per group.
        n_groups: number of groups (default ``group.max() + 1``).

    Returns:
        Boolean mask over the rows.
    """
    if len(group) == 0 or k <= 0:
        return np.zeros(len(group), dtype=bool)
    if n_groups is None:
        n_groups = int(group.max()) + 1
    return _top_k(np.ascontiguousarray(group, dtype=np.int64),
                  np.ascontiguousarray(score, dtype=np.float64), int(k), int(n_groups))


@numba.njit(cache=True, nogil=True)
def _invest(a, b, share_a, share_b, hours, even, any_even, strength, max_gain, saturation):
    for r in range(len(a)):
        # read a worker's hours only for the sides that put time in (most do not)
        h = np.float32(0.0)
        if share_a[r] > 0:
            h += share_a[r] * hours[a[r]]
        if share_b[r] > 0:
            h += share_b[r] * hours[b[r]]
        if any_even:
            h += even[a[r]] + even[b[r]]
        if h > 0.0:
            x = h / saturation
            x2 = x * x
            s = strength[r]
            strength[r] = s + max_gain * x2 / (1.0 + x2) * (1.0 - s)


def invest(a, b, share_a, share_b, hours, even, strength, max_gain: float,
           saturation: float) -> None:
    """Raise each tie's strength by the hours its two ends put into it this week.

    ``h = share_a * hours[a] + share_b * hours[b] + even[a] + even[b]`` (``even``:
    each worker's hours spread evenly, per tie); the gain is a Hill function
    ``max_gain * x^2 / (1 + x^2)`` of ``x = h / saturation`` applied to the gap
    ``1 - strength`` (in place).
    """
    _invest(a, b, share_a, share_b, hours, even, bool(even.any()), strength, np.float32(max_gain),
            np.float32(saturation))


@numba.njit(cache=True, nogil=True)
def _age_ties(kind, strength, knows_a, knows_b, cowork, keep, work_strength, learn,
              supervisor, colleague, acquaintance, online):
    for r in range(len(kind)):
        k = kind[r]
        s = strength[r] * keep[k]
        if cowork[r]:
            if s < work_strength:
                s = work_strength
            rate = learn * 2.0 if k == supervisor else learn
            knows_a[r] += rate * (1.0 - knows_a[r])
            knows_b[r] += rate * (1.0 - knows_b[r])
            if k == acquaintance or k == online:
                kind[r] = colleague
        strength[r] = s


def age_ties(kind, strength, knows_a, knows_b, cowork, keep, work_strength: float,
             learn_rate: float, codes: tuple[int, int, int, int]) -> None:
    """One week of tie ageing, in place and in one pass: strength decays by kind
    (``keep = 1 - decay``); ties between people at the same firm (``cowork``) are
    kept at ``work_strength`` at least, their ends learn each other's work
    (``learn_rate``, doubled for supervisors) and they become colleagues.
    ``codes`` are the (colleague, supervisor, acquaintance, online) kind codes."""
    colleague, supervisor, acquaintance, online = codes
    _age_ties(kind, strength, knows_a, knows_b, cowork, keep.astype(np.float32),
              np.float32(work_strength), np.float32(learn_rate), supervisor, colleague,
              acquaintance, online)


@numba.njit(cache=True, nogil=True)
def _tie_context(edge, ego, alter, ego_is_a, strength, knows_a, knows_b, employed, sector):
    m = len(edge)
    s = np.empty(m, dtype=np.float64)
    k = np.empty(m, dtype=np.float64)
    emp = np.empty(m, dtype=np.bool_)
    same = np.empty(m, dtype=np.bool_)
    for i in range(m):
        r = edge[i]
        s[i] = strength[r]
        k[i] = knows_a[r] if ego_is_a[i] else knows_b[r]
        emp[i] = employed[alter[i]]
        same[i] = sector[alter[i]] == sector[ego[i]]
    return s, k, emp, same


def tie_context(h, ties, employed: np.ndarray, sector: np.ndarray):
    """For half-edges ``h``: tie strength, how well the alter knows the ego's work,
    whether the alter is employed and in the ego's sector (one pass)."""
    return _tie_context(h.edge, h.ego, h.alter, h.ego_is_a, ties.strength, ties.knows_a,
                        ties.knows_b, employed, sector)


@numba.njit(cache=True, nogil=True)
def _lions_plan(a, b, knows_a, knows_b, strength, member, employed, sector, k, w_other, ask,
                share_a, share_b, asks_a, asks_b, n_workers):
    best_val = np.zeros((n_workers, k))
    best_row = np.empty((n_workers, k), dtype=np.int64)
    best_side = np.empty((n_workers, k), dtype=np.int8)
    cnt = np.zeros(n_workers, dtype=np.int64)
    for r in range(len(a)):
        for side in range(2):
            if side == 0:
                ego, alt, kn = a[r], b[r], knows_a[r]
            else:
                ego, alt, kn = b[r], a[r], knows_b[r]
            if not member[ego]:
                continue
            if side == 0:
                share_a[r] = 0.0
                asks_a[r] = False
            else:
                share_b[r] = 0.0
                asks_b[r] = False
            pl = (1.0 if sector[alt] == sector[ego] else w_other) * (1.0 if employed[alt] else 0.0)
            s = (np.float64(kn) * np.float64(strength[r])) * (0.1 + 0.9 * pl)
            if not s > 0.0:
                continue
            c = cnt[ego]
            # order: score descending, then a-side before b-side, then row (as the reference)
            j = c if c < k else k
            while j > 0 and (best_val[ego, j - 1] < s or (best_val[ego, j - 1] == s
                                                          and best_side[ego, j - 1] > side)):
                j -= 1
            if j >= k:
                continue
            last = c if c < k else k - 1
            for m in range(last, j, -1):
                best_val[ego, m] = best_val[ego, m - 1]
                best_row[ego, m] = best_row[ego, m - 1]
                best_side[ego, m] = best_side[ego, m - 1]
            best_val[ego, j] = s
            best_row[ego, j] = r
            best_side[ego, j] = side
            if c < k:
                cnt[ego] = c + 1
    for w in range(n_workers):
        c = cnt[w]
        for j in range(c):
            r = best_row[w, j]
            if best_side[w, j] == 0:
                share_a[r] = np.float32(1.0 / c)
                asks_a[r] = ask
            else:
                share_b[r] = np.float32(1.0 / c)
                asks_b[r] = ask


def lions_plan(ties, member: np.ndarray, employed: np.ndarray, sector: np.ndarray, k: int,
               other_sector_weight: float, ask: bool) -> None:
    """Compiled equivalent of :meth:`sim.strategies.lions.Lions.plan` over all ties in
    one pass: rank each member's ties by knows-work x strength x placement, give the
    top ``k`` an equal share of the hours and (if ``ask``) ask them; the member's
    other ties get nothing. Writes ``share_*`` and ``asks_*`` of the ties in place."""
    _lions_plan(ties.a, ties.b, ties.knows_a, ties.knows_b, ties.strength, member, employed,
                sector, int(k), float(other_sector_weight), bool(ask), ties.share_a,
                ties.share_b, ties.asks_a, ties.asks_b, len(member))
