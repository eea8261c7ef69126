"""``lions``: cultivate the few contacts who know your work and will recommend you.

Contacts are ranked by ``knows-work x strength x placement`` where placement is
1 for an employed contact in the worker's sector, ``other_sector_weight`` for an
employed contact elsewhere and 0 for an unemployed one. The whole budget goes to
the top ``focus_k`` (evenly), while employed too (building ties before they are
needed); while unemployed the worker also asks them for help, which makes them
aware of the search and favour the worker when they hear of an opening.
With ``announce=true`` the unemployed worker also announces the search to all
contacts (as ``broadcast`` does), so any contact who hears of an opening may pass
it on: the article's third piece of advice. Then one strategy follows all three
(identify your lions, build ties before you need them, announce your search);
the default ``announce=false`` keeps the two-piece strategy of earlier results.
The ranking is redone at every plan (``networking.plan_every`` weeks).

:meth:`Lions.plan` is the readable reference. The model runs
:meth:`Lions.plan_ties`, a compiled equivalent (``sim/core/kernels.py``);
``tests/test_strategies.py`` checks that both give identical plans. Change both
together, or delete ``plan_ties`` to have the model use ``plan``.
"""

from dataclasses import dataclass

import numpy as np

from sim.core import kernels
from sim.core.params import param
from sim.core.strategies.base import Context, Plan, Strategy


class Lions(Strategy):
    name = "lions"

    @dataclass
    class Params:
        focus_k: int = param(5, "number of contacts (lions) the worker invests in", 1)
        other_sector_weight: float = param(0.5, "placement weight of an employed contact in "
                                        "another sector", 0.0, 1.0)
        ask: bool = param(True, "ask the lions for help while unemployed")
        announce: bool = param(False, "announce the search to all contacts while unemployed "
                               "(the article's third piece of advice)")

    def __init__(self, params: Params):
        super().__init__(params)
        self._scratch: dict = {}  # the compiled plan's working buffers, kept between plans

    def plan(self, ctx: Context) -> Plan:
        p = self.params
        placement = np.where(ctx.same_sector, 1.0, p.other_sector_weight) * ctx.alter_employed
        # a floor keeps ties to contacts who are momentarily unemployed in the ranking
        score = ctx.knows * ctx.strength * (0.1 + 0.9 * placement)
        focus = ctx.top_k(score, p.focus_k)
        n_focus = np.bincount(ctx.ego_index[focus], minlength=len(ctx.egos))
        tie_share = np.where(focus, (1.0 / np.maximum(n_focus, 1))[ctx.ego_index], 0.0)
        ask = focus if p.ask else np.zeros(len(focus), bool)
        return Plan(tie_share, np.zeros(len(ctx.egos)), ask, np.full(len(ctx.egos), p.announce))

    def plan_ties(self, ties, members: np.ndarray, employed: np.ndarray,
                  sector: np.ndarray) -> Plan:
        """Same plan as :meth:`plan`, written straight into ``ties`` (fast path).

        Args:
            ties: the :class:`~sim.core.ties.Ties` store (its shares and asks are set).
            members: mask of the workers following this strategy.
            employed, sector: the workers' state arrays.

        Returns:
            The per-worker part of the plan (for the members, in id order).
        """
        p = self.params
        kernels.lions_plan(ties, members, employed, sector, p.focus_k, p.other_sector_weight,
                           p.ask, self._scratch)
        n = int(members.sum())
        return Plan(np.zeros(0), np.zeros(n), np.zeros(0, bool), np.full(n, p.announce))


STRATEGY = Lions
