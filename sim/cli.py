"""Command line: ``python -m sim <command> [args]``.

``run`` is a Hydra application (config in ``configs/``), so it takes Hydra's
override syntax, ``--help``, ``-m`` for sweeps and launchers. The other
commands are plain argparse programs that need no run folder.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
}
# commands implemented in their own module as ``main(argv)`` (imported only when used)
MODULES = {
    "report": "analysis.report",
    "experiment": "experiments.launch",
    "viz": "sim.viz",
    "validate": "sim.studies.validate",
    "calibrate": "sim.studies.calibrate",
    "sensitivity": "sim.studies.sensitivity",
}

log = logging.getLogger("sim")
# the configs live beside the package in the source tree (installed editable)
CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def _usage() -> str:
    lines = ["usage: python -m sim <command> [args]", "", "commands:"]
    lines += [f"  {name:<10} {text}" for name, text in COMMANDS.items()]
    lines += ["", "`python -m sim <command> --help` for a command's options."]
    return "\n".join(lines)


def fail(message: str, code: int = 2) -> None:
    """Print a one-line error and exit non-zero."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def _flat_keys(d, prefix=""):
    for k, v in d.items():
        yield prefix + str(k)
        if isinstance(v, dict):
            yield from _flat_keys(v, f"{prefix}{k}.")


