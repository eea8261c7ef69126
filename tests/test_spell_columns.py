"""The spell columns of "who gains" (issue 11, point 6): ``cause`` and
``contacts_employed_share_at_start``, checked against counts made by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.core.model import LabourMarket
from sim.core.reference import ReferenceMarket
from sim.results.contract import CAUSES, SPELL_COLUMNS
from tests.conftest import mix, small


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
    cfg = small(n_workers=400, weeks=20, burn_in=4, seed=4, strategy=mix(lions=1.0),
                market__firm_shock_rate=0.01)
    ref = ReferenceMarket(cfg).run().spells_frame()
    fast = LabourMarket(cfg).run().spells_frame()
    assert list(ref.columns) == list(fast.columns) == list(SPELL_COLUMNS)
    for df in (ref, fast):
        share = df["contacts_employed_share_at_start"].dropna()
        assert len(share) and ((share >= 0) & (share <= 1)).all()
        assert set(df["cause"].dropna().astype(str)) <= set(CAUSES)
        assert isinstance(df["cause"].dtype, pd.CategoricalDtype)
