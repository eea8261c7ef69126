"""Benchmark: what the sweep machinery costs, from one tiny run to 10,000 runs.

Prints figures (not a timed test), each with what was measured:

- ``startup``: one tiny run as a whole process (``python -m sim run +strategy=lions
  n_workers=200 weeks=10``), wall time and peak RSS, ``--repeat`` times;
- ``sweep-start``: seconds from the command to the first run starting (its folder's
  ``.hydra/`` written) for sweeps of ``--runs`` tiny runs with the basic, joblib and
  submitit_local_grouped launchers (then the sweep is stopped), and the seconds
  :func:`sim.workflow.compose.check_sweep` takes to compose and check a sweep of ``--compose`` runs;
- ``slurm-start`` (only when named; needs Slurm): the same on the Slurm preset with
  one run per array task and 20 per task;
- ``throughput``: whole sweeps of ``--throughput`` tiny runs with joblib and with
  submitit_local_grouped, seconds per run;
- ``collect``: ``python -m sim collect`` of ``--fabricate`` run folders, wall time and
  peak RSS;
- ``report``: ``python -m sim report`` on that collected sweep, wall time and peak RSS.

The fabricated sweep: a real sweep of 4 small runs (``+strategy=passive,lions``
x ``seed=0,1``, ``--workers`` workers x ``--weeks`` weeks) is made once; then
``--fabricate`` run folders named as Hydra names them (``+strategy=S,...,seed=I,...``)
are made from them: each has hard links to one real run's Parquet files, its summary
(seed and config's seed changed; the sizes and SHA-256 it lists stay valid) and
``.hydra/overrides.yaml``, and ``multirun.yaml`` records
``seed=range(0, fabricate / 2)``. Collect reads, hashes and parses every file as it
would a real sweep's.

Usage: python benchmarks/sweep_overhead.py [sections ...] [--runs 1000] [--compose 10000]
       [--fabricate 10000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TINY = ["n_workers=200", "weeks=10", "output.progress=off"]
SECTIONS = ("startup", "sweep-start", "throughput", "collect", "report")


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MB) of a command (its largest process), and its stdout."""
    rss_file = cwd / ".rss"
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *cmd], cwd=cwd,
                       capture_output=True, text=True, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return wall, int(rss_file.read_text().split()[-1]) / 1024, r.stdout


def startup(py: list[str], work: Path, repeat: int) -> None:
    cmd = [*py, "run", "+strategy=lions", *TINY]
    walls, rss = [], []
    for i in range(repeat):
        w, m, _ = timed([*cmd, f"hydra.run.dir=startup{i}"], work)
        walls.append(w)
        rss.append(m)
    print(f"startup: `python -m sim run +strategy=lions n_workers=200 weeks=10`, whole process, "
          f"{repeat} times: median {statistics.median(walls):.2f} s (min {min(walls):.2f}, max "
          f"{max(walls):.2f}), peak RSS {max(rss):.0f} MB")


def first_run_start(cmd: list[str], cwd: Path, sweep: Path, timeout: float = 900) -> float:
    """Seconds from starting ``cmd`` until a run folder of ``sweep`` has ``.hydra/``; the
    command (its process group) is then stopped."""
    shutil.rmtree(sweep, ignore_errors=True)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        while time.perf_counter() - t0 < timeout:
            if sweep.is_dir() and next(sweep.glob("*/.hydra"), None) is not None:
                return time.perf_counter() - t0
            if p.poll() is not None:
                sys.exit(f"ended before a run started: {p.stderr.read()[-2000:].decode()}")
            time.sleep(0.05)
        sys.exit(f"no run started within {timeout} s: {' '.join(cmd)}")
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        if (sweep / ".submitit").is_dir():  # Slurm jobs of this sweep outlive the command
            ids = {d.name.split("_")[0] for d in (sweep / ".submitit").iterdir()
                   if d.name.split("_")[0].isdigit()}
            if ids:
                subprocess.run(["scancel", *sorted(ids)], check=False)
        shutil.rmtree(sweep, ignore_errors=True)


