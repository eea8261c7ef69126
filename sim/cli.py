"""Command line: ``python -m sim <command> [args]``.

The only module that turns errors into exit codes: library code raises
:class:`~sim.errors.SimError` (one-line message), and :func:`main` prints
``error: <message>`` on stderr and exits with the error's ``exit_code``.

Each command imports what it needs inside its own function, so that no command pays
for another's imports (Hydra and the model for ``run``, matplotlib for ``plot``,
pandas and pyarrow for ``status``/``collect``); ``python -m sim --help`` imports none.

``run`` is a Hydra application (config in ``configs/``), so it takes Hydra's
override syntax, ``--help``, ``-m`` for sweeps and launchers. The other
commands are plain argparse programs that need no run folder.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

from sim.errors import SimError

COMMANDS = {
    "run": "run one simulation, or a sweep with -m (Hydra overrides; `run --help` shows the config)",
    "status": "show complete / running / stale / corrupt / failed / missing runs of a sweep folder",
    "collect": "write one tidy dataset (spells.parquet, runs.parquet) for a sweep folder",
    "plot": "paper figures (PDF + PNG) from a sweep folder, a collected dataset or a run folder",
    "report": "a self-contained report (figures, tables also as LaTeX, parameters, provenance)",
    "experiment": "run a named experiment of experiments/ (sweep, collect, figures, report)",
    "viz": "serve the interactive exploration page (Mesa SolaraViz) on 127.0.0.1",
    "validate": "check the stylized facts of the default calibration (table, exit 1 on a failure)",
    "calibrate": "fit the free parameters to the stylized-fact targets (simulated method of moments)",
    "sensitivity": "global sensitivity analysis (Morris screening, Sobol indices) with SALib",
    "posterior": "parameter vectors consistent with the facts (ABC-SMC, pyabc) and lions - everyone",
    "history-match": "parameter vectors consistent with the facts (history matching) and lions - everyone",
}
# commands implemented in their own module as ``main(argv)`` (imported only when used)
MODULES = {
    "experiment": "experiments.launch",
    "viz": "sim.viz",
    "validate": "sim.studies.validate",
    "calibrate": "sim.studies.calibrate",
    "sensitivity": "sim.studies.sensitivity",
    "posterior": "sim.studies.posterior",
    "history-match": "sim.studies.history_match",
}

log = logging.getLogger("sim")


def _usage() -> str:
    lines = ["usage: python -m sim <command> [args]", "", "commands:"]
    lines += [f"  {name:<13} {text}" for name, text in COMMANDS.items()]
    lines += ["", "`python -m sim <command> --help` for a command's options."]
    return "\n".join(lines)


def fail(message: str, code: int = 2) -> None:
    """Print a one-line error and exit non-zero."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def run_help() -> str:
    """``run --help``: usage, the strategy and preset options, and the commented defaults."""
    from sim.workflow.compose import CONFIG_DIR, _options  # (Hydra: only `run` needs it)

    text = (CONFIG_DIR / "config.yaml").read_text()
    text = text.split("\nhydra:")[0].rstrip()
    groups = "\n".join(
        f"  +{g}=" + "|".join(_options(g))
        for g in ("strategy", "preset"))
    return (
        "usage: python -m sim run +strategy=NAME [key=value ...] [-m for a sweep]\n\n"
        "examples:\n"
        "  python -m sim run +strategy=lions\n"
        "  python -m sim run +strategy=mixed strategy.shares.lions=0.3 n_workers=100000 seed=7\n"
        "  python -m sim run -m +strategy=everyone,lions 'seed=range(0,20)'\n\n"
        f"choices:\n{groups}\n\n"
        "strategy files (configs/strategy/*.yaml) hold each strategy's own parameters,\n"
        "overridable as strategy.params.NAME.KEY=VALUE. Hydra's own options: --hydra-help.\n\n"
        f"configuration (configs/config.yaml):\n\n{text}\n")


