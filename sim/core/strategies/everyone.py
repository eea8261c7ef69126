"""``everyone``: connect with as many people as possible.

Part of the budget goes to making new online connections (within and across
sectors) and every invitation received is accepted; the rest is spread evenly
over all ties, so maintenance is thin when the network is large. This is the
open networker of the UpMo (2010) study.
"""

from dataclasses import dataclass

from sim.core.params import param
from sim.core.strategies.base import Context, Plan, Strategy


class Everyone(Strategy):
    name = "everyone"
    accepts_all = True
    uses_ties = False  # it spreads its time evenly: no need to look at the ties

    @dataclass
    class Params:
        new_tie_share: float = param(0.25, "share of the networking time spent making new "
                                  "connections", 0.0, 1.0)

    def plan(self, ctx: Context) -> Plan:
        p = Plan.nothing(ctx)
        p.new_tie_share[:] = self.params.new_tie_share
        p.spread[:] = 1.0 - self.params.new_tie_share
        return p


STRATEGY = Everyone
