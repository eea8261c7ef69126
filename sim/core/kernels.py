"""Compiled kernels for the few operations numpy cannot do in linear time, and for the
weekly steps that numpy would do in many passes with temporary arrays.

Segmented "top k per group" is the one hot spot that needs a sort in numpy
(``lexsort`` on group and score, O(n log n)); here it is a counting sort by
group and k selection passes within each group, O(n k), which is fast for the
short groups it serves (a worker's ties, a helper's seeking contacts).
The others (separations, who hears of an opening, the leads' pairs, formal
applications, recall candidates, runs of a sorted key, random partners across
markets) each replace a chain of numpy calls by one pass, with the same results bit
for bit: the random draws stay in numpy, in the same order, and so do the comparisons
of float32 values with Python floats and numpy's ``exp``, whose rounding a compiled
loop would not share.
Compiled once and cached on disk by numba.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _top_k(group, score, k, n_groups):
    n = len(group)
    # the rows in a stable order by group: as they are if already sorted (the leads'
    # pairs, helper by helper, when no tie is waiting to be merged into the neighbour
    # index); by a stable sort if the groups are many
    # for the rows (then a counting sort's array of group starts would cost more than
    # the rows); else by a counting sort
    ascending = True
    for i in range(1, n):
        if group[i] < group[i - 1]:
            ascending = False
            break
    if ascending:
        order = np.arange(n)
    elif n_groups > 8 * n:
        order = np.argsort(group, kind="mergesort")  # (stable)
    else:
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
    a = 0
    while a < n:
        g = group[order[a]]
        b = a + 1
        while b < n and group[order[b]] == g:
            b += 1
        if b - a <= k:
            for j in range(a, b):
                out[order[j]] = True
        else:
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
        a = b
    return out


def group_top_k(group: np.ndarray, score: np.ndarray, k: int, n_groups: int | None = None
                ) -> np.ndarray:
    """Mask of the ``k`` highest-scoring rows of each group. Rows already sorted by group
    are ranked run by run; others after a stable sort by group (a counting sort unless the
    groups far outnumber the rows): the same mask either way.

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


@numba.njit(cache=True, inline="always")
def _hours(r, a, b, share_a, share_b, any_share, hours, even, any_even):
    # the hours tie r gets, summed in float32 in the order share_a, share_b, even
    x = np.float32(0.0)
    if any_share:
        x += share_a[r] * hours[a[r]]
        x += share_b[r] * hours[b[r]]
    if any_even:
        x += even[a[r]] + even[b[r]]
    return x


@numba.njit(cache=True, inline="always")
def _gained(s, h, max_gain, saturation):
    # a strength s after a week with h hours (h = 0 gains 0: s + 0.0 == s)
    x = h / saturation
    x2 = x * x
    return s + max_gain * x2 / (1.0 + x2) * (1.0 - s)


@numba.njit(cache=True, nogil=True)
def _tie_hours(a, b, share_a, share_b, any_share, hours, even, any_even, h):
    # branch-free per tie: a side with no share adds 0 * hours = 0, which leaves the sum
    # bit for bit as it was (x + 0.0 == x); the per-run switches pick one loop each, with
    # constant switches inside (a switch tested in the loop made it 20 % slower)
    n = len(a)
    if any_share and any_even:
        for r in range(n):
            h[r] = _hours(r, a, b, share_a, share_b, True, hours, even, True)
    elif any_share:
        for r in range(n):
            h[r] = _hours(r, a, b, share_a, share_b, True, hours, even, False)
    elif any_even:
        for r in range(n):
            h[r] = _hours(r, a, b, share_a, share_b, False, hours, even, True)
    else:
        h[:] = 0.0


# error_model="numpy": no check of the divisors for zero (saturation > 0 is validated and
# 1 + x^2 >= 1), so the loop compiles to vector instructions (same IEEE results); apart
# from the pass above because a store to strength might alias the gathered hours, which
# keeps a loop from being vectorised
@numba.njit(cache=True, nogil=True, error_model="numpy")
def _gain(h, strength, max_gain, saturation):
    for r in range(len(h)):
        strength[r] = _gained(strength[r], h[r], max_gain, saturation)


