"""Figure-level helpers on top of the run-level statistics of :mod:`analysis.stats`
and :mod:`analysis.survival`: runs (seeds) are the unit of inference.

The statistics themselves live there: per-run Kaplan-Meier curves with a
run-level band (:func:`analysis.survival.km_run_level`), per-run weekly hazards
(:func:`analysis.survival.hazard_per_run`, averaged with a run-level band by
:func:`analysis.survival.hazard_run_level`), differences paired by seed and
averaged within seed over the other swept factors, Holm-adjusted across cells
(:func:`analysis.survival.strategy_difference`), intervals of a mean across runs
kept inside the quantity's range (:func:`analysis.stats.range_interval`) and
paired per-seed differences (:func:`analysis.stats.paired_difference`). This
module adds what the figures need beyond them:

- :func:`stars` from Holm-adjusted p-values;
- :func:`few_runs_sentence`: the sentence a figure carries when its intervals rest
  on fewer than :data:`FEW_RUNS` runs.
"""

from __future__ import annotations

import numpy as np

from analysis.stats import FEW_RUNS

__all__ = ["FEW_RUNS", "few_runs_sentence", "stars"]


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


def few_runs_sentence(n_min: int, unit: str = "runs", per: str = "cell") -> str:
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
