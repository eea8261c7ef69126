"""The workers' state: one numpy array per attribute, a worker's id is its row.

Declared here once, with dtype, initial value and meaning, the way
:mod:`sim.core.ties` declares the tie columns and :mod:`sim.results.contract` the
spell columns. :class:`~sim.core.model.LabourMarket` holds each array as an
attribute of the same name (``model.employed``, ``model.ability`` ...), allocated by
:func:`allocate` and then filled by the model's set-up.
"""

from __future__ import annotations

import numpy as np

from sim.core.ties import NEVER

#: name -> (dtype, initial value, meaning)
WORKER_STATE: dict[str, tuple[type, object, str]] = {
    "ability": (np.float64, np.nan, "latent ability, N(0, workers.ability_sd): the productivity "
                "firms do not observe (they see a noisy signal of it)"),
    "sector": (np.int32, -1, "the worker's occupation: the local labour market they search in"),
    "strategy": (np.int8, -1, "index of the worker's networking strategy in "
                 "model.strategy_names"),
    "employed": (np.bool_, False, "holds a position"),
    "employer": (np.int32, -1, "firm of the position held (-1: none)"),
    "slot": (np.int64, -1, "position held, an index of the firms' positions (-1: none)"),
    "n_jobs": (np.int32, 0, "positions held so far, the current one included"),
    "ti_unemployed": (np.int32, NEVER, "week the current unemployment spell began (NEVER "
                      "while employed)"),
    "spell_row": (np.int64, -1, "row of the open spell in the spell buffer (-1: none)"),
    "last_employer": (np.int32, -1, "firm of the last job lost (-1: none yet); kept while "
                      "re-employed, replaced at the next separation"),
    "temporary": (np.bool_, False, "the last separation was a temporary layoff (drawn only with "
                  "recall.enabled; the employer recalls at recall.temporary_rate)"),
    "announces": (np.bool_, False, "announces the search to every contact (the strategy's "
                  "standing choice, set at each plan)"),
    "announced_until": (np.int32, NEVER, "last week contacts know of the search from an "
                        "announcement (leads.told_weeks > 0 only)"),
    "new_tie_share": (np.float32, 0.0, "share of networking hours spent making new connections "
                      "(set at each plan)"),
    "spread_share": (np.float32, 0.0, "share of networking hours spread over all ties "
                     "(set at each plan)"),
}


def allocate(owner: object, n: int) -> None:
    """Set one array per :data:`WORKER_STATE` entry on ``owner``, at its initial value.

    Args:
        owner: the object that holds the state (the model).
        n: number of workers.
    """
    for name, (dtype, initial, _meaning) in WORKER_STATE.items():
        setattr(owner, name, np.full(n, initial, dtype=dtype))
