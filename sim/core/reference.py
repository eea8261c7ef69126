"""Reference implementation of the labour market, written the plain Mesa way: a test oracle.

One Python object per worker (:class:`Worker`, a ``mesa.Agent``) and per firm
(:class:`Firm`), the ties in a ``networkx.Graph`` with their state as edge
attributes, agents acting themselves (``AgentSet.shuffle_do``), plain Python
draws from the model's ``random``. It follows the same weekly order and the same
mechanics as the fast model (:class:`sim.core.model.LabourMarket`, order in its module
docstring, description in ``docs/ODD.md``), takes the same config, and writes
spells with the same columns, so :mod:`sim.results.metrics` applies to both. It is meant
to be read, not run at scale: ``tests/test_docking.py`` checks that both models
produce statistically equivalent outputs (docking, Axtell et al. 1996), and
``benchmarks/reference_speed.py`` times both.

The two models share no random numbers, so they agree in distribution, not run by
run. Each submodel is synchronous in the fast model (all workers act on the same
state); here agents act one at a time in random order, which is equivalent because
within a submodel no agent's action changes what another one sees: plans write
only the planner's side of its ties; investment is summed over both ends of a tie
before the gain is applied; leads and applications are collected before firms
choose; offers are collected before workers choose.

Implementation details of the fast model that are not reproduced (same mechanic,
other draws): the order of random draws and which stream they come from; ties
between equal lions scores (here the graph's neighbour order); which open position
of a firm a hire fills (positions of a firm are interchangeable); float32 storage
of tie state (here Python floats). Per-helper picks are successive weighted draws
without replacement, which has the same distribution as the fast model's
exponential race. ``market.jobs=exogenous`` (the Calvo-Armengol & Jackson preset)
is not implemented.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import networkx as nx
import numpy as np
import pandas as pd

from sim.core.config import SimConfig, build_config
from sim.core.lean_mesa import mesa
from sim.core.strategies import get_strategy
from sim.results.contract import CAUSES, CHANNELS, TIE_KINDS

COLLEAGUE, SUPERVISOR, ACQUAINTANCE, ONLINE = TIE_KINDS
RANK = {ONLINE: 0, ACQUAINTANCE: 1, COLLEAGUE: 2, SUPERVISOR: 3}  # re-created tie: higher wins
FILLED, OPEN, CLOSED = "filled", "open", "closed"
FORMAL, LEAD, REFERRAL, RECALL = CHANNELS  # (no recall here: recall.enabled is refused)
STRATEGIES = ("lions", "everyone", "broadcast", "passive")  # each one's rule is in Worker.plan
SPELL_COLUMNS = ["worker_id", "strategy", "start_week", "end_week", "channel", "helper_id",
                 "tie_kind", "tie_strength", "tie_common_neighbors", "left_truncated", "ability",
                 "sector", "degree_at_start", "last_employer", "hired_by", "cause",
                 "contacts_employed_share_at_start"]


def poisson(rng, mean: float) -> int:
    """A Poisson draw with Python's ``random`` (Knuth's method; the means here are small)."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class Firm(mesa.Agent):
    """A firm: a sector and a list of positions, each filled (with a holder), open or closed."""

    def __init__(self, model: ReferenceMarket, fid: int, sector: int, size: int):
        super().__init__(model)
        self.fid, self.sector = fid, sector
        self.state = [OPEN] * size
        self.holder: list[Worker | None] = [None] * size
        self.shocked = False
        self.applications: list[dict] = []

    def vacancies(self) -> int:
        return self.state.count(OPEN)

    def draw_shock(self) -> None:
        self.shocked = self.random.random() < self.model.cfg.market.firm_shock_rate

    def reopen(self) -> None:
        """Each closed position reopens as a vacancy with probability ``recovery_rate``."""
        for i, s in enumerate(self.state):
            if s == CLOSED and self.random.random() < self.model.cfg.market.recovery_rate:
                self.state[i] = OPEN

    def random_coworkers(self, slot: int, k: int) -> list[Worker]:
        """Holders of ``k`` random positions of this firm (draws that hit an open
        position or ``slot`` itself are lost)."""
        draws = (self.random.randrange(len(self.state)) for _ in range(k))
        return [self.holder[d] for d in draws if self.state[d] == FILLED and d != slot]

    def make_offers(self) -> None:
        """Offer the open positions to the best applicants above the threshold."""
        best: dict[Worker, dict] = {}  # one application per worker: the best signal
        for app in self.applications:
            w = app["worker"]
            if app["signal"] >= self.model.cfg.hiring.threshold and (
                    w not in best or app["signal"] > best[w]["signal"]):
                best[w] = app
        ranked = sorted(best.values(), key=lambda app: -app["signal"])
        for app in ranked[: self.vacancies()]:
            app["worker"].offers.append(app)
        self.applications = []

    def hire(self, worker: Worker) -> int:
        slot = self.state.index(OPEN)
        self.state[slot], self.holder[slot] = FILLED, worker
        return slot