def _hydra_run(argv: list[str]) -> None:
    if argv and argv[0] in {"-h", "--help"}:
        print(run_help())
        sys.exit(0)
    # Hydra and the model here, not at the top: status, collect, report ... do not need them
    import hydra

    from sim.results.folders import default_sweep_dir
    from sim.results.leases import lease_timeout
    from sim.workflow.compose import CONFIG_DIR, _skip_hydras_second_check, check_sweep
    from sim.workflow.task import run_task

    multirun = "-m" in argv or "--multirun" in argv
    flags = {a for a in argv if a.startswith("-")}
    lease_timeout()  # checked before any folder is made, for a run and a sweep alike
    if not flags:
        sys.exit(_single_run(argv))
    if flags <= {"-m", "--multirun"}:  # other flags (--cfg, -cn NAME ...): Hydra's own
        if check_sweep([a for a in argv if not a.startswith("-")]):
            _skip_hydras_second_check()
    sweep_dir = None
    if multirun:
        sweep_dir = next((a.split("=", 1)[1] for a in argv if a.startswith("hydra.sweep.dir=")),
                         None)
        if sweep_dir is None:
            sweep_dir = str(default_sweep_dir(argv))
            argv = [*argv, f"hydra.sweep.dir={sweep_dir}"]
        print(f"sweep folder: {sweep_dir} (run the same command again to resume)", flush=True)
    app = hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")(
        run_task)
    sys.argv = [f"{sys.argv[0]} run", *argv]
    code = 0
    try:
        app()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    if multirun and Path(sweep_dir).is_dir():
        from sim.results.folders import format_status, sweep_status

        runs = sweep_status(sweep_dir)
        print(format_status(runs, sweep_dir))
        if any(r.status != "complete" for r in runs):
            code = code or 1
    sys.exit(code)


def _single_run(overrides: list[str]) -> int:
    """``run`` without flags: one run, its config composed once.

    Hydra's ``@hydra.main`` composes a single run's config twice (once to read
    ``hydra.mode``, once to run), and the check before it once more; here the one
    composition is checked (one-line errors, no run folder on a bad command) and
    handed to Hydra's own job runner, which writes ``.hydra/`` and runs
    :func:`run_task` as ``@hydra.main`` would.

    Args:
        overrides: the command line's overrides.

    Returns:
        The exit code (0).
    """
    # Hydra and the model here, not at the top: status, collect, report ... do not need them
    from hydra import initialize_config_dir
    from hydra._internal.callbacks import Callbacks
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.utils import run_job
    from hydra.types import HydraContext, RunMode
    from omegaconf import OmegaConf, open_dict

    from sim.errors import ConfigError
    from sim.workflow.compose import CONFIG_DIR, _flat_keys, _one_line, check_config
    from sim.workflow.task import run_task

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3", job_name="sim"):
        hydra = GlobalHydra.instance().hydra
        try:
            cfg = hydra.compose_config("config", overrides, run_mode=RunMode.RUN,
                                       with_log_configuration=True)
        except Exception as e:  # Hydra's composition errors (unknown key, group option)
            base = hydra.compose_config("config", [], run_mode=RunMode.RUN)
            with open_dict(base):
                del base["hydra"]
            raise ConfigError(_one_line(e, list(_flat_keys(OmegaConf.to_container(base))),
                                        overrides)) from None
        data = {k: OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v
                for k, v in cfg.items() if k != "hydra"}  # hydra's keys resolve in run_job
        check_config(data)
        import_model()  # here, not deep inside Hydra's job: see import_model
        with open_dict(cfg.hydra):
            cfg.hydra.mode = RunMode.RUN
        callbacks = Callbacks(cfg)
        callbacks.on_run_start(config=cfg, config_name="config")
        ret = run_job(hydra_context=HydraContext(config_loader=hydra.config_loader,
                                                 callbacks=callbacks),
                      task_function=run_task, config=cfg, job_dir_key="hydra.run.dir",
                      job_subdir_key=None, configure_logging=True)
        callbacks.on_run_end(config=cfg, config_name="config", job_return=ret)
        _ = ret.return_value  # raises the task's exception, as Hydra does
    return 0


def import_model():
    """Import the model (:mod:`sim.core.model`), with only the parts of Mesa it uses
    (:mod:`sim.core.lean_mesa`), here near the top of the stack.

    Returns:
        The :class:`~sim.core.model.LabourMarket` class.
    """
    from sim.core.model import LabourMarket  # (only `run` needs the model: status, report... do not)

    return LabourMarket


def _report_command(argv: list[str]) -> None:
    """``report``: :func:`analysis.report.main` given what analysis, which reads run
    folders only, cannot know: the configuration's defaults and the named experiments'
    titles, questions and figure captions."""
    from analysis.report import main as report_main  # (only `report` needs these)
    from experiments import report_texts
    from sim.core.config import build_config, to_dict

    report_main(argv, defaults=to_dict(build_config({})), describe=report_texts)