def _one_line(exc: Exception, cfg_keys: list[str], overrides: list[str]) -> str:
    """A one-line message for a Hydra composition error."""
    import difflib
    import re

    chain, e = [], exc
    while e is not None:
        chain.append(str(e))
        e = e.__cause__ or e.__context__
    text = "\n".join(chain)
    m = re.search(r"Could not (?:override|append to|delete from) '([^']+)'", text)
    if m and ("not in struct" in text or "Could not delete" in text):
        key = m.group(1)
        close = difflib.get_close_matches(key, cfg_keys, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        given = _given(key, overrides)
        return f"{key}={given}: unknown key{hint}" if given is not None else \
            f"{key}: unknown key{hint}"
    m = re.search(r"Error parsing override '([^']*)'\n(.+)", text)
    if m:  # e.g. seed=range(a)
        return f"{m.group(1)}: cannot parse it: {m.group(2).strip()}"
    m = re.search(r"Sweeping over Hydra's configuration is not supported : '([^']*)'", text)
    if m:
        return (f"{m.group(1)}: a sweep cannot vary Hydra's own settings (launcher, folders); "
                "run one sweep per setting")
    m = re.search(r"Ambiguous value for argument '([^']*)'", text)
    if m:  # a comma list without -m
        return (f"{m.group(1)}: several values run a sweep: add -m (for one list value write "
                "key=[a,b], for a string quote it)")
    m = re.search(r"does not support sweep type : (\w+)", text)
    if m:  # interval(...): for optimising sweepers only
        given = next((o for o in overrides if "interval(" in o), m.group(1))
        return f"{given}: a sweep takes lists (a,b) or range(start,stop[,step]), not an interval"
    m = re.search(r"Could not override '([^']+)'\. No match in the defaults list", text)
    if m:  # `strategy=lions`: a group not in the defaults list is chosen with a `+`
        key = m.group(1)
        given = _given(key, overrides) or "NAME"
        return (f"{key}={given}: no {key} is chosen by default, so there is none to override; "
                f"write +{key}={given} to choose one")
    m = re.search(r"Could not find '([^']+)/([^'/]+)'", text)
    if m:
        group, name = m.groups()  # the group may be nested: hydra/launcher/nope
        listed = re.search(rf"Available options in '{re.escape(group)}':\n((?:\t.*\n?)+)", text)
        options = listed.group(1).split() if listed else _options(group)
        return f"{group}={name}: unknown {group}; available: {', '.join(options)}"
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    return first


def _given(key: str, overrides: list[str]) -> str | None:
    """The value given to ``key`` among ``overrides`` (``+key=v``, ``key=v``), or None."""
    return next((o.split("=", 1)[1] for o in overrides
                 if "=" in o and o.split("=", 1)[0].lstrip("+~") == key), None)


def compose(overrides: list[str]):
    """Compose and validate a run's config from ``configs/`` and Hydra overrides.

    Returns the :class:`~sim.core.config.SimConfig`. Exits with a one-line error (code
    2) naming the offending key and value. Used by ``run`` before Hydra makes a
    folder, and by the commands that run models in-process (validate, calibrate,
    sensitivity).
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    from sim.core.config import ConfigError

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3", job_name="sim"):
        base = OmegaConf.to_container(hydra_compose("config"), resolve=False)
        try:
            cfg = hydra_compose("config", overrides=overrides)
        except Exception as e:  # Hydra's composition errors (unknown key, group option)
            fail(_one_line(e, list(_flat_keys(base)), overrides))
    data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("hydra", None)
    try:
        return validate(data)
    except ConfigError as e:
        fail(str(e))


class _SweepCompositionError(Exception):
    """Hydra could not compose a sweep (or one of its runs); ``run`` names the run."""

    def __init__(self, error: Exception, run: list[str]):
        super().__init__(str(error))
        self.error, self.run = error, run


def sweep_configs(overrides: list[str]) -> Iterator[tuple[list[str], dict, str, dict]]:
    """The runs of a sweep (``run -m``) and each run's composed configuration, cheaply.

    The runs are the ones Hydra's basic sweeper launches: the experiment's
    ``hydra.sweeper.params`` and the command line's overrides, comma lists and
    ranges expanded into every combination, in Hydra's order. Hydra composes one
    run per combination of the swept config groups (``+strategy=a,b``), which checks
    every key and group option; the other values (``seed=range(0,1000)``) are then
    set in a copy of that composed configuration, as Hydra sets them, which costs
    well under a millisecond per run instead of Hydra's 50-75 ms.

    Args:
        overrides: the command line's overrides (no flags such as ``-m``).

    Yields:
        ``(run, data, launcher, swept)``: the run's overrides, its configuration as a
        plain dict (without ``hydra``), the launcher's config, and the run's swept
        overrides (those that differ between runs) by their key.

    Raises:
        _SweepCompositionError: Hydra cannot compose the sweep or one of its runs.
    """
    import copy

    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3", job_name="sim"):
        loader = GlobalHydra.instance().config_loader()
        try:  # the sweep's own config: Hydra's keys, the launcher, unswept keys and groups
            master = loader.load_configuration("config", overrides, run_mode=RunMode.MULTIRUN)
            sweeper = master.hydra.sweeper
            if not str(sweeper.get("_target_", "")).endswith("BasicSweeper"):
                return  # another sweeper plans its runs itself
            hydra_overrides = list(master.hydra.overrides.hydra)
            params = [f"{k}={v}" for k, v in (sweeper.get("params") or {}).items()]
            parser = OverridesParser.create(config_loader=loader)
            (runs,) = BasicSweeper.split_arguments(
                parser.parse_overrides([*params, *master.hydra.overrides.task]), None)
            launcher = OmegaConf.to_container(master.hydra.launcher, resolve=False)
        except Exception as e:
            raise _SweepCompositionError(e, []) from e
        if not runs:
            return
        parsed: dict[str, Any] = {}

        def parse(text: str):
            if text not in parsed:
                parsed[text] = parser.parse_override(text)
            return parsed[text]

        groups = {i for i, text in enumerate(runs[0])
                  if loader.repository.group_exists(parse(text).key_or_group)}
        swept = [i for i in range(len(runs[0])) if len({run[i] for run in runs}) > 1]
        composed: dict[tuple, dict] = {}
        for run in runs:  # first Hydra's checks of every group option, then the values
            choice = tuple(run[i] for i in sorted(groups))
            if choice not in composed:  # one full composition per combination of groups
                try:
                    cfg = hydra_compose("config", overrides=[*hydra_overrides, *run])
                except Exception as e:
                    raise _SweepCompositionError(e, run) from e
                composed[choice] = OmegaConf.to_container(cfg, resolve=True)
                composed[choice].pop("hydra", None)
        for run in runs:
            data = copy.deepcopy(composed[tuple(run[i] for i in sorted(groups))])
            for i, text in enumerate(run):
                if i not in groups:
                    _set_override(data, parse(text))
            yield run, data, launcher, {parse(run[i]).key_or_group: run[i] for i in swept}


def check_sweep(overrides: list[str]) -> int:
    """Compose and validate every run of a sweep (``run -m``) before anything is written.

    Each run's configuration (:func:`sweep_configs`) passes the same checks, with the
    same one-line errors, as a single run's, including the memory check (against the
    job's ``mem_gb`` on a Slurm launcher). 1,000 runs take about 2 s.

    Args:
        overrides: the command line's overrides (no flags such as ``-m``).

    Returns:
        The number of runs. Exits with a one-line error (code 2) naming the first
        offending key and value (and the run, when the error is about another key
        than the swept ones).
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    from sim.core.config import ConfigError

    n = 0
    runs = sweep_configs(overrides)
    try:
        for _run, data, launcher, swept in runs:
            n += 1
            if n == 1:
                _check_launcher(launcher)
            mem_gb = launcher.get("mem_gb") if "slurm" in str(launcher.get("_target_")).lower() \
                else None  # a Slurm job gets the memory it asks for, not this login node's
            try:
                validate(data, *((mem_gb * 2**30, f"per Slurm job (hydra.launcher.mem_gb={mem_gb})")
                                 if mem_gb else ()))
            except ConfigError as e:
                # a swept key's own bad value is named by the message; a combination of
                # values (e.g. shares that do not sum to 1) is named by the run's values
                key = str(e).split(":", 1)[0].split("=", 1)[0]
                related = [text for k, text in swept.items()
                           if f"{k}.".startswith(f"{key}.") or f"{key}.".startswith(f"{k}.")]
                fail(f"{e} (in the sweep's run {' '.join(related)})"
                     if related and key not in swept else str(e))
    except _SweepCompositionError as e:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3",
                                   job_name="sim"):
            base = OmegaConf.to_container(hydra_compose("config"), resolve=False)
        fail(_one_line(e.error, list(_flat_keys(base)), [*overrides, *e.run]))
    finally:
        runs.close()  # leaves Hydra's global state (initialize_config_dir) also on an error
    return n