@numba.njit(cache=True, nogil=True)
def _share_hours(rows, lo, a, b, share_a, share_b, hours, even, any_even, h, compact):
    # _tie_hours of the given rows: into h[i] for rows[i] if compact, else into h[row - lo]
    # (the rows then all in [lo, lo + len(h)))
    for i in range(len(rows)):
        h[i if compact else rows[i] - lo] = _hours(rows[i], a, b, share_a, share_b, True,
                                                    hours, even, any_even)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _gain_rows(rows, h, strength, max_gain, saturation):
    # _gain of the given rows only, h[i] being row rows[i]'s hours
    for i in range(len(rows)):
        strength[rows[i]] = _gained(strength[rows[i]], h[i], max_gain, saturation)


# ties per chunk of the two invest passes: the chunk's hours (512 kB) stay in the cache
_INVEST_CHUNK = 1 << 17


def invest(a, b, share_a, share_b, hours, even, strength, max_gain: float,
           saturation: float, any_share: bool = True, share_rows: np.ndarray | None = None
           ) -> None:
    """Raise each tie's strength by the hours its two ends put into it this week.

    ``h = share_a * hours[a] + share_b * hours[b] + even[a] + even[b]`` (``even``:
    each worker's hours spread evenly, per tie); the gain is a Hill function
    ``max_gain * x^2 / (1 + x^2)`` of ``x = h / saturation`` applied to the gap
    ``1 - strength`` (in place). ``any_share=False`` promises that every share is 0
    (the pass then reads only the endpoints and strengths). ``share_rows``, sorted,
    promises that every other row's shares are 0: only these rows read the share
    columns and the hours, and when no worker spreads hours (``even`` all 0) only these
    rows are visited at all (a tie with no hours gains exactly 0). The results are the
    same bit for bit in every case.
    """
    n = len(a)
    any_even = bool(even.any())
    max_gain, saturation = np.float32(max_gain), np.float32(saturation)
    if share_rows is not None:
        share_rows = np.ascontiguousarray(share_rows, dtype=np.int64)
        if not any_even:  # only the ties with a share gain anything
            h = np.empty(len(share_rows), dtype=np.float32)
            _share_hours(share_rows, 0, a, b, share_a, share_b, hours, even, False, h, True)
            _gain_rows(share_rows, h, strength, max_gain, saturation)
            return
    h = np.empty(min(n, _INVEST_CHUNK), dtype=np.float32)
    any_share = bool(any_share)
    for lo in range(0, n, _INVEST_CHUNK):
        hi = min(n, lo + _INVEST_CHUNK)
        hc = h[: hi - lo]
        if share_rows is None:
            _tie_hours(a[lo:hi], b[lo:hi], share_a[lo:hi], share_b[lo:hi], any_share, hours,
                       even, any_even, hc)
        else:  # the even hours of every tie, then those of the ties with a share
            _tie_hours(a[lo:hi], b[lo:hi], share_a[lo:hi], share_b[lo:hi], False, hours,
                       even, any_even, hc)
            i, j = np.searchsorted(share_rows, (lo, hi))
            _share_hours(share_rows[i:j], lo, a, b, share_a, share_b, hours, even, True, hc,
                         False)
        _gain(hc, strength[lo:hi], max_gain, saturation)