class Worker(mesa.Agent):
    """A worker: occupation, ability, strategy, employment and the open spell."""

    def __init__(self, model: ReferenceMarket, wid: int, ability: float):
        super().__init__(model)
        self.wid, self.ability = wid, ability
        self.sector = 0
        self.strategy = ""
        self.firm: Firm | None = None
        self.slot = -1
        self.ti_unemployed: int | None = None  # week the current spell started
        self.spell: dict | None = None
        # standing choices, set at each plan
        self.announces, self.new_tie_share, self.spread = False, 0.0, 0.0
        self.week_hours = self.even_hours = 0.0
        self.offers: list[dict] = []

    # ------------------------------------------------------------------ state
    @property
    def employed(self) -> bool:
        return self.firm is not None

    def searching(self) -> bool:
        """Unemployed since before this week (job losers search from the next week)."""
        return self.firm is None and self.ti_unemployed < self.model.week

    def ties(self):
        """(contact id, edge attributes) of each of this worker's ties."""
        return self.model.graph[self.wid].items()

    def hours(self) -> float:
        nw = self.model.cfg.networking
        return nw.time_budget * (nw.employed_share if self.employed else 1.0)

    # ------------------------------------------------------------------ 1. separations
    def separate(self) -> None:
        if not self.employed:
            return
        m = self.model.cfg.market
        if self.random.random() < m.separation_rate:
            self.lose_job(OPEN)  # the position reopens at once
        elif self.firm.shocked and self.random.random() < m.layoff_fraction:
            self.lose_job(CLOSED)  # a mass layoff closes the position
            self.model.counts["layoffs"] += 1

    def lose_job(self, position_state: str) -> None:
        self.firm.state[self.slot], self.firm.holder[self.slot] = position_state, None
        last = self.firm.fid
        self.firm, self.slot = None, -1
        self.ti_unemployed = self.model.week
        self.model.open_spell(self, last, "layoff" if position_state == CLOSED else "separation")
        self.model.counts["separations"] += 1

    # ------------------------------------------------------------------ 3. networking
    def plan(self) -> None:
        """Decide how to spend the hours until the next plan (the strategy's rule)."""
        p = self.model.params[self.strategy]
        self.announces, self.new_tie_share, self.spread = False, 0.0, 0.0
        if self.strategy == "lions":
            # rank contacts by knows-work x strength x placement; invest in the top focus_k
            scored = []
            for other, tie in self.ties():
                tie["share"][self.wid], tie["asks"][self.wid] = 0.0, False
                alter = self.model.workers[other]
                placement = (1.0 if alter.sector == self.sector else p.other_sector_weight
                             ) if alter.employed else 0.0
                score = tie["knows"][self.wid] * tie["strength"] * (0.1 + 0.9 * placement)
                if score > 0:
                    scored.append((score, tie))
            focus = sorted(scored, key=lambda st: -st[0])[: p.focus_k]
            for _, tie in focus:
                tie["share"][self.wid], tie["asks"][self.wid] = 1.0 / len(focus), p.ask
            self.announces = p.announce
        elif self.strategy == "everyone":
            self.new_tie_share, self.spread = p.new_tie_share, 1.0 - p.new_tie_share
        elif self.strategy == "broadcast":
            self.spread, self.announces = 1.0, True
        # passive: nothing

    def budget_hours(self) -> None:
        """This week's hours, and the part spread evenly over each tie (the model then
        applies the gain per tie, from the hours of both ends)."""
        self.week_hours = self.hours()
        self.even_hours = self.spread * self.week_hours / max(1, self.model.graph.degree(self.wid))

    def send_invitations(self) -> None:
        nw = self.model.cfg.networking
        expected = self.hours() * self.new_tie_share / nw.hours_per_new_tie
        if expected <= 0:
            return
        for _ in range(math.floor(expected + self.random.random())):  # stochastic rounding
            other = self.model.random_partner(self)
            if other.strategy == "everyone" or self.random.random() < nw.accept_prob:
                self.model.add_tie(self.wid, other.wid, ONLINE)

    # ------------------------------------------------------------------ 4. leads
    def pass_on_lead(self) -> None:
        """An employed worker at a firm with a vacancy may hear of it and pass it on."""
        lc = self.model.cfg.leads
        if not self.employed or self.firm.vacancies() == 0 or self.random.random() >= lc.hear_prob:
            return
        candidates, weights = [], []
        for other, tie in self.ties():
            seeker = self.model.workers[other]
            if not seeker.searching():
                continue
            asked = tie["asks"][other]  # the seeker's request is on the seeker's side
            if tie["strength"] >= lc.aware_strength or seeker.announces or asked:
                candidates.append((seeker, tie))
                weights.append(max(tie["strength"] * (lc.ask_weight if asked else 1.0), 1e-12))
        for _ in range(min(lc.per_helper, len(candidates))):  # without replacement
            i = self.random.choices(range(len(candidates)), weights)[0]
            seeker, tie = candidates.pop(i)
            weights.pop(i)
            knows = tie["knows"][seeker.wid]  # how well this helper knows the seeker's work
            referral = knows >= lc.referral_knows and tie["strength"] >= lc.referral_strength
            self.model.apply(seeker, self.firm, REFERRAL if referral else LEAD, self, tie, knows)

    # ------------------------------------------------------------------ 5. hiring
    def apply_formally(self, open_by_sector: dict[int, list[Firm]]) -> None:
        if not self.searching():
            return
        for _ in range(poisson(self.random, self.model.cfg.hiring.applications)):
            if open_by_sector.get(self.sector):  # one entry per open position of the sector
                self.model.apply(self, self.random.choice(open_by_sector[self.sector]), FORMAL)

    def take_offer(self) -> None:
        if self.offers:
            self.model.hire(self, max(self.offers, key=lambda app: app["signal"]))
            self.offers = []

    # ------------------------------------------------------------------ 6. ties
    def form_work_ties(self) -> None:
        tc = self.model.cfg.ties
        for other in self.firm.random_coworkers(self.slot, tc.colleagues_per_hire):
            self.model.add_tie(self.wid, other.wid, COLLEAGUE)
        if tc.supervisor_per_hire:
            for other in self.firm.random_coworkers(self.slot, 1):
                self.model.add_tie(self.wid, other.wid, SUPERVISOR)


