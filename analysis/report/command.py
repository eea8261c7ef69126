"""The report's command line: ``python -m sim report PATH [--out DIR] [--format html|md] ...``.

:func:`main` parses the options, loads ``PATH`` and calls
:func:`~analysis.report.build.write_report`. What :mod:`analysis` cannot know,
because it reads run folders only, the caller passes in: the configuration's
defaults and, for a sweep of a named experiment, its title, introduction and
figure captions (:mod:`sim.cli` does, with ``configs/config.yaml``'s defaults and
:mod:`experiments`). Errors are raised as :class:`ReportError` (one line); the
entry point of ``python -m sim`` prints them and exits 2.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from analysis import tables
from analysis.data import Data, load
from analysis.report.build import FORMATS, write_report
from analysis.report.parameters import sweep_definition
from analysis.report.publish import ReportError

#: ``describe(experiment)``: keyword arguments of ``write_report`` (``title``,
#: ``intro``, ``captions``, ``first``) for the sweep file ``experiment`` the sweep
#: was run with (``+experiment=NAME``; None if none), empty if it adds nothing.
Describe = Callable[[str | None], Mapping[str, object]]


def parser() -> argparse.ArgumentParser:
    """The options of ``python -m sim report``.

    Returns:
        The argument parser.
    """
    p = argparse.ArgumentParser(
        prog="python -m sim report",
        description="A self-contained report (figures, tables also as CSV and LaTeX, the "
                    "sweep's parameters, provenance) of a sweep folder, its collected/ folder "
                    "or one run folder. Replaces only files it made itself.")
    p.add_argument("path", help="a sweep folder, its collected/ folder, or one run folder")
    p.add_argument("--out", help="report folder (default: PATH/report)")
    p.add_argument("--format", choices=FORMATS, default="html",
                   help="html: one file with the figures embedded (default); md: Markdown "
                   "with the figures as files beside it")
    p.add_argument("--size", choices=("one", "two"), default="one",
                   help="column width of figures made for the report (default: one)")
    p.add_argument("--horizon", type=float, default=52.0,
                   help="RMST horizon in weeks (default: 52)")
    p.add_argument("--cox-max-spells", type=int, default=tables.COX_MAX_SPELLS,
                   help=f"spells per Cox model; bigger cells use their lowest seeds "
                   f"(default: {tables.COX_MAX_SPELLS:,})")
    p.add_argument("--force", action="store_true",
                   help="replace report files even if they were edited by hand")
    return p


def load_path(path: Path) -> Data:
    """``path`` loaded for the report.

    Args:
        path: a sweep folder, its collected folder, or one run folder.

    Returns:
        The loaded outputs.

    Raises:
        ReportError: ``path`` is missing or holds nothing to report (one line naming it).
    """
    if not path.exists():
        raise ReportError(f"{path}: no such file or folder")
    try:
        return load(path)
    except (FileNotFoundError, ValueError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        reason = reason.split(": ", 1)[1] if reason.startswith(str(path)) else reason
        raise ReportError(f"{path}: {reason}") from None


def main(argv: list[str] | None = None, *, defaults: Mapping | None = None,
         describe: Describe | None = None) -> None:
    """``python -m sim report PATH [--out DIR] [--format html|md] ...``: make the
    report and print ``report: <file>``.

    Args:
        argv: the command's arguments (default: ``sys.argv[1:]``).
        defaults: the configuration's defaults, for the Parameters section (see
            :func:`~analysis.report.build.write_report`).
        describe: the texts of the experiment the sweep was run with (see
            :data:`Describe`).

    Raises:
        ReportError: a bad path, or a file the report must not replace.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    # messages such as the RMST horizon clipping are stated in the report itself
    logging.getLogger("analysis").setLevel(logging.ERROR)
    path = Path(args.path)
    data = load_path(path)
    out = Path(args.out) if args.out else path / "report"
    command = " ".join(["python -m sim report", *(shlex.quote(a) for a in argv)])
    texts = dict(describe(sweep_definition(data).get("experiment"))) if describe else {}
    report = write_report(data, out, args.format, size=args.size, horizon=args.horizon,
                          force=args.force, command=command, cox_max_spells=args.cox_max_spells,
                          defaults=defaults, **texts)
    print(f"report: {report}")
