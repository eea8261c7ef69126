"""Output buffers: unemployment spells and weekly market series.

Spells are events, appended as they happen into a growable column buffer
(amortised O(1) per spell); the weekly series are preallocated for the horizon.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.results.contract import CAUSES, CHANNELS, SPELL_RECORD, TIE_KINDS

FORMAL, LEAD, REFERRAL, RECALL = range(4)
#: channels through a contact (a helper and a tie are recorded)
CONTACT = (LEAD, REFERRAL)


def _nullable(values: np.ndarray, valid: np.ndarray) -> pd.arrays.IntegerArray:
    """Nullable Int32 column: ``values`` where ``valid``, missing elsewhere."""
    return pd.arrays.IntegerArray(np.where(valid, values, 0).astype(np.int32), ~valid)


class Spells:
    """Column buffer of unemployment spells (one row per spell)."""

    _COLUMNS = {name: dtype for name, (dtype, _meaning) in SPELL_RECORD.items()}
    _FILL = {"closed": False, "end_week": -1, "channel": -1, "helper_id": -1, "tie_kind": -1,
             "tie_strength": np.nan, "tie_common_neighbors": -1, "hired_by": -1}

    def __init__(self, capacity: int = 1024):
        self.n = 0
        self.cols = {k: np.zeros(capacity, dt) for k, dt in self._COLUMNS.items()}

    def open(self, worker_id, strategy, start_week, ability, sector, degree,
             last_employer=-1, cause=-1, contacts_employed=np.nan) -> np.ndarray:
        """Open spells for the given workers; returns their row numbers.

        ``last_employer`` is the firm each worker was just separated from (-1: none),
        ``cause`` the code of :data:`~sim.results.contract.CAUSES` (-1: unknown) and
        ``contacts_employed`` the share of the worker's contacts employed (NaN: none).
        """
        k = len(worker_id)
        if self.n + k > len(self.cols["worker_id"]):
            cap = max(self.n + k, int(1.5 * len(self.cols["worker_id"])) + 16)
            for name, arr in self.cols.items():
                new = np.zeros(cap, arr.dtype)
                new[: self.n] = arr[: self.n]
                self.cols[name] = new
        s = slice(self.n, self.n + k)
        c = self.cols
        c["worker_id"][s], c["strategy"][s], c["start_week"][s] = worker_id, strategy, start_week
        c["ability"][s], c["sector"][s], c["degree_at_start"][s] = ability, sector, degree
        c["left_truncated"][s] = False
        c["last_employer"][s] = last_employer
        c["cause"][s], c["contacts_employed_share_at_start"][s] = cause, contacts_employed
        for name, v in self._FILL.items():
            c[name][s] = v
        self.n += k
        return np.arange(s.start, s.stop, dtype=np.int64)

    def close(self, rows, week, channel, helper_id, tie_kind, tie_strength, tie_common,
              hired_by=-1) -> None:
        """Close spells ``rows`` with a hire in ``week`` through ``channel`` by firm
        ``hired_by`` (-1: no firm, jobs=exogenous)."""
        c = self.cols
        c["closed"][rows] = True
        c["end_week"][rows] = week
        c["channel"][rows] = channel
        c["helper_id"][rows] = helper_id
        c["tie_kind"][rows] = tie_kind
        c["tie_strength"][rows] = tie_strength
        c["tie_common_neighbors"][rows] = tie_common
        c["hired_by"][rows] = hired_by

    def mark_left_truncated(self, rows) -> None:
        self.cols["left_truncated"][rows] = True

    def frame(self, horizon: int, strategy_names: list[str]) -> pd.DataFrame:
        """Spells that started or were running during weeks ``[0, horizon)``.

        ``duration_weeks`` runs to the week of the hire, or, for censored spells, to
        the last simulated week ``horizon - 1``.
        """
        c = {k: v[: self.n] for k, v in self.cols.items()}
        # drop spells that ended before week 0 (during burn-in)
        keep = ~c["closed"] | (c["end_week"] >= 0)
        c = {k: v[keep] for k, v in c.items()}
        done = c["closed"]
        net = done & np.isin(c["channel"], CONTACT)
        # a censored spell was searched through the last simulated week, horizon - 1
        end = np.where(done, c["end_week"], horizon - 1)

        def cat(codes, names, valid):
            return pd.Categorical.from_codes(np.where(valid, codes, -1).astype(np.int64),
                                             categories=list(names))

        return pd.DataFrame({
            "worker_id": c["worker_id"],
            "strategy": cat(c["strategy"], strategy_names, np.ones(len(end), bool)),
            "start_week": c["start_week"],
            "end_week": _nullable(c["end_week"], done),
            "duration_weeks": (end - c["start_week"]).astype(np.int32),
            "censored": ~done,
            "channel": cat(c["channel"], CHANNELS, done),
            "helper_id": _nullable(c["helper_id"], net),
            "tie_kind": cat(c["tie_kind"], TIE_KINDS, net),
            "tie_strength": np.where(net, c["tie_strength"], np.nan).astype(np.float32),
            "tie_common_neighbors": _nullable(c["tie_common_neighbors"], net),
            "left_truncated": c["left_truncated"],
            "ability": c["ability"],
            "sector": c["sector"],
            "degree_at_start": c["degree_at_start"],
            "last_employer": _nullable(c["last_employer"], c["last_employer"] >= 0),
            "hired_by": _nullable(c["hired_by"], done & (c["hired_by"] >= 0)),
            "cause": cat(c["cause"], CAUSES, c["cause"] >= 0),
            "contacts_employed_share_at_start": c["contacts_employed_share_at_start"],
        })


class Series:
    """Preallocated weekly market series."""

    def __init__(self, weeks: int, columns: list[str]):
        self.data = {k: np.zeros(weeks, np.float64) for k in columns}
        self.weeks = weeks

    def put(self, week: int, **values: float) -> None:
        for k, v in values.items():
            self.data[k][week] = v

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.data)
        df.insert(0, "week", np.arange(self.weeks, dtype=np.int32))
        for k in df.columns:
            if k.startswith(("n_", "hires", "separations", "layoffs", "applications_",
                             "shortlisted_", "offers_", "vacancies_filled",
                             "vacancy_weeks_filled", "job_to_job")):
                df[k] = df[k].astype(np.int64)
        return df
