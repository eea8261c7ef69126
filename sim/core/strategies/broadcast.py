"""``broadcast``: announce the job search so that every contact thinks of you.

While unemployed the worker's search is known to all contacts (not only the
close ones), so any contact who hears of an opening may pass it on. The hours
are spread evenly over existing ties; no new connections are sought.
"""

from sim.core.strategies.base import Context, Plan, Strategy


class Broadcast(Strategy):
    name = "broadcast"
    uses_ties = False

    def plan(self, ctx: Context) -> Plan:
        p = Plan.nothing(ctx)
        p.spread[:] = 1.0
        p.announce[:] = True
        return p


STRATEGY = Broadcast
