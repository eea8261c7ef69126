"""Benchmark: speed and memory of the model at several sizes.

Each configuration runs in its own process (so that peak memory is its own) and
prints: the time to import the model and load its compiled kernels (once per
process), setup time, ms per weekly step (wall clock, and CPU time of the process,
which other jobs on the machine disturb less), worker-weeks per second, mean
degree and ties at the end, peak RSS, and per-submodel ms per week; then the
scaling exponent of time per step against the number of workers (least-squares
slope of log time on log workers over all sizes; also against workers + ties).

Usage:
  python benchmarks/model_speed.py --table               # the README table (about 10 minutes)
  python benchmarks/model_speed.py --table --weeks 26    # same sizes, shorter horizon
  python benchmarks/model_speed.py                       # 10k and 100k workers, lions and everyone
  python benchmarks/model_speed.py --sizes 10000 100000 1000000 --weeks 52
  python benchmarks/model_speed.py --full                # 100k x 520 weeks (+104 burn-in), as a user runs it
  python benchmarks/model_speed.py --full --sizes 1000000  # 1M x 520 weeks (+104 burn-in)
  python benchmarks/model_speed.py --full --strategies mixed --preset legacy  # the pre-funnel model
  python benchmarks/model_speed.py --full --strategies mixed --set funnel.applications=3  # a variant
  python benchmarks/model_speed.py --sizes 100000 --weeks 26 --burn-in 104 \
      --strategies mixed everyone lions --out benchmarks/results/model_speed.json
  python benchmarks/model_speed.py --full --strategies mixed everyone lions --repeat 2  # best of 2

``--strategies`` takes strategy names and ``mixed``, the default population
(``configs/strategy/mixed.yaml``: half lions, half everyone). ``--out`` writes every
measurement with the commit, the machine, the load average and the command to a JSON
file (the README's performance table comes from it). ``--repeat N`` runs every setting N
times, in turns, and reports the fastest run of each (with all the runs' times and their
median): on a shared virtual machine one run's time per week varies by 10-20 %. The
script measures the checkout it is in (its directory's parent comes first on
``sys.path``), not whichever copy of ``sim`` is installed.

``--table`` runs lions (the default strategy) at 10k, 100k and 1M workers and the
high-degree setting (everyone, with 60% of the networking time spent making new
connections: 150-200 ties per worker) at 10k and 100k, each for ``--weeks``
weeks (default 52) after the default 104 weeks of burn-in, so that ms/week is
measured on an evolved network.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# measure this checkout: its sim package before any installed (editable) one, here and in
# the child processes (which run this file)
sys.path.insert(0, str(ROOT))

HIGH_DEGREE = {"name": "everyone-high", "shares": {"everyone": 1.0},
               "params": {"everyone": {"new_tie_share": 0.6}}}


def strategy_config(strategy: str) -> dict:
    """The ``strategy`` mapping of a run: one strategy for all workers, or ``mixed`` as in
    ``configs/strategy/mixed.yaml``."""
    if strategy == "mixed":
        return yaml.safe_load((ROOT / "configs" / "strategy" / "mixed.yaml").read_text())
    return {"name": strategy, "shares": {strategy: 1.0}}


def merged(base: dict, extra: dict) -> dict:
    """``base`` with ``extra`` merged into it, mapping by mapping."""
    out = dict(base)
    for k, v in extra.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def preset(name: str) -> dict:
    """The settings of ``configs/preset/<name>.yaml`` (``+preset=<name>`` of a run)."""
    path = ROOT / "configs" / "preset" / f"{name}.yaml"
    if not path.is_file():
        names = sorted(q.stem for q in path.parent.glob("*.yaml"))
        print(f"error: --preset={name}: no such preset (one of {names})", file=sys.stderr)
        sys.exit(2)
    return yaml.safe_load(path.read_text())


def settings(items: list[str]) -> dict:
    """``KEY=VALUE`` items (dotted keys, YAML values) as a nested mapping."""
    out: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"error: --set {item}: need KEY=VALUE", file=sys.stderr)
            sys.exit(2)
        *path, last = key.split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node[last] = yaml.safe_load(value)
    return out


def one(n: int, strategy: str, weeks: int, burn_in: int, extra: dict) -> dict:
    """Run one configuration in this process; return its measurements."""
    t0 = time.perf_counter()
    # imported here: the import and loading of the compiled kernels are part of load_s
    import sim
    from sim.core.config import memory_estimate
    from sim.core.model import LabourMarket

    if not Path(sim.__file__).resolve().is_relative_to(ROOT):
        raise RuntimeError(f"measuring {sim.__file__}, not this checkout {ROOT}")
    cfg = merged({"n_workers": n, "weeks": weeks, "burn_in": burn_in, "seed": 1,
                  "strategy": strategy_config(strategy)}, extra)
    # imports and loading the compiled kernels from numba's cache happen once per process
    # (a tiny run of the same setting): measured apart, so that ms/week is the steady state
    # (39 weeks: long enough to plan, grow the tie index and prune three times, so that
    # every kernel a long run calls is loaded before the clock starts)
    LabourMarket({**cfg, "n_workers": 300, "weeks": 14, "burn_in": 25}).run()
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    m = LabourMarket(cfg)
    setup = time.perf_counter() - t0
    c0 = time.process_time()
    m.run()
    cpu = time.process_time() - c0
    steps = weeks + burn_in
    return {
        "n_workers": n, "strategy": strategy, "weeks": steps, "load_s": load, "setup_s": setup,
        "run_s": m.wall_time, "ms_per_week": 1000 * m.wall_time / steps,
        "cpu_ms_per_week": 1000 * cpu / steps,
        "worker_weeks_per_s": n * steps / m.wall_time, "ties_end": int(m.ties.n),
        "mean_degree_end": 2 * m.ties.n / n,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "estimate_mb": memory_estimate(m.cfg) / 2**20,  # what run's memory check assumes
        "submodels_ms_per_week": {k: 1000 * v / steps for k, v in m.timings.items()},
        "load_avg_end": os.getloadavg(),
    }


def machine() -> str:
    """One line on the machine and the software versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import numba
    import numpy

    return (f"# {cpu}, {os.cpu_count()} cores, {ram:.0f} GB RAM; Python "
            f"{platform.python_version()}, numpy {numpy.__version__}, numba "
            f"{numba.__version__}; one core per run")


