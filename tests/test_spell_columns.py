"""The spell columns of "who gains" (issue 11, point 6): ``cause`` and
``contacts_employed_share_at_start``, checked against counts made by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.core.config import build_config
from sim.core.model import LabourMarket
from sim.core.reference import ReferenceMarket
from sim.results.contract import CAUSES, SPELL_COLUMNS
from tests.conftest import legacy, mix, small


def test_cause_counts_equal_the_weekly_separations_and_layoffs():
    """Spells begun in week w with cause=layoff are that week's mass layoffs; the others
    are the rest of the week's separations; spells of the workers unemployed at the start
    have no cause."""
    m = LabourMarket(small(n_workers=2000, weeks=60, burn_in=0, seed=3, strategy=mix(lions=1.0),
                           market__firm_shock_rate=0.01, market__layoff_fraction=0.5)).run()
    sp, ts = m.spells_frame(), m.timeseries_frame()
    assert list(sp["cause"].cat.categories) == list(CAUSES)
    initial = sp["start_week"] < 0
    assert initial.any() and sp.loc[initial, "cause"].isna().all()
    begun = sp[~initial]
    assert begun["cause"].notna().all()
    by_week = begun.groupby(["start_week", "cause"], observed=False).size().unstack(fill_value=0)
    by_week = by_week.reindex(ts["week"], fill_value=0)
    assert ts["layoffs"].sum() > 20  # the test sees mass layoffs
    np.testing.assert_array_equal(by_week["layoff"].to_numpy(), ts["layoffs"].to_numpy())
    np.testing.assert_array_equal(by_week["separation"].to_numpy(),
                                  (ts["separations"] - ts["layoffs"]).to_numpy())


def test_contacts_employed_share_is_counted_after_the_weeks_separations():
    """Two workers who are contacts lose their jobs in the same week: each sees the other
    as unemployed. The share is employed contacts / contacts, counted by hand."""
    m = LabourMarket(small(n_workers=600, weeks=5, burn_in=5, seed=1, strategy=mix(everyone=1.0)))
    m.run()
    t = m.ties
    a, b = int(t.a[0]), int(t.b[0])
    if not (m.employed[a] and m.employed[b]):
        emp = np.flatnonzero(m.employed[t.a[: t.n]] & m.employed[t.b[: t.n]])
        a, b = int(t.a[emp[0]]), int(t.b[emp[0]])
    workers = np.array([a, b])
    hand = {}
    for w, other in ((a, b), (b, a)):
        contacts = np.r_[t.b[: t.n][t.a[: t.n] == w], t.a[: t.n][t.b[: t.n] == w]]
        employed = m.employed[contacts].copy()
        employed[contacts == other] = False  # the other one loses the job this same week
        hand[w] = employed.sum() / len(contacts)
    n0 = m.spells.n
    m._lose_jobs(workers, np.array([False, True]))
    got = m.spells.cols["contacts_employed_share_at_start"][n0:n0 + 2]
    np.testing.assert_allclose(got, [hand[a], hand[b]], rtol=1e-6)
    assert list(m.spells.cols["cause"][n0:n0 + 2]) == [0, 1]


def test_contacts_employed_share_is_null_exactly_without_contacts():
    """Null when the worker has no tie when the spell begins, a number in [0, 1] otherwise
    (a sparse network: no colleague, acquaintance or online tie to start with, so many
    workers have none)."""
    m = LabourMarket(small(n_workers=300, weeks=20, burn_in=0, seed=2, strategy=mix(passive=1.0),
                           ties__initial_colleagues=0, ties__initial_acquaintances=0,
                           ties__initial_online=0, ties__evolve=False)).run()
    sp = m.spells_frame()
    none = sp["degree_at_start"] == 0
    share = sp["contacts_employed_share_at_start"]
    assert none.any() and (~none).any()
    assert share[none].isna().all() and share[~none].between(0, 1).all()


def test_reference_model_writes_the_same_columns_and_definitions():
    """The reference (which runs the legacy configuration only, configs/preset/legacy.yaml)
    and the fast model (at the defaults) write the same columns with the same definitions."""
    over = {"n_workers": 400, "weeks": 20, "burn_in": 4, "seed": 4, "strategy": mix(lions=1.0),
            "market__firm_shock_rate": 0.01}
    ref = ReferenceMarket(legacy(**over)).run().spells_frame()
    fast = LabourMarket(small(**over)).run().spells_frame()
    assert list(ref.columns) == list(fast.columns) == list(SPELL_COLUMNS)
    for df in (ref, fast):
        share = df["contacts_employed_share_at_start"].dropna()
        assert len(share) and ((share >= 0) & (share <= 1)).all()
        assert set(df["cause"].dropna().astype(str)) <= set(CAUSES)
        assert isinstance(df["cause"].dtype, pd.CategoricalDtype)


class _Counted(LabourMarket):
    """Records, at each job loss, every tie of the job losers counted by brute force over
    the whole store (not through the neighbour index the model uses)."""

    def _lose_jobs(self, workers, layoff):
        if len(workers):
            t, th = self.ties, np.float32(self.cfg.ties.degree_min_strength)
            strong = t.strength >= th
            ends = np.concatenate([t.a[strong], t.b[strong]])
            self.expected = getattr(self, "expected", {})
            for w, k in zip(workers, (ends[:, None] == workers[None, :]).sum(0), strict=True):
                self.expected[(int(w), self.week)] = int(k)
            self.raw = getattr(self, "raw", {})
            self.raw.update({(int(w), self.week): int(d) for w, d in
                             zip(workers, t.degree()[workers], strict=True)})
        super()._lose_jobs(workers, layoff)


def test_degree_at_start_counts_only_ties_at_least_degree_min_strength():
    """At job loss, degree_at_start is the worker's number of ties with strength >=
    ``ties.degree_min_strength``, not every tie in memory (issue 17, point 3)."""
    m = _Counted(small(n_workers=1000, weeks=40, burn_in=30, seed=5,
                       strategy=mix(lions=0.5, everyone=0.5))).run()
    sp = m.spells_frame()
    sp = sp[sp["start_week"] >= -30]
    got = {(int(w), int(s)): int(d) for w, s, d in
           zip(sp["worker_id"], sp["start_week"], sp["degree_at_start"], strict=True)}
    assert len(got) > 100 and set(got) <= set(m.expected)
    assert all(got[k] == m.expected[k] for k in got)
    assert sum(m.raw[k] > got[k] for k in got) > len(got) / 2  # weak ties are left out


def test_initial_degree_at_start_leaves_out_ties_below_the_minimum_in_both_models():
    """At the start every tie has its kind's initial strength: with the default minimum
    (0.2) online ties (0.1) do not count and the others (>= 0.3) do, in the fast and the
    reference model alike (the fast model at the defaults, the reference in the legacy
    configuration, the only one it runs: the same ties' settings)."""
    over = {"n_workers": 400, "weeks": 1, "burn_in": 0, "seed": 6, "strategy": mix(lions=1.0)}
    cfg = build_config(small(**over))
    ref_cfg = build_config(legacy(**over))
    assert ref_cfg.ties == cfg.ties
    assert cfg.ties.strength.online < cfg.ties.degree_min_strength <= min(
        cfg.ties.strength.colleague, cfg.ties.strength.acquaintance)
    fast = LabourMarket(cfg)
    t = fast.ties
    rows = np.flatnonzero(~fast.employed)
    offline = t.kind != 3
    deg = (np.bincount(t.a[offline], minlength=400) + np.bincount(t.b[offline], minlength=400))
    np.testing.assert_array_equal(fast.spells.cols["degree_at_start"][fast.spell_row[rows]],
                                  deg[rows])
    ref = ReferenceMarket(ref_cfg)
    seekers = [w for w in ref.workers if w.spell is not None]
    assert len(seekers) > 5
    for w in seekers:
        kinds = [k for _, _, k in ref.graph.edges(w.wid, data="kind")]
        assert w.spell["degree_at_start"] == sum(k != "online" for k in kinds)