@numba.njit(cache=True, nogil=True)
def _age_ties(kind, strength, knows_a, knows_b, cowork, keep, work_strength, learn,
              supervisor, colleague, acquaintance, online):
    # the per-kind rate picked from 4 registers rather than loaded from keep[k]: the load
    # made each tie wait (3x slower at 100,000 lions; same results)
    keep0, keep1, keep2, keep3 = keep[0], keep[1], keep[2], keep[3]
    for r in range(len(kind)):
        k = kind[r]
        kp = keep0 if k == 0 else (keep1 if k == 1 else (keep2 if k == 2 else keep3))
        s = strength[r] * kp
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
    (``keep = 1 - decay``, one value for each of the 4 kind codes 0-3); ties between
    people at the same firm (``cowork``) are kept at ``work_strength`` at least, their
    ends learn each other's work (``learn_rate``, doubled for supervisors) and they
    become colleagues.
    ``codes`` are the (colleague, supervisor, acquaintance, online) kind codes."""
    colleague, supervisor, acquaintance, online = codes
    if len(keep) != 4:
        raise ValueError(f"keep: one rate per kind code 0-3, got {len(keep)}")
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


# workers per block in the lions plan: a block's top-k lists (16 bytes per place) stay in
# the core's L2 cache while its scored ties are ranked
_BLOCK_BITS = 12
_BLOCK = 1 << _BLOCK_BITS


@numba.njit(cache=True, nogil=True)
def _lions_plan(a, b, knows_a, knows_b, strength, code, start, k, w_other, ask,
                share_a, share_b, asks_a, asks_b, score, key):
    n_blocks = len(start) - 1
    fill = start[:n_blocks].copy()
    # pass 1, over the ties in row order: clear the members' sides, score them and file
    # each positive score under its ego's block (so an ego's ties stay in row order)
    for r in range(len(a)):
        ca, cb = code[a[r]], code[b[r]]
        for side in range(2):
            if side == 0:
                ego, c_ego, c_alt, kn = a[r], ca, cb, knows_a[r]
            else:
                ego, c_ego, c_alt, kn = b[r], cb, ca, knows_b[r]
            if not c_ego & 1:
                continue
            if side == 0:
                share_a[r] = 0.0
                asks_a[r] = False
            else:
                share_b[r] = 0.0
                asks_b[r] = False
            # placement: employed alter (code bit 1), same sector (code >> 2) or not
            pl = (1.0 if (c_alt >> 2) == (c_ego >> 2) else w_other) * (1.0 if c_alt & 2 else 0.0)
            s = (np.float64(kn) * np.float64(strength[r])) * (0.1 + 0.9 * pl)
            if not s > 0.0:
                continue
            blk = ego >> _BLOCK_BITS
            j = fill[blk]
            score[j] = s
            key[j] = ((2 * np.int64(r) + side) << _BLOCK_BITS) | (ego & (_BLOCK - 1))
            fill[blk] = j + 1
    # pass 2, block by block: each ego's k best ties by insertion (score -1: empty place),
    # then the shares and requests of the chosen ties
    # (an ego's list at [e * k, e * k + k) of flat arrays, indexed by unsigned integers:
    # no check for negative indices; 10-15 % faster than two-dimensional arrays)
    uk = np.uint64(k)
    best_val = np.empty(_BLOCK * k)
    best_key = np.zeros(_BLOCK * k, dtype=np.int64)  # 2 * row + side
    for blk in range(n_blocks):
        best_val[:] = -1.0
        for i in range(start[blk], fill[blk]):
            e0 = np.uint64(key[i] & (_BLOCK - 1)) * uk
            rs = key[i] >> _BLOCK_BITS
            side = rs & 1
            s = score[i]
            # order: score descending, then a-side before b-side, then row (as the
            # reference; ties arrive in row order): a tie ranked below the k-th is
            # dropped, else it moves up past every tie it outranks
            last = best_val[e0 + uk - np.uint64(1)]
            if last > s or (last == s and (best_key[e0 + uk - np.uint64(1)] & 1) <= side):
                continue
            # branch-free insertion, from the last place up: a place keeps its tie if that
            # tie stays above the new one, else takes the new one if the place above keeps
            # its own, else takes the tie from the place above (the exits of a loop that
            # stops at the new tie's place were mispredicted: 15-25 % slower)
            q = uk - np.uint64(1)
            while q > np.uint64(0):
                v, kv = best_val[e0 + q], best_key[e0 + q]
                pv, pk = best_val[e0 + q - np.uint64(1)], best_key[e0 + q - np.uint64(1)]
                stays = (v > s) | ((v == s) & ((kv & 1) <= side))
                above = (pv > s) | ((pv == s) & ((pk & 1) <= side))
                best_val[e0 + q] = v if stays else (s if above else pv)
                best_key[e0 + q] = kv if stays else (rs if above else pk)
                q -= np.uint64(1)
            v, kv = best_val[e0], best_key[e0]
            stays = (v > s) | ((v == s) & ((kv & 1) <= side))
            best_val[e0] = v if stays else s
            best_key[e0] = kv if stays else rs
        for e in range(_BLOCK):
            c = 0
            while c < k and best_val[e * k + c] > 0.0:
                c += 1
            for j in range(c):
                r, side = best_key[e * k + j] >> 1, best_key[e * k + j] & 1
                if side == 0:
                    share_a[r] = np.float32(1.0 / c)
                    asks_a[r] = ask
                else:
                    share_b[r] = np.float32(1.0 / c)
                    asks_b[r] = ask


def lions_plan(ties, member: np.ndarray, employed: np.ndarray, sector: np.ndarray, k: int,
               other_sector_weight: float, ask: bool, scratch: dict | None = None) -> None:
    """Compiled equivalent of :meth:`sim.core.strategies.lions.Lions.plan` over all ties:
    rank each member's ties by knows-work x strength x placement, give the top ``k`` an
    equal share of the hours and (if ``ask``) ask them; the member's other ties get
    nothing. Writes ``share_*`` and ``asks_*`` of the ties in place. ``scratch``: a dict
    in which to keep the working buffers for the next call.

    One pass over the ties scores every member's side and files it by block of egos;
    then each block's egos are ranked with their top-k lists in cache. (Ranking in
    the first pass, with every worker's list in one big array, missed the cache at
    almost every tie: twice as slow at 100,000 workers, and worse at a million.)
    """
    # one int32 per worker, read twice per tie: sector, employed and member bits
    code = (sector.astype(np.int32) << 2) | (employed.astype(np.int32) << 1) | member
    # room for each block's scored ties: its members' degrees (an upper bound)
    n_blocks = (len(member) + _BLOCK - 1) >> _BLOCK_BITS
    start = np.zeros(n_blocks + 1, dtype=np.int64)
    start[1:] = np.cumsum(np.bincount(np.flatnonzero(member) >> _BLOCK_BITS,
                                      weights=ties.degree()[member], minlength=n_blocks))
    # the two buffers are kept between calls: allocating them afresh costs as much in
    # page faults as filling them
    size = int(start[-1])
    if scratch is None:
        scratch = {}
    if len(scratch.get("score", ())) < size:
        scratch["score"] = np.empty(size + size // 4)
        scratch["key"] = np.empty(size + size // 4, dtype=np.int64)
    _lions_plan(ties.a, ties.b, ties.knows_a, ties.knows_b, ties.strength, code, start,
                int(k), float(other_sector_weight), bool(ask), ties.share_a, ties.share_b,
                ties.asks_a, ties.asks_b, scratch["score"], scratch["key"])


@numba.njit(cache=True, nogil=True)
def _set_cowork(rows, a, b, employer, cowork):
    for r in rows:
        e = employer[a[r]]
        cowork[r] = e >= 0 and e == employer[b[r]]


def set_cowork(rows: np.ndarray, a, b, employer: np.ndarray, cowork: np.ndarray) -> None:
    """Recompute whether the two ends of tie ``rows`` work at the same firm (in place;
    a row may be listed more than once)."""
    _set_cowork(np.asarray(rows, dtype=np.int64), a, b, employer, cowork)


@numba.njit(cache=True, nogil=True)
def _runs(key):
    n = len(key)
    run = np.empty(n, dtype=np.int64)
    rank = np.empty(n, dtype=np.int64)
    r = -1
    k = 0
    for i in range(n):
        if i == 0 or key[i] != key[i - 1]:
            r += 1
            k = 0
        run[i] = r
        rank[i] = k
        k += 1
    return run, rank, r + 1


def runs(key: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The runs of equal consecutive values of ``key`` (a sorted key: its groups), in one
    pass, without numpy's temporary arrays.

    Args:
        key: integer keys, equal values next to each other.

    Returns:
        ``(run, rank, n_runs)``: each row's run (0, 1, ... in order), its rank within
        the run (0 for the first row), and the number of runs.
    """
    return _runs(np.ascontiguousarray(key))


