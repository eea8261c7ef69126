"""One run, from a validated config to a complete run folder.

A run folder is complete or absent, and a complete one can be checked:

- every output is written durably and ``summary.json`` last, listing each output's
  size and SHA-256 (:mod:`sim.results.files`);
- while a run is computed its folder holds a *lease* naming the process, refreshed
  by a heartbeat, so two processes never compute one run at once and a dead
  process's run is taken over (:mod:`sim.results.leases`).

Contents (the contract sweeps, analysis and users rely on; see README "Outputs"):
``spells.parquet``, ``timeseries.parquet``, ``summary.json`` and, with
``output.ties=true``, ``ties.parquet`` (names in :mod:`sim.results.contract`). The
Parquet files depend only on the config and seed; time, host and process go to
``summary.json`` and the lease.

Test hooks (environment variables read by :func:`run_simulation`, for the tests
of crashes and races; not for normal use):

- ``SIM_TEST_HOOK=<point>:<action>[@<text>][,...]``: at ``<point>``
  (``before-outputs``: after the model ran, before its outputs are written;
  ``before-summary``: after the outputs, before ``summary.json``), do ``<action>``:
  ``kill`` (SIGKILL the process), ``sleep=<seconds>``, ``wait=<file>`` (until the
  file exists, at most 15 minutes) or ``raise`` (a RuntimeError, as a crash of the
  model would); with ``@<text>`` only in run folders whose name
  contains ``<text>``. Items are separated by ``;`` if there is one, else by ``,``.
- ``SIM_TEST_LOG=<file>``: append one line ``<event> <folder> <pid> <slurm job>``
  (``-`` outside Slurm) per run computed (``compute``) or left alone (``busy``,
  ``complete``).
"""


from __future__ import annotations

import functools
import json
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from sim.core.config import SimConfig, to_dict
from sim.core.model import LabourMarket
from sim.errors import SimError
from sim.results.contract import SPELLS, SUMMARY, TIES, TIMESERIES
from sim.results.files import RunCorrupt, fsync_dir, is_complete, read_summary, verify_run, write_atomic
from sim.results.leases import acquire_lease, slurm_ids
from sim.results.metrics import funnel_figures, headline

PACKAGES = ("sim", "mesa", "numpy", "pandas", "pyarrow", "numba", "hydra-core", "omegaconf")


class RunExists(SimError, RuntimeError):
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



# ---------------------------------------------------------------------------- test hooks


def _test_hook(point: str, folder: Path) -> None:
    spec = os.environ.get("SIM_TEST_HOOK")
    if not spec:
        return
    for item in spec.split(";" if ";" in spec else ","):
        where, _, action = item.partition(":")
        action, _, only = action.strip().partition("@")
        if where.strip() != point or (only and only not in folder.name):
            continue
        if action == "raise":
            raise RuntimeError(f"test hook SIM_TEST_HOOK={item.strip()}")
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif action.startswith("sleep="):
            time.sleep(float(action.split("=", 1)[1]))
        elif action.startswith("wait="):
            deadline = time.time() + 900
            while not Path(action.split("=", 1)[1]).exists() and time.time() < deadline:
                time.sleep(0.2)


def hook_log(event: str, folder: str | os.PathLike) -> None:
    """Append ``<event> <folder> <pid> <slurm job>`` to ``$SIM_TEST_LOG`` if set (a test
    hook; see the module docstring)."""
    path = os.environ.get("SIM_TEST_LOG")
    if path:
        job = os.environ.get("SLURM_ARRAY_JOB_ID") or os.environ.get("SLURM_JOB_ID") or "-"
        with open(path, "a") as fh:
            fh.write(f"{event} {Path(folder).resolve()} {os.getpid()} {job}\n")


# ------------------------------------------------------------------------------- a run


def _remove_outputs(folder: Path) -> None:
    """Remove a corrupt run's summary (first: the folder is then no longer complete)
    and the outputs it lists."""
    try:
        files = read_summary(folder).get("files") or []
    except (OSError, ValueError):
        files = []
    (folder / SUMMARY).unlink(missing_ok=True)
    fsync_dir(folder)
    for name in files:
        if "/" not in name and name != SUMMARY:
            (folder / name).unlink(missing_ok=True)


def run_simulation(cfg: SimConfig, folder: str | os.PathLike, *, progress: bool = False,
                   extra: dict | None = None, redo_corrupt: bool = False,
                   clean: tuple[str, ...] = ()) -> dict:
    """Run the model for ``cfg`` and write a complete run folder.

    The run is computed under the folder's lease (see :func:`acquire_lease`): a
    process that finds another live process computing it raises :class:`RunBusy`.

    Args:
        cfg: validated configuration.
        folder: run folder (created if missing). Refused if it already holds a
            complete run: nothing complete is overwritten.
        progress: show a progress bar.
        extra: additional provenance stored in the summary (e.g. Hydra overrides).
        redo_corrupt: a run whose outputs do not match its summary is removed and
            computed again (else :class:`RunCorrupt` is raised).
        clean: names of other files removed once the lease is held (e.g. an old
            ``error.json``); ``.partial`` files left by a dead process always are.

    Returns:
        The summary dict (also written to ``summary.json``).

    Raises:
        RunExists: the folder holds a complete run.
        RunCorrupt: it holds a corrupt one and ``redo_corrupt`` is false.
        RunBusy: another live process is computing the run.
        LeaseLost: this process was judged stale and the run was taken over.
    """

    folder = Path(folder)
    if is_complete(folder) and verify_run(folder) is None:
        raise RunExists(f"{folder} already holds a complete run; it is not overwritten")
    folder.mkdir(parents=True, exist_ok=True)
    lease = acquire_lease(folder)
    try:
        if is_complete(folder):  # checked again under the lease (another process may have
            problem = verify_run(folder)  # finished it meanwhile)
            if problem is None:
                raise RunExists(f"{folder} already holds a complete run; it is not overwritten")
            if not redo_corrupt:
                raise RunCorrupt(f"{folder} holds a corrupt run ({problem}); move or delete "
                                 "it to run it again")
            _remove_outputs(folder)
        for p in [*folder.glob(".*.partial"), *(folder / name for name in clean)]:
            p.unlink(missing_ok=True)
        lease.start_heartbeat()
        hook_log("compute", folder)
        started = datetime.now(UTC)
        model = LabourMarket(cfg).run(progress=progress)
        spells = model.spells_frame()
        outputs = {SPELLS: spells, TIMESERIES: model.timeseries_frame()}
        if cfg.output.ties:
            outputs[TIES] = model.ties_frame()
        _test_hook("before-outputs", folder)
        files = {}
        for name, df in outputs.items():
            lease.check()
            files[name] = write_atomic(folder / name, lambda p, df=df: df.to_parquet(p, index=False))
        _test_hook("before-summary", folder)
        ts = outputs[TIMESERIES]
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
            "funnel": funnel_figures(ts),
            "wall_time_s": round(model.wall_time, 3),
            "started_utc": started.isoformat(timespec="seconds"),
            "host": platform.node(),
            "pid": os.getpid(),
            "slurm": slurm_ids() or None,
            "versions": dict(package_versions()),
            "git": git_commit(),  # computed once per process (the code does not change under it)
            "argv": sys.argv,
            "config": to_dict(cfg),
            "files": {name: files[name] for name in sorted(files)},
            **(extra or {}),
        }

        def write_summary(p):
            with open(p, "w") as fh:
                json.dump(summary, fh, indent=2, allow_nan=False)
                fh.write("\n")

        lease.check()
        write_atomic(folder / SUMMARY, write_summary)
        return summary
    finally:
        lease.release()