def _plot_command(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sim plot", description=COMMANDS["plot"])
    parser.add_argument("path", help="a sweep folder, its collected/ folder, or one run folder")
    parser.add_argument("--out", help="output folder (default: PATH/figures)")
    parser.add_argument("--size", choices=("one", "two"), default="one",
                        help="one-column (3.5 in) or two-column (7.1 in) width (default: one)")
    parser.add_argument("--metric", choices=("rmst", "median", "share_within"), default="rmst",
                        help="headline outcome in the parameter figures (default: rmst, the "
                        "restricted mean weeks to re-employment)")
    parser.add_argument("--horizon", type=float, default=52.0,
                        help="RMST horizon in weeks (default: 52)")
    args = parser.parse_args(argv)
    path = Path(args.path)
    if not path.exists():
        fail(f"{path}: no such folder")
    from analysis import load
    from analysis.figures import make_figures

    try:
        data = load(path)
    except (FileNotFoundError, ValueError) as e:
        fail(f"{path}: {e}")
    out = Path(args.out) if args.out else (path / "figures")
    skipped: dict[str, str] = {}
    files = make_figures(data, out, size=args.size, metric=args.metric, horizon=args.horizon,
                         skipped=skipped)
    print(f"{len(files)} files in {out}:")
    for f in files:
        print(f"  {f.name}")
    for name, why in skipped.items():
        print(f"  skipped {name}: {why}")


def _sweep_command(command: str, argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        prog=f"python -m sim {command}", description=COMMANDS[command],
        epilog="A run is complete when its summary.json is there and its outputs match the "
        "sizes and SHA-256 it lists (else corrupt: not collected, redone on resume). A run "
        "being computed holds a lease (lease.<n>.json: host, pid, Slurm ids) with a "
        "heartbeat; without a heartbeat for SIM_LEASE_TIMEOUT seconds (environment "
        "variable, default 600), or with its process gone on this host, it is stale.")
    parser.add_argument("sweep_dir", help="a sweep folder (outputs/sweeps/...) or a run folder")
    if command == "collect":
        parser.add_argument("--out", help="output folder (default: SWEEP_DIR/collected)")
    args = parser.parse_args(argv)
    from sim.results.contract import SPELLS
    from sim.results.folders import collect, folder_kind, format_status, sweep_status
    from sim.results.leases import lease_timeout

    if not Path(args.sweep_dir).is_dir():
        fail(f"sweep_dir={args.sweep_dir}: no such folder")
    if folder_kind(args.sweep_dir) is None:
        fail(f"sweep_dir={args.sweep_dir}: not a sweep or run folder (no multirun.yaml, no run "
             "folder with .hydra/ or summary.json in it)")
    try:
        lease_timeout()
    except ValueError as e:
        fail(str(e))
    if command == "status":
        runs = sweep_status(args.sweep_dir)
        print(format_status(runs, args.sweep_dir))
        sys.exit(0 if all(r.status == "complete" for r in runs) else 1)
    res = collect(args.sweep_dir, args.out, progress=sys.stderr.isatty())
    counts = ", ".join(f"{v} {k}" for k, v in res["by_status"].items())
    if SPELLS in res["files"]:
        print(f"collected {res['runs']} runs ({counts}), {res['spells']} spells -> "
              f"{res['out_dir']}/spells.parquet, runs.parquet")
    else:
        print(f"no complete run to collect among {res['runs']} runs ({counts}): wrote only "
              f"{res['out_dir']}/runs.parquet")
    for p in res["problems"]:
        print(f"  not collected: {p}")


def _dispatch(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(_usage())
        sys.exit(0 if argv else 2)
    command, rest = argv[0], argv[1:]
    if command == "run":
        _hydra_run(rest)
    elif command in ("status", "collect"):
        _sweep_command(command, rest)
    elif command == "plot":
        _plot_command(rest)
    elif command == "report":
        _report_command(rest)
    elif command in MODULES:
        importlib.import_module(MODULES[command]).main(rest)
    else:
        fail(f"unknown command '{command}'; commands: {', '.join(COMMANDS)}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m sim``: a :class:`~sim.errors.SimError` from any command
    becomes ``error: <message>`` on stderr and its exit code."""
    try:
        _dispatch(argv)
    except SimError as e:
        fail(str(e), e.exit_code)