def first_of_runs(key: np.ndarray) -> np.ndarray:
    """Mask of the rows that start a run of equal consecutive values of ``key`` (each
    group's first row): ``np.r_[True, key[1:] != key[:-1]]`` for a non-empty ``key``
    (empty for an empty one), without ``np.r_``'s cost of several microseconds."""
    return _runs(np.ascontiguousarray(key))[1] == 0


@numba.njit(cache=True, nogil=True)
def _asks_and_strength(edge, ego_is_a, asks_a, asks_b, strength):
    m = len(edge)
    asked = np.empty(m, dtype=np.bool_)
    s = np.empty(m, dtype=strength.dtype)
    for i in range(m):
        r = edge[i]
        asked[i] = asks_b[r] if ego_is_a[i] else asks_a[r]
        s[i] = strength[r]
    return asked, s


def alter_asks_and_strength(h, ties) -> tuple[np.ndarray, np.ndarray]:
    """For half-edges ``h``: whether the alter asks the ego for help (the alter's side of
    the tie) and the tie's strength, in one pass over the rows.

    Args:
        h: the half-edges (:class:`~sim.core.ties.HalfEdges`).
        ties: the tie store.

    Returns:
        ``(asked, strength)``, one entry per half-edge.
    """
    return _asks_and_strength(h.edge, h.ego_is_a, ties.asks_a, ties.asks_b, ties.strength)


