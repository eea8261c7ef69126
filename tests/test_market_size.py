"""Results that do not depend on how many workers are simulated (issue 15).

With the size of a local labour market fixed (``market.market_size``), adding workers
adds markets rather than enlarging them, so a small run and a run ten times larger
estimate the same headline outcomes; only their noise differs. The test compares them
with a tolerance from the variance between seeds (Welch's t on the per-seed values),
at the default population (``+strategy=mixed``) and a market of 1,000 workers, the
size at which ``benchmarks/market_size.py`` found the outcomes converged (docs/ODD.md
section 2, *Markets*). With ``market_size`` unset (the legacy fixed 10 sectors) the
same comparison fails: the market grows with ``n_workers``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.core.model import LabourMarket
from sim.results.metrics import headline

SEEDS = range(4)
MARKET = 1000
OUTCOMES = ("share_reemployed_4w", "share_hires_contacts", "unemployment", "gap_4w")


def _outcomes(n_workers: int, seed: int, market_size: int | None) -> dict[str, float]:
    cfg = {"n_workers": n_workers, "weeks": 156, "burn_in": 104, "seed": seed,
           "market": {"market_size": market_size},
           "strategy": {"name": "mixed", "shares": {"lions": 0.5, "everyone": None}}}
    m = LabourMarket(cfg).run()
    h = headline(m.spells_frame(), m.strategy_names)
    return {"share_reemployed_4w": h["all"]["share_reemployed_4w"],
            "share_hires_contacts": h["all"]["share_hires_contacts"],
            "unemployment": float(m.timeseries_frame()["unemployment_rate"].mean()),
            # lions - everyone within the run: the comparison the project exists for
            "gap_4w": h["lions"]["share_reemployed_4w"] - h["everyone"]["share_reemployed_4w"]}


def _compare(small: int, large: int, market_size: int | None) -> dict[str, float]:
    a = [_outcomes(small, s, market_size) for s in SEEDS]
    b = [_outcomes(large, s, market_size) for s in SEEDS]
    return {k: stats.ttest_ind([x[k] for x in a], [x[k] for x in b], equal_var=False).pvalue
            for k in OUTCOMES}


@pytest.mark.slow
def test_a_run_ten_times_larger_gives_the_same_outcomes_at_a_fixed_market_size():
    """5,000 against 50,000 workers in markets of 1,000 (4 seeds each): no headline
    outcome differs beyond the seed noise (Welch's t, every p-value above 0.01; with 4
    outcomes the chance that one falls below by chance is about 4 %)."""
    p = _compare(5_000, 50_000, MARKET)
    assert all(v > 0.01 for v in p.values()), p


@pytest.mark.slow
def test_the_legacy_setting_ties_the_market_to_the_number_of_workers():
    """The control: with market_size unset (10 sectors whatever n_workers is) the same
    comparison finds a difference: the contact share of hires falls as each sector grows
    from 500 to 5,000 workers."""
    p = _compare(5_000, 50_000, None)
    assert p["share_hires_contacts"] < 0.01, p
    assert np.isfinite(list(p.values())).all()
