"""Shared fixtures: small, fast configurations of the model."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from sim.core.config import build_config

# small markets: 10 sectors of 150 workers (the default market of 10,000 workers needs at least
# as many workers), the other defaults as they are
SMALL = {"n_workers": 1500, "weeks": 40, "burn_in": 20, "output": {"progress": "off"},
         "market": {"market_size": None}}


def small(**over) -> dict:
    """A small config dict; keyword overrides use ``__`` for nesting (market__vacancy_rate)."""
    d = copy.deepcopy(SMALL)
    for key, value in over.items():
        node = d
        *path, last = key.split("__")
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    return d


LEGACY = Path(__file__).resolve().parents[1] / "configs" / "preset" / "legacy.yaml"


def _merge(base: dict, over: dict) -> dict:
    """``base`` updated by ``over`` key by key, nested mappings merged (as Hydra merges)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def with_legacy(cfg: dict) -> dict:
    """``cfg`` over configs/preset/legacy.yaml, the model before the flip of the defaults (no
    funnel, no recall, the hard awareness threshold, 10 sectors, the earlier calibration):
    what ``+preset=legacy`` gives, ``cfg``'s own keys winning."""
    return _merge(yaml.safe_load(LEGACY.read_text()), cfg)


def legacy(**over) -> dict:
    """A small config of the legacy model: :func:`small` (its sizes, weeks and burn-in, then
    ``over``) over configs/preset/legacy.yaml (:func:`with_legacy`)."""
    return with_legacy(small(**over))


def mix(**shares) -> dict:
    return {"name": "mix", "shares": shares}


@pytest.fixture
def small_cfg():
    return build_config(small(strategy=mix(lions=0.25, everyone=0.25, passive=0.25,
                                           broadcast=0.25)))


#: a test that needs the single-node Slurm that .ci/run starts (slow, marked `slurm`)
def needs_slurm(test):
    import os

    skip = pytest.mark.skipif(os.environ.get("SIM_SLURM_AVAILABLE") != "1" and not os.environ.get("CI"),
                              reason="needs the single-node Slurm that .ci/run starts")
    return pytest.mark.slow(pytest.mark.slurm(skip(test)))


def sim_as_slurm_job(args: list[str], tmp_path: Path) -> None:
    """Run ``python -m sim *args`` as a 2-core Slurm job (``sbatch --wait --wrap``, as the
    docs show) and fail with the job's output if it fails."""
    import shlex
    import subprocess
    import sys

    cmd = shlex.join([sys.executable, "-m", "sim", *args])
    r = subprocess.run(["sbatch", "--wait", "-c", "2", "--mem=2G", "-t", "10",
                        "-o", str(tmp_path / "job.out"), "--wrap", cmd], cwd=tmp_path,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr + (tmp_path / "job.out").read_text()[-2000:]


def run_sim(*args: str, timeout: float = 900):
    """``python -m sim *args`` in a subprocess, its output captured."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True,
                          timeout=timeout)