@numba.njit(cache=True, nogil=True)
def _aware_rows(aware, ego, alter, edge, asked):
    k = 0
    for i in range(len(aware)):
        k += aware[i]
    helper = np.empty(k, dtype=np.int64)
    seeker = np.empty(k, dtype=np.int64)
    row = np.empty(k, dtype=edge.dtype)
    ask = np.empty(k, dtype=np.bool_)
    j = 0
    for i in range(len(aware)):
        if aware[i]:
            helper[j], seeker[j], row[j], ask[j] = ego[i], alter[i], edge[i], asked[i]
            j += 1
    return helper, seeker, row, ask


def aware_rows(aware: np.ndarray, h, asked: np.ndarray):
    """The half-edges ``h`` flagged ``aware``, as ``(helper, seeker, tie row, asked)``
    (helper and seeker as int64), in one pass.

    Args:
        aware: boolean per half-edge.
        h: the half-edges (ego: the helper, alter: the seeker).
        asked: boolean per half-edge.

    Returns:
        The four columns of the flagged half-edges, in order.
    """
    return _aware_rows(aware, h.ego, h.alter, h.edge, asked)


@numba.njit(cache=True, nogil=True)
def _applications_in_sector(workers, n_apps, sector, sector_start):
    total = 0
    for i in range(len(workers)):
        s = sector[workers[i]]
        if sector_start[s + 1] > sector_start[s]:
            total += n_apps[i]
    app = np.empty(total, dtype=np.int64)
    lo = np.empty(total, dtype=np.int64)
    size = np.empty(total, dtype=np.int64)
    j = 0
    for i in range(len(workers)):
        s = sector[workers[i]]
        a, b = sector_start[s], sector_start[s + 1]
        if b > a:
            for _ in range(n_apps[i]):
                app[j], lo[j], size[j] = workers[i], a, b - a
                j += 1
    return app, lo, size


def applications_in_sector(workers: np.ndarray, n_apps: np.ndarray, sector: np.ndarray,
                           sector_start: np.ndarray):
    """Each worker's ``n_apps`` applications (in order, a worker's next to each other) whose
    sector has an open position, with that sector's block of the sorted open positions:
    ``np.repeat(workers, n_apps)`` without the applications of sectors with none, in one
    pass.

    Args:
        workers: the applicants.
        n_apps: applications of each.
        sector: each worker's sector.
        sector_start: the first open position of each sector (and the end), indices into
            the sorted open positions.

    Returns:
        ``(worker, lo, size)`` per application: the applicant, the first open position of
        the sector and their number.
    """
    return _applications_in_sector(np.ascontiguousarray(workers, dtype=np.int64),
                                   np.ascontiguousarray(n_apps, dtype=np.int64), sector,
                                   sector_start)


@numba.njit(cache=True, nogil=True)
def _keep_applications(app, idx, open_pos, pos_firm, employed, last_employer, employer, recall):
    m = len(app)
    w_out = np.empty(m, dtype=np.int64)
    p_out = np.empty(m, dtype=open_pos.dtype)
    k = 0
    for i in range(m):
        w = app[i]
        p = open_pos[idx[i]]
        firm = pos_firm[p]
        if employed[w]:
            if firm == employer[w]:
                continue
        elif recall and firm == last_employer[w]:
            continue
        w_out[k], p_out[k] = w, p
        k += 1
    return w_out[:k], p_out[:k]


def keep_applications(app: np.ndarray, idx: np.ndarray, open_pos: np.ndarray,
                      pos_firm: np.ndarray, employed: np.ndarray, last_employer: np.ndarray,
                      employer: np.ndarray, recall: bool) -> tuple[np.ndarray, np.ndarray]:
    """The applications ``app`` to the open positions ``open_pos[idx]`` that are kept: not
    an employed applicant's to the own firm, nor (with ``recall``) an unemployed one's to
    the last employer; in one pass.

    Args:
        app: the applicant of each application.
        idx: its index into ``open_pos``.
        open_pos: the open positions.
        pos_firm: each position's firm.
        employed, last_employer, employer: per worker.
        recall: whether recalls are enabled.

    Returns:
        ``(worker, position)`` of the kept applications, in order.
    """
    return _keep_applications(app, np.ascontiguousarray(idx, dtype=np.int64), open_pos,
                              pos_firm, employed, last_employer, employer, bool(recall))


