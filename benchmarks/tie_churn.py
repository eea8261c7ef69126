"""Probe: how many ties change their weekly investment from one week to the next.

Updating a tie's strength only when it is read (in closed form over the weeks since its
last update) saves work only on ties whose weekly investment ``h`` (the hours its two
ends put into it, ``sim.core.kernels.invest``) stays the same from week to week. This
script runs one market, records ``h`` for every tie every week, and prints, by the
strategies at the tie's two ends, the median over weeks of the share of ties whose ``h``
equals their own ``h`` a week earlier (ties compared by row while their two ends are
unchanged; a pruning week renumbers rows, and moved rows count as changed).

Usage:
  python benchmarks/tie_churn.py                               # 20,000 workers, mixed
  python benchmarks/tie_churn.py --workers 5000 --weeks 26 +strategy=everyone

Extra arguments are config overrides (Hydra syntax); the default population is
``+strategy=mixed``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=20_000)
    ap.add_argument("--weeks", type=int, default=52, help="recorded weeks (after the burn-in)")
    ap.add_argument("--burn-in", type=int, default=104)
    ap.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    args = ap.parse_args()

    from sim.core import kernels
    from sim.core import model as model_module
    from sim.workflow.compose import compose

    overrides = args.overrides or ["+strategy=mixed"]
    cfg = compose([*overrides, f"n_workers={args.workers}", f"weeks={args.weeks}",
                   f"burn_in={args.burn_in}", "output.progress=off"])
    weekly: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    invest = kernels.invest

    def recording_invest(a, b, share_a, share_b, hours, even, strength, max_gain, saturation,
                         any_share=True, share_rows=None):
        h = np.empty(len(a), np.float32)
        kernels._tie_hours(a, b, share_a, share_b, bool(any_share), hours, even,
                           bool(even.any()), h)
        weekly.append((a.copy(), b.copy(), h))
        invest(a, b, share_a, share_b, hours, even, strength, max_gain, saturation, any_share,
               share_rows)

    model_module.kernels.invest = recording_invest
    t0 = time.perf_counter()
    try:
        m = model_module.LabourMarket(cfg)
        m.run()
    finally:
        model_module.kernels.invest = invest
    names = [type(s).__name__ for s in m.strategies]
    print(f"{args.workers:,} workers, {' '.join(overrides)}, {args.burn_in} + {args.weeks} "
          f"weeks; {len(weekly)} weeks of investment recorded in {time.perf_counter() - t0:.0f} s; "
          f"{len(m.ties.a):,} ties at the end")
    if len(weekly) < 2:
        raise SystemExit("error: fewer than 2 weeks of investment (no time to network?)")
    # the two ends' strategies, as an unordered pair (the strategy of a worker is fixed)
    lo = np.minimum(m.strategy[m.ties.a], m.strategy[m.ties.b])
    hi = np.maximum(m.strategy[m.ties.a], m.strategy[m.ties.b])
    print(f"{'ends (strategies)':<24} {'share of ties (end)':>20} {'same h as a week before':>24}")
    pairs = sorted({(int(x), int(y)) for x, y in zip(lo, hi, strict=True)})
    rows: dict[str, list[float]] = {"all": []}
    for (a0, b0, h0), (a1, b1, h1) in zip(weekly[:-1], weekly[1:], strict=True):
        k = min(len(a0), len(a1))
        same_ends = (a0[:k] == a1[:k]) & (b0[:k] == b1[:k])
        same_h = same_ends & (h0[:k] == h1[:k])
        rows["all"].append(float(same_h.mean()))
        s0, s1 = m.strategy[a1[:k]], m.strategy[b1[:k]]
        lo_k, hi_k = np.minimum(s0, s1), np.maximum(s0, s1)
        for x, y in pairs:
            mask = same_ends & (lo_k == x) & (hi_k == y)
            if mask.any():
                rows.setdefault(f"{names[x]}-{names[y]}", []).append(float(same_h[mask].mean()))
    end_share = {f"{names[x]}-{names[y]}": float(np.mean((lo == x) & (hi == y)))
                 for x, y in pairs}
    for name, shares in rows.items():
        tie_share = 1.0 if name == "all" else end_share.get(name, 0.0)
        print(f"{name:<24} {tie_share:>20.1%} {np.median(shares):>18.1%} "
              f"(lowest {min(shares):.1%})")


if __name__ == "__main__":
    main()
