"""Lions - everyone over the awareness parameters the facts pin down only loosely.

The identification table (docs/VALIDATION.md, section 3.2) shows that ``leads.aware_strength``
and ``leads.aware_width`` move no fitted fact by much, while an earlier grid showed that
they decide the sign of lions - everyone. This script runs the default population
(``+strategy=mixed``, validate's size) on a grid of the two, everything else at the
calibrated defaults, and prints for each point: the largest deviation of a fitted fact in
units of its tolerance (at most 1: every fitted fact inside its target range, as the
posterior's distance), which facts leave their range, and lions - everyone within each run
(RMST(52) in weeks, share re-employed within 4 weeks in points), mean over seeds with the
seeds' range.

    python benchmarks/awareness_grid.py                  # 3 x 3 grid, seeds 0-1, 2 processes
    python benchmarks/awareness_grid.py --seeds 3 --jobs 2 --centres 0.35,0.45 --widths 0.1,0.3
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time

from sim.core.config import with_values
from sim.studies.calibrate import with_derived
from sim.studies.common import DEFAULT_OVERRIDES
from sim.studies.posterior import fact_terms
from sim.studies.validate import measure_seeds
from sim.workflow.compose import compose


def floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--centres", type=floats, default=[0.35, 0.4517, 0.5],
                   help="values of leads.aware_strength (default: 0.35, the default, 0.5)")
    p.add_argument("--widths", type=floats, default=[0.05, 0.15, 0.2897],
                   help="values of leads.aware_width (default: 0.05, 0.15, the default)")
    p.add_argument("--seeds", type=int, default=2, help="seeds 0..N-1 per point (default: 2)")
    p.add_argument("--jobs", type=int, default=2, help="parallel processes (default: 2)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="config overrides (e.g. n_workers=2000 weeks=104 for a quick look)")
    args = p.parse_args(argv)
    base = compose([*DEFAULT_OVERRIDES, *args.overrides])
    print(f"mixed population, {base.n_workers} workers x {base.weeks} weeks (+{base.burn_in} "
          f"burn-in), seeds 0-{args.seeds - 1}; everything else at the defaults")
    print("| aware_strength | aware_width | largest fact deviation (tolerances) | facts out of "
          "range | RMST(52) gap, weeks | S4 gap, points |")
    print("|---|---|---|---|---|---|")
    t0 = time.perf_counter()
    for centre, width in itertools.product(args.centres, args.widths):
        cfg = with_values(base, with_derived({"leads.aware_strength": centre,
                                              "leads.aware_width": width}))
        runs = measure_seeds(cfg, list(range(args.seeds)), jobs=args.jobs)
        terms = fact_terms({k: float(runs[k].mean()) for k in runs.columns if k != "seed"})
        out = [k for k, v in terms.items() if v > 1]
        g, s = runs["gap_rmst52"].to_numpy(), 100 * runs["gap_s4"].to_numpy()
        print(f"| {centre:g} | {width:g} | {max(terms.values()):.2f} | {', '.join(out) or '-'} | "
              f"{g.mean():+.2f} [{g.min():+.2f}, {g.max():+.2f}] | "
              f"{s.mean():+.1f} [{s.min():+.1f}, {s.max():+.1f}] |", flush=True)
    print(f"({time.perf_counter() - t0:.0f} s; brackets: the range over seeds)")


if __name__ == "__main__":
    main(sys.argv[1:])