def sweep_start(py: list[str], work: Path, n: int, n_compose: int) -> None:
    base = [*py, "run", "-m", "+strategy=lions", f"seed=range(0,{n})", *TINY]
    launchers = {
        "basic": [],
        "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
        "submitit_local_grouped (runs_per_task=500, 2 tasks)":
            ["hydra/launcher=submitit_local_grouped", f"hydra.launcher.runs_per_task={-(-n // 2)}",
             "hydra.launcher.array_parallelism=2"],
    }
    for name, extra in launchers.items():
        s = first_run_start([*base, *extra, "hydra.sweep.dir=start"], work, work / "start")
        print(f"sweep-start: {n} runs, launcher {name}: first run starts {s:.1f} s after the "
              "command")
    code = ("import sys, time; from sim.workflow.compose import check_sweep; t = time.perf_counter(); "
            f"n = check_sweep(['+strategy=lions', 'seed=range(0,{n_compose})', *{TINY!r}]); "
            "print(n, time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True,
                         check=True).stdout.split()
    print(f"sweep-start: composing and checking a {int(out[0]):,}-run sweep (check_sweep, "
          f"in-process): {float(out[1]):.1f} s")
    s = first_run_start([*py, "run", "-m", "+strategy=lions", f"seed=range(0,{n_compose})", *TINY,
                         "hydra.sweep.dir=start"], work, work / "start")
    print(f"sweep-start: {n_compose:,} runs, launcher basic: first run starts {s:.1f} s after "
          "the command")


def slurm_start(py: list[str], work: Path, n: int) -> None:
    """First run of an ``n``-run sweep on the Slurm preset, one run per task and 20 per
    task (the arrays are cancelled once a run started)."""
    base = [*py, "run", "-m", "+strategy=lions", f"seed=range(0,{n})", *TINY,
            "hydra/launcher=slurm", "hydra.launcher.mem_gb=1", "hydra.launcher.timeout_min=5"]
    for per_task in (1, 20):
        s = first_run_start([*base, f"hydra.launcher.runs_per_task={per_task}",
                             "hydra.sweep.dir=start"], work, work / "start")
        print(f"slurm-start: {n} runs, hydra/launcher=slurm runs_per_task={per_task} "
              f"({-(-n // per_task)} tasks): first run starts {s:.1f} s after the command")


def throughput(py: list[str], work: Path, n: int) -> None:
    """Whole sweeps of ``n`` tiny runs on both cores: joblib (one run per job) and
    submitit_local_grouped (two tasks of n/2 runs)."""
    base = [*py, "run", "-m", "+strategy=lions", f"seed=range(0,{n})", *TINY]
    launchers = {
        "joblib, 2 workers": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
        f"submitit_local_grouped, 2 tasks of {-(-n // 2)} runs":
            ["hydra/launcher=submitit_local_grouped", f"hydra.launcher.runs_per_task={-(-n // 2)}",
             "hydra.launcher.array_parallelism=2"],
    }
    for name, extra in launchers.items():
        shutil.rmtree(work / "tp", ignore_errors=True)
        wall, _, _ = timed([*base, *extra, "hydra.sweep.dir=tp"], work)
        print(f"throughput: {n} tiny runs, {name}: {wall:.1f} s, {wall / n * 1000:.0f} ms per "
              "run (whole command)")
    shutil.rmtree(work / "tp", ignore_errors=True)


