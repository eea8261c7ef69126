"""The tie store: a weighted, evolving, undirected network held in edge arrays.

Each tie is one row of parallel arrays (endpoints ``a < b``, kind, strength,
how well each side knows the other's work, week created, requests for help).
Rows are allocated in a pool with spare capacity and compacted when ties are
pruned, so appending a week's new ties is amortised O(new ties). A sorted index
of pair keys (plus an unsorted tail of recent rows) answers "does this tie
exist?" without a Python loop.

Directed quantities are stored per side: ``knows_a`` is how well *b* knows
*a*'s work (what *b* could vouch for when recommending *a*); ``share_a`` is
the share of *a*'s networking hours that *a* puts into the tie, and ``asks_a``
whether *a* asks *b* for help while unemployed (both set by *a*'s strategy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import TIE_KINDS

COLLEAGUE, SUPERVISOR, ACQUAINTANCE, ONLINE = range(4)
KIND_NAMES = np.array(TIE_KINDS)
# when a tie is created again with another kind, the higher rank wins
KIND_RANK = np.array([2, 3, 1, 0], dtype=np.int8)
NEVER = np.int32(-(2**30))  # "no week" (employed workers' spell start)


@dataclass
class HalfEdges:
    """The ties of a set of egos, one row per (ego, tie).

    Attributes:
        edge: row of the tie in the store.
        ego: the worker whose tie it is.
        alter: the contact.
        ego_is_a: whether the ego is endpoint ``a`` of the tie.
    """

    edge: np.ndarray
    ego: np.ndarray
    alter: np.ndarray
    ego_is_a: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)

    def subset(self, mask: np.ndarray) -> HalfEdges:
        return HalfEdges(self.edge[mask], self.ego[mask], self.alter[mask], self.ego_is_a[mask])


class Ties:
    """Edge-array store of the network's ties.

    Args:
        n_workers: number of nodes (workers), used for pair keys.
        capacity: initial number of rows to allocate.
    """

    _COLUMNS = {
        "a": np.int32, "b": np.int32, "kind": np.int8, "strength": np.float32,
        "knows_a": np.float32, "knows_b": np.float32, "created": np.int32,
        "share_a": np.float32, "share_b": np.float32, "asks_a": np.bool_, "asks_b": np.bool_,
        "cowork": np.bool_,
    }

    def __init__(self, n_workers: int, capacity: int = 1024):
        self.n_workers = int(n_workers)
        self.n = 0
        for name, dt in self._COLUMNS.items():
            setattr(self, "_" + name, np.zeros(max(capacity, 16), dtype=dt))
        self._sorted_keys = np.empty(0, dtype=np.int64)
        self._sorted_rows = np.empty(0, dtype=np.int64)
        self._indexed = 0  # rows [0, _indexed) are in the sorted index and the CSR
        self._ptr = np.zeros(self.n_workers + 1, dtype=np.int64)  # CSR: worker -> tie rows
        self._adj = np.empty(0, dtype=np.int64)
        self._degree = np.zeros(self.n_workers, dtype=np.int32)  # kept up to date

    # ------------------------------------------------------------------ columns
    def __getattr__(self, name: str) -> np.ndarray:
        if name in Ties._COLUMNS:
            return self.__dict__["_" + name][: self.n]
        raise AttributeError(name)

    def keys(self, rows: slice | np.ndarray = slice(None)) -> np.ndarray:
        """Pair key ``a * n_workers + b`` of the given rows."""
        return self.a[rows].astype(np.int64) * self.n_workers + self.b[rows]

    # ------------------------------------------------------------------ lookup
    def find(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Row of the tie between each ``u[i]`` and ``v[i]``, or -1 if none."""
        lo, hi = np.minimum(u, v).astype(np.int64), np.maximum(u, v).astype(np.int64)
        q = lo * self.n_workers + hi
        out = np.full(len(q), -1, dtype=np.int64)
        if len(self._sorted_keys):
            pos = np.searchsorted(self._sorted_keys, q)
            pos_c = np.minimum(pos, len(self._sorted_keys) - 1)
            hit = self._sorted_keys[pos_c] == q
            out[hit] = self._sorted_rows[pos_c[hit]]
        if self.n > self._indexed:
            tail = self.keys(slice(self._indexed, self.n))
            order = np.argsort(tail, kind="stable")
            st = tail[order]
            pos = np.searchsorted(st, q)
            pos_c = np.minimum(pos, len(st) - 1)
            hit = st[pos_c] == q
            out[hit] = self._indexed + order[pos_c[hit]]
        return out

    def _reindex(self) -> None:
        """Merge the rows added since the last call into the pair-key index and the
        CSR neighbour index: a sort of the new rows and a linear merge, no re-sort."""
        lo, n = self._indexed, self.n
        if n == lo:
            return
        tail_keys = self.keys(slice(lo, n))
        order = np.argsort(tail_keys, kind="stable")
        pos = np.searchsorted(self._sorted_keys, tail_keys[order])
        self._sorted_keys = np.insert(self._sorted_keys, pos, tail_keys[order])
        self._sorted_rows = np.insert(self._sorted_rows, pos, lo + order)
        # CSR: a worker's new rows go at the end of its segment
        ends = np.concatenate([self.a[lo:n], self.b[lo:n]]).astype(np.int64)
        rows = np.tile(np.arange(lo, n, dtype=np.int64), 2)
        order = np.argsort(ends, kind="stable")
        ends, rows = ends[order], rows[order]
        self._adj = np.insert(self._adj, self._ptr[ends + 1], rows)
        added = np.bincount(ends, minlength=self.n_workers)
        self._ptr[1:] += np.cumsum(added)
        self._indexed = n

    # ------------------------------------------------------------------ mutation
    def _reserve(self, extra: int) -> None:
        need = self.n + extra
        cap = len(self._a)
        if need <= cap:
            return
        new_cap = max(need, int(cap * 1.5) + 16)
        for name in self._COLUMNS:
            old = self.__dict__["_" + name]
            arr = np.zeros(new_cap, dtype=old.dtype)
            arr[: self.n] = old[: self.n]
            self.__dict__["_" + name] = arr

    def add(self, u: np.ndarray, v: np.ndarray, kind: np.ndarray | int, strength: np.ndarray,
            knows_u: np.ndarray, knows_v: np.ndarray, week: int) -> np.ndarray:
        """Create ties (or reinforce existing ones) between ``u[i]`` and ``v[i]``.

        Self-ties and duplicates within the batch are dropped. Where a tie already
        exists, it keeps the higher-ranked kind and the larger strength and
        knows-work values. Returns the rows touched (new or existing), aligned
        with the kept pairs.
        """
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        m = len(u)
        kind = np.broadcast_to(np.asarray(kind, dtype=np.int8), (m,))
        strength = np.broadcast_to(np.asarray(strength, dtype=np.float32), (m,))
        knows_u = np.broadcast_to(np.asarray(knows_u, dtype=np.float32), (m,))
        knows_v = np.broadcast_to(np.asarray(knows_v, dtype=np.float32), (m,))
        keep = u != v
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        key = lo * self.n_workers + hi
        _, first = np.unique(np.where(keep, key, -1), return_index=True)
        sel = np.zeros(m, dtype=bool)
        sel[first] = True
        sel &= keep
        u, v, lo, hi = u[sel], v[sel], lo[sel], hi[sel]
        kind, strength, knows_u, knows_v = kind[sel], strength[sel], knows_u[sel], knows_v[sel]
        # knows of the a-side (lo) and b-side (hi)
        knows_lo = np.where(u == lo, knows_u, knows_v)
        knows_hi = np.where(u == lo, knows_v, knows_u)

        rows = self.find(lo, hi)
        old = rows >= 0
        if old.any():
            r = rows[old]
            upgrade = KIND_RANK[kind[old]] > KIND_RANK[self.kind[r]]
            self.kind[r[upgrade]] = kind[old][upgrade]
            np.maximum.at(self.strength, r, strength[old])
            np.maximum.at(self.knows_a, r, knows_lo[old])
            np.maximum.at(self.knows_b, r, knows_hi[old])
        new = ~old
        k = int(new.sum())
        if k:
            self._reserve(k)
            s = slice(self.n, self.n + k)
            self.n += k
            self.a[s], self.b[s] = lo[new], hi[new]
            self.kind[s], self.strength[s] = kind[new], strength[new]
            self.knows_a[s], self.knows_b[s] = knows_lo[new], knows_hi[new]
            self.created[s] = week
            self.share_a[s] = 0.0
            self.share_b[s] = 0.0
            self.asks_a[s] = False
            self.asks_b[s] = False
            self.cowork[s] = False
            rows[new] = np.arange(s.start, s.stop)
            self._degree += np.bincount(lo[new], minlength=self.n_workers).astype(np.int32)
            self._degree += np.bincount(hi[new], minlength=self.n_workers).astype(np.int32)
            if self.n - self._indexed > max(20_000, self._indexed // 16):
                self._reindex()
        return rows

    def prune(self, below: float) -> int:
        """Drop ties weaker than ``below``; returns how many were dropped.

        Rows keep their order, so both indexes are filtered and renumbered in
        linear time instead of being rebuilt.
        """
        self._reindex()
        keep = self.strength >= below
        k = int(keep.sum())
        if k == self.n:
            return 0
        new_row = np.cumsum(keep) - 1
        for name in self._COLUMNS:
            arr = self.__dict__["_" + name]
            arr[:k] = arr[: self.n][keep]
        alive = keep[self._sorted_rows]
        self._sorted_keys = self._sorted_keys[alive]
        self._sorted_rows = new_row[self._sorted_rows[alive]]
        alive = keep[self._adj]
        self._adj = new_row[self._adj[alive]]
        self._ptr = np.concatenate([[0], np.cumsum(alive)])[self._ptr]
        self._degree = np.diff(self._ptr).astype(np.int32)
        dropped, self.n, self._indexed = self.n - k, k, k
        return dropped

    # ------------------------------------------------------------------ queries
    def degree(self) -> np.ndarray:
        """Number of ties of each worker (maintained, not recomputed; do not modify)."""
        return self._degree

    def rows_of(self, workers: np.ndarray) -> HalfEdges:
        """Half-edges of the given workers (distinct ids), through the CSR index.

        Work is proportional to the workers' degrees plus the rows added since
        the index was last rebuilt, not to all ties.
        """
        w = np.asarray(workers, dtype=np.int64)
        start, stop = self._ptr[w], self._ptr[w + 1]
        counts = stop - start
        total = int(counts.sum())
        offs = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        rows = self._adj[np.repeat(start, counts) + offs]
        ego = np.repeat(w, counts)
        if self.n > self._indexed:
            member = np.zeros(self.n_workers, dtype=bool)
            member[w] = True
            tail = slice(self._indexed, self.n)
            ta, tb = self.a[tail], self.b[tail]
            ra = np.flatnonzero(member[ta])
            rb = np.flatnonzero(member[tb])
            rows = np.concatenate([rows, ra + self._indexed, rb + self._indexed])
            ego = np.concatenate([ego, ta[ra], tb[rb]])
        a = self.a[rows]
        ego_is_a = a == ego
        alter = np.where(ego_is_a, self.b[rows], a)
        return HalfEdges(rows, ego.astype(np.int32), alter, ego_is_a)

    def incident(self, egos_mask: np.ndarray) -> HalfEdges:
        """Half-edges of the egos flagged in ``egos_mask`` (one pass over all ties)."""
        a, b = self.a, self.b
        ra = np.flatnonzero(egos_mask[a])
        rb = np.flatnonzero(egos_mask[b])
        edge = np.concatenate([ra, rb])
        ego = np.concatenate([a[ra], b[rb]])
        alter = np.concatenate([b[ra], a[rb]])
        ego_is_a = np.concatenate([np.ones(len(ra), bool), np.zeros(len(rb), bool)])
        return HalfEdges(edge, ego, alter, ego_is_a)

    def set_plan(self, h: HalfEdges, share: np.ndarray, asks: np.ndarray) -> None:
        """Record each ego's share of hours for, and request of help from, each tie."""
        ia, ib = h.edge[h.ego_is_a], h.edge[~h.ego_is_a]
        self.share_a[ia], self.share_b[ib] = share[h.ego_is_a], share[~h.ego_is_a]
        self.asks_a[ia], self.asks_b[ib] = asks[h.ego_is_a], asks[~h.ego_is_a]

    def common_neighbors(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Number of common neighbours of each pair ``(u[i], v[i])`` (embeddedness).

        One pass over the ties plus sorting of the pairs' neighbourhoods; suited
        to batches of pairs (a week's hires, or all ties in chunks).
        """
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        out = np.zeros(len(u), dtype=np.int32)
        if len(u) == 0 or self.n == 0:
            return out
        h = self.rows_of(np.unique(np.concatenate([u, v])))
        keys = h.ego.astype(np.int64) * self.n_workers + h.alter
        keys.sort()
        # neighbours of each u, grouped: CSR over the half-edges sorted by ego
        order = np.argsort(h.ego, kind="stable")
        ego_sorted = h.ego[order]
        alter_sorted = h.alter[order].astype(np.int64)
        start = np.searchsorted(ego_sorted, u, side="left")
        stop = np.searchsorted(ego_sorted, u, side="right")
        counts = stop - start
        pair = np.repeat(np.arange(len(u)), counts)
        offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        nbr = alter_sorted[np.repeat(start, counts) + offs]
        q = v[pair] * self.n_workers + nbr
        pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
        found = (keys[pos] == q) & (nbr != v[pair])
        return np.bincount(pair[found], minlength=len(u)).astype(np.int32)

    def frame(self, week: int):
        """The ties as a pandas DataFrame (for ``ties.parquet``)."""
        import pandas as pd

        common = np.zeros(self.n, dtype=np.int32)
        chunk = 200_000
        for s in range(0, self.n, chunk):
            sl = slice(s, min(self.n, s + chunk))
            common[sl] = self.common_neighbors(self.a[sl], self.b[sl])
        return pd.DataFrame({
            "a": self.a.copy(), "b": self.b.copy(),
            "kind": pd.Categorical.from_codes(self.kind.astype(np.int64), TIE_KINDS),
            "strength": self.strength.copy(),
            "knows_a": self.knows_a.copy(), "knows_b": self.knows_b.copy(),
            "common_neighbors": common,
            "age_weeks": (week - self.created).astype(np.int32),
        })
