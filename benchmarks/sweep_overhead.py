"""Benchmark: what the sweep machinery costs per run, against the run itself.

Prints, for tiny runs (where overhead matters most):
  - the model alone (in-process) and one `python -m sim run` (process start, Hydra,
    writing the run folder);
  - a sweep of N tiny runs with the joblib launcher on all cores: wall time, runs/s;
  - `python -m sim collect` on that sweep: wall time, peak memory;
  - `collect` on a fabricated sweep of M run folders (copies of one run), to show
    that memory does not grow with the number of runs.

Usage: python benchmarks/sweep_overhead.py [--runs 1000] [--fabricate 10000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TINY = {"n_workers": 200, "weeks": 10, "burn_in": 0}
TINY_ARGS = [f"{k}={v}" for k, v in TINY.items()] + ["output.progress=off"]


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds, peak RSS (MB) of the command's main process, and the result."""
    rss_file = cwd / ".rss"
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *cmd], cwd=cwd,
                       capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return wall, int(rss_file.read_text().split()[-1]) / 1024, r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--fabricate", type=int, default=10000)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="sim-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    py = [sys.executable, "-m", "sim"]
    print(f"machine: {os.cpu_count()} cores; work folder {work}")

    from sim.model import LabourMarket

    LabourMarket({**TINY, "strategy": {"shares": {"lions": 1.0}}}).run()  # warm caches
    t0 = time.perf_counter()
    for seed in range(10):
        LabourMarket({**TINY, "seed": seed, "strategy": {"shares": {"lions": 1.0}}}).run()
    model_s = (time.perf_counter() - t0) / 10
    one, _, _ = timed([*py, "run", "+strategy=lions", *TINY_ARGS, "hydra.run.dir=one"], work)
    print(f"tiny run ({TINY}): model alone {model_s * 1000:.0f} ms; "
          f"`python -m sim run` {one:.2f} s (process start, Hydra, writing)")

    n = args.runs
    wall, _, r = timed([*py, "run", "-m", "+strategy=lions", f"seed=range(0,{n})", *TINY_ARGS,
                        "hydra/launcher=joblib", "hydra.sweep.dir=sweep"], work)
    print(f"sweep of {n} tiny runs, joblib on {os.cpu_count()} cores: {wall:.1f} s, "
          f"{n / wall:.1f} runs/s, {wall / n * 1000:.0f} ms per run "
          f"(model alone: {model_s * 1000:.0f} ms per run)")
    print("  " + r.stdout.strip().splitlines()[-1])
    wall, rss, _ = timed([*py, "collect", "sweep"], work)
    print(f"collect {n} runs: {wall:.1f} s ({wall / n * 1000:.1f} ms per run), peak RSS {rss:.0f} MB")

    m = args.fabricate
    if m:
        src = next((work / "sweep").glob("*/summary.json")).parent
        fab = work / "fabricated"
        shutil.rmtree(fab, ignore_errors=True)
        for i in range(m):
            shutil.copytree(src, fab / f"run={i}")
        wall, rss, _ = timed([*py, "collect", "fabricated"], work)
        print(f"collect {m} fabricated runs: {wall:.1f} s ({wall / m * 1000:.1f} ms per run), "
              f"peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