def commit() -> str:
    """The checkout's commit, with ``+dirty`` if tracked files under sim/ or benchmarks/
    (but not the results in benchmarks/results/) differ from it."""
    def git(*args):
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True,
                              text=True).stdout.strip()

    head = git("rev-parse", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "sim", "benchmarks",
                ":!benchmarks/results")
    return head + ("+dirty" if dirty else "")


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log(y) on log(x)."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return (sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True))
            / sum((a - mx) ** 2 for a in lx))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", action="store_true",
                    help="lions at 10k, 100k, 1M and the high-degree setting at 10k, 100k")
    ap.add_argument("--sizes", type=int, nargs="+", default=None,
                    help="numbers of workers (default 10000 100000; with --full 100000)")
    ap.add_argument("--strategies", nargs="+", default=["lions", "everyone"])
    ap.add_argument("--weeks", type=int, default=None,
                    help="recorded weeks (default 104; 52 with --table; 520 with --full)")
    ap.add_argument("--burn-in", type=int, default=None,
                    help="burn-in weeks (default 26; 104 with --table and --full)")
    ap.add_argument("--full", action="store_true", help="520 weeks + 104 burn-in")
    ap.add_argument("--high-degree", action="store_true",
                    help="also everyone with strategy.params.everyone.new_tie_share=0.6")
    ap.add_argument("--out", type=Path, default=None,
                    help="also write the measurements, commit, machine, load and command "
                         "to this JSON file")
    ap.add_argument("--preset", default=None,
                    help="run every setting with configs/preset/PRESET.yaml (e.g. legacy: the "
                         "model before the funnel's calibration), as +preset=PRESET does")
    ap.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                    help="settings for every run, after the preset (dotted keys, YAML values: "
                         "funnel.enabled=true)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of each setting (default 1), in turns over the settings; the "
                         "run with the least time per week is reported, with every run's "
                         "time and their median (on a shared machine the time of a run "
                         "varies by 10-20 %%)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error(f"--repeat={args.repeat}: must be at least 1")
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(one(**spec)))
        return

    base = merged(preset(args.preset) if args.preset else {}, settings(args.set))

    def spec(n, strategy, extra=None):
        # the preset's burn-in gives way to the benchmark's weeks (--burn-in)
        return {"n": n, "strategy": strategy, "weeks": weeks, "burn_in": burn_in,
                "extra": merged({k: v for k, v in base.items() if k != "burn_in"}, extra or {})}

    if args.table:
        weeks, burn_in = args.weeks or 52, 104 if args.burn_in is None else args.burn_in
        sizes = args.sizes or [10_000, 100_000, 1_000_000]
        specs = [spec(n, "lions") for n in sizes]
        specs += [spec(n, "everyone", {"strategy": HIGH_DEGREE}) for n in sizes if n <= 100_000]
    else:
        if args.full:
            weeks, burn_in = args.weeks or 520, 104 if args.burn_in is None else args.burn_in
            sizes = args.sizes or [100_000]
        else:
            weeks, burn_in = args.weeks or 104, 26 if args.burn_in is None else args.burn_in
            sizes = args.sizes or [10_000, 100_000]
        specs = [spec(n, s) for s in args.strategies for n in sizes]
        if args.high_degree:
            specs += [spec(n, "everyone", {"strategy": HIGH_DEGREE}) for n in sizes]
    if args.out is not None and not args.out.parent.is_dir():
        print(f"error: --out={args.out}: its directory does not exist", file=sys.stderr)
        sys.exit(2)
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    load_start = os.getloadavg()
    print(machine())
    print(f"{'workers':>9} {'setting':<14} {'weeks':>5} {'load s':>6} {'setup s':>7} {'ms/week':>8} "
          f"{'cpu ms/wk':>9} {'wk-weeks/s':>11} {'deg':>5} {'ties M':>7} {'RSS MB':>7}  "
          f"submodels ms/week", flush=True)
    runs: list[list[dict]] = [[] for _ in specs]
    for _ in range(args.repeat):  # in turns, so that a slow spell of the machine is shared
        for i, sp in enumerate(specs):
            load_before = os.getloadavg()
            out = subprocess.run([sys.executable, __file__, "--child", json.dumps(sp)],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                print(f"failed: {sp}\n{out.stderr[-2000:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            r["load_avg_start"] = load_before
            label = sp["extra"].get("strategy", {}).get("name", sp["strategy"])
            label += f"+{args.preset}" if args.preset else ""
            label += "+set" if args.set else ""
            r["label"] = label
            runs[i].append(r)
            subs = " ".join(f"{k}={v:.1f}" for k, v in sorted(r["submodels_ms_per_week"].items(),
                                                              key=lambda kv: -kv[1]))
            print(f"{r['n_workers']:>9} {label:<14} {r['weeks']:>5} {r['load_s']:>6.2f} "
                  f"{r['setup_s']:>7.2f} {r['ms_per_week']:>8.1f} {r['cpu_ms_per_week']:>9.1f} "
                  f"{r['worker_weeks_per_s']:>11.3g} {r['mean_degree_end']:>5.0f} "
                  f"{r['ties_end'] / 1e6:>7.2f} {r['peak_rss_mb']:>7.0f}  {subs}", flush=True)
    results = []
    for rs in runs:
        if not rs:
            continue
        best = dict(min(rs, key=lambda r: r["ms_per_week"]))
        if args.repeat > 1:
            times = [r["ms_per_week"] for r in rs]
            best["runs_ms_per_week"] = times
            best["median_ms_per_week"] = statistics.median(times)
            print(f"{best['n_workers']:>9} {best['label']:<14} best of {len(rs)}: "
                  f"{best['ms_per_week']:.1f} ms/week (median {best['median_ms_per_week']:.1f}; "
                  f"runs {', '.join(f'{t:.1f}' for t in times)})")
        results.append(best)
    for label in dict.fromkeys(r["label"] for r in results):
        rs = sorted((r for r in results if r["label"] == label), key=lambda r: r["n_workers"])
        if len(rs) >= 2:
            n = [r["n_workers"] for r in rs]
            ms = [r["ms_per_week"] for r in rs]
            cpu = [r["cpu_ms_per_week"] for r in rs]
            size = [r["n_workers"] + r["ties_end"] for r in rs]
            print(f"scaling exponent of time per week, {label} ({n[0]}..{n[-1]} workers): "
                  f"{slope(n, ms):.2f} wall, {slope(n, cpu):.2f} cpu; against workers + ties: "
                  f"{slope(size, ms):.2f} wall, {slope(size, cpu):.2f} cpu")
        for r in rs:
            if r["weeks"] >= 600:
                print(f"{label} {r['n_workers']} workers x {r['weeks']} weeks: "
                      f"{r['load_s'] + r['setup_s'] + r['run_s']:.1f} s in total (imports "
                      f"{r['load_s']:.1f} s, setup {r['setup_s']:.1f} s), peak RSS "
                      f"{r['peak_rss_mb'] / 1024:.2f} GB (memory check's estimate "
                      f"{r['estimate_mb'] / 1024:.2f} GB)")
    if args.out is not None:
        record = {
            "commit": commit(), "started_utc": started,
            "finished_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": machine().lstrip("# "), "cores": os.cpu_count(),
            "load_avg_start": load_start, "load_avg_end": os.getloadavg(),
            "command": "python benchmarks/model_speed.py " + shlex.join(sys.argv[1:]),
            "note": "ms_per_week is wall time of the weekly steps, cpu_ms_per_week the "
                    "process's CPU time (less disturbed by other jobs); load averages are "
                    "the machine's 1, 5 and 15 minute loads",
            "results": results,
        }
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text(json.dumps(record, indent=1) + "\n")
        tmp.replace(args.out)
        print(f"written: {args.out}")


if __name__ == "__main__":
    main()