class ReferenceMarket(mesa.Model):
    """The labour market with one agent per worker and firm and a networkx graph of ties.

    Args:
        config: a :class:`~sim.core.config.SimConfig` or a nested mapping (as for
            :class:`sim.core.model.LabourMarket`); ``market.jobs`` must be ``vacancies``.
    """

    def __init__(self, config: SimConfig | Mapping | None = None):
        cfg = config if isinstance(config, SimConfig) else build_config(config)
        if cfg.market.jobs != "vacancies":
            raise NotImplementedError("the reference implements market.jobs=vacancies only")
        unknown = set(cfg.strategy.shares) - set(STRATEGIES)
        if unknown:
            raise NotImplementedError(f"no reference rule for strategies {sorted(unknown)}")
        if cfg.leads.aware_width > 0 or cfg.leads.told_weeks > 0:
            raise NotImplementedError(
                f"leads.aware_width={cfg.leads.aware_width:g}, leads.told_weeks="
                f"{cfg.leads.told_weeks}: the reference implements the hard awareness threshold "
                f"without memory only (both 0)")
        if cfg.recall.enabled:
            raise NotImplementedError("recall.enabled=true: the reference implements no recall "
                                      "(docking compares the model with recall off)")
        if cfg.funnel.enabled:
            raise NotImplementedError("funnel.enabled=true: the reference implements no hiring "
                                      "funnel (docking compares the model with the funnel off)")
        super().__init__(rng=cfg.seed)
        self.cfg = cfg
        self.week = -cfg.burn_in
        self.strategy_names = list(cfg.strategy.shares)
        self.params = {s: get_strategy(s).build_params(cfg.strategy.params.get(s))
                       for s in self.strategy_names}
        self.graph = nx.Graph()
        self.spells: list[dict] = []
        self._opened: list[Worker] = []  # spells opened whose contacts_employed_share is due
        self.series: list[dict] = []
        self.counts: dict[str, int] = {}
        self.applications: list[dict] = []
        self.week_hires: list[Worker] = []
        self._setup()

    # ------------------------------------------------------------------ set-up (ODD §5)
    def _setup(self) -> None:
        cfg, rng, m = self.cfg, self.random, self.cfg.market
        n = cfg.n_workers
        n_employed = round(n * (1 - m.initial_unemployment))
        n_positions = max(1, round(n_employed / (1 - m.vacancy_rate)))
        # firms: one position each, the rest shared by log-normal weights (largest remainder)
        n_firms = min(max(1, round(n_positions / m.mean_firm_size)), n_positions)
        w = [rng.lognormvariate(0, m.firm_size_sigma) if m.firm_size_sigma > 0 else 1.0
             for _ in range(n_firms)]
        quota = [(n_positions - n_firms) * x / sum(w) for x in w]
        size = [1 + math.floor(q) for q in quota]
        by_remainder = sorted(range(n_firms), key=lambda i: -(quota[i] - math.floor(quota[i])))
        for i in by_remainder[: n_positions - sum(size)]:
            size[i] += 1
        sectors = sorted(rng.randrange(m.n_sectors) for _ in range(n_firms))
        self.firms = [Firm(self, i, sectors[i], size[i]) for i in range(n_firms)]
        positions = [(f, i) for f in self.firms for i in range(len(f.state))]
        self.workers = [Worker(self, i, rng.gauss(0, cfg.workers.ability_sd)) for i in range(n)]
        for w_ in self.workers:  # occupation: the sector of a random position
            w_.sector = rng.choice(positions)[0].sector
        employed = rng.sample(self.workers, min(n_employed, n_positions))
        for w_, (f, i) in zip(employed, rng.sample(positions, len(employed)), strict=True):
            w_.firm, w_.slot, w_.sector = f, i, f.sector
            f.state[i], f.holder[i] = FILLED, w_
        self.by_sector: dict[int, list[Worker]] = {}
        for w_ in self.workers:
            self.by_sector.setdefault(w_.sector, []).append(w_)
        # strategies
        shares = [cfg.strategy.shares[s] for s in self.strategy_names]
        if cfg.strategy.assign == "exact":
            counts = [math.floor(s * n) for s in shares]
            rest = sorted(range(len(shares)), key=lambda k: -(shares[k] * n - counts[k]))
            for k in rest[: n - sum(counts)]:
                counts[k] += 1
            labels = [s for s, c in zip(self.strategy_names, counts, strict=True) for _ in range(c)]
            rng.shuffle(labels)
        else:
            labels = rng.choices(self.strategy_names, shares, k=n)
        for w_, s in zip(self.workers, labels, strict=True):
            w_.strategy = s
        # initial network
        t = cfg.ties
        for w_ in employed:
            for other in w_.firm.random_coworkers(w_.slot, poisson(rng, t.initial_colleagues / 2)):
                self.add_tie(w_.wid, other.wid, COLLEAGUE)
            for other in w_.firm.random_coworkers(w_.slot, 1):
                self.add_tie(w_.wid, other.wid, SUPERVISOR)
        for kind, mean in ((ACQUAINTANCE, t.initial_acquaintances), (ONLINE, t.initial_online)):
            for w_ in self.workers:
                for _ in range(poisson(rng, mean / 2)):
                    self.add_tie(w_.wid, self.random_partner(w_).wid, kind)
        for u, v, tie in self.graph.edges(data=True):
            tie["cowork"] = self._cowork(u, v)
        # the initial unemployed lost their job the week before the first simulated week
        for w_ in self.workers:
            if not w_.employed:
                w_.ti_unemployed = self.week - 1
                self.open_spell(w_)
                w_.spell["left_truncated"] = cfg.burn_in == 0
        self._contacts_employed_at_start()

    def random_partner(self, worker: Worker) -> Worker:
        """A random worker, from ``worker``'s sector with probability ``same_sector_share``."""
        if self.random.random() < self.cfg.networking.same_sector_share:
            return self.random.choice(self.by_sector[worker.sector])
        return self.random.choice(self.workers)

    def add_tie(self, u: int, v: int, kind: str) -> None:
        """Create a tie, or merge into an existing one: the higher kind and the larger
        strength and knows-work values are kept."""
        if u == v:
            return
        strength, knows = self.cfg.ties.strength, self.cfg.ties.knows_work
        s, k = getattr(strength, kind), getattr(knows, kind)
        if self.graph.has_edge(u, v):
            tie = self.graph[u][v]
            if RANK[kind] > RANK[tie["kind"]]:
                tie["kind"] = kind
            tie["strength"] = max(tie["strength"], s)
            tie["knows"] = {w: max(x, k) for w, x in tie["knows"].items()}
            return
        # knows[w]: how well the other end knows w's work; share[w], asks[w]: w's plan
        self.graph.add_edge(u, v, kind=kind, strength=s, knows={u: k, v: k},
                            share={u: 0.0, v: 0.0}, asks={u: False, v: False},
                            created=self.week, cowork=self._cowork(u, v))

    def _cowork(self, u: int, v: int) -> bool:
        fu = self.workers[u].firm
        return fu is not None and fu is self.workers[v].firm

    def covariate_degree(self, wid: int) -> int:
        """Ties of ``wid`` at least ``ties.degree_min_strength`` strong (the reported degree;
        the mechanics use every tie, ``graph.degree``)."""
        th = self.cfg.ties.degree_min_strength
        return sum(1 for _, _, s in self.graph.edges(wid, data="strength") if s >= th)

    def open_spell(self, w: Worker, last_employer: int | None = None,
                   cause: str | None = None) -> None:
        w.spell = {"worker_id": w.wid, "strategy": w.strategy, "start_week": w.ti_unemployed,
                   "end_week": None, "channel": None, "helper_id": None, "tie_kind": None,
                   "tie_strength": math.nan, "tie_common_neighbors": None,
                   "left_truncated": False, "ability": w.ability, "sector": w.sector,
                   "degree_at_start": self.covariate_degree(w.wid),
                   "last_employer": last_employer, "hired_by": None, "cause": cause,
                   "contacts_employed_share_at_start": math.nan}
        self.spells.append(w.spell)
        self._opened.append(w)

    def _contacts_employed_at_start(self) -> None:
        """Share of the contacts employed, for the spells opened since the last call
        (called once the week's separations are all done)."""
        for w in self._opened:
            contacts = list(self.graph[w.wid])
            if contacts:
                w.spell["contacts_employed_share_at_start"] = (
                    sum(self.workers[c].employed for c in contacts) / len(contacts))
        self._opened.clear()

    # ------------------------------------------------------------------ the week
    def step(self) -> None:
        """One week, in the order of :mod:`sim.core.model`'s docstring."""
        workers, firms = self.agents_by_type[Worker], self.agents_by_type[Firm]
        if self.week == 0:  # spells running when recording starts began before the horizon
            for w in self.workers:
                if not w.employed:
                    w.spell["left_truncated"] = True
        self.counts = dict.fromkeys(["separations", "layoffs", FORMAL, LEAD, REFERRAL], 0)
        # 1. separations and mass layoffs
        firms.shuffle_do("draw_shock")
        workers.shuffle_do("separate")
        self._contacts_employed_at_start()
        # 2. closed positions reopen
        firms.shuffle_do("reopen")
        # 3. networking: plan when due, then invest this week's hours and make new ties
        nw, tc = self.cfg.networking, self.cfg.ties
        if (self.week + self.cfg.burn_in) % nw.plan_every == 0:
            workers.shuffle_do("plan")
        if tc.evolve and nw.time_budget > 0:
            workers.shuffle_do("budget_hours")
            self.invest()
            workers.shuffle_do("send_invitations")
        # 4. leads and referrals: network applications to the helper's firm
        self.applications = []
        workers.shuffle_do("pass_on_lead")
        # 5. formal applications, offers, hires
        self.week_hires = []
        open_by_sector: dict[int, list[Firm]] = {}
        for f in self.firms:
            open_by_sector.setdefault(f.sector, []).extend([f] * f.vacancies())
        workers.shuffle_do("apply_formally", open_by_sector)
        firms.shuffle_do("make_offers")
        workers.shuffle_do("take_offer")
        # 6. ties: new work ties, ageing, pruning
        if tc.evolve:
            for w in self.week_hires:
                w.form_work_ties()
            self.age_ties()
            if (self.week + self.cfg.burn_in + 1) % tc.prune_every == 0:
                weak = [(u, v) for u, v, s in self.graph.edges(data="strength") if s < tc.prune_below]
                self.graph.remove_edges_from(weak)
        # 7. record
        if self.week >= 0:
            self.record()
        self.week += 1

    def apply(self, worker: Worker, firm: Firm, channel: str, helper: Worker | None = None,
              tie: dict | None = None, knows: float = 0.0) -> None:
        """An application with its signal of ability (noisier unless it is a referral)."""
        h = self.cfg.hiring
        if channel == REFERRAL:
            noise = h.formal_noise * (1 - knows) + h.referral_noise * knows
            signal = worker.ability + self.random.gauss(0, 1) * noise + h.referral_bonus
        else:
            signal = worker.ability + self.random.gauss(0, h.formal_noise)
        if worker.sector != firm.sector:
            signal -= self.cfg.market.cross_sector_penalty
        firm.applications.append({"worker": worker, "firm": firm, "channel": channel,
                                  "helper": helper, "tie": tie, "signal": signal})

    def hire(self, w: Worker, app: dict) -> None:
        """``w`` takes the offer ``app``: fills a position and closes the spell."""
        w.firm = app["firm"]
        w.slot = w.firm.hire(w)
        spell, w.spell, w.ti_unemployed = w.spell, None, None
        spell["end_week"], spell["channel"] = self.week, app["channel"]
        spell["hired_by"] = w.firm.fid
        if app["channel"] != FORMAL:  # the tie that carried the hire, as it is now
            helper, tie = app["helper"], app["tie"]
            spell["helper_id"], spell["tie_kind"] = helper.wid, tie["kind"]
            spell["tie_strength"] = tie["strength"]
            spell["tie_common_neighbors"] = len(list(nx.common_neighbors(self.graph, w.wid,
                                                                         helper.wid)))
        self.counts[app["channel"]] += 1
        self.week_hires.append(w)

    def invest(self) -> None:
        """Every tie gains from the hours both ends put into it this week (their plan's share
        of their hours, plus what they spread evenly): an S-shaped (Hill) gain."""
        nw = self.cfg.networking
        for u, v, tie in self.graph.edges(data=True):
            wu, wv = self.workers[u], self.workers[v]
            hours = (tie["share"][u] * wu.week_hours + wu.even_hours
                     + tie["share"][v] * wv.week_hours + wv.even_hours)
            if hours > 0:
                x2 = (hours / nw.saturation_hours) ** 2
                tie["strength"] += nw.max_gain * x2 / (1 + x2) * (1 - tie["strength"])

    def age_ties(self) -> None:
        """Decay every tie; coworkers keep theirs warm, learn each other's work and become
        colleagues. Whether two people work together is read from their current firms,
        which is what the fast model's incrementally refreshed ``cowork`` flag holds."""
        tc = self.cfg.ties
        keep = {kind: 1 - getattr(tc.decay, kind) for kind in TIE_KINDS}
        for u, v, tie in self.graph.edges(data=True):
            kind = tie["kind"]
            tie["strength"] *= keep[kind]
            firm = self.workers[u].firm
            tie["cowork"] = firm is not None and firm is self.workers[v].firm
            if tie["cowork"]:
                tie["strength"] = max(tie["strength"], tc.work_strength)
                rate = 2 * tc.learn_rate if kind == SUPERVISOR else tc.learn_rate
                for w in (u, v):
                    tie["knows"][w] += rate * (1 - tie["knows"][w])
                if kind in (ACQUAINTANCE, ONLINE):
                    tie["kind"] = COLLEAGUE

    def record(self) -> None:
        n = self.cfg.n_workers
        n_open = sum(f.state.count(OPEN) for f in self.firms)
        n_filled = sum(f.state.count(FILLED) for f in self.firms)
        c = self.counts
        row = {"week": self.week, "n_unemployed": sum(not w.employed for w in self.workers),
               "n_vacancies": n_open, "vacancy_rate": n_open / max(1, n_open + n_filled),
               "separations": c["separations"], "layoffs": c["layoffs"],
               "hires": c[FORMAL] + c[LEAD] + c[REFERRAL], "hires_formal": c[FORMAL],
               "hires_lead": c[LEAD], "hires_referral": c[REFERRAL], "hires_recall": 0,
               "n_ties": self.graph.number_of_edges(),
               "mean_degree": 2 * self.graph.number_of_edges() / n}
        row["unemployment_rate"] = row["n_unemployed"] / n
        for s in self.strategy_names:
            group = [w for w in self.workers if w.strategy == s]
            row[f"unemployment_rate_{s}"] = (sum(not w.employed for w in group) / len(group)
                                             if group else math.nan)
            row[f"mean_degree_{s}"] = (sum(self.graph.degree(w.wid) for w in group) / len(group)
                                       if group else math.nan)
        self.series.append(row)

    def run(self) -> ReferenceMarket:
        """Run burn-in and the horizon; returns ``self``."""
        while self.week < self.cfg.weeks:
            self.step()
        self.running = False
        return self

    # ------------------------------------------------------------------ outputs
    def spells_frame(self) -> pd.DataFrame:
        """Spells of the horizon, with the columns of :meth:`sim.core.model.LabourMarket.spells_frame`
        (spells closed during burn-in are dropped; censored ones run to ``weeks - 1``)."""
        rows = [s for s in self.spells if s["end_week"] is None or s["end_week"] >= 0]
        df = pd.DataFrame(rows, columns=SPELL_COLUMNS)
        done = df["end_week"].notna()
        end = df["end_week"].where(done, self.cfg.weeks - 1)
        df["duration_weeks"] = (end - df["start_week"]).astype(np.int32)
        df["censored"] = ~done
        df = df.astype({"worker_id": np.int32, "start_week": np.int32, "end_week": "Int32",
                        "helper_id": "Int32", "tie_common_neighbors": "Int32",
                        "tie_strength": np.float32, "left_truncated": bool,
                        "ability": np.float32, "sector": np.int16, "degree_at_start": np.int32,
                        "last_employer": "Int32", "hired_by": "Int32",
                        "contacts_employed_share_at_start": np.float32})
        df["cause"] = pd.Categorical(df["cause"], categories=list(CAUSES))
        df["strategy"] = pd.Categorical(df["strategy"], categories=self.strategy_names)
        df["channel"] = pd.Categorical(df["channel"], categories=list(CHANNELS))
        df["tie_kind"] = pd.Categorical(df["tie_kind"], categories=list(TIE_KINDS))
        return df[["worker_id", "strategy", "start_week", "end_week", "duration_weeks",
                   "censored", "channel", "helper_id", "tie_kind", "tie_strength",
                   "tie_common_neighbors", "left_truncated", "ability", "sector",
                   "degree_at_start", "last_employer", "hired_by", "cause",
                   "contacts_employed_share_at_start"]]

    def timeseries_frame(self) -> pd.DataFrame:
        """Weekly series (the main columns of :meth:`sim.core.model.LabourMarket.timeseries_frame`)."""
        return pd.DataFrame(self.series)
