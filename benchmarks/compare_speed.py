"""Benchmark: the model's speed at two commits, measured in turns.

Runs ``benchmarks/model_speed.py`` of a base and a head checkout in turns (base, head,
base, head, ...), each in its own process on one core, and prints for every setting the
time per week of each run, the ratio head / base of each round, of the best runs and of
the medians. Measuring in turns shares a slow spell of a shared machine between the two
sides; on the project's VMs one run's time per week varies by 10-20 %, so a ratio from a
single pair of runs is not worth much.

A side is a git revision (checked out with ``git worktree`` into a temporary folder,
removed at the end; its numba kernels are compiled on its first run, which counts in
its load time, not in its time per week) or a folder holding a checkout. The head
defaults to this checkout as it is.

Usage:
  # does the default run of 100,000 workers regress by more than 20 % since 705187c?
  python benchmarks/compare_speed.py --base 705187c --repeat 3 -- --full --sizes 100000 --strategies mixed
  python benchmarks/compare_speed.py --base HEAD~3 --head HEAD --repeat 2 -- --sizes 10000 --strategies lions

Everything after ``--`` goes to ``model_speed.py`` of both sides (default
``--full --sizes 100000 --strategies mixed``). ``--head-args`` and ``--base-args`` add
arguments for one side only, to compare the same workload where the two commits spell it
differently, or two workloads of one commit; a head setting is then paired with the base
setting of the same size in the same place of the output (its label may differ):

  # the pre-funnel model (705187c, its defaults) against this checkout's funnel at the
  # legacy parameters: what the funnel's code costs at equal work
  python benchmarks/compare_speed.py --base 705187c --repeat 3 \
      --head-args "--preset legacy --set funnel.enabled=true funnel.applications=0.064"
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# a result line of model_speed.py: workers, setting, weeks, load s, setup s, ms/week, ...
LINE = re.compile(r"^\s*(\d+)\s+(\S+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s")
DEFAULT_ARGS = ["--full", "--sizes", "100000", "--strategies", "mixed"]


def checkout(side: str, where: Path) -> Path:
    """The folder of a side: ``side`` itself if it is a folder with benchmarks/model_speed.py,
    else a worktree of revision ``side`` made under ``where``."""
    path = Path(side)
    if path.is_dir():
        if not (path / "benchmarks" / "model_speed.py").is_file():
            raise SystemExit(f"error: {side}: a folder without benchmarks/model_speed.py")
        return path.resolve()
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet",
                          f"{side}^{{commit}}"], capture_output=True, text=True)
    if rev.returncode != 0:
        raise SystemExit(f"error: {side}: neither a folder nor a revision of {ROOT}")
    dest = where / rev.stdout.strip()[:12]
    if not dest.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet",
                        str(dest), rev.stdout.strip()], check=True)
    return dest


def measure(folder: Path, args: list[str]) -> list[tuple[int, str, float]]:
    """One run of ``model_speed.py`` in ``folder``: (workers, label, ms per week) of each
    setting, in the order printed."""
    r = subprocess.run([sys.executable, str(folder / "benchmarks" / "model_speed.py"), *args],
                       capture_output=True, text=True, cwd=folder,
                       env={**os.environ, "PYTHONPATH": str(folder)})
    if r.returncode != 0:
        raise SystemExit(f"error: model_speed.py failed in {folder}:\n{r.stderr[-2000:]}")
    out = []
    for line in r.stdout.splitlines():
        m = LINE.match(line)
        if m:
            out.append((int(m.group(1)), m.group(2), float(m.group(6))))
    if not out:
        raise SystemExit(f"error: no result line from model_speed.py in {folder}:\n{r.stdout}")
    return out


def main() -> None:
    argv = sys.argv[1:]
    extra = DEFAULT_ARGS
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:] or DEFAULT_ARGS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="git revision or checkout folder")
    ap.add_argument("--head", default=str(ROOT),
                    help="git revision or checkout folder (default: this checkout)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    for name in ("head", "base"):
        ap.add_argument(f"--{name}-args", default="", metavar="ARGS",
                        help=f"more model_speed.py arguments for the {name} side only (one "
                             "string, split as a shell would)")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error(f"--repeat={args.repeat}: must be at least 1")
    made: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="compare_speed_") as tmp:
        try:
            sides = {}
            for name in ("base", "head"):
                folder = checkout(getattr(args, name), Path(tmp))
                if folder.is_relative_to(tmp):
                    made.append(folder)
                sides[name] = folder
                print(f"{name}: {getattr(args, name)} ({folder})", flush=True)
            times: dict[str, list[list[tuple[int, str, float]]]] = {"base": [], "head": []}
            for k in range(args.repeat):
                for name, folder in sides.items():
                    own = shlex.split(getattr(args, f"{name}_args"))
                    times[name].append(measure(folder, extra + own))
                    print(f"round {k + 1} {name}: " + ", ".join(
                        f"{n} {s} {ms:.1f} ms/week" for n, s, ms in times[name][-1]),
                        flush=True)
        finally:
            for folder in made:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                str(folder)], capture_output=True)
    # a head setting against the base setting of the same size and label, else (the
    # sides' arguments differ) against the one in the same place
    for i, (n, label, _) in enumerate(times["head"][0]):
        same = [j for j, (bn, bl, _) in enumerate(times["base"][0]) if (bn, bl) == (n, label)]
        j = same[0] if same else i
        if j >= len(times["base"][0]) or times["base"][0][j][0] != n:
            continue
        base = [t[j][2] for t in times["base"]]
        head = [t[i][2] for t in times["head"]]
        if times["base"][0][j][1] != label:
            label = f"{label} against {times['base'][0][j][1]}"
        rounds = ", ".join(f"{h / b:.2f}" for b, h in zip(base, head, strict=True))
        print(f"{n} workers, {label}: head / base per round {rounds}; best runs "
              f"{min(head):.1f} / {min(base):.1f} = {min(head) / min(base):.2f}; medians "
              f"{statistics.median(head):.1f} / {statistics.median(base):.1f} = "
              f"{statistics.median(head) / statistics.median(base):.2f}")


if __name__ == "__main__":
    main()