def _check_launcher(launcher: dict) -> None:
    """One-line errors (exit 2) for the grouped launchers' own settings."""
    for key, lowest in (("runs_per_task", 1), ("max_array_size", 1)):
        value = launcher.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
            fail(f"hydra.launcher.{key}={value}: must be a whole number >= {lowest}")


def _skip_hydras_second_check() -> None:
    # Hydra's basic sweeper composes every run once more before it launches any (50-120 ms
    # a run here: one to two minutes for 1,000 runs, in which nothing runs). check_sweep
    # has just checked the same runs, so that second pass is turned off in this process;
    # the launcher still composes each run as it starts it (and a failure is recorded).
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    BasicSweeper.validate_batch_is_legal = lambda self, batch: None


def _set_override(data: dict, override) -> None:
    """Apply a parsed Hydra value override (``k=v``, ``+k=v``, ``++k=v``, ``~k``) to a
    plain config dict, as Hydra applies it to the composed config (a mapping merges
    into a mapping; anything else replaces)."""
    from sim.core.config import ConfigError

    def merge(into: dict, key: str, value) -> None:
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            for k, v in value.items():
                merge(into[key], k, v)
        else:
            into[key] = value

    *path, last = override.key_or_group.split(".")
    node = data
    for p in path:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{override.input_line}: {p} is not a group of keys")
    if override.is_delete():
        node.pop(last, None)
    else:
        merge(node, last, override.value())


def validate(data: dict, memory: float | None = None, where: str = "on this machine"):
    """Build the run's :class:`~sim.core.config.SimConfig` from a composed config, and check
    that the run fits in ``memory`` bytes (default: what this machine has available;
    ``where`` says where that memory is)."""
    from sim.core.config import ConfigError, build_config, check_memory

    if "strategy" not in data:
        from sim.core.strategies import available

        raise ConfigError(
            "no strategy chosen: add +strategy=NAME, one of: "
            + ", ".join(sorted({*available(), *_options("strategy")})))
    cfg = build_config(data)
    check_memory(cfg, memory, where)
    return cfg