@numba.njit(cache=True, nogil=True)
def _recall_candidates(employed, ti_unemployed, last_employer, vacancies, week, horizon):
    out = np.empty(len(employed), dtype=np.int64)
    k = 0
    for w in range(len(employed)):
        since = week - np.int64(ti_unemployed[w])
        last = last_employer[w]
        if (not employed[w] and since > 0 and last >= 0 and (horizon < 0 or since <= horizon)
                and vacancies[last] > 0):
            out[k] = w
            k += 1
    return out[:k]


def recall_candidates(employed: np.ndarray, ti_unemployed: np.ndarray,
                      last_employer: np.ndarray, vacancies: np.ndarray, week: int,
                      horizon: int) -> np.ndarray:
    """The workers a recall may reach this week, in one pass: not employed, separated at
    least a week ago (``ti_unemployed < week``), from a firm (``last_employer >= 0``) that
    has an open position, and, if ``horizon >= 0``, at most ``horizon`` weeks ago.

    Args:
        employed, ti_unemployed, last_employer: per worker.
        vacancies: open positions per firm.
        week: the current week.
        horizon: the last week since the separation that counts (-1: no limit).

    Returns:
        The workers' ids, sorted.
    """
    return _recall_candidates(employed, ti_unemployed, last_employer, vacancies, int(week),
                              int(horizon))


@numba.njit(cache=True, nogil=True)
def _separate(employed, employer, slot, u, v, shocked, separation_rate, layoff_fraction,
              pos_state, pos_holder, open_code, closed_code):
    n = len(employed)
    lost = np.empty(n, dtype=np.int64)
    laid = np.empty(n, dtype=np.bool_)
    k = 0
    for w in range(n):
        if not employed[w]:
            continue
        if u[w] < separation_rate:
            layoff = False
        elif employer[w] >= 0 and shocked[employer[w]] and v[w] < layoff_fraction:
            layoff = True
        else:
            continue
        pos_state[slot[w]] = closed_code if layoff else open_code
        pos_holder[slot[w]] = -1
        lost[k] = w
        laid[k] = layoff
        k += 1
    return lost[:k], laid[:k]


def separate(employed: np.ndarray, employer: np.ndarray, slot: np.ndarray, u: np.ndarray,
             v: np.ndarray, shocked: np.ndarray, separation_rate: float,
             layoff_fraction: float, pos_state: np.ndarray, pos_holder: np.ndarray,
             open_code: int, closed_code: int) -> tuple[np.ndarray, np.ndarray]:
    """The week's separations, in one pass over the workers: an employed worker quits if
    ``u < separation_rate`` (the position opens), else is laid off if the firm is
    ``shocked`` and ``v < layoff_fraction`` (the position closes); the positions are
    updated in place.

    Args:
        employed, employer, slot: per worker.
        u, v: per worker, the week's uniform draws.
        shocked: per firm, a mass layoff this week.
        separation_rate, layoff_fraction: the market's rates.
        pos_state, pos_holder: per position (updated).
        open_code, closed_code: the states of an open and a closed position.

    Returns:
        ``(lost, laid_off)``: the workers who lost their job (sorted) and whether each was
        laid off.
    """
    return _separate(employed, employer, slot, u, v, shocked, float(separation_rate),
                     float(layoff_fraction), pos_state, pos_holder, open_code, closed_code)


@numba.njit(cache=True, nogil=True)
def _hearing(employed, employer, vacancies, u, prob):
    out = np.empty(len(employed), dtype=np.int64)
    k = 0
    for w in range(len(employed)):
        if employed[w] and vacancies[employer[w]] > 0 and u[w] < prob:
            out[k] = w
            k += 1
    return out[:k]


def hearing(employed: np.ndarray, employer: np.ndarray, vacancies: np.ndarray, u: np.ndarray,
            prob: float) -> np.ndarray:
    """The employed workers at a firm with an open position who hear of an opening this
    week (``u < prob``), in one pass.

    Args:
        employed, employer: per worker.
        vacancies: open positions per firm.
        u: per worker, the week's uniform draw.
        prob: the probability of hearing.

    Returns:
        The workers' ids, sorted.
    """
    return _hearing(employed, employer, vacancies, u, float(prob))


