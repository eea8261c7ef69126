"""The hiring funnel (``funnel.enabled``): vacancies that collect applications over weeks.

Every application waits in the *pool* of one open vacancy (a position). Now and then
the firm screens a vacancy's pool: it shortlists (interviews) the best signals, with
referred applicants first if ``funnel.referral_priority``, and offers the position to
the best shortlisted applicant whose signal reaches ``hiring.threshold``. A worker
with several offers takes the best; the vacancies of the declined offers stay open.
After a screening the pool keeps only the shortlisted applicants above the threshold
who were not offered the job (the runners-up); the others are rejected.

This module holds the pool and the pure array steps of a screening, so that they can
be checked by hand (``tests/test_funnel.py``); the model (:mod:`sim.core.model`)
draws the applications, decides which vacancies are screened and makes the hires.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numba
import numpy as np

from sim.core.kernels import runs
from sim.core.records import REFERRAL


@dataclass
class Pool:
    """Applications waiting at open vacancies, one row each.

    Attributes:
        pos: the vacancy (position) applied to.
        opened: week that vacancy opened (a row is stale once the position was filled,
            even if it reopened since).
        worker: the applicant.
        spell: the applicant's key when applying: the spell row while unemployed,
            ``-2 - slot`` while employed (on-the-job search); a row is stale once the key
            changed (the spell ended, the job was lost, the applicant moved).
        signal: the firm's signal of the applicant's ability.
        channel: formal, lead or referral (codes of :mod:`sim.core.records`).
        helper: the contact who passed the lead or referred (-1 for formal).
        listed: the application was shortlisted at an earlier screening (a runner-up).
    """

    pos: np.ndarray
    opened: np.ndarray
    worker: np.ndarray
    spell: np.ndarray
    signal: np.ndarray
    channel: np.ndarray
    helper: np.ndarray
    listed: np.ndarray

    @classmethod
    def empty(cls) -> Pool:
        """A pool without applications."""
        return cls(np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, np.int64),
                   np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.int8),
                   np.empty(0, np.int64), np.empty(0, bool))

    def __len__(self) -> int:
        return len(self.pos)

    def take(self, idx: np.ndarray) -> Pool:
        """The rows ``idx`` (indices or a boolean mask), as a new pool."""
        if idx.dtype == np.bool_:  # (the indices found once, not once per column)
            idx = np.flatnonzero(idx)
        return Pool(*_take(idx, *(getattr(self, f.name) for f in fields(self))))

    def extend(self, other: Pool) -> Pool:
        """This pool's rows followed by ``other``'s, as a new pool."""
        return Pool(*(np.concatenate([getattr(self, f.name), getattr(other, f.name)])
                      for f in fields(self)))


@numba.njit(cache=True, nogil=True)
def _take(idx, pos, opened, worker, spell, signal, channel, helper, listed):
    """The rows ``idx`` of the pool's columns (what indexing each with ``idx`` gives), in
    one pass."""
    k = len(idx)
    out = (np.empty(k, pos.dtype), np.empty(k, opened.dtype), np.empty(k, worker.dtype),
           np.empty(k, spell.dtype), np.empty(k, signal.dtype), np.empty(k, channel.dtype),
           np.empty(k, helper.dtype), np.empty(k, listed.dtype))
    n = len(pos)
    for q in range(k):
        r = idx[q]
        if r < 0:  # (a negative index counts from the end, as in numpy)
            r += n
        if r < 0 or r >= n:
            raise IndexError("index out of bounds")
        out[0][q], out[1][q], out[2][q], out[3][q] = pos[r], opened[r], worker[r], spell[r]
        out[4][q], out[5][q], out[6][q], out[7][q] = signal[r], channel[r], helper[r], listed[r]
    return out


@numba.njit(cache=True, inline="always")
def _key(employed_w, slot_w, spell_row_w):
    """An applicant's key: the open spell's row while unemployed, ``-2 - slot`` while
    employed (never a spell row), so an application goes stale when it changes."""
    return -2 - np.int64(slot_w) if employed_w else np.int64(spell_row_w)


@numba.njit(cache=True, nogil=True)
def applicant_keys(workers, employed, slot, spell_row):
    """The key (:func:`_key`) of each of ``workers`` given per worker whether employed,
    the position held and the open spell's row; what :func:`live_rows` checks."""
    out = np.empty(len(workers), dtype=np.int64)
    for i in range(len(workers)):
        w = workers[i]
        out[i] = _key(employed[w], slot[w], spell_row[w])
    return out