def fabricate(py: list[str], work: Path, n: int, workers: int, weeks: int) -> Path:
    """A sweep folder of ``n`` complete runs made from 4 real ones (see the docstring)."""
    import yaml

    template = work / "template"
    if not (template / "multirun.yaml").is_file():
        timed([*py, "run", "-m", "+strategy=passive,lions", "seed=0,1", f"n_workers={workers}",
               f"weeks={weeks}", "output.progress=off", "hydra.sweep.dir=template"], work)
    fab = work / "fabricated"
    shutil.rmtree(fab, ignore_errors=True)
    fab.mkdir()
    mr = yaml.safe_load((template / "multirun.yaml").read_text())
    task = mr["hydra"]["overrides"]["task"]
    per_strategy = n // 2
    mr["hydra"]["overrides"]["task"] = [f"seed=range(0,{per_strategy})" if t.startswith("seed=")
                                        else t for t in task]
    (fab / "multirun.yaml").write_text(yaml.safe_dump(mr, sort_keys=False))
    sources = {}
    for folder in template.iterdir():
        if (folder / "summary.json").is_file():
            summary = json.loads((folder / "summary.json").read_text())
            overrides = yaml.safe_load((folder / ".hydra" / "overrides.yaml").read_text())
            strategy = next(o.split("=", 1)[1] for o in overrides if o.startswith("+strategy="))
            sources[(strategy, summary["seed"])] = (folder, summary, overrides)
    t0 = time.perf_counter()
    for strategy in ("passive", "lions"):
        for seed in range(per_strategy):
            folder, summary, overrides = sources[(strategy, seed % 2)]
            name = folder.name.replace(f"seed={seed % 2}", f"seed={seed}")
            run = fab / name
            (run / ".hydra").mkdir(parents=True)
            for f in summary["files"]:
                os.link(folder / f, run / f)
            summary = {**summary, "seed": seed, "config": {**summary["config"], "seed": seed}}
            (run / "summary.json").write_text(json.dumps(summary))
            (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(
                [f"seed={seed}" if o.startswith("seed=") else o for o in overrides]))
    print(f"fabricated {2 * per_strategy:,} run folders from 4 real runs ({workers} workers x "
          f"{weeks} weeks) in {time.perf_counter() - t0:.1f} s")
    return fab


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sections", nargs="*", help=f"any of {', '.join(SECTIONS)} (default: all)")
    ap.add_argument("--repeat", type=int, default=5, help="startup: runs (default 5)")
    ap.add_argument("--runs", type=int, default=1000, help="sweep-start: runs (default 1000)")
    ap.add_argument("--compose", type=int, default=10000,
                    help="sweep-start: runs composed and checked (default 10000)")
    ap.add_argument("--throughput", type=int, default=200,
                    help="throughput: runs of each whole sweep (default 200)")
    ap.add_argument("--fabricate", type=int, default=10000,
                    help="collect/report: run folders (default 10000)")
    ap.add_argument("--workers", type=int, default=1000, help="workers of the template runs")
    ap.add_argument("--weeks", type=int, default=52, help="weeks of the template runs")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    sections = args.sections or list(SECTIONS)
    if set(sections) - {*SECTIONS, "slurm-start"}:
        ap.error(f"sections: {', '.join(sorted(set(sections) - set(SECTIONS)))}: unknown; "
                 f"choose among {', '.join(SECTIONS)}")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="sim-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    py = [sys.executable, "-m", "sim"]
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}; work folder {work}")
    if "startup" in sections:
        startup(py, work, args.repeat)
    if "sweep-start" in sections:
        sweep_start(py, work, args.runs, args.compose)
    if "slurm-start" in sections:
        slurm_start(py, work, args.runs)
    if "throughput" in sections:
        throughput(py, work, args.throughput)
    if "collect" in sections or "report" in sections:
        fab = work / "fabricated"
        if "collect" in sections or not (fab / "collected" / "runs.parquet").is_file():
            fab = fabricate(py, work, args.fabricate, args.workers, args.weeks)
            wall, rss, out = timed([*py, "collect", "fabricated"], work)
            print(f"collect: {args.fabricate:,} runs: {wall:.1f} s "
                  f"({wall / args.fabricate * 1000:.1f} ms per run), peak RSS {rss:.0f} MB")
            print("  " + out.strip().splitlines()[0])
    if "report" in sections:
        shutil.rmtree(work / "fabricated" / "report", ignore_errors=True)
        wall, rss, out = timed([*py, "report", "fabricated"], work)
        print(f"report: on the collected {args.fabricate:,}-run sweep: {wall:.1f} s, peak RSS "
              f"{rss:.0f} MB")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