def run_task(cfg) -> dict | None:
    """The Hydra task: validate, run, write the run folder, print a summary.

    In a sweep (multirun) a complete run folder is skipped (and what dead processes
    left in it is removed), a run another live process is computing (it holds the
    folder's lease) is skipped, an incomplete, stale or corrupt one is redone, and a
    failure is recorded in ``error.json`` (the other runs go on; the sweep's report
    lists it).
    """
    import json

    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from sim.results.files import RunCorrupt, is_complete, verify_run
    from sim.results.folders import ERROR
    from sim.results.leases import LeaseLost, RunBusy, current_lease, lease_timeout, tidy
    from sim.results.metrics import format_headline
    from sim.workflow.run import RunExists, hook_log, run_simulation

    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    import_model()  # once per process (a sweep's worker or task): only the Mesa it needs
    hc = HydraConfig.get()
    folder = Path(hc.runtime.output_dir)
    overrides = list(hc.overrides.task)
    if hc.mode != RunMode.MULTIRUN:
        # a single run was validated by _single_run()
        sim_cfg = validate(OmegaConf.to_container(cfg, resolve=True))
        try:
            lease_timeout()
            summary = run_simulation(sim_cfg, folder, progress=_progress(sim_cfg),
                                     extra={"overrides": overrides})
        except (RunExists, RunCorrupt, RunBusy, ValueError) as e:
            fail(str(e))
        print(f"run folder: {folder}")
        print(format_headline(summary["metrics"]))
        return summary

    def skip_if_complete() -> bool:
        if not is_complete(folder) or verify_run(folder) is not None:
            return False
        changed = config_changes(folder, sim_cfg)
        if changed:
            # a complete run of another configuration (e.g. the defaults changed since):
            # neither reused as if current nor overwritten
            raise StaleRun(f"holds a complete run of another configuration ({changed}); move "
                           "or delete the sweep folder to run it again")
        (folder / ERROR).unlink(missing_ok=True)
        tidy(folder)  # stale leases and .partial files of dead processes
        hook_log("complete", folder)
        log.info("complete already, skipped: %s", folder)
        return True

    try:
        sim_cfg = validate(OmegaConf.to_container(cfg, resolve=True))
        if skip_if_complete():
            return None
        try:
            run_simulation(sim_cfg, folder, progress=_progress(sim_cfg),
                           extra={"overrides": overrides}, redo_corrupt=True, clean=(ERROR,))
        except RunBusy as e:
            hook_log("busy", folder)
            log.info("being computed by another process (%s), skipped: %s",
                     e.lease.describe(), folder)
        except RunExists:  # another process completed it meanwhile
            if not skip_if_complete():
                raise
        except LeaseLost as e:  # taken over by another process: its result stands
            log.warning("%s", e)
    except Exception as e:  # recorded for `sim status`; the sweep goes on
        import traceback

        other = current_lease(folder)
        mine = (socket.gethostname(), os.getpid())
        if not isinstance(e, StaleRun) and (
                (other is not None and other.live and
                 (other.data.get("host"), other.data.get("pid")) != mine) or is_complete(folder)):
            # another process took the run over meanwhile (and may have removed files under
            # this one): its run stands, and an error.json here would mark it failed
            log.warning("run taken over by another process (%s: %s), not recorded: %s",
                        type(e).__name__, e, folder)
            return None
        (folder / ERROR).write_text(json.dumps({
            "type": type(e).__name__, "message": str(e).splitlines()[0] if str(e) else "",
            "overrides": overrides, "traceback": traceback.format_exc()}, indent=2))
        log.error("run failed (%s: %s): %s", type(e).__name__, e, folder)
    return None


class StaleRun(RuntimeError):
    """A sweep's run folder holds a complete run of a different configuration."""


def config_changes(folder: Path, sim_cfg) -> str:
    """The keys whose values differ between a complete run folder's configuration
    and ``sim_cfg`` (``""`` when they agree), e.g. ``hiring.applications 0.06 -> 0.064``."""
    import json

    from sim.core.config import to_dict
    from sim.results.contract import SUMMARY

    stored = dict(_flat_items(json.loads((folder / SUMMARY).read_text()).get("config", {})))
    now = dict(_flat_items(json.loads(json.dumps(to_dict(sim_cfg)))))
    diff = [f"{k} {stored.get(k)} -> {now.get(k)}" for k in sorted(set(stored) | set(now))
            if stored.get(k) != now.get(k)]
    return ", ".join(diff[:3]) + (f" and {len(diff) - 3} more" if len(diff) > 3 else "")


