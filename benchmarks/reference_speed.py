"""Benchmark: the fast model against the plain-Mesa reference on the same run.

Runs one configuration (the legacy parameters, configs/preset/legacy.yaml, the only
configuration the reference implements; 10,000 workers, lions, seed 1; by default
the burn-in plus 52 recorded weeks, because the reference takes about half a second
per week) on both models and prints, for each, the setup time and the time per weekly
step (wall clock and CPU time of this process), then the speed ratio. The fast model's
numba kernels are compiled (or loaded from the disk cache) in a small warm-up run
first, so the ratio compares steady-state stepping. On a shared machine the CPU time
is the steadier figure. ``--repeat N`` runs the two models N times each, alternately,
and compares their best times (the reference's own time varies by 10-15 % from run to
run on a shared machine; the best of several is the steadier estimate of each model's
speed) and their medians.

Usage:
  python benchmarks/reference_speed.py                    # 10,000 workers, 104 + 52 weeks
  python benchmarks/reference_speed.py --repeat 3         # best of 3 runs of each model
  python benchmarks/reference_speed.py --workers 2000 --weeks 26 --burn-in 26 --strategy everyone
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time


def measure(model_cls, cfg: dict) -> dict:
    """Setup and run times (wall and CPU seconds) of one model on ``cfg``."""
    w0, c0 = time.perf_counter(), time.process_time()
    m = model_cls(cfg)
    w1, c1 = time.perf_counter(), time.process_time()
    m.run()
    w2, c2 = time.perf_counter(), time.process_time()
    weeks = cfg["burn_in"] + cfg["weeks"]
    spells = m.spells_frame()
    return {"setup_s": w1 - w0, "setup_cpu_s": c1 - c0,
            "ms_per_week": 1000 * (w2 - w1) / weeks, "cpu_ms_per_week": 1000 * (c2 - c1) / weeks,
            "total_s": w2 - w0, "spells": len(spells),
            "hires": int((~spells["censored"]).sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=10_000)
    ap.add_argument("--weeks", type=int, default=52, help="recorded weeks (after the burn-in)")
    ap.add_argument("--burn-in", type=int, default=104)
    ap.add_argument("--strategy", default="lions")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of each model, alternately (default 1); the ratio of the best "
                         "times and of the medians are printed")
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error(f"--repeat={args.repeat}: must be at least 1")

    import yaml

    from sim.core.model import LabourMarket
    from sim.core.reference import ReferenceMarket
    from sim.workflow.compose import CONFIG_DIR

    # the reference runs the legacy model only (no funnel, no recall, hard awareness)
    cfg = yaml.safe_load((CONFIG_DIR / "preset" / "legacy.yaml").read_text())
    cfg |= {"n_workers": args.workers, "weeks": args.weeks, "burn_in": args.burn_in,
            "seed": args.seed, "output": {"progress": "off"},
            "strategy": {"name": args.strategy, "shares": {args.strategy: 1.0}}}
    # numba warm-up: 39 weeks plan, grow the tie index and prune three times, so that every
    # kernel is loaded before the clock starts (a shorter warm-up left 13 kernels to load
    # from numba's cache inside the timed weeks: about 0.1 ms a week, 7 %, at 10,000 workers)
    LabourMarket(cfg | {"n_workers": 300, "weeks": 14, "burn_in": 25}).run()
    print(f"{args.workers} workers, {args.strategy}, {args.burn_in} + {args.weeks} weeks, "
          f"seed {args.seed}; {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}")
    runs: dict[str, list[dict]] = {"fast": [], "reference": []}
    for _ in range(args.repeat):
        for name, cls in (("fast", LabourMarket), ("reference", ReferenceMarket)):
            runs[name].append(r := measure(cls, cfg))
            print(f"{name:<10} setup {r['setup_s']:7.2f} s   {r['ms_per_week']:8.1f} ms/week "
                  f"(CPU {r['cpu_ms_per_week']:8.1f})   total {r['total_s']:7.1f} s   "
                  f"spells {r['spells']}, hires {r['hires']}", flush=True)
    f, ref = runs["fast"], runs["reference"]

    def best(rs: list[dict], key: str) -> float:
        return min(r[key] for r in rs)

    print(f"speed ratio (reference / fast), per week: "
          f"{best(ref, 'ms_per_week') / best(f, 'ms_per_week'):.0f}x wall, "
          f"{best(ref, 'cpu_ms_per_week') / best(f, 'cpu_ms_per_week'):.0f}x CPU; "
          f"whole run including setup: {best(ref, 'total_s') / best(f, 'total_s'):.0f}x"
          + (" (best of each model's runs)" if args.repeat > 1 else ""))
    if args.repeat > 1:
        med = {k: statistics.median(r["ms_per_week"] for r in rs) for k, rs in runs.items()}
        print(f"medians of {args.repeat} runs: fast {med['fast']:.2f}, reference "
              f"{med['reference']:.1f} ms/week, ratio {med['reference'] / med['fast']:.0f}x")


if __name__ == "__main__":
    main()
