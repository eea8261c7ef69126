"""The labour market: a Mesa model whose state lives in numpy arrays.

Weekly step order (the one place it is written down; ``docs/ODD.md`` follows it):

1. **separations**: each employed worker loses the job with probability
   ``market.separation_rate`` (the position reopens as a vacancy); each firm
   makes a mass layoff with probability ``market.firm_shock_rate`` (each of its
   workers is laid off with probability ``market.layoff_fraction``; their
   positions close). A job
   loser's unemployment spell opens this week (recording the firm left,
   ``last_employer``); they search from next week. With ``recall.enabled`` a share
   ``recall.temporary_share`` of separations are temporary layoffs.
2. **vacancies**: each closed position reopens as a vacancy with probability
   ``market.recovery_rate``.
3. **networking**: every ``networking.plan_every`` weeks each strategy
   (``sim/core/strategies``) plans how its workers spend their hours: which ties to
   invest in, how much to spread over all ties, how much to spend on new
   connections, whom to ask for help, whether to announce the search. Every
   week the plan is carried out with that week's hours (``time_budget``, times
   ``employed_share`` while employed): tie strength rises with the hours put in,
   and new online connections are made (accepted by the target with
   ``networking.accept_prob``, or always if the target accepts everyone). With
   ``ties.evolve=false`` or no time budget, nothing is invested or created.
4. **leads & referrals**: each employed worker at a firm with a vacancy hears of
   an opening with probability ``leads.hear_prob`` and passes it to at most
   ``leads.per_helper`` searching contacts who know they are searching (the
   tie is strong (``leads.aware_strength``; with ``leads.aware_width`` > 0 with a
   probability rising smoothly with strength), or the seeker announced or asked,
   or did so at most ``leads.told_weeks`` weeks after the last plan period),
   chosen with probability
   proportional to tie strength (times ``leads.ask_weight`` if asked): a helper
   with many seeking contacts splits their help. If the helper knows the
   seeker's work and the tie is engaged, the lead is a *referral* (precise
   signal plus trust); otherwise a *lead* (an application with the noisy signal).
   With ``recall.enabled`` no helper passes an opening at the seeker's last employer.
   With ``market.jobs=exogenous`` (Calvo-Armengol & Jackson 2004) every worker
   hears of a job with probability ``market.job_arrival_prob``: an unemployed
   one takes it, an employed one passes it to one unemployed contact.
5. **applications & hiring**: with ``recall.enabled`` firms first recall workers
   they separated from into their open positions, at ``recall.temporary_rate`` or
   ``recall.permanent_rate`` a week, falling with the weeks since the separation
   (``recall.decay``, ``recall.horizon``), at most their vacancies (channel
   ``recall``). Then each searching worker sends Poisson
   (``hiring.applications``) formal applications to open positions of their
   sector (a share ``market.cross_market_applications`` of them to open positions
   of other sectors; with recall enabled, none to the last employer); each firm
   ranks its applicants by the signal of ability and makes
   offers to the best, up to its vacancies, above ``hiring.threshold``; each
   worker takes the best offer (one round: a declined offer's vacancy stays
   open until next week). Spells close with the channel and tie recorded.
   With ``funnel.enabled`` (the hiring funnel, :mod:`sim.core.funnel`) the
   applications (``funnel.applications`` formal ones per searcher-week, and the
   leads and referrals, each to an open vacancy) instead wait in the pools of
   their vacancies; each vacancy with applicants is screened with probability
   ``funnel.screen_rate``: the best ``funnel.shortlist`` signals are shortlisted
   (referrals first with ``funnel.referral_priority``) and the best of them at or
   above ``hiring.threshold`` is offered the position; each worker takes the best
   offer, and a vacancy whose offer is declined stays open with its runners-up.
   The funnel's counts (applications, shortlisted, offers by channel; vacancies
   filled and their ages) are recorded with the funnel on or off.
6. **ties**: new hires form colleague and supervisor ties at their firm; then
   every tie's strength decays by kind, and people at the same firm keep their
   tie at ``ties.work_strength`` at least, learn each other's work and become
   colleagues; ties weaker than ``ties.prune_below`` are dropped every
   ``ties.prune_every`` weeks. Skipped if ``ties.evolve`` is false.
7. **record**: weekly series (only for weeks >= 0, after ``burn_in``).

Random numbers come from independent streams spawned from one ``seed`` with
:class:`numpy.random.SeedSequence`, one per submodel; the population, firms and
initial network come from the ``init`` stream, so runs that differ only in
strategy start from the same market (common random numbers).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
from tqdm import tqdm

from sim.core import burn_in as burn_in_cache
from sim.core import kernels
from sim.core.config import SimConfig, build_config
from sim.core.firms import CLOSED, FILLED, OPEN, Firms
from sim.core.funnel import Pool, accept_best, applicant_keys, merge, screen
from sim.core.kernels import group_top_k
from sim.core.lean_mesa import mesa
from sim.core.records import CONTACT, FORMAL, LEAD, RECALL, REFERRAL, Series, Spells
from sim.core.strategies import Context, get_strategy
from sim.core.ties import ACQUAINTANCE, COLLEAGUE, NEVER, ONLINE, SUPERVISOR, HalfEdges, Ties
from sim.core.workers import allocate
from sim.results.contract import (
    FUNNEL_CHANNELS,
    FUNNEL_SERIES,
    SERIES_COLUMNS,
    SERIES_PER_STRATEGY,
)

# "recall", then "funnel", last: the streams before them are spawned as before they existed
# (same draws); each is drawn from only when its submodel is enabled
STREAMS = ("init", "strategy", "separations", "vacancies", "networking", "leads", "hiring",
           "ties", "model", "recall", "funnel")
#: the opening week of a position that is not open (filled or closed)
_NOT_OPEN = np.iinfo(np.int32).min


def _via_contact(channel: np.ndarray) -> np.ndarray:
    """Whether each channel code is one through a contact (:data:`~sim.core.records.CONTACT`),
    by comparisons (``np.isin`` costs tens of microseconds a call on a week's hires)."""
    out = channel == CONTACT[0]
    for code in CONTACT[1:]:
        out |= channel == code
    return out


class LabourMarket(mesa.Model):
    """Job seekers, firms and an evolving network of ties.

    Args:
        config: a :class:`~sim.core.config.SimConfig` or a nested mapping of overrides
            (validated with :func:`~sim.core.config.build_config`).

    Attributes:
        week: the current week (negative during burn-in; recorded from 0).
        employed, employer, slot, sector, ability, strategy, ...: the per-worker state
            arrays declared in :data:`sim.core.workers.WORKER_STATE` (a worker's id is
            its row).
        firms: the :class:`~sim.core.firms.Firms`.
        ties: the :class:`~sim.core.ties.Ties`.
        spells: the :class:`~sim.core.records.Spells` buffer.
        series: the weekly :class:`~sim.core.records.Series`.
    """

    def __init__(self, config: SimConfig | Mapping | None = None):
        cfg = config if isinstance(config, SimConfig) else build_config(config)
        self.cfg = cfg
        ss = np.random.SeedSequence(cfg.seed)
        self.streams = dict(zip(STREAMS, (np.random.default_rng(s)
                                          for s in ss.spawn(len(STREAMS))), strict=True))
        super().__init__(rng=self.streams["model"])
        self.week = -cfg.burn_in
        self.strategy_names = list(cfg.strategy.shares)
        self.strategies = [
            get_strategy(n)(get_strategy(n).build_params(cfg.strategy.params.get(n),
                                                     f"strategy.params.{n}."))
            for n in self.strategy_names
        ]
        self._accepts_all = np.array([p.accepts_all for p in self.strategies], dtype=bool)
        self._keep = 1.0 - cfg.ties.decay.as_array().astype(np.float32)
        self._init_tie_strength = cfg.ties.strength.as_array()
        self._init_knows = cfg.ties.knows_work.as_array()
        self.wall_time = 0.0
        self.timings: dict[str, float] = {}  # seconds spent in each submodel
        self._fresh_rows: list[np.ndarray] = []  # tie rows created this week
        # the rows of the ties with a share of someone's hours (set at each plan and after
        # each prune; new ties have none): the weekly investment reads only these shares
        self._share_rows = np.empty(0, np.int64)
        self._moved: list[np.ndarray] = []  # workers who changed employer this week
        # contacts told of a search (leads.told_weeks > 0): sorted keys seeker * n + helper,
        # and the last week each stays aware
        self._told_keys = np.empty(0, np.int64)
        self._told_until = np.empty(0, np.int32)
        self._init_population()
        self._init_network()
        self._update_cowork()
        self._fresh_rows.clear()
        self.spells = Spells(max(1024, cfg.n_workers // 4))
        rows = np.flatnonzero(~self.employed)
        degree, contacts_employed = self._start_covariates(rows)
        self.spell_row[rows] = self.spells.open(
            rows, self.strategy[rows], self.ti_unemployed[rows], self.ability[rows],
            self.sector[rows], degree, contacts_employed=contacts_employed)
        cols = list(SERIES_COLUMNS)
        for s in self.strategy_names:
            cols += [f"{c}_{s}" for c in SERIES_PER_STRATEGY]
        self.series = Series(cfg.weeks, cols)
        self._week_hires = np.empty(0, np.int64)
        self._counts = {}
        # hiring: the week each open position opened (_NOT_OPEN: filled or closed; set in the
        # first hiring step)
        # and the funnel's pool of applications (funnel.enabled)
        self._opened_week: np.ndarray | None = None
        self._pool = Pool.empty()  # (see the property: rows and the ones kept)
        if cfg.burn_in == 0:
            self.spells.mark_left_truncated(self.spell_row[~self.employed])

    # ------------------------------------------------------------------ set-up
    def _init_population(self) -> None:
        cfg, rng = self.cfg, self.streams["init"]
        n, m = cfg.n_workers, cfg.market
        exogenous = m.jobs == "exogenous"
        n_employed = int(round(n * (1.0 - m.initial_unemployment)))
        if exogenous:
            n_positions = n
        else:
            n_positions = max(1, int(round(n_employed / (1.0 - m.vacancy_rate))))
        # with market.market_size, n_sectors was derived from it (sim/core/config.py) and the
        # sectors (local labour markets) are of equal size
        self.firms = Firms(n_positions, m.n_sectors, m.mean_firm_size, m.firm_size_sigma, rng,
                           balanced=m.market_size is not None)
        f = self.firms
        allocate(self, n)  # the worker state arrays (sim/core/workers.py), filled below
        self.ability[:] = rng.normal(0.0, cfg.workers.ability_sd, n)
        perm = rng.permutation(n)
        employed_ids = perm[:n_employed]
        # every worker's occupation is the sector of a random position
        self.sector[:] = f.pos_sector[rng.integers(0, f.n_positions, n)]
        if not exogenous:
            n_employed = min(n_employed, f.n_positions)
            employed_ids = employed_ids[:n_employed]
            slots = rng.permutation(f.n_positions)[:n_employed]
            f.pos_state[slots] = FILLED
            f.pos_holder[slots] = employed_ids
            self.slot[employed_ids] = slots
            self.employer[employed_ids] = f.pos_firm[slots]
            self.sector[employed_ids] = f.pos_sector[slots]
        self.employed[employed_ids] = True
        self.ti_unemployed[~self.employed] = self.week - 1
        self.n_jobs[:] = self.employed
        # workers grouped by sector, to draw same-sector contacts
        self._by_sector = np.argsort(self.sector, kind="stable").astype(np.int32)
        self._sector_start = np.searchsorted(self.sector[self._by_sector],
                                             np.arange(m.n_sectors + 1))
        # strategies: own stream, so the market above is the same whatever the mix
        shares = np.array([cfg.strategy.shares[s] for s in self.strategy_names])
        srng = self.streams["strategy"]
        if cfg.strategy.assign == "exact":
            counts = np.floor(shares * n).astype(np.int64)
            counts[np.argsort(-(shares * n - counts), kind="stable")[: n - counts.sum()]] += 1
            strategy = np.repeat(np.arange(len(shares)), counts)
            self.strategy[:] = strategy[srng.permutation(n)]
        else:
            self.strategy[:] = np.searchsorted(np.cumsum(shares[:-1]), srng.random(n),
                                            side="right").astype(np.int8)

    def _random_partners(self, src: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A random other worker for each ``src``, in its sector with
        probability ``networking.same_sector_share``; otherwise anyone (legacy, so
        in its sector with probability 1/n_sectors more), or, with
        ``market.market_size`` set, someone of another sector (if there is one)."""
        n = self.cfg.n_workers
        same = rng.random(len(src)) < self.cfg.networking.same_sector_share
        if self.cfg.market.market_size is not None:
            return kernels.partners_across_markets(src, same, rng.random(len(src)),
                                                   self.sector, self._sector_start,
                                                   self._by_sector, n)
        out = rng.integers(0, n, len(src))
        s = self.sector[src[same]]
        lo, hi = self._sector_start[s], self._sector_start[s + 1]
        out[same] = self._by_sector[lo + (rng.random(len(s)) * (hi - lo)).astype(np.int64)]
        return out

    def _add_ties(self, u, v, kind: int) -> np.ndarray:
        k = self._init_knows[kind]
        rows = self.ties.add(u, v, kind, self._init_tie_strength[kind], k, k, self.week)
        self._fresh_rows.append(rows)
        return rows

    def _update_cowork(self, rows: np.ndarray | None = None) -> None:
        """Recompute whether the two ends of tie ``rows`` (all if None; repeats allowed)
        work together."""
        t = self.ties
        rows = np.arange(t.n) if rows is None else rows
        kernels.set_cowork(rows, t.a, t.b, self.employer, t.cowork)

    def _init_network(self) -> None:
        cfg, rng = self.cfg, self.streams["init"]
        n = cfg.n_workers
        t = cfg.ties
        self.ties = Ties(n, capacity=int(n * (t.initial_colleagues + t.initial_acquaintances
                                               + t.initial_online + 4)))
        emp = np.flatnonzero(self.employed)
        if len(emp) and self.cfg.market.jobs == "vacancies":
            slots = self.slot[emp]
            draws = rng.poisson(t.initial_colleagues / 2.0, len(emp))
            col_i, col = self.firms.random_coworkers(slots, draws, rng)
            self._add_ties(emp[col_i], col, COLLEAGUE)
            sup_i, sup = self.firms.random_coworkers(slots, 1, rng)
            self._add_ties(emp[sup_i], sup, SUPERVISOR)
        for kind, mean in ((ACQUAINTANCE, t.initial_acquaintances), (ONLINE, t.initial_online)):
            src = np.repeat(np.arange(n), rng.poisson(mean / 2.0, n))
            self._add_ties(src, self._random_partners(src, rng), kind)

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """Advance the market by one week (see the module docstring for the order)."""
        if self.week == 0:
            # spells running when recording starts began before the horizon
            self.spells.mark_left_truncated(self.spell_row[~self.employed])
        self._counts = {"separations": 0, "layoffs": 0, "hires_formal": 0, "hires_lead": 0,
                        "hires_referral": 0, "hires_recall": 0}
        self._timed("separations", self.separations)
        self._timed("vacancies", self.reopen_positions)
        self._timed("networking", self.networking)
        offers = self._timed("leads", self.leads)
        self._timed("hiring", self.hiring, offers)
        self._timed("ties", self.update_ties)
        if self.week >= 0:
            self._timed("record", self.record)
        self.week += 1

    def _timed(self, name: str, submodel, *args):
        """Run one submodel and add its wall time to ``self.timings[name]``."""
        t0 = time.perf_counter()
        out = submodel(*args)
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0
        return out

    def burn_in(self) -> bool:
        """Bring a model just built to week 0: from the burn-in cache
        (:mod:`sim.core.burn_in`, on when ``$SIM_BURN_IN_CACHE`` names a folder) if it
        holds this config's state, else by simulating the burn-in (and storing the state
        when the cache is on). The outputs are the same either way, bit for bit.

        Returns:
            Whether the state came from the cache.
        """
        where = burn_in_cache.folder()
        if self.week != -self.cfg.burn_in or self.cfg.burn_in == 0 or where is None:
            return False
        if burn_in_cache.load(self, where):
            return True
        while self.week < 0:
            self.step()
        burn_in_cache.save(self, where)
        return False

    def run(self, progress: bool = False) -> LabourMarket:
        """Run burn-in (see :meth:`burn_in`) and the horizon; returns ``self``."""
        total = self.cfg.burn_in + self.cfg.weeks
        t0 = time.perf_counter()
        bar = None
        if progress:

            bar = tqdm(total=total, unit="wk", desc=f"{self.cfg.strategy.name} seed={self.cfg.seed}",
                       mininterval=0.5, dynamic_ncols=True)
        self.burn_in()
        if bar is not None:
            bar.update(self.cfg.burn_in + min(self.week, 0))
        while self.week < self.cfg.weeks:
            self.step()
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        self.running = False
        self.wall_time = time.perf_counter() - t0
        return self

    # ------------------------------------------------------------------ 1. separations
    def _start_covariates(self, workers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Covariates of spells beginning now, from one pass over the workers' ties:
        the degree reported as a covariate (ties at least ``ties.degree_min_strength``
        strong; the mechanics use every tie in memory, ``ties.degree()``) and the share
        of contacts (every tie) who are employed now (NaN for no contact)."""
        strong, n_contacts, n_employed = self.ties.contact_counts(
            workers, self.employed, self.cfg.ties.degree_min_strength)
        degree = strong.astype(np.int32)
        n_employed = n_employed.astype(np.float64)  # (the share as a float64 division)
        with np.errstate(invalid="ignore", divide="ignore"):
            return degree, np.where(n_contacts > 0, n_employed / n_contacts, np.nan)

    def _lose_jobs(self, workers: np.ndarray, layoff: np.ndarray) -> None:
        """Workers lose their jobs this week (``layoff``: in a mass layoff) and start a spell."""
        if len(workers) == 0:
            return
        self._moved.append(workers)
        last = self.employer[workers]
        self.last_employer[workers] = last
        if self.cfg.recall.enabled:  # (no draw otherwise: the legacy random numbers)
            self.temporary[workers] = (self.streams["recall"].random(len(workers))
                                       < self.cfg.recall.temporary_share)
        self.employed[workers] = False
        self.employer[workers] = -1
        self.slot[workers] = -1
        self.ti_unemployed[workers] = self.week
        # (all of this week's separations are done: a contact let go this week is unemployed)
        degree, contacts_employed = self._start_covariates(workers)
        self.spell_row[workers] = self.spells.open(
            workers, self.strategy[workers], self.week, self.ability[workers],
            self.sector[workers], degree, last, layoff.astype(np.int8), contacts_employed)

    def separations(self) -> None:
        m, rng = self.cfg.market, self.streams["separations"]
        n = self.cfg.n_workers
        u = rng.random(n)  # one draw per worker every week: common random numbers
        if m.jobs == "vacancies":
            f = self.firms
            shocked = rng.random(f.n_firms) < m.firm_shock_rate
            v = rng.random(n)
            # quits open their positions, layoffs (at shocked firms) close them: one pass
            lost, laid_off = kernels.separate(self.employed, self.employer, self.slot, u, v,
                                              shocked, m.separation_rate, m.layoff_fraction,
                                              f.pos_state, f.pos_holder, OPEN, CLOSED)
        else:
            lost = np.flatnonzero(self.employed & (u < m.separation_rate))
            laid_off = np.zeros(len(lost), dtype=bool)
        self._lose_jobs(lost, laid_off)
        self._counts["separations"] = len(lost)
        self._counts["layoffs"] = int(laid_off.sum())

    # ------------------------------------------------------------------ 2. vacancies
    def reopen_positions(self) -> None:
        if self.cfg.market.jobs != "vacancies":
            return
        f = self.firms
        closed = np.flatnonzero(f.pos_state == CLOSED)
        if len(closed):
            back = closed[self.streams["vacancies"].random(len(closed))
                          < self.cfg.market.recovery_rate]
            f.pos_state[back] = OPEN

    # ------------------------------------------------------------------ 3. networking
    def plan_networking(self) -> None:
        """Ask every strategy for its workers' plan and store it on ties and workers."""
        cfg = self.cfg
        ties = self.ties
        rng = self.streams["networking"]
        position = np.empty(cfg.n_workers, dtype=np.int64)
        for k, strategy in enumerate(self.strategies):
            members = self.strategy == k
            egos = np.flatnonzero(members)
            if len(egos) == 0:
                continue
            if hasattr(strategy, "plan_ties"):  # a compiled equivalent of plan()
                plan = strategy.plan_ties(ties, members, self.employed, self.sector)
            else:
                position[egos] = np.arange(len(egos))
                # a strategy that does not look at the ties gets none (no pass over the ties)
                view = ties.incident(members) if strategy.uses_ties else HalfEdges.empty()
                strength, knows, alter_employed, same_sector = kernels.tie_context(
                    view, ties, self.employed, self.sector)
                ctx = Context(self.week, egos, ~self.employed[egos], view, position[view.ego],
                              strength, knows, alter_employed, same_sector, rng)
                plan = strategy.plan(ctx)
                if len(view):
                    ties.set_plan(view, plan.tie_share, plan.ask)
            self.new_tie_share[egos] = plan.new_tie_share
            self.announces[egos] = plan.announce
            self.spread_share[egos] = 0.0 if plan.spread is None else plan.spread

    def networking(self) -> None:
        """Carry out the plans with this week's hours (re-planning when due)."""
        cfg, rng = self.cfg, self.streams["networking"]
        nw = cfg.networking
        if (self.week + cfg.burn_in) % nw.plan_every == 0:
            self.plan_networking()  # asks and announcements hold even without time to invest
            if cfg.leads.told_weeks > 0:
                self._remember_told()
            # new ties start with no share, so until the next plan (or prune, which
            # renumbers the rows) these are the only rows with a share
            self._share_rows = self.ties.rows_with_share()
        if not cfg.ties.evolve or nw.time_budget <= 0:
            return  # a fixed network, or no time to network
        ties = self.ties
        hours, even = self.networking_hours()
        # Hill function of the hours: thin attention barely maintains a tie, focused time does
        kernels.invest(ties.a, ties.b, ties.share_a, ties.share_b, hours, even, ties.strength,
                       nw.max_gain, nw.saturation_hours, share_rows=self._share_rows)
        expected = hours * self.new_tie_share / nw.hours_per_new_tie
        active = np.flatnonzero(expected > 0)
        if len(active):
            n_new = np.floor(expected[active] + rng.random(len(active))).astype(np.int64)
            src = np.repeat(active, n_new)
            dst = self._random_partners(src, rng)
            accept = self._accepts_all[self.strategy[dst]] | (rng.random(len(dst))
                                                              < nw.accept_prob)
            self._add_ties(src[accept], dst[accept], ONLINE)

    def networking_hours(self) -> tuple[np.ndarray, np.ndarray]:
        """This week's networking hours of each worker (``networking.time_budget``, times
        ``networking.employed_share`` while employed, float32) and the hours each worker
        puts into every one of its ties by spreading them evenly (its plan's spread share
        of the hours over its degree); what :meth:`networking` invests."""
        nw = self.cfg.networking
        hours = (nw.time_budget * np.where(self.employed, nw.employed_share, 1.0)).astype(
            np.float32)
        even = self.spread_share * hours / np.maximum(self.ties.degree(), 1).astype(np.float32)
        return hours, even

    def _remember_told(self) -> None:
        """After a plan: the contacts an unemployed worker asks, and every contact of one
        who announces, stay aware of the search until the end of this plan period plus
        ``leads.told_weeks`` (even if the ask is withdrawn at the next plan)."""
        t, n, week = self.ties, self.cfg.n_workers, self.week
        until = week + self.cfg.networking.plan_every - 1 + self.cfg.leads.told_weeks
        unemployed = ~self.employed
        ra = np.flatnonzero(t.asks_a & unemployed[t.a])
        rb = np.flatnonzero(t.asks_b & unemployed[t.b])
        seeker = np.concatenate([t.a[ra], t.b[rb]]).astype(np.int64)
        helper = np.concatenate([t.b[ra], t.a[rb]]).astype(np.int64)
        self.announced_until[unemployed & self.announces] = until
        live = self._told_until >= week
        keys = np.concatenate([self._told_keys[live], seeker * n + helper])
        last = np.concatenate([self._told_until[live], np.full(len(seeker), until, np.int32)])
        order = np.lexsort((-last, keys))  # per key, the latest week first
        keys, last = keys[order], last[order]
        first = kernels.first_of_runs(keys)
        self._told_keys, self._told_until = keys[first], last[first]

    def _told(self, helper: np.ndarray, seeker: np.ndarray) -> np.ndarray:
        """Whether each helper still knows of the seeker's search from an ask or an
        announcement (:meth:`_remember_told`)."""
        key = seeker.astype(np.int64) * self.cfg.n_workers + helper
        keys = self._told_keys
        if len(keys) == 0:
            hit = np.zeros(len(key), bool)
        else:
            idx = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
            hit = (keys[idx] == key) & (self._told_until[idx] >= self.week)
        return hit | (self.announced_until[seeker] >= self.week)

    # ------------------------------------------------------------------ 4. leads
    def _aware_pairs(self, helpers: np.ndarray, seeker_mask: np.ndarray,
                     rng: np.random.Generator):
        """(helper, seeker, tie row, asked) for each tie from a helper to a searching
        contact who may get help: the helper knows of the search because the tie is
        strong (at least ``leads.aware_strength``; with ``leads.aware_width`` > 0, with
        a logistic probability in the strength, drawn from ``rng`` each week), or the
        seeker announced or asked."""
        t, lc = self.ties, self.cfg.leads
        h = t.rows_to(helpers, seeker_mask)  # the helpers' ties to searching contacts
        # the seeker is the alter: its request is stored on its own side of the tie
        asked, strength = kernels.alter_asks_and_strength(h, t)
        if lc.aware_width > 0:  # graded: no strength at which awareness jumps
            z = (strength.astype(np.float64) - lc.aware_strength) / lc.aware_width
            knows = rng.random(len(z)) < 1.0 / (1.0 + np.exp(-z))
        else:  # (the legacy hard threshold: no random draw)
            knows = strength >= lc.aware_strength
        aware = knows | self.announces[h.alter] | asked
        if lc.told_weeks > 0:  # told before: still aware for a while
            aware |= self._told(h.ego, h.alter)
        return kernels.aware_rows(aware, h, asked)

    def _choose_per_helper(self, helper, weight, k, rng) -> np.ndarray:
        """Indices of at most ``k`` pairs per helper, drawn with probability
        proportional to ``weight`` without replacement (exponential race)."""
        if len(helper) == 0:
            return np.empty(0, np.int64)
        key = rng.exponential(size=len(helper)) / np.maximum(weight, 1e-12)
        return np.flatnonzero(group_top_k(helper, -key, k, self.cfg.n_workers))

    def leads(self) -> dict:
        """Network offers of the week: applications (vacancies) or jobs (exogenous)."""
        cfg, rng = self.cfg, self.streams["leads"]
        lc, m = cfg.leads, cfg.market
        n = cfg.n_workers
        searching = ~self.employed & (self.ti_unemployed < self.week)
        u = rng.random(n)
        if m.jobs == "vacancies":
            hear = kernels.hearing(self.employed, self.employer, self.firms.vacancies(), u,
                                   lc.hear_prob)
        else:
            hear = np.flatnonzero(self.employed & (u < m.job_arrival_prob))
        helper, seeker, row, asked = self._aware_pairs(hear, searching, rng)
        # with recall, a return to the last employer is the employer's recall (hiring
        # step), not a lead: colleagues there do not pass its openings (the seeker's own
        # vacated position among them); each pair's weight: the tie's strength, times
        # leads.ask_weight if the seeker asked
        helper, seeker, row, weight = kernels.lead_weights(
            helper, seeker, row, asked, self.employer, self.last_employer, cfg.recall.enabled,
            self.ties.strength, lc.ask_weight)
        pick = self._choose_per_helper(helper, weight, lc.per_helper, rng)
        helper, seeker, row = helper[pick], seeker[pick], row[pick]
        knows = kernels.seeker_knows(row, seeker, self.ties)
        referral = (knows >= lc.referral_knows) & (self.ties.strength[row] >= lc.referral_strength)
        out = {"seeker": seeker, "helper": helper, "row": row, "knows": knows,
               "channel": np.where(referral, REFERRAL, LEAD).astype(np.int8)}
        if m.jobs == "exogenous":
            direct = np.flatnonzero(searching & (rng.random(n) < m.job_arrival_prob))
            out["direct"] = direct
        return out

    # ------------------------------------------------------------------ 5. hiring
    def _close_spells(self, workers, channel, helper, row, hired_by=-1) -> None:
        """Close the spells of ``workers`` hired this week. ``row`` is the tie that carried a
        network hire (lead, referral), -1 if it was pruned since (kind and strength then
        missing)."""
        net = _via_contact(channel)
        tied = net & (row >= 0)
        r = np.where(tied, row, 0)
        t = self.ties
        kind = np.where(tied, t.kind[r] if t.n else -1, -1)
        strength = np.where(tied, t.strength[r] if t.n else np.nan, np.nan)
        common = np.full(len(workers), -1, dtype=np.int32)
        if net.any():
            common[net] = t.common_neighbors(workers[net], helper[net])
        self.spells.close(self.spell_row[workers], self.week, channel,
                          np.where(net, helper, -1), kind, strength, common, hired_by)
        self.spell_row[workers] = -1
        self.ti_unemployed[workers] = NEVER
        self.n_jobs[workers] += 1
        for code, name in ((FORMAL, "hires_formal"), (LEAD, "hires_lead"),
                           (REFERRAL, "hires_referral"), (RECALL, "hires_recall")):
            self._counts[name] += int((channel == code).sum())

    def hiring(self, offers: dict) -> None:
        """Step 5: recalls, applications, offers and hires (the funnel's counts go to the
        weekly series)."""
        c = self._counts
        c.update(dict.fromkeys(FUNNEL_SERIES, 0))
        c["n_searching"] = int(np.count_nonzero(~self.employed & (self.ti_unemployed < self.week)))
        if self.cfg.market.jobs == "exogenous":
            self._hire_exogenous(offers)
        else:
            self._note_opened()
            self._hire_vacancies(offers)

    def _count(self, stage: str, channel: np.ndarray) -> None:
        """Add this week's ``stage`` (applications, shortlisted, offers) by channel."""
        by = np.bincount(channel, minlength=len(FUNNEL_CHANNELS))
        for code, name in enumerate(FUNNEL_CHANNELS):
            self._counts[f"{stage}_{name}"] += int(by[code])

    def _note_opened(self) -> None:
        """Record the week each position that became open since the last hiring step
        opened (positions open at the start: the first week)."""
        is_open = self.firms.pos_state == OPEN
        if self._opened_week is None:
            self._opened_week = np.where(is_open, self.week, _NOT_OPEN).astype(np.int32)
            return
        self._opened_week[is_open & (self._opened_week == _NOT_OPEN)] = self.week

    def _fill(self, slots: np.ndarray, workers: np.ndarray, firm: np.ndarray) -> None:
        """``workers`` take the open positions ``slots`` of ``firm``; the vacancies filled
        and their ages (weeks open) go to the series."""
        f = self.firms
        f.pos_state[slots] = FILLED
        f.pos_holder[slots] = workers
        self.slot[workers] = slots
        self.employer[workers] = firm
        self.employed[workers] = True
        self._counts["vacancies_filled"] += len(slots)
        self._counts["vacancy_weeks_filled"] += int((self.week - self._opened_week[slots]).sum())
        self._opened_week[slots] = _NOT_OPEN

    def _hire_exogenous(self, offers: dict) -> None:
        direct = offers["direct"]
        n = self.cfg.n_workers
        taken = np.zeros(n, dtype=bool)
        taken[direct] = True
        # a passed-on job goes to a seeker who did not already get one; a seeker
        # offered several takes one at random
        seeker = offers["seeker"]
        shuffle = self.streams["hiring"].permutation(len(seeker))
        order = shuffle[np.argsort(seeker[shuffle], kind="stable")]
        seeker_s = seeker[order]
        first = kernels.first_of_runs(seeker_s)
        pick = order[first & ~taken[seeker_s]]
        workers = np.concatenate([direct, seeker[pick]])
        channel = np.concatenate([np.full(len(direct), FORMAL, np.int8), offers["channel"][pick]])
        helper = np.concatenate([np.full(len(direct), -1), offers["helper"][pick]])
        row = np.concatenate([np.full(len(direct), -1), offers["row"][pick]])
        self.employed[workers] = True
        self._close_spells(workers, channel, helper, row)
        self._week_hires = np.empty(0, np.int64)

    def _recall(self) -> np.ndarray:
        """Employers recall workers they separated from, into their open positions, before
        any other hire: a searching worker whose last employer has an open position and
        whose separation is ``d`` weeks old is recalled with probability
        ``recall.temporary_rate`` (temporary layoff) or ``recall.permanent_rate``, times
        ``exp(-(d - 1) / recall.horizon)`` (``recall.decay=exponential``) or as long as
        ``d <= recall.horizon`` (``step``); a firm recalls at most its vacancies (those drawn, in a
        random order). Returns the recalled workers, hired with channel ``recall``."""
        rc, f = self.cfg.recall, self.firms
        vac = f.vacancies()
        last = self.last_employer
        # searching workers separated from a firm with an open position (with decay=step:
        # at most recall.horizon weeks ago), in one pass
        cand = kernels.recall_candidates(self.employed, self.ti_unemployed, last, vac,
                                         self.week, rc.horizon if rc.decay == "step" else -1)
        rate = np.where(self.temporary[cand], rc.temporary_rate, rc.permanent_rate)
        if rc.decay == "exponential":  # falls smoothly with the weeks since the separation
            since = self.week - self.ti_unemployed[cand]  # weeks since (1 = first week)
            rate = rate * np.exp(-(since - 1) / rc.horizon)
        u = self.streams["recall"].random(len(cand))
        drawn = u < rate
        cand = cand[drawn]
        if len(cand) == 0:
            return np.empty(0, np.int64)
        firm = last[cand].astype(np.int64)
        # u / rate is uniform on (0, 1) among the drawn: a random order within each firm
        order = np.lexsort((u[drawn] / rate[drawn], firm))
        cand, firm = cand[order], firm[order]
        rank = kernels.runs(firm)[1]
        keep = rank < vac[firm]
        workers, firm, rank = cand[keep].astype(np.int64), firm[keep], rank[keep]
        open_pos = f.open_positions()  # sorted, so grouped by firm
        slots = open_pos[np.searchsorted(f.pos_firm[open_pos], firm) + rank]
        self._fill(slots, workers, firm)
        none = np.full(len(workers), -1, np.int64)
        self._close_spells(workers, np.full(len(workers), RECALL, np.int8), none, none, firm)
        self._moved.append(workers)
        return workers

    def _formal_applications(self, rate: float, open_pos: np.ndarray,
                             rng: np.random.Generator,
                             searching: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """This week's formal applications: each searching worker (``searching``; default:
        the unemployed searching this week) sends Poisson(``rate``), each to a uniformly
        random open position of the own sector (or, for a share
        ``market.cross_market_applications``, of the other sectors); an application is
        lost without such a position, when it lands at the worker's own firm (an employed
        applicant), and with ``recall.enabled`` when it lands at the worker's last employer.
        Returns ``(worker, position)`` per application."""
        cfg, f = self.cfg, self.firms
        if searching is None:
            searching = np.flatnonzero(~self.employed & (self.ti_unemployed < self.week))
        n_apps = rng.poisson(rate, len(searching))
        open_sec_start = np.searchsorted(f.pos_sector[open_pos], np.arange(f.n_sectors + 1))
        if cfg.market.cross_market_applications > 0:
            app_w = np.repeat(searching, n_apps)
            sec = self.sector[app_w]
            lo, hi = open_sec_start[sec], open_sec_start[sec + 1]
            # a share of applications to open positions of the other sectors (skipping
            # the own sector's block of the sorted open positions)
            n_other = len(open_pos) - (hi - lo)
            cross = (rng.random(len(app_w)) < cfg.market.cross_market_applications) & (
                n_other > 0)
            r = rng.random(len(app_w))
            other = (r * n_other).astype(np.int64)
            other += np.where(other >= lo, hi - lo, 0)
            idx = np.where(cross, other, lo + (r * (hi - lo)).astype(np.int64))
            has = cross | (hi > lo)
            app_w, idx = app_w[has], idx[has]
        else:  # (the legacy draws: no extra random numbers)
            # the applications of workers whose sector has an open position
            app_w, lo, size = kernels.applications_in_sector(searching, n_apps, self.sector,
                                                             open_sec_start)
            idx = lo + (rng.random(len(app_w)) * size).astype(np.int64)
        # none to the last employer (recall.enabled: it recalls, or not), none of an
        # employed applicant (on-the-job search) to the own firm
        return kernels.keep_applications(app_w, idx, open_pos, f.pos_firm, self.employed,
                                         self.last_employer, self.employer,
                                         cfg.recall.enabled)

    def _applicant_key(self, workers: np.ndarray) -> np.ndarray:
        """What keeps an application in a pool valid: the applicant's spell row while
        unemployed, ``-2 - slot`` while employed (so an application goes stale when the
        spell ends, the job is lost or the applicant moves; checked by
        :func:`~sim.core.funnel.live_rows`)."""
        return applicant_keys(np.asarray(workers, dtype=np.int64), self.employed, self.slot,
                              self.spell_row)

    def _network_signals(self, offers: dict, rng: np.random.Generator) -> np.ndarray:
        """Signals of the network applications (before any cross-sector penalty): a lead's
        is as noisy as a formal one; a referral's noise falls with the referrer's
        knowledge of the work, and it carries the firm's trust (``hiring.referral_bonus``)."""
        h, seeker = self.cfg.hiring, offers["seeker"]
        noise = h.formal_noise * (1 - offers["knows"]) + h.referral_noise * offers["knows"]
        is_ref = offers["channel"] == REFERRAL
        return self.ability[seeker] + np.where(
            is_ref, rng.normal(0.0, 1.0, len(seeker)) * noise + h.referral_bonus,
            rng.normal(0.0, h.formal_noise, len(seeker)))

    def _hire_vacancies(self, offers: dict) -> None:
        cfg, f = self.cfg, self.firms
        recall = cfg.recall.enabled
        recalled = self._recall() if recall else np.empty(0, np.int64)
        self._week_hires = recalled
        if recall:  # the recalled take no other offer
            keep = ~self.employed[offers["seeker"]]
            offers = {k: v[keep] for k, v in offers.items()}
        if cfg.funnel.enabled:
            self._hire_funnel(offers)
            return
        rng, h, n = self.streams["hiring"], cfg.hiring, cfg.n_workers
        open_pos = f.open_positions()
        if len(open_pos) == 0:
            return
        app_w, pos = self._formal_applications(h.applications, open_pos, rng)
        formal_firm = f.pos_firm[pos]
        formal_sig = self.ability[app_w] + rng.normal(0.0, h.formal_noise, len(app_w))
        # network applications: to the helper's firm
        seeker, helper = offers["seeker"], offers["helper"]
        net_firm = self.employer[helper]
        net_sig = self._network_signals(offers, rng)
        worker = np.concatenate([app_w, seeker])
        firm = np.concatenate([formal_firm, net_firm]).astype(np.int64)
        signal = np.concatenate([formal_sig, net_sig])
        signal -= cfg.market.cross_sector_penalty * (self.sector[worker] != f.sector[firm])
        channel = np.concatenate([np.full(len(app_w), FORMAL, np.int8), offers["channel"]])
        helper_all = np.concatenate([np.full(len(app_w), -1), helper])
        row_all = np.concatenate([np.full(len(app_w), -1), offers["row"]])
        self._count("applications", channel)
        ok = signal >= h.threshold
        idx = np.flatnonzero(ok)
        if len(idx) == 0:
            return
        # one application per (firm, worker): the best signal (the firm's shortlist)
        order = idx[np.lexsort((-signal[idx], worker[idx], firm[idx]))]
        fw = firm[order] * n + worker[order]
        order = order[kernels.first_of_runs(fw)]
        self._count("shortlisted", channel[order])
        # each firm offers to its best applicants, up to its vacancies
        order = order[np.lexsort((-signal[order], firm[order]))]
        fo = firm[order]
        rank = kernels.runs(fo)[1]
        vac = f.vacancies()
        offer = order[rank < vac[fo]]
        self._count("offers", channel[offer])
        # each worker takes the offer with the best signal
        offer = offer[np.lexsort((-signal[offer], worker[offer]))]
        wo = worker[offer]
        hire = offer[kernels.first_of_runs(wo)]
        # place hires in their firm's open positions
        hire = hire[np.argsort(firm[hire], kind="stable")]
        fh = firm[hire]
        rank = kernels.runs(fh)[1]
        firm_first_open = np.searchsorted(f.pos_firm[open_pos], fh)
        slots = open_pos[firm_first_open + rank]
        workers = worker[hire]
        self._fill(slots, workers, fh)
        self._close_spells(workers, channel[hire], helper_all[hire], row_all[hire], fh)
        self._week_hires = np.concatenate([recalled, workers]) if recall else workers
        self._moved.append(workers)

    def _hire_funnel(self, offers: dict) -> None:
        """The hiring funnel (``funnel.enabled``, docs/ODD.md section 7.5): this week's
        applications join the pools of open vacancies; each vacancy with applicants is
        screened with probability ``funnel.screen_rate``; offers go to the best
        shortlisted; each worker takes the best offer. Draws only from the ``funnel``
        stream."""
        cfg, f, rng = self.cfg, self.firms, self.streams["funnel"]
        h, fc = cfg.hiring, cfg.funnel
        open_pos = f.open_positions()
        # formal applications, each to an open vacancy of the own market
        app_w, pos = self._formal_applications(fc.applications, open_pos, rng)
        if fc.employed_applications > 0:  # on-the-job search (no draw otherwise)
            emp_w, emp_pos = self._formal_applications(fc.employed_applications, open_pos, rng,
                                                       np.flatnonzero(self.employed))
            self._counts["applications_employed"] += len(emp_w)
            app_w, pos = np.concatenate([app_w, emp_w]), np.concatenate([pos, emp_pos])
        formal_sig = self.ability[app_w] + rng.normal(0.0, h.formal_noise, len(app_w))
        # network applications: to a random open vacancy of the helper's firm (lost if a
        # recall filled the last one)
        seeker, helper = offers["seeker"], offers["helper"]
        net_firm = self.employer[helper]
        firm_open = f.pos_firm[open_pos]
        lo = np.searchsorted(firm_open, net_firm, side="left")
        hi = np.searchsorted(firm_open, net_firm, side="right")
        net_sig = self._network_signals(offers, rng)
        net_pos_idx = lo + (rng.random(len(seeker)) * (hi - lo)).astype(np.int64)
        has = hi > lo
        seeker, helper, net_sig = seeker[has], helper[has], net_sig[has]
        net_pos = open_pos[net_pos_idx[has]]
        worker = np.concatenate([app_w, seeker]).astype(np.int64)
        pos = np.concatenate([pos, net_pos]).astype(np.int64)
        signal = np.concatenate([formal_sig, net_sig])
        signal -= cfg.market.cross_sector_penalty * (self.sector[worker] != f.pos_sector[pos])
        channel = np.concatenate([np.full(len(app_w), FORMAL, np.int8),
                                  offers["channel"][has]]).astype(np.int8)
        self._count("applications", channel)
        new = Pool(pos, self._opened_week[pos], worker, self._applicant_key(worker), signal,
                   channel, np.concatenate([np.full(len(app_w), -1), helper]).astype(np.int64),
                   np.zeros(len(worker), bool))
        # the pool: applications at vacancies still open, from spells still running; one
        # per vacancy and worker (the best signal)
        pool = merge(self._pool_rows, new, f.pos_state, OPEN, self._opened_week,
                     self.employed, self.slot, self.spell_row, self._pool_keep)  # sorted by pos
        # which vacancies are screened this week (one draw per vacancy with applicants)
        vacancy, _, n_vacancies = kernels.runs(pool.pos)
        screened = (rng.random(n_vacancies) < fc.screen_rate)[vacancy]
        shortlisted, offer, runner_up = screen(pool, screened, fc.shortlist, h.threshold,
                                               fc.referral_priority)
        self._count("shortlisted", pool.channel[shortlisted & ~pool.listed])
        self._count("offers", pool.channel[offer])
        pool.listed |= shortlisted
        # each worker takes the offer with the best signal; the others stay open
        off = np.flatnonzero(offer)
        hire = off[accept_best(pool.worker[off], pool.signal[off])]
        workers, slots = pool.worker[hire], pool.pos[hire]
        firm = f.pos_firm[slots].astype(np.int64)
        helper_h, channel_h = pool.helper[hire], pool.channel[hire]
        # the tie that carried a network hire, as it is now (-1 if pruned since)
        net = _via_contact(channel_h)
        row = np.full(len(hire), -1, np.int64)
        if net.any():
            row[net] = self.ties.find(workers[net], helper_h[net])
        mover = self.employed[workers]  # employed applicants: job-to-job moves
        if mover.any():
            old = self.slot[workers[mover]]
            f.pos_state[old] = OPEN
            f.pos_holder[old] = -1
            self._opened_week[old] = self.week
            self._counts["job_to_job"] += int(mover.sum())
            self.n_jobs[workers[mover]] += 1
        self._fill(slots, workers, firm)
        stay = ~mover
        self._close_spells(workers[stay], channel_h[stay], helper_h[stay], row[stay], firm[stay])
        # after a screening only the runners-up stay; rows of hires go at the next purge
        # (kept as the rows and a mask: next week's merge drops the others without a copy)
        self._pool_rows, self._pool_keep = pool, ~screened | runner_up
        self._week_hires = (np.concatenate([self._week_hires, workers]) if len(self._week_hires)
                            else workers)
        self._moved.append(workers)

    @property
    def _pool(self) -> Pool:
        """The funnel's pool: the applications waiting at open vacancies (after a
        screening, the rows it kept; stale rows go at the next merge)."""
        if self._pool_keep is not None:
            self._pool_rows, self._pool_keep = self._pool_rows.take(self._pool_keep), None
        return self._pool_rows

    @_pool.setter
    def _pool(self, pool: Pool) -> None:
        self._pool_rows, self._pool_keep = pool, None

    # ------------------------------------------------------------------ 6. ties
    def update_ties(self) -> None:
        tc = self.cfg.ties
        if not tc.evolve:
            self._moved.clear()
            self._fresh_rows.clear()
            return
        t, rng = self.ties, self.streams["ties"]
        # new hires' colleague and supervisor ties
        hires = self._week_hires
        if len(hires):
            i, cw = self.firms.random_coworkers(self.slot[hires], tc.colleagues_per_hire, rng)
            self._add_ties(hires[i], cw, COLLEAGUE)
            if tc.supervisor_per_hire:
                i, sup = self.firms.random_coworkers(self.slot[hires], 1, rng)
                self._add_ties(hires[i], sup, SUPERVISOR)
        # who works together changed only on the ties of movers and on new ties (a row
        # listed twice is simply recomputed twice: cheaper than sorting the rows)
        moved = np.unique(np.concatenate(self._moved)) if self._moved else np.empty(0, int)
        t.set_cowork_of(moved, self.employer)
        for rows in self._fresh_rows:
            self._update_cowork(rows)
        self._moved.clear()
        self._fresh_rows.clear()
        # every tie decays; people at the same firm keep theirs warm, learn each
        # other's work and become colleagues (one pass, sim/core/kernels.py)
        kernels.age_ties(t.kind, t.strength, t.knows_a, t.knows_b, t.cowork, self._keep,
                         tc.work_strength, tc.learn_rate,
                         (COLLEAGUE, SUPERVISOR, ACQUAINTANCE, ONLINE))
        if (self.week + self.cfg.burn_in + 1) % tc.prune_every == 0:
            if t.prune(tc.prune_below):
                self._share_rows = t.rows_with_share()

    # ------------------------------------------------------------------ 7. record
    def record(self) -> None:
        n = self.cfg.n_workers
        f = self.firms
        unemployed = ~self.employed
        n_u = int(unemployed.sum())
        if self.cfg.market.jobs == "vacancies":
            n_open = int((f.pos_state == OPEN).sum())
            n_filled = int((f.pos_state == FILLED).sum())
            vrate = n_open / max(1, n_open + n_filled)
        else:
            n_open, vrate = 0, 0.0
        c = self._counts
        hires = c["hires_formal"] + c["hires_lead"] + c["hires_referral"] + c["hires_recall"]
        values = dict(n_unemployed=n_u, unemployment_rate=n_u / n, n_vacancies=n_open,
                      vacancy_rate=vrate, hires=hires, n_ties=self.ties.n,
                      mean_degree=2.0 * self.ties.n / n, **c)
        k = len(self.strategy_names)
        size = np.bincount(self.strategy, minlength=k)
        if k == 1:  # one strategy: the totals (same values, without two weighted passes)
            u_by = np.array([n_u], dtype=np.float64)
            d_by = np.array([self.ties.degree().sum()], dtype=np.float64)
        else:
            u_by = np.bincount(self.strategy, weights=unemployed, minlength=k)
            d_by = np.bincount(self.strategy, weights=self.ties.degree(), minlength=k)
        for j, s in enumerate(self.strategy_names):
            values[f"unemployment_rate_{s}"] = u_by[j] / size[j] if size[j] else np.nan
            values[f"mean_degree_{s}"] = d_by[j] / size[j] if size[j] else np.nan
        self.series.put(self.week, **values)

    # ------------------------------------------------------------------ outputs
    def spells_frame(self):
        """Spells of the horizon as a DataFrame (see README, Outputs)."""
        return self.spells.frame(self.cfg.weeks, self.strategy_names)

    def timeseries_frame(self):
        """Weekly series as a DataFrame."""
        return self.series.frame()

    def ties_frame(self):
        """Ties at the end as a DataFrame."""
        return self.ties.frame(self.week)
