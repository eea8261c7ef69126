"""Compiled kernels for the few operations numpy cannot do in linear time.

Segmented "top k per group" is the one hot spot that needs a sort in numpy
(``lexsort`` on group and score, O(n log n)); here it is one pass with a small
insertion buffer per group, O(n k). Compiled once and cached on disk by numba.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _top_k(group, score, k, n_groups):
    best_val = np.full((n_groups, k), -np.inf)
    best_row = np.full((n_groups, k), -1, dtype=np.int64)
    for i in range(len(group)):
        g = group[i]
        s = score[i]
        if best_row[g, k - 1] >= 0 and s <= best_val[g, k - 1]:
            continue
        j = k - 1
        while j > 0 and (best_row[g, j - 1] < 0 or best_val[g, j - 1] < s):
            best_val[g, j] = best_val[g, j - 1]
            best_row[g, j] = best_row[g, j - 1]
            j -= 1
        best_val[g, j] = s
        best_row[g, j] = i
    out = np.zeros(len(group), dtype=np.bool_)
    for g in range(n_groups):
        for j in range(k):
            r = best_row[g, j]
            if r >= 0:
                out[r] = True
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
