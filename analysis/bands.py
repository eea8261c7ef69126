"""Figure-level helpers on top of the run-level statistics of :mod:`analysis.stats`
and :mod:`analysis.survival`: runs (seeds) are the unit of inference.

The statistics themselves live there: per-run Kaplan-Meier curves with a
run-level band (:func:`analysis.survival.km_run_level`), per-run weekly hazards
(:func:`analysis.survival.hazard_per_run`), differences paired by seed and
averaged within seed over the other swept factors, Holm-adjusted across cells
(:func:`analysis.survival.strategy_difference`), intervals of a mean across runs
kept inside the quantity's range (:func:`analysis.stats.range_interval`) and
paired per-seed differences (:func:`analysis.stats.paired_difference`). This
module adds what the figures need beyond them:

- :func:`hazard_band`: the mean weekly hazard across runs where a run counts in a
  week only with enough spells at risk (a run with one spell at risk has a
  weekly hazard of 0 or 1, which would dominate a mean of few runs);
- :func:`stars` from Holm-adjusted p-values;
- :func:`few_runs_note`: the sentence a figure carries when its intervals rest
  on fewer than :data:`FEW_RUNS` runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis import survival
from analysis.data import Data
from analysis.stats import FEW_RUNS, range_interval

__all__ = ["FEW_RUNS", "few_runs_note", "hazard_band", "stars"]


def hazard_band(data: Data | pd.DataFrame, by: Sequence[str], max_week: int,
                min_at_risk: int = 5, level: float = 0.95) -> pd.DataFrame:
    """Mean across runs of the per-run weekly hazard, with a run-level band.

    Estimand: for each week ``t`` of search, the mean over runs of ``h_r(t) =
    d_r(t) / n_r(t)`` (of the run's spells still searching at the start of week
    ``t``, the share hired in week ``t``), over the runs with at least
    ``min_at_risk`` spells at risk that week. The band is the pointwise ``level``
    t interval across those runs on the logit scale
    (:func:`analysis.stats.range_interval` with range [0, 1]): inside [0, 1], NaN
    with fewer than two runs or when the runs agree exactly.

    Args:
        data: a :class:`~analysis.data.Data` or a spells DataFrame with ``run_id``.
        by: grouping columns (e.g. ``strategy`` and the swept parameters).
        max_week: last week.
        min_at_risk: spells at risk a run needs in a week to count for it.
        level: confidence level.

    Returns:
        One row per group and week with at least one counted run: the ``by``
        columns, ``week``, ``mean``, ``lower``, ``upper``, ``n_runs`` (runs
        counted), ``at_risk`` (spells at risk, summed over the counted runs).
    """
    by = list(by)
    h = survival.hazard_per_run(data, by, max_week)
    if h.empty:
        return pd.DataFrame()
    h = h[h["at_risk"] >= min_at_risk]
    frames = []
    for key, g in h.groupby(by, observed=True, sort=True, dropna=False) if by else [((), h)]:
        key = key if isinstance(key, tuple) else (key,)
        wide = g.pivot_table(index="week", columns="run_id", values="hazard", observed=True)
        ri = range_interval(wide.to_numpy(float), (0.0, 1.0), level, axis=1)
        f = pd.DataFrame({"week": wide.index.to_numpy(), "mean": ri["mean"], "lower": ri["lower"],
                          "upper": ri["upper"], "n_runs": ri["n"],
                          "at_risk": g.groupby("week")["at_risk"].sum().reindex(wide.index).to_numpy()})
        for c, v in reversed(list(zip(by, key, strict=True))):
            f.insert(0, c, v)
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def stars(p_holm: float) -> str:
    """``*`` / ``**`` / ``***`` for a Holm-adjusted p below 0.05 / 0.01 / 0.001.

    Args:
        p_holm: an adjusted p-value (NaN: no test, no star).

    Returns:
        The stars, or ``""``.
    """
    if not np.isfinite(p_holm):
        return ""
    return "***" if p_holm < 0.001 else "**" if p_holm < 0.01 else "*" if p_holm < 0.05 else ""


def few_runs_note(n_min: int, unit: str = "runs", per: str = "cell") -> str:
    """A warning for a figure whose smallest cell has ``n_min`` runs (empty if enough).

    Args:
        n_min: the fewest replicates behind any interval of the figure.
        unit: what a replicate is (``"runs"``, ``"seeds"``).
        per: what an interval belongs to (``"cell"``, ``"curve"``, ``"estimate"``).

    Returns:
        E.g. ``"Only 2 seeds per estimate: the intervals rest on few runs."``, or
        ``""`` from :data:`FEW_RUNS` replicates on.
    """
    n_min = int(n_min)
    if n_min >= FEW_RUNS:
        return ""
    if n_min <= 1:
        return f"1 {unit[:-1]} per {per}: no interval across {unit}."
    return f"Only {n_min} {unit} per {per}: the intervals rest on few runs."
