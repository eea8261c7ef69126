"""The task Hydra runs for each run of ``python -m sim run`` (single or sweep).

:func:`run_task` validates the composed config, runs the model into the run
folder and prints its summary. In a sweep it skips complete runs, leaves runs
another live process computes alone, redoes incomplete, stale or corrupt ones,
and records a failure in ``error.json`` so the other runs go on.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import traceback
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

from sim.core.config import to_dict
from sim.errors import SimError
from sim.results.contract import ERROR, SUMMARY
from sim.results.files import RunCorrupt, is_complete, verify_run
from sim.results.leases import LeaseLost, RunBusy, current_lease, lease_timeout, tidy
from sim.results.metrics import format_headline
from sim.workflow.compose import check_config
from sim.workflow.run import RunExists, hook_log, run_simulation

log = logging.getLogger("sim")


class RunRefused(SimError):
    """A single run cannot be made (its folder holds a run, or is busy)."""


def run_task(cfg) -> dict | None:
    """The Hydra task: validate, run, write the run folder, print a summary.

    In a sweep (multirun) a complete run folder is skipped (and what dead processes
    left in it is removed), a run another live process is computing (it holds the
    folder's lease) is skipped, an incomplete, stale or corrupt one is redone, and a
    failure is recorded in ``error.json`` (the other runs go on; the sweep's report
    lists it).
    """



    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    hc = HydraConfig.get()
    folder = Path(hc.runtime.output_dir)
    overrides = list(hc.overrides.task)
    if hc.mode != RunMode.MULTIRUN:
        # a single run was validated by _single_run()
        sim_cfg = check_config(OmegaConf.to_container(cfg, resolve=True))
        try:
            lease_timeout()
            summary = run_simulation(sim_cfg, folder, progress=_progress(sim_cfg),
                                     extra={"overrides": overrides})
        except (RunExists, RunCorrupt, RunBusy, ValueError) as e:
            raise RunRefused(str(e)) from None
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
        sim_cfg = check_config(OmegaConf.to_container(cfg, resolve=True))
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