def live_rows(pool: Pool, pos_state: np.ndarray, open_code: int, opened_week: np.ndarray,
              employed: np.ndarray, slot: np.ndarray, spell_row: np.ndarray) -> np.ndarray:
    """Indices of the rows still valid: the vacancy is open and has not been
    filled since the application (it opened in the same week), and the applicant's key
    (:func:`applicant_keys`, given to an application when it is made) has not changed.

    Args:
        pool: the applications.
        pos_state: per position, its state (``open_code`` if open).
        open_code: the state of an open position.
        opened_week: per position, the week it opened.
        employed, slot, spell_row: per worker, whether employed, the position held and the
            row of the open spell.

    Returns:
        The valid rows' indices, in row order.
    """
    return _live_rows_keyed(pool.pos, pool.opened, pool.worker, pool.spell, pos_state,
                            open_code, opened_week, _worker_keys(employed, slot, spell_row))


def merge(pool: Pool, new: Pool, pos_state: np.ndarray, open_code: int,
          opened_week: np.ndarray, employed: np.ndarray, slot: np.ndarray,
          spell_row: np.ndarray, keep: np.ndarray | None = None) -> Pool:
    """This week's pool: the rows of ``pool`` followed by those of ``new`` that are still
    valid (:func:`live_rows`), one per (vacancy, worker), the best signal (the first such
    row on a tie), sorted by vacancy, then worker. The same rows in the same order as
    ``p.take(live[best_per_pair(p.pos[live], p.worker[live], p.signal[live])])`` of
    ``p = pool.extend(new)`` and its live rows ``live`` (of ``pool.take(keep)`` and ``new``
    if ``keep`` is given).

    A ``pool`` sorted by (vacancy, worker) with one row per pair (as the model keeps it)
    is merged with the sorted new rows in one compiled pass (:func:`_merge_sorted`),
    without concatenating or sorting the whole pool; any other (or columns of other
    types) the way above.

    Args:
        pool: the applications kept from last week.
        new: this week's applications.
        pos_state, open_code, opened_week, employed, slot, spell_row: as for
            :func:`live_rows`.
        keep: boolean per row of ``pool``: the rows kept from it (None: all), so that
            dropping rows after a screening needs no copy of the pool.

    Returns:
        The merged pool (new arrays).
    """
    args = (pos_state, open_code, opened_week, employed, slot, spell_row)
    cols = [f.name for f in fields(Pool)]
    if keep is None:
        keep = np.ones(len(pool), dtype=np.bool_)
    if all(getattr(pool, c).dtype == getattr(new, c).dtype for c in cols):
        # every worker's key, in one pass: each row then reads one array at its worker, not
        # three (the rows' workers are scattered: fewer cache misses)
        key_now = _worker_keys(employed, slot, spell_row)
        live_new = _live_rows_keyed(new.pos, new.opened, new.worker, new.spell, pos_state,
                                    open_code, opened_week, key_now)
        # the new rows by (vacancy, worker), a pair's rows in row order (n_workers bounds
        # the workers of every row: the model's worker arrays have one entry each)
        w = new.worker[live_new]
        order = live_new[stable_argsort(new.pos[live_new] * len(employed) + w)]
        out = _merge_sorted(*(getattr(pool, c) for c in cols), *(getattr(new, c) for c in cols),
                            order, pos_state, open_code, opened_week, key_now,
                            np.ascontiguousarray(keep, dtype=np.bool_))
        if out[0]:
            return Pool(*out[1:])
    p = pool.take(keep).extend(new)
    live = live_rows(p, *args)
    return p.take(live[best_per_pair(p.pos[live], p.worker[live], p.signal[live])])


