"""``python -m sim experiment NAME``: sweep, collect, figures and report in one command.

1. the sweep: ``python -m sim run -m +experiment=<config> [launcher] [smoke] [overrides]``
   in a subprocess, in its default sweep folder
   (``outputs/sweeps/<config>-<hash of the overrides>``), so running the same
   command again resumes it (complete runs are skipped);
2. ``collect`` (again, so that newly finished runs are included);
3. the generic figures (:func:`analysis.figures.make_figures`) and the
   experiment's own figure (:mod:`experiments.plots`) in ``<sweep>/figures``;
4. the report (:mod:`analysis.report`) in ``<sweep>/report``.

If some runs fail the analysis still covers the complete ones, and the command
exits 1 after saying so; it exits 2 on a usage error. Errors are raised as
:class:`ExperimentError` (a :class:`~sim.errors.SimError` carrying its exit code);
``python -m sim`` prints them as one line.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import subprocess
import sys
import time
from pathlib import Path

from analysis import load
from analysis.figures import Skip, make_figures
from analysis.report import write_report
from experiments import EXPERIMENTS, SMOKE, Experiment, get
from sim.core.config import build_config, to_dict
from sim.errors import SimError
from sim.results.folders import default_sweep_dir

LAUNCHERS = {"basic": None, "local": "hydra/launcher=local", "slurm": "hydra/launcher=slurm"}


class ExperimentError(SimError):
    """The experiment command cannot go on; the message is one line.

    Args:
        message: what went wrong, naming the argument or folder.
        exit_code: the command's exit code (2: usage; else the sweep's own code).
    """

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def sweep_args(exp: Experiment, smoke: bool, launcher: str, extra: list[str]) -> list[str]:
    """The arguments of ``python -m sim run`` for the experiment's sweep."""
    args = ["-m", f"+experiment={exp.config}"]
    if LAUNCHERS[launcher]:
        args.append(LAUNCHERS[launcher])
    if smoke:
        args += [*SMOKE, *exp.smoke]
    return args + list(extra)


def sweep_folder(args: list[str]) -> Path:
    """The sweep folder ``python -m sim run`` will use for ``args``."""
    given = next((a.split("=", 1)[1] for a in args if a.startswith("hydra.sweep.dir=")), None)
    return Path(given) if given else default_sweep_dir(args)


def analyse(exp: Experiment, sweep: Path, fmt: str = "html", size: str = "one",
            command: str | None = None) -> Path:
    """Collect the sweep, make its figures and its report.

    Args:
        exp: the experiment.
        sweep: its sweep folder.
        fmt: report format, ``"html"`` or ``"md"``.
        size: figure width, ``"one"`` or ``"two"`` column.
        command: the command line, for the report's provenance.

    Returns:
        The report file.

    Raises:
        ReportError: a report file to replace was edited by hand (nothing replaced).
    """
    data = load(sweep, recollect=True)
    fig_dir = sweep / "figures"
    skipped: dict[str, str] = {}
    paths = make_figures(data, fig_dir, size=size, skipped=skipped)
    try:
        paths += exp.make_figures(data, fig_dir, size)
    except Skip as e:
        skipped[exp.figures] = str(e)
    print(f"{len(paths)} figure files in {fig_dir}", flush=True)
    for name, why in skipped.items():
        print(f"  skipped {name}: {why}")
    return write_report(data, sweep / "report", fmt, figures=fig_dir, size=size,
                        skipped=skipped, command=command, defaults=to_dict(build_config({})),
                        **exp.report_texts())


def _parser() -> argparse.ArgumentParser:
    lines = "\n".join(f"  {e.key}  {e.title} (configs/experiment/{e.config}.yaml)"
                      for e in EXPERIMENTS.values())
    p = argparse.ArgumentParser(
        prog="python -m sim experiment", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a named experiment: its sweep (resumable), collect, figures, report.",
        epilog=f"experiments:\n{lines}\n\nAny other KEY=VALUE argument is a Hydra override "
               "of the sweep (e.g. n_workers=20000 'seed=range(0,50)' "
               "hydra.launcher.partition=long).\nDocuments: experiments/README.md.")
    p.add_argument("experiment", help=f"{', '.join(EXPERIMENTS)} (or the sweep file's name, "
                                      "e.g. e1_strategies)")
    p.add_argument("--smoke", action="store_true",
                   help="a tiny population, horizon and sweep: the whole experiment in seconds "
                        "(its own sweep folder)")
    p.add_argument("--launcher", choices=tuple(LAUNCHERS),
                   help="local: parallel on this machine's cores (joblib; default); slurm: a "
                        "Slurm job array (configs/hydra/launcher/slurm.yaml); basic: one run "
                        "after another in one process (default with --smoke)")
    p.add_argument("--format", choices=("html", "md"), default="html", help="report format")
    p.add_argument("--size", choices=("one", "two"), default="one", help="figure width")
    p.add_argument("--no-run", action="store_true",
                   help="do not run the sweep: only collect, figures and report from the runs "
                        "already in its folder (e.g. after a sweep on a cluster)")
    return p


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m sim experiment``.

    Args:
        argv: the command's arguments (default: ``sys.argv[1:]``).

    Raises:
        ExperimentError: a bad argument, a sweep that did not start or cannot be
            analysed (exit 2 or the sweep's code), or an incomplete sweep (exit 1,
            after the report of its complete runs).
        ReportError: a report file to replace was edited by hand.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args, extra = _parser().parse_known_args(argv)
    bad = [a for a in extra if a.startswith("-") or "=" not in a]
    if bad:
        raise ExperimentError(f"{bad[0]}: not an option of `experiment` nor a KEY=VALUE override")
    try:
        exp = get(args.experiment)
    except KeyError as e:
        raise ExperimentError(e.args[0]) from None
    launcher = args.launcher or ("basic" if args.smoke else "local")
    run_args = sweep_args(exp, args.smoke, launcher, extra)
    sweep = sweep_folder(run_args)
    command = " ".join(["python -m sim experiment", *(shlex.quote(a) for a in argv)])
    print(exp.title + (f"\nsweep folder: {sweep}" if args.no_run else ""), flush=True)
    t0 = time.perf_counter()
    code = 0
    if not args.no_run:
        code = subprocess.run([sys.executable, "-m", "sim", "run", *run_args]).returncode
    t_sweep = time.perf_counter() - t0
    if not sweep.is_dir():
        raise ExperimentError(f"{sweep}: the sweep did not start (exit {code}); see the "
                              "messages above", code or 2)
    logging.getLogger("analysis").setLevel(logging.ERROR)  # the report states what matters
    try:
        report = analyse(exp, sweep, args.format, args.size, command)
    except (FileNotFoundError, ValueError) as e:
        raise ExperimentError(f"{sweep}: {e}", code or 2) from None
    t_all = time.perf_counter() - t0
    print(f"report: {report}")
    print(f"time: sweep {t_sweep:.0f} s, collect + figures + report {t_all - t_sweep:.0f} s")
    if code:
        raise ExperimentError(f"the sweep is not complete (exit {code}): run the same command "
                              f"again to resume; python -m sim status {sweep}", 1)
