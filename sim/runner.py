"""One run, from a validated config to a complete run folder.

A run folder is complete or absent: outputs are written under temporary names
and renamed into place, and ``summary.json`` is written last; its presence marks
the run complete. Contents (the contract sweeps, analysis and users rely on; see
README "Outputs"): ``spells.parquet``, ``timeseries.parquet``, ``summary.json``
and, with ``output.ties=true``, ``ties.parquet``.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from sim.config import SimConfig, to_dict
from sim.metrics import headline

SUMMARY = "summary.json"
PACKAGES = ("sim", "mesa", "numpy", "pandas", "pyarrow", "numba", "hydra-core", "omegaconf")


class RunExists(RuntimeError):
    """The run folder already holds a complete run."""


@functools.cache
def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


@functools.cache
def git_commit() -> dict | None:
    """Commit of the source tree this package runs from, if it is a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=5,
                               check=True).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def is_complete(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a complete run (its summary is there)."""
    return (Path(folder) / SUMMARY).is_file()


def write_atomic(path: Path, write) -> None:
    """Write through ``write(tmp_path)`` and rename onto ``path``: the file is whole or absent."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """:func:`write_atomic` for a text file."""
    write_atomic(path, lambda p: Path(p).write_text(text))


def run_simulation(cfg: SimConfig, folder: str | os.PathLike, *, progress: bool = False,
                   extra: dict | None = None) -> dict:
    """Run the model for ``cfg`` and write a complete run folder.

    Args:
        cfg: validated configuration.
        folder: run folder (created if missing). Refused if it already holds a
            complete run: nothing complete is overwritten.
        progress: show a progress bar.
        extra: additional provenance stored in the summary (e.g. Hydra overrides).

    Returns:
        The summary dict (also written to ``summary.json``).
    """
    from sim.model import LabourMarket

    folder = Path(folder)
    if is_complete(folder):
        raise RunExists(f"{folder} already holds a complete run; it is not overwritten")
    folder.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    model = LabourMarket(cfg).run(progress=progress)
    spells = model.spells_frame()
    outputs = {"spells.parquet": spells, "timeseries.parquet": model.timeseries_frame()}
    if cfg.output.ties:
        outputs["ties.parquet"] = model.ties_frame()
    for name, df in outputs.items():
        write_atomic(folder / name, lambda p, df=df: df.to_parquet(p, index=False))
    ts = outputs["timeseries.parquet"]
    summary = {
        "complete": True,
        "seed": cfg.seed,
        "strategy": cfg.strategy.name,
        "strategies": model.strategy_names,
        "metrics": headline(spells, model.strategy_names),
        "market": {
            "mean_unemployment_rate": float(ts["unemployment_rate"].mean()),
            "mean_vacancy_rate": float(ts["vacancy_rate"].mean()),
            "final_mean_degree": float(ts["mean_degree"].iloc[-1]),
        },
        "wall_time_s": round(model.wall_time, 3),
        "started_utc": started.isoformat(timespec="seconds"),
        "host": platform.node(),
        "versions": dict(package_versions()),
        "git": git_commit(),  # computed once per process (the code does not change under it)
        "argv": sys.argv,
        "config": to_dict(cfg),
        "files": sorted(outputs),
        **(extra or {}),
    }

    def write_summary(p):
        with open(p, "w") as fh:
            json.dump(summary, fh, indent=2, allow_nan=False)
            fh.write("\n")

    write_atomic(folder / SUMMARY, write_summary)
    return summary
