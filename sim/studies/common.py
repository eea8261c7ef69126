"""What the studies share: their command-line options and the population they study.

``validate`` and ``calibrate`` take the same options (population overrides, seeds,
workers, weeks, parallel jobs, sampling interval); :func:`parse_args` declares them
once and :func:`config_from_args` composes the studied configuration (by default
the ``mixed`` population) with the same checks as ``python -m sim run``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from sim.core.config import SimConfig
from sim.errors import ConfigError
from sim.workflow.compose import compose

#: the population studied when no +strategy= or +preset= is given
DEFAULT_OVERRIDES = ["+strategy=mixed"]


def parse_args(argv: Sequence[str], prog: str, description: str,
               extra: Callable[[argparse.ArgumentParser], None] | None = None):
    """The options shared by validate and calibrate: population, seeds, jobs."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="config overrides in Hydra syntax (default population: +strategy=mixed)")
    p.add_argument("--seeds", type=int, default=5, help="number of seeds, 0..N-1 (default: %(default)s)")
    p.add_argument("--n-workers", type=int, default=SimConfig.n_workers,
                   help="workers per run (default: %(default)s, the model's default)")
    p.add_argument("--weeks", type=int, default=SimConfig.weeks,
                   help="recorded weeks per run (default: %(default)s, the model's default)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="runs in parallel processes (default: all cores)")
    p.add_argument("--every", type=int, default=4,
                   help="weeks between samples of the market's state (default: 4)")
    if extra:
        extra(p)
    args = p.parse_args(list(argv))
    for o in args.overrides:  # the flags set these two: an override would be silently lost
        key = o.split("=", 1)[0].lstrip("+~")
        if key in ("n_workers", "weeks"):
            raise ConfigError(f"{o}: set it with --{key.replace('_', '-')} {o.split('=', 1)[-1]} "
                 f"(the option decides {key} for every run)")
    for key in ("seeds", "n_workers", "weeks", "jobs", "every"):
        if getattr(args, key) < 1:
            raise ConfigError(f"--{key.replace('_', '-')}={getattr(args, key)}: must be >= 1")
    return args


def config_from_args(args) -> SimConfig:

    overrides = list(args.overrides)
    if not any(o.lstrip("+").startswith(("strategy=", "preset=")) for o in overrides):
        overrides = DEFAULT_OVERRIDES + overrides
    return compose([*overrides, f"n_workers={args.n_workers}", f"weeks={args.weeks}"])


def study_dir(kind: str, key: Mapping) -> Path:
    """A study's default output folder, ``outputs/<kind>/<hash>``: the hash covers ``key``
    (the configuration and every setting that changes the study), so a different setting
    never resumes someone else's study."""
    text = json.dumps(dict(key), sort_keys=True, default=str)
    return Path("outputs") / kind / hashlib.sha1(text.encode()).hexdigest()[:10]
