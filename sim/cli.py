"""Command line: ``python -m sim <command> [args]``.

``run`` is a Hydra application (config in ``configs/``), so it takes Hydra's
override syntax, ``--help``, ``-m`` for sweeps and launchers. The other
commands are plain argparse programs that need no run folder.
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

COMMANDS = {
    "run": "run one simulation, or a sweep with -m (Hydra overrides; `run --help` shows the config)",
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


def _remove_fresh_folder(folder: Path) -> None:
    """Remove a run folder Hydra just created, if it holds nothing but Hydra's files."""
    if not folder.is_dir():
        return
    own = {".hydra", "sim.log"}
    if any(p.name not in own for p in folder.iterdir()):
        return
    for h in list(logging.getLogger().handlers):
        if isinstance(h, logging.FileHandler) and Path(h.baseFilename).parent == folder:
            logging.getLogger().removeHandler(h)
            h.close()
    shutil.rmtree(folder)
    parent = folder.parent
    # drop now-empty date folders, but never above the outputs root
    while parent.name and parent.name != "outputs" and parent.is_dir() and not any(
            parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def run_task(cfg) -> dict | None:
    """The Hydra task: validate, run, write the run folder, print a summary."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from sim.config import ConfigError, build_config
    from sim.metrics import format_headline
    from sim.runner import RunExists, run_simulation

    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    hc = HydraConfig.get()
    folder = Path(hc.runtime.output_dir)
    single = hc.mode == RunMode.RUN
    data = OmegaConf.to_container(cfg, resolve=True)
    try:
        if "strategy" not in data:
            from sim.strategies import available

            raise ConfigError(
                "no strategy chosen: add +strategy=NAME, one of: "
                + ", ".join(sorted({*available(), *_strategy_presets()})))
        sim_cfg = build_config(data)
    except ConfigError as e:
        if single:
            _remove_fresh_folder(folder)
            fail(str(e))
        raise
    progress = {"on": True, "off": False}.get(sim_cfg.output.progress, sys.stderr.isatty())
    try:
        summary = run_simulation(sim_cfg, folder, progress=progress,
                                 extra={"overrides": list(hc.overrides.task)})
    except RunExists as e:
        fail(str(e))
    print(f"run folder: {folder}")
    print(format_headline(summary["metrics"]))
    return summary


def _strategy_presets() -> list[str]:
    root = CONFIG_DIR / "strategy"
    return [p.stem for p in root.glob("*.yaml")]


def _hydra_run(argv: list[str]) -> None:
    import hydra

    app = hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")(
        run_task)
    sys.argv = [f"{sys.argv[0]} run", *argv]
    app()


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m sim``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(_usage())
        sys.exit(0 if argv else 2)
    command, rest = argv[0], argv[1:]
    if command == "run":
        _hydra_run(rest)
    else:
        fail(f"unknown command '{command}'; commands: {', '.join(COMMANDS)}")