@numba.njit(cache=True, nogil=True)
def _worker_keys(employed, slot, spell_row):
    """Every worker's key (:func:`_key`), in worker order."""
    out = np.empty(len(employed), dtype=np.int64)
    for w in range(len(employed)):
        out[w] = _key(employed[w], slot[w], spell_row[w])
    return out


@numba.njit(cache=True, nogil=True)
def _live_rows_keyed(pos, opened, worker, spell, pos_state, open_code, opened_week, key_now):
    """:func:`live_rows` given every worker's key ``key_now`` (:func:`_worker_keys`)."""
    out = np.empty(len(pos), dtype=np.int64)
    k = 0
    for i in range(len(pos)):
        p = pos[i]
        if pos_state[p] == open_code and opened_week[p] == opened[i]:
            if key_now[worker[i]] == spell[i]:
                out[k] = i
                k += 1
    return out[:k]


@numba.njit(cache=True, nogil=True)
def _merge_sorted(pos, opened, worker, spell, signal, channel, helper, listed,
                  n_pos, n_opened, n_worker, n_spell, n_signal, n_channel, n_helper, n_listed,
                  order, pos_state, open_code, opened_week, key_now, keep):
    """:func:`merge` of a pool whose live rows are sorted by (vacancy, worker), one per
    pair, with the new rows ``order`` (live, sorted by pair, a pair's rows in row order):
    ``key_now``: each worker's key (:func:`_worker_keys`); ``keep``: the old rows not
    dropped (a dropped row counts as not live). One merge pass picks the rows
    (on a pair in both, the old row unless a new one has a
    higher signal; among a pair's new rows the first with the best signal), a second
    gathers the columns. Returns ``(ok, columns...)``; not ``ok`` (and no rows) if the old
    live rows are not sorted by pair and distinct."""
    m = len(pos)
    k = len(order)
    idx = np.empty(m + k, dtype=np.int64)  # picked rows: old i, or new j as m + j
    c = 0
    i = 0
    j = 0
    last_p = last_w = p_o = w_o = np.int64(-1)
    ok = True
    while True:
        # the next live old row
        while i < m and not (keep[i] and pos_state[pos[i]] == open_code
                             and opened_week[pos[i]] == opened[i]
                             and key_now[worker[i]] == spell[i]):
            i += 1
        if i < m:
            p_o, w_o = np.int64(pos[i]), np.int64(worker[i])
            if p_o < last_p or (p_o == last_p and w_o <= last_w):
                ok = False  # not sorted by pair, or a pair twice
                c = 0
                break
        if j >= k:
            if i >= m:
                break
            idx[c] = i
            c += 1
            last_p, last_w = p_o, w_o
            i += 1
            continue
        r = order[j]
        p_n, w_n = np.int64(n_pos[r]), np.int64(n_worker[r])
        if i < m and (p_o < p_n or (p_o == p_n and w_o < w_n)):
            idx[c] = i
            c += 1
            last_p, last_w = p_o, w_o
            i += 1
            continue
        # the new pair's best row (the first on equal signals)
        best = r
        j += 1
        while j < k and n_pos[order[j]] == p_n and n_worker[order[j]] == w_n:
            if n_signal[order[j]] > n_signal[best]:
                best = order[j]
            j += 1
        if i < m and p_o == p_n and w_o == w_n:
            idx[c] = m + best if n_signal[best] > signal[i] else i
            i += 1
        else:
            idx[c] = m + best
        c += 1
        last_p, last_w = p_n, w_n
    o_pos = np.empty(c, dtype=pos.dtype)
    o_opened = np.empty(c, dtype=opened.dtype)
    o_worker = np.empty(c, dtype=worker.dtype)
    o_spell = np.empty(c, dtype=spell.dtype)
    o_signal = np.empty(c, dtype=signal.dtype)
    o_channel = np.empty(c, dtype=channel.dtype)
    o_helper = np.empty(c, dtype=helper.dtype)
    o_listed = np.empty(c, dtype=listed.dtype)
    for q in range(c):
        r = idx[q]
        if r < m:
            o_pos[q], o_opened[q], o_worker[q], o_spell[q] = pos[r], opened[r], worker[r], spell[r]
            o_signal[q], o_channel[q], o_helper[q], o_listed[q] = (signal[r], channel[r],
                                                                   helper[r], listed[r])
        else:
            r -= m
            o_pos[q], o_opened[q], o_worker[q] = n_pos[r], n_opened[r], n_worker[r]
            o_spell[q], o_signal[q], o_channel[q] = n_spell[r], n_signal[r], n_channel[r]
            o_helper[q], o_listed[q] = n_helper[r], n_listed[r]
    return ok, o_pos, o_opened, o_worker, o_spell, o_signal, o_channel, o_helper, o_listed


