"""Analysis of simulation outputs: time to re-employment by networking strategy.

It reads run folders only (the output contract, :mod:`sim.results`), never the model
or its configuration code; what cannot be read there (the configuration's defaults,
an experiment's title and captions) the caller passes in.

Modules, one job each:

- :mod:`analysis.data`: :func:`~analysis.data.load` a sweep, a collected dataset or
  one run folder into a :class:`~analysis.data.Data` object;
- :mod:`analysis.stats`: small statistical helpers (run-level intervals kept inside
  the quantity's range, paired differences, Holm's adjustment, binomial and
  Poisson intervals, the variance of a Kaplan-Meier RMST);
- :mod:`analysis.survival`: Kaplan-Meier, median / RMST / share re-employed within
  4 weeks (within-run and across runs), per-run KM and hazard curves with run-level
  bands, paired strategy differences, log-rank tests stratified by seed, Cox models
  combined across seeds, proportional-hazards test and piecewise hazard ratios;
- :mod:`analysis.tables`: the report's tables, each stating its estimand;
- :mod:`analysis.report`: the report (content, rendering, safe publishing) behind
  ``python -m sim report``;
- :mod:`analysis.mechanisms`: hiring channels, weak vs strong ties, help per tie,
  unemployment correlation along ties;
- :mod:`analysis.style`: the paper style (sizes, Okabe-Ito palette, PDF + PNG);
- :mod:`analysis.figures`: the paper figures and :func:`~analysis.figures.make_figures`.
- :mod:`analysis.bands`: what the figures add to the run-level statistics (Holm
  stars, the few-runs sentence).

Typical use::

    from analysis import load, survival, figures
    data = load("outputs/sweeps/smoke-610edf17")
    survival.replicate_summary(data)          # median, RMST, 1 - S(4) with CIs over seeds
    figures.make_figures(data, "figures/", size="two")
"""

from analysis.data import Data, load

__all__ = ["Data", "load"]
