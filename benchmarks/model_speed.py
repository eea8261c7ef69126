"""Benchmark: speed and memory of the model at several sizes.

Each configuration runs in its own process (so that peak memory is its own) and
prints: setup time, ms per weekly step, worker-weeks per second, peak RSS, and
per-submodel ms per week; then the scaling exponent of time per step against the
number of workers (log-log slope between the smallest and largest size).

Usage:
  python benchmarks/model_speed.py                       # 10k and 100k workers, lions and everyone
  python benchmarks/model_speed.py --sizes 10000 100000 1000000 --weeks 52
  python benchmarks/model_speed.py --full                # 100k x 520 weeks (+104 burn-in), as a user runs it
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time


def one(n: int, strategy: str, weeks: int, burn_in: int, extra: dict) -> dict:
    """Run one configuration in this process; return its measurements."""
    from sim.model import LabourMarket

    cfg = {"n_workers": n, "weeks": weeks, "burn_in": burn_in, "seed": 1,
           "strategy": {"name": strategy, "shares": {strategy: 1.0}}, **extra}
    t0 = time.perf_counter()
    m = LabourMarket(cfg)
    setup = time.perf_counter() - t0
    m.run()
    steps = weeks + burn_in
    return {
        "n_workers": n, "strategy": strategy, "weeks": steps, "setup_s": setup,
        "run_s": m.wall_time, "ms_per_week": 1000 * m.wall_time / steps,
        "worker_weeks_per_s": n * steps / m.wall_time, "ties_end": int(m.ties.n),
        "mean_degree_end": 2 * m.ties.n / n,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "submodels_ms_per_week": {k: 1000 * v / steps for k, v in m.timings.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--strategies", nargs="+", default=["lions", "everyone"])
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--burn-in", type=int, default=26)
    ap.add_argument("--full", action="store_true", help="100k workers, 520 weeks + 104 burn-in")
    ap.add_argument("--high-degree", action="store_true",
                    help="also everyone with strategy.params.everyone.new_tie_share=0.6")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(one(**spec)))
        return
    if args.full:
        args.sizes, args.weeks, args.burn_in = [100_000], 520, 104
    specs = [{"n": n, "strategy": s, "weeks": args.weeks, "burn_in": args.burn_in, "extra": {}}
             for s in args.strategies for n in args.sizes]
    if args.high_degree:
        specs += [{"n": n, "strategy": "everyone", "weeks": args.weeks, "burn_in": args.burn_in,
                   "extra": {"strategy": {"name": "everyone-high", "shares": {"everyone": 1.0},
                                          "params": {"everyone": {"new_tie_share": 0.6}}}}}
                  for n in args.sizes]
    print(f"# {platform.node()}: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}; one core per run")
    print(f"{'workers':>9} {'strategy':<14} {'weeks':>5} {'setup s':>8} {'ms/week':>8} "
          f"{'wk-weeks/s':>11} {'deg':>5} {'RSS MB':>7}  submodels ms/week")
    results = []
    for spec in specs:
        out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            print(f"failed: {spec}\n{out.stderr[-2000:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        label = spec["extra"].get("strategy", {}).get("name", spec["strategy"])
        r["label"] = label
        results.append(r)
        subs = " ".join(f"{k}={v:.1f}" for k, v in sorted(r["submodels_ms_per_week"].items(),
                                                          key=lambda kv: -kv[1]))
        print(f"{r['n_workers']:>9} {label:<14} {r['weeks']:>5} {r['setup_s']:>8.2f} "
              f"{r['ms_per_week']:>8.1f} {r['worker_weeks_per_s']:>11.3g} "
              f"{r['mean_degree_end']:>5.0f} {r['peak_rss_mb']:>7.0f}  {subs}", flush=True)
    for label in dict.fromkeys(r["label"] for r in results):
        rs = sorted((r for r in results if r["label"] == label), key=lambda r: r["n_workers"])
        if len(rs) >= 2:
            a, b = rs[0], rs[-1]
            slope = math.log(b["ms_per_week"] / a["ms_per_week"]) / math.log(
                b["n_workers"] / a["n_workers"])
            print(f"scaling exponent of time per week, {label}: {slope:.2f} "
                  f"({a['n_workers']} -> {b['n_workers']} workers)")
        for r in rs:
            if r["weeks"] >= 600:
                print(f"{label} {r['n_workers']} workers x {r['weeks']} weeks: "
                      f"{r['setup_s'] + r['run_s']:.1f} s in total")


if __name__ == "__main__":
    main()