def best_per_pair(group: np.ndarray, worker: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """Indices of one row per (group, worker): the best signal (the first such row on a tie).

    Args:
        group: vacancy (or firm) of each row.
        worker: applicant of each row.
        signal: signal of each row.

    Returns:
        The kept row indices, sorted by group, then worker.
    """
    if len(group) == 0:
        return np.empty(0, np.int64)
    # one integer key per pair; a stable sort keeps equal keys in row order
    w = worker.astype(np.int64)
    key = group.astype(np.int64) * (int(w.max()) + 1) + w
    order = stable_argsort(key)
    # per run of equal keys (a pair's rows, in row order) the best signal, the first on a tie
    return _best_of_runs(order, key, np.ascontiguousarray(signal, dtype=np.float64))


@numba.njit(cache=True, nogil=True)
def _best_of_runs(order, key, signal):
    """The entries of ``order`` (rows sorted by ``key``, equal keys in row order) that keep
    one row per key: the best signal, the first on equal signals."""
    n = len(order)
    out = np.empty(n, dtype=np.int64)
    c = 0
    i = 0
    while i < n:
        best = order[i]
        j = i + 1
        while j < n and key[order[j]] == key[order[i]]:
            if signal[order[j]] > signal[best]:
                best = order[j]
            j += 1
        out[c] = best
        c += 1
        i = j
    return out[:c]


def stable_argsort(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")``, about three times faster: the keys made unique
    by their row (``key * n + row``) are sorted by value (numpy's vectorised sort), which
    gives the rows of equal keys in row order; numpy's stable argsort where that could
    overflow.

    Args:
        key: integer keys.

    Returns:
        The indices that sort ``key``, equal keys in row order.
    """
    n = len(key)
    if n == 0:
        return np.empty(0, np.int64)
    k = key.astype(np.int64)
    if max(abs(int(k.min())), abs(int(k.max()))) >= 2**62 // n:
        return np.argsort(k, kind="stable")
    unique = k * n + np.arange(n)
    unique.sort()
    return unique % n


def screen(pool: Pool, screened: np.ndarray, shortlist: int, threshold: float,
           priority: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Screen the pools of the vacancies whose rows are marked ``screened``.

    Within each screened vacancy the rows are ranked by signal (referrals first if
    ``priority``; on equal keys the earlier row first); the first ``shortlist`` are
    shortlisted, and the offer goes to the shortlisted row with the best signal at or
    above ``threshold`` (none if there is none; on equal signals the higher-ranked row).
    Signals are finite. A pool sorted by vacancy (as the model keeps it) is screened in
    one compiled pass (:func:`_screen_sorted`); any other by sorting its screened rows
    (:func:`_screen_by_sorting`, the same result).

    Args:
        pool: the applications (one row per vacancy and worker).
        screened: boolean per row: its vacancy is screened this week.
        shortlist: rows shortlisted per screened vacancy.
        threshold: lowest signal that gets an offer.
        priority: referred applicants are shortlisted before all others.

    Returns:
        ``(shortlisted, offer, runner_up)``: boolean masks over the rows: shortlisted at
        this screening; offered the position; shortlisted at or above the threshold but
        not offered (kept in the pool, every other screened row is rejected).
    """
    n = len(pool)
    shortlisted = np.zeros(n, bool)
    offer = np.zeros(n, bool)
    if not screened.any():
        return shortlisted, offer, np.zeros(n, bool)
    if _ascending(pool.pos):
        not_ref = _not_referral(pool.channel, REFERRAL, bool(priority))
        _screen_sorted(pool.pos, pool.signal, not_ref,
                       np.ascontiguousarray(screened, dtype=np.bool_), int(shortlist),
                       float(threshold), shortlisted, offer)
    else:
        _screen_by_sorting(pool, screened, shortlist, threshold, priority, shortlisted, offer)
    runner_up = shortlisted & ~offer & (pool.signal >= threshold)
    return shortlisted, offer, runner_up


@numba.njit(cache=True, nogil=True)
def _ascending(x):
    """Whether ``x`` is sorted (non-decreasing), without numpy's temporary arrays."""
    for i in range(1, len(x)):
        if x[i] < x[i - 1]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _not_referral(channel, referral, priority):
    """Per row: not a referral (all False without ``priority``: no row goes first)."""
    out = np.zeros(len(channel), dtype=np.bool_)
    if priority:
        for i in range(len(channel)):
            out[i] = channel[i] != referral
    return out


@numba.njit(cache=True, nogil=True)
def _screen_sorted(pos, signal, not_ref, screened, shortlist, threshold, shortlisted, offer):
    """:func:`screen` of a pool sorted by vacancy (``pos``), vacancy by vacancy: the
    screened rows' ``shortlist`` best by (``not_ref``, signal descending, row) are kept by
    insertion, then the offer goes to the first of them with the best signal at or above
    ``threshold``. Sets ``shortlisted`` and ``offer`` (all False on entry) in place."""
    n = len(pos)
    top = np.empty(max(shortlist, 1), dtype=np.int64)  # a vacancy's shortlist, ranked
    i = 0
    while i < n:
        c = 0
        j = i
        while j < n and pos[j] == pos[i]:
            if screened[j]:
                # rank of row j among those so far: after every row ranked at least as high
                q = min(c, shortlist)
                while q > 0 and (not_ref[j] < not_ref[top[q - 1]] or (
                        not_ref[j] == not_ref[top[q - 1]] and signal[j] > signal[top[q - 1]])):
                    q -= 1
                if q < shortlist:
                    for m in range(min(c, shortlist - 1), q, -1):
                        top[m] = top[m - 1]
                    top[q] = j
                    c += 1
            j += 1
        best = -1
        for m in range(min(c, shortlist)):
            r = top[m]
            shortlisted[r] = True
            if signal[r] >= threshold and (best < 0 or signal[r] > signal[best]):
                best = r
        if best >= 0:
            offer[best] = True
        i = j


def _screen_by_sorting(pool: Pool, screened: np.ndarray, shortlist: int, threshold: float,
                       priority: bool, shortlisted: np.ndarray, offer: np.ndarray) -> None:
    """:func:`screen` of any pool, by sorting its screened rows (sets the masks in place)."""
    idx = np.flatnonzero(screened)
    sig = pool.signal[idx]
    first_key = (pool.channel[idx] != REFERRAL) if priority else np.zeros(len(idx), bool)
    order = idx[np.lexsort((np.arange(len(idx)), -sig, first_key, pool.pos[idx]))]
    p = pool.pos[order]
    rank = runs(p)[1]  # each row's place in its vacancy's order
    listed = order[rank < shortlist]
    shortlisted[listed] = True
    # the offer: the best shortlisted signal of each vacancy, if it reaches the threshold
    ok = listed[pool.signal[listed] >= threshold]
    best = best_per_pair(pool.pos[ok], np.zeros(len(ok), np.int64), pool.signal[ok])
    offer[ok[best]] = True


def accept_best(worker: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """Indices of the offer each worker accepts: the one with the best signal.

    Args:
        worker: the worker of each offer.
        signal: the signal of each offer.

    Returns:
        The accepted offers' indices, one per worker (sorted by worker).
    """
    return best_per_pair(np.zeros(len(worker), np.int64), worker, signal)
