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