def _flat_items(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict) and v:
            yield from _flat_items(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def _progress(sim_cfg) -> bool:
    return {"on": True, "off": False}.get(sim_cfg.output.progress, sys.stderr.isatty())


def _options(group: str) -> list[str]:
    """The options of a config group (``configs/<group>/*.yaml``), sorted."""
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def run_help() -> str:
    """``run --help``: usage, the strategy and preset options, and the commented defaults."""
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
    import hydra

    if argv and argv[0] in {"-h", "--help"}:
        print(run_help())
        sys.exit(0)
    multirun = "-m" in argv or "--multirun" in argv
    flags = {a for a in argv if a.startswith("-")}
    from sim.results.leases import lease_timeout

    try:
        lease_timeout()  # checked before any folder is made, for a run and a sweep alike
    except ValueError as e:
        fail(str(e))
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
    # Hydra here, not at the top: status, collect, report ... do not need it
    from hydra import initialize_config_dir
    from hydra._internal.callbacks import Callbacks
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.utils import run_job
    from hydra.types import HydraContext, RunMode
    from omegaconf import OmegaConf, open_dict

    from sim.core.config import ConfigError

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3", job_name="sim"):
        hydra = GlobalHydra.instance().hydra
        try:
            cfg = hydra.compose_config("config", overrides, run_mode=RunMode.RUN,
                                       with_log_configuration=True)
        except Exception as e:  # Hydra's composition errors (unknown key, group option)
            base = hydra.compose_config("config", [], run_mode=RunMode.RUN)
            with open_dict(base):
                del base["hydra"]
            fail(_one_line(e, list(_flat_keys(OmegaConf.to_container(base))), overrides))
        data = {k: OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v
                for k, v in cfg.items() if k != "hydra"}  # hydra's keys resolve in run_job
        try:
            validate(data)
        except ConfigError as e:
            fail(str(e))
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
    """Import the model (:mod:`sim.core.model`) with only the parts of Mesa it uses.

    ``import mesa`` runs Mesa's ``__init__``, which imports every Mesa module: grids
    and networks (scipy.spatial, networkx), the batch runner, and through
    ``mesa.experimental``'s ``__init__`` continuous space (scipy.spatial again): about
    half a second that a run does not use. Here ``mesa`` and ``mesa.experimental`` are
    registered as bare packages first, so ``import mesa.model`` loads ``Model`` and the
    modules it imports itself; a package's own ``__init__`` runs on the first use of
    any other name in it, so code that uses the rest of Mesa later in the same process
    works unchanged. The import is also done near the top of the stack: Mesa's module
    logger calls ``inspect.stack()``, whose cost grows with the stack's depth.

    Returns:
        The :class:`~sim.core.model.LabourMarket` class.
    """
    if "mesa" not in sys.modules:  # (Mesa and the model here: only `run` needs them)
        for name in ("mesa", "mesa.experimental"):
            _bare_package(name)
        try:
            import mesa.agent
            import mesa.model

            mesa.Model, mesa.Agent = mesa.model.Model, mesa.agent.Agent
        except Exception as e:  # a Mesa whose modules need its __init__ while importing
            for name in [m for m in sys.modules if m == "mesa" or m.startswith("mesa.")]:
                sys.modules.pop(name)  # the bare packages and any half-imported module
            log.warning("importing only part of Mesa failed (%s: %s); importing all of it",
                        type(e).__name__, e)
            import mesa  # noqa: F401  (the plain, complete import)
    from sim.core.model import LabourMarket

    return LabourMarket


def _bare_package(name: str) -> bool:
    """Register package ``name`` without running its ``__init__`` (which runs, once, on
    the first lookup of a name the package does not have yet). False if not found."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return False
    package = importlib.util.module_from_spec(spec)

    def rest_of_package(attr: str):
        if attr.startswith("__") and attr != "__version__":  # importlib's lookups: not a use
            raise AttributeError(attr)
        del package.__dict__["__getattr__"]
        spec.loader.exec_module(package)  # the package's own __init__, in place
        return getattr(package, attr)

    package.__getattr__ = rest_of_package
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, package)
    return True


def default_sweep_dir(argv: list[str]) -> Path:
    """A sweep folder that depends only on the sweep's overrides, so that the same
    command resumes the same sweep: ``outputs/sweeps/<experiment or sweep>-<hash>``."""
    import hashlib

    keep = sorted(a for a in argv if not a.startswith("-") and not a.startswith("hydra"))
    digest = hashlib.sha1("\n".join(keep).encode()).hexdigest()[:8]
    exp = next((a.split("=", 1)[1] for a in argv if a.lstrip("+").startswith("experiment=")),
               "sweep")
    return Path("outputs") / "sweeps" / f"{exp}-{digest}"


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
    if "spells.parquet" in res["files"]:
        print(f"collected {res['runs']} runs ({counts}), {res['spells']} spells -> "
              f"{res['out_dir']}/spells.parquet, runs.parquet")
    else:
        print(f"no complete run to collect among {res['runs']} runs ({counts}): wrote only "
              f"{res['out_dir']}/runs.parquet")
    for p in res["problems"]:
        print(f"  not collected: {p}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m sim``."""
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
    elif command in MODULES:
        import importlib

        importlib.import_module(MODULES[command]).main(rest)
    else:
        fail(f"unknown command '{command}'; commands: {', '.join(COMMANDS)}")
