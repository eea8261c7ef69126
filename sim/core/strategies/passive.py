"""``passive``: the baseline. Formal applications only: no networking time spent,
no announcement, nobody asked. Contacts who are close enough to know of the
search (``leads.aware_strength``) may still pass on leads."""

from sim.core.strategies.base import Context, Plan, Strategy


class Passive(Strategy):
    name = "passive"
    uses_ties = False

    def plan(self, ctx: Context) -> Plan:
        return Plan.nothing(ctx)


STRATEGY = Passive