@numba.njit(cache=True, nogil=True)
def _lead_weights(helper, seeker, row, asked, employer, last_employer, recall, strength,
                  ask_weight):
    m = len(helper)
    h_out = np.empty(m, dtype=helper.dtype)
    s_out = np.empty(m, dtype=seeker.dtype)
    r_out = np.empty(m, dtype=row.dtype)
    weight = np.empty(m, dtype=np.float64)
    k = 0
    for i in range(m):
        if recall and employer[helper[i]] == last_employer[seeker[i]]:
            continue
        h_out[k], s_out[k], r_out[k] = helper[i], seeker[i], row[i]
        weight[k] = np.float64(strength[row[i]]) * (ask_weight if asked[i] else 1.0)
        k += 1
    return h_out[:k], s_out[:k], r_out[:k], weight[:k]


def lead_weights(helper: np.ndarray, seeker: np.ndarray, row: np.ndarray, asked: np.ndarray,
                 employer: np.ndarray, last_employer: np.ndarray, recall: bool,
                 strength: np.ndarray, ask_weight: float):
    """The (helper, seeker) pairs that may carry a lead, and each one's weight, in one
    pass: with ``recall``, none whose helper works at the seeker's last employer; the
    weight is the tie's strength (as float64), times ``ask_weight`` if the seeker asked.

    Args:
        helper, seeker, row, asked: per pair, the helper, the seeker, the tie's row and
            whether the seeker asked.
        employer, last_employer: per worker.
        recall: whether recalls are enabled.
        strength: per tie.
        ask_weight: the weight of an ask.

    Returns:
        ``(helper, seeker, row, weight)`` of the kept pairs, in order.
    """
    return _lead_weights(helper, seeker, row, asked, employer, last_employer, bool(recall),
                         strength, float(ask_weight))


@numba.njit(cache=True, nogil=True)
def _seeker_knows(row, seeker, a, knows_a, knows_b):
    out = np.empty(len(row), dtype=knows_a.dtype)
    for i in range(len(row)):
        r = row[i]
        out[i] = knows_a[r] if a[r] == seeker[i] else knows_b[r]
    return out


def seeker_knows(row: np.ndarray, seeker: np.ndarray, ties) -> np.ndarray:
    """How well the other end of each tie ``row`` knows the work of ``seeker`` (one of
    its ends): ``knows_a`` if the seeker is end ``a``, else ``knows_b``; in one pass.

    Args:
        row: tie rows.
        seeker: one end of each.
        ties: the tie store.

    Returns:
        The knows-work values (float32).
    """
    return _seeker_knows(row, seeker, ties.a, ties.knows_a, ties.knows_b)


@numba.njit(cache=True, nogil=True)
def _partners_across_markets(src, same, r, sector, sector_start, by_sector, n):
    out = np.empty(len(src), dtype=by_sector.dtype)
    for i in range(len(src)):
        s = sector[src[i]]
        lo, hi = sector_start[s], sector_start[s + 1]
        size = hi - lo
        others = n - size
        if same[i] or others == 0:
            idx = lo + np.int64(r[i] * size)
        else:
            idx = np.int64(r[i] * others)
            if idx >= lo:
                idx += size  # skip the own sector's block
        out[i] = by_sector[idx]
    return out


def partners_across_markets(src: np.ndarray, same: np.ndarray, r: np.ndarray,
                            sector: np.ndarray, sector_start: np.ndarray,
                            by_sector: np.ndarray, n_workers: int) -> np.ndarray:
    """A random partner for each ``src`` from its uniform draw ``r`` (in [0, 1)): in its
    own sector where ``same`` (or where there is no other sector), else in another sector
    (the other sectors' workers numbered without the own sector's block); in one pass.

    Args:
        src: the workers looking for a partner.
        same: whether each looks in its own sector.
        r: one uniform draw per worker.
        sector: each worker's sector.
        sector_start: where each sector's block starts in ``by_sector`` (one more entry
            than sectors).
        by_sector: the workers in sector order.
        n_workers: number of workers.

    Returns:
        The partners (``by_sector``'s dtype).
    """
    return _partners_across_markets(src, same, r, sector, sector_start, by_sector,
                                    int(n_workers))
