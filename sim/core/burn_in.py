"""A cache of burned-in market states, so runs that share their burn-in simulate it once.

The state of a :class:`~sim.core.model.LabourMarket` at week 0 depends on the whole
config except the keys that only act from week 0 on (``weeks``, the horizon, and
``output.*``, what is written), and on the code, numpy (the random streams'
pickled state) and numba (the compiled kernels). The cache stores that state,
pickled, under a key hashing exactly those inputs (:func:`key`): a run whose key is
in the cache starts from the stored state and gives the same outputs, bit for bit,
as one that simulates its burn-in (``tests/test_burn_in_cache.py``).

Where: the folder named by the environment variable ``SIM_BURN_IN_CACHE`` (unset:
no cache, every run simulates its burn-in); one file ``<key>.pkl`` per state,
about 30 MB per 10,000 workers after a long burn-in. Clear it by deleting the
folder (or any of its files) while no run uses it. Concurrent runs are safe: a
state is written to a temporary file and renamed into place
(:func:`sim.results.files.write_atomic`), so a reader sees a whole file or none,
and two runs writing the same key write the same state. A file that cannot be
read (truncated by a full disk, an older pickle) is a miss and is written again.
Files are unpickled: point the variable only at a folder you own.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import pickle
from functools import cache
from pathlib import Path

import numba
import numpy as np

from sim.core.config import SimConfig, to_dict
from sim.results.files import write_atomic

ENV = "SIM_BURN_IN_CACHE"
#: top-level config keys that do not act before week 0 (left out of the key)
NOT_IN_BURN_IN = ("weeks", "output")
#: model attributes a state does not carry: the run's own config, record and timings, and
#: everything Mesa's ``Model`` sets (registries, schedule, signals and the bound ``step``
#: refer to the model object itself; the model draws nothing from Mesa's ``random``, and
#: Mesa's ``rng`` is the model's ``"model"`` stream, set again after a load)
_NOT_STATE = {"cfg", "series", "timings", "wall_time",
              "_agents_by_type", "_all_agents", "_batch_context", "_default_schedule",
              "_event_generators", "_event_list", "_rng", "_scenario", "_seed", "_simulator",
              "_suppress", "_time", "_user_step", "agent_id_counter", "data_registry", "random",
              "rng", "running", "step", "steps", "subscribers"}
_CORE = Path(__file__).resolve().parent


def folder() -> Path | None:
    """The cache folder (``$SIM_BURN_IN_CACHE``), or None when the cache is off."""
    value = os.environ.get(ENV, "").strip()
    return Path(value).expanduser() if value else None


@cache
def code_digest() -> str:
    """SHA-256 of the model's source (every ``.py`` under ``sim/core``): a change of the
    code gives new keys, so no state simulated by other code is reused."""
    h = hashlib.sha256()
    for path in sorted(_CORE.rglob("*.py")):
        h.update(path.relative_to(_CORE).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def key(cfg: SimConfig) -> str:
    """Hex key of the burned-in state of ``cfg``: the config without
    :data:`NOT_IN_BURN_IN` (seed and burn_in included), the code, and numpy's and numba's
    versions.

    Args:
        cfg: the run's config.

    Returns:
        A 64-character hex string.
    """
    data = {k: v for k, v in to_dict(cfg).items() if k not in NOT_IN_BURN_IN}
    blob = json.dumps({"config": data, "code": code_digest(), "numpy": np.__version__,
                       "numba": numba.__version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _state(model) -> dict:
    """The model's attributes that make up its state (see :data:`_NOT_STATE`)."""
    out = {}
    for name, value in vars(model).items():
        if name in _NOT_STATE or inspect.ismethod(value):
            continue
        out[name] = value
    return out


def load(model, where: Path) -> bool:
    """Set ``model`` (at the start of its burn-in) to the stored state at week 0.

    Args:
        model: a :class:`~sim.core.model.LabourMarket` just built.
        where: the cache folder.

    Returns:
        Whether a state was found and loaded (False: a miss; ``model`` is untouched).
    """
    path = where / f"{key(model.cfg)}.pkl"
    try:
        with open(path, "rb") as f:
            state = pickle.load(f)
    except FileNotFoundError:
        return False
    except Exception:  # a damaged or unreadable file: a miss, written again after the burn-in
        return False
    if not isinstance(state, dict) or state.get("week") != 0:
        return False
    for name, value in state.items():
        setattr(model, name, value)
    if "rng" in vars(model):  # Mesa's generator is the "model" stream (LabourMarket.__init__)
        model.rng = model.streams["model"]
    return True


def save(model, where: Path) -> None:
    """Store ``model``'s state (at week 0, after its burn-in) atomically.

    Args:
        model: a :class:`~sim.core.model.LabourMarket` at week 0.
        where: the cache folder (created if missing).
    """
    if model.week != 0:
        raise ValueError(f"week={model.week}: a burned-in state is stored at week 0")
    where.mkdir(parents=True, exist_ok=True)
    blob = pickle.dumps(_state(model), protocol=pickle.HIGHEST_PROTOCOL)
    write_atomic(where / f"{key(model.cfg)}.pkl", lambda tmp: Path(tmp).write_bytes(blob))
