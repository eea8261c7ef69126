"""Typed, validated model configuration.

The Hydra YAML files under ``configs/`` are the user-facing way to set parameters;
this module is the single source of truth for what the keys are, their types and
their valid ranges. :func:`build_config` turns a plain (nested) mapping into a
:class:`SimConfig`, or raises :class:`ConfigError` with one line naming the first
offending key and value. The model can therefore be built without Hydra::

    from sim.core.config import build_config
    cfg = build_config({"n_workers": 2000, "strategy": {"shares": {"lions": 1.0}}})

Every field's ``metadata["help"]`` is the one-line documentation. The model keys of
``configs/config.yaml`` (defaults, with the help as comments) are generated from
these dataclasses by :mod:`sim.workflow.configs_yaml` (``make configs``); a test
fails when the file differs.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.core.params import (
    PROB,
    PerKind,
    _build,
    _check_scalar,
    _fmt,
    build_params,
    field_help,
    param,
)
from sim.core.strategies import available, get_strategy
from sim.errors import ConfigError


@dataclass
class MarketConfig:
    n_sectors: int = param(10, "number of sectors (occupations); hiring across sectors is penalised; "
                           "derived from market_size when that is set", 1)
    market_size: int | None = param(10000, "workers per local labour market (sector); when set it "
                                    "decides the number of sectors, n_workers / market_size "
                                    "rounded (null: n_sectors fixed); docs/ODD.md section 2", 1)
    cross_market_applications: float = param(0.0, "share of formal applications sent to an open "
                                             "position of another sector rather than one's own", **PROB)
    mean_firm_size: float = param(20.0, "mean number of positions per firm", 1.0)
    firm_size_sigma: float = param(1.0, "log-normal sigma of firm sizes (0 = all equal)", 0.0, 5.0)
    jobs: str = param("vacancies", "where job offers come from: firm vacancies, or exogenous "
                   "arrivals as in Calvo-Armengol & Jackson (2004)",
                   choices=("vacancies", "exogenous"))
    vacancy_rate: float = param(0.05497, "labour demand: share of all positions vacant when "
                             "unemployment is at initial_unemployment", 0.0, 0.5)
    initial_unemployment: float = param(0.05, "share of workers unemployed at the start", 0.0, 1.0)
    separation_rate: float = param(0.004238, "weekly probability an employed worker loses the job "
                                "(idiosyncratic); calibrated (SMM, docs/VALIDATION.md)", **PROB)
    firm_shock_rate: float = param(0.001196, "weekly probability a firm makes a mass layoff; "
                                "calibrated (SMM, docs/VALIDATION.md)", **PROB)
    layoff_fraction: float = param(0.3, "share of a firm's workers laid off in a mass layoff", **PROB)
    recovery_rate: float = param(0.02, "weekly probability that a position closed by a mass layoff "
                              "reopens as a vacancy", **PROB)
    cross_sector_penalty: float = param(1.0, "hiring-signal penalty (ability s.d.) for a candidate "
                                     "from another sector", 0.0)
    job_arrival_prob: float = param(0.1, "jobs=exogenous only: weekly probability each worker hears "
                                 "of a job (the a of Calvo-Armengol & Jackson)", **PROB)


@dataclass
class WorkersConfig:
    ability_sd: float = param(1.0, "s.d. of latent ability (productivity unobserved by firms)", 0.0)


@dataclass
class NetworkingConfig:
    time_budget: float = param(5.0, "networking hours per week while unemployed", 0.0)
    employed_share: float = param(0.3, "share of time_budget spent networking while employed", **PROB)
    saturation_hours: float = param(1.0, "weekly hours on one tie that give half the largest "
                                    "gain (S-shaped: a few minutes do almost nothing)", 0.0,
                                    lo_open=True)
    max_gain: float = param(0.25, "largest weekly strength gain of a tie from investment", **PROB)
    hours_per_new_tie: float = param(0.5, "hours it takes to make one new online connection", 0.0,
                                  lo_open=True)
    accept_prob: float = param(0.3, "probability a worker who does not accept everyone accepts an "
                            "invitation", **PROB)
    same_sector_share: float = param(0.5, "share of new connections made within one's own sector",
                                  **PROB)
    plan_every: int = param(4, "weeks between two networking plans (strategies re-rank their "
                            "contacts and re-allocate their hours)", 1)


@dataclass
class TiesConfig:
    initial_colleagues: float = param(4.0, "mean colleague ties per employed worker at the start "
                                      "(drawn among coworkers; a few draws miss)", 0.0)
    initial_acquaintances: float = param(6.0, "mean acquaintance ties per worker at the start", 0.0)
    initial_online: float = param(6.0, "mean online-only ties per worker at the start", 0.0)
    colleagues_per_hire: int = param(3, "new colleague ties a worker forms on joining a firm", 0)
    supervisor_per_hire: bool = param(True, "a new hire also gets a supervisor tie at the firm")
    strength: PerKind = param(PerKind(0.5, 0.6, 0.3, 0.1), "strength of a new tie, by kind", 0, 1)
    knows_work: PerKind = param(PerKind(0.3, 0.5, 0.05, 0.0), "how well a new contact knows the "
                             "worker's work, by kind", 0, 1)
    decay: PerKind = param(PerKind(0.01, 0.008, 0.01, 0.05), "weekly decay of tie strength, by "
                        "kind (investment and working together offset it)", 0, 1)
    learn_rate: float = param(0.02, "weekly growth of knows-work between people at the same firm "
                           "(toward 1; doubled for supervisors)", **PROB)
    work_strength: float = param(0.5, "strength that working at the same firm keeps a tie at",
                              **PROB)
    prune_below: float = param(0.02, "a tie whose strength falls below this is dropped", **PROB)
    prune_every: int = param(13, "weeks between pruning dropped ties from memory", 1)
    degree_min_strength: float = param(0.2, "strength a tie needs to count in the degree reported "
                                       "as a covariate (spells' degree_at_start); at least "
                                       "prune_below, so pruning cannot move it", **PROB)
    evolve: bool = param(True, "ties change over time (false = fixed network as in "
                         "Calvo-Armengol & Jackson: no decay, no new ties, no investment)")


@dataclass
class LeadsConfig:
    hear_prob: float = param(0.1592, "weekly probability an employed worker hears of an opening at "
                          "their firm (one with a vacancy) and can pass it on; calibrated (SMM, "
                          "docs/VALIDATION.md)", **PROB)
    aware_strength: float = param(0.4517, "centre of awareness: a tie this strong knows a worker is "
                               "searching, untold, with probability 1/2 (with aware_width 0: ties "
                               "at least this strong always know); calibrated (SMM, "
                               "docs/VALIDATION.md)", **PROB)
    aware_width: float = param(0.2897, "graded awareness: a contact knows of the search with "
                               "probability logistic((strength - aware_strength) / aware_width), "
                               "drawn each week; 0 = the hard threshold at aware_strength; calibrated "
                               "(SMM, docs/VALIDATION.md)", 0.0)
    told_weeks: int = param(0, "weeks a contact stays aware of the search after the seeker's ask "
                            "(or announcement) is withdrawn; 0 = aware only while it holds", 0)
    ask_weight: float = param(4.0, "extra weight a helper gives a seeker who asked them", 1.0)
    referral_knows: float = param(0.35, "knows-work a helper needs to recommend (refer) rather than "
                               "just pass a lead", **PROB)
    referral_strength: float = param(0.25, "tie strength a helper needs to recommend (engagement)",
                                  **PROB)
    per_helper: int = param(1, "leads a helper passes per week (scarce attention)", 1)


@dataclass
class HiringConfig:
    applications: float = param(0.064, "funnel off: mean formal applications per week that reach "
                                "a firm's shortlist (Poisson); calibrated (SMM, "
                                "docs/VALIDATION.md); with the funnel, funnel.applications", 0.0)
    formal_noise: float = param(2.55, "s.d. of the noise in the signal of ability from a formal "
                             "application or a lead; calibrated (SMM, docs/VALIDATION.md)", 0.0)
    referral_noise: float = param(2.244, "s.d. of the noise when the referrer knows the work fully "
                               "(interpolated by knows-work); 0.88 x formal_noise (Glitz & "
                               "Vejlin: a referral's signal only about 12 % less noisy)", 0.0)
    referral_bonus: float = param(1.52, "trust a firm puts in a recommendation (added to the "
                               "signal); calibrated (SMM, docs/VALIDATION.md)", 0.0)
    threshold: float = param(-1.654, "lowest signal (ability s.d.) a firm accepts; calibrated (SMM, "
                             "docs/VALIDATION.md)", -10.0, 10.0)


@dataclass
class RecallConfig:
    enabled: bool = param(True, "employers recall workers they separated from (a 4th channel, "
                          "recall); off keeps returns to the last employer as ordinary hires")
    temporary_share: float = param(0.3, "share of separations that are temporary layoffs (with "
                                   "an expected recall)", **PROB)
    temporary_rate: float = param(0.25, "weekly probability the last employer recalls a worker on "
                                  "temporary layoff, in a week it has an open position", **PROB)
    permanent_rate: float = param(0.0175, "weekly probability the last employer recalls a worker "
                                  "separated for good, in a week it has an open position (at the "
                                  "separation's week; it fades, see decay); calibrated (SMM, "
                                  "then refitted to the exponential decay: docs/VALIDATION.md)",
                                  **PROB)
    horizon: int = param(52, "weeks: with decay=exponential, the time over which the recall "
                         "probability falls by a factor e; with decay=step, the last week of "
                         "the spell in which the employer recalls", 0)
    decay: str = param("exponential", "how the recall probability falls with the weeks since "
                       "the separation: exponential (rate x exp(-(weeks - 1) / horizon): no week "
                       "at which recall stops, so no cliff in the hazard) or step (rate up to "
                       "horizon weeks, then 0: the earlier form)", choices=("exponential", "step"))


@dataclass
class FunnelConfig:
    enabled: bool = param(True, "the hiring funnel (docs/ODD.md section 7.5): applications wait in "
                          "the pools of open vacancies, which are screened now and then; off = "
                          "the legacy one-round weekly matching")
    applications: float = param(1.533, "funnel only: applications a searching worker sends per "
                                "week (Poisson mean), each to an open vacancy of the own market; "
                                "calibrated (SMM, docs/VALIDATION.md)", 0.0)
    screen_rate: float = param(0.2234, "funnel only: weekly probability that an open vacancy with "
                               "applicants in its pool is screened (mean wait 1/rate weeks); "
                               "calibrated (SMM, docs/VALIDATION.md)",
                               **PROB)
    shortlist: int = param(5, "funnel only: applicants shortlisted (interviewed) at a screening, "
                           "the best signals; the offer goes to the best of them at or above "
                           "hiring.threshold", 1)
    referral_priority: bool = param(True, "funnel only: referred applicants are shortlisted "
                                    "before all others (then by signal)")
    employed_applications: float = param(0.1663, "funnel only: applications an employed worker "
                                         "sends per week (on-the-job search, Poisson mean), each to an "
                                         "open vacancy of the own market at another firm; hired, "
                                         "the worker moves job to job and the old position opens; "
                                         "calibrated (SMM, docs/VALIDATION.md)",
                                         0.0)


@dataclass
class StrategyConfig:
    name: str = param("lions", "label of the strategy or mix (used in folder names and outputs)")
    shares: dict = param({"lions": 1.0}, "share of workers following each strategy; one share may "
                      "be null to take the rest")
    params: dict = param({}, "per-strategy parameter overrides, e.g. params.lions.focus_k=3")
    assign: str = param("random", "how strategies are assigned: each worker draws one by share "
                        "(random), or exact counts placed at random (exact)",
                        choices=("random", "exact"))


@dataclass
class OutputConfig:
    ties: bool = param(False, "also write ties.parquet (the network at the end)")
    progress: str = param("auto", "progress bar: auto (on a terminal), on, off",
                       choices=("auto", "on", "off"))


@dataclass
class SimConfig:
    seed: int = param(0, "seed of the run; every random stream is spawned from it", 0)
    n_workers: int = param(20_000, "number of workers; the default is two markets of the default "
                           "market.market_size, the smallest population in which a market has "
                           "neighbours (one market alone differs: docs/VALIDATION.md section 6)", 2)
    weeks: int = param(520, "horizon in weekly steps (recorded)", 1)
    burn_in: int = param(1040, "weeks simulated before week 0 to build careers and ties "
                      "(not recorded, except spells still running at week 0)", 0)
    market: MarketConfig = param(MarketConfig(), "")
    workers: WorkersConfig = param(WorkersConfig(), "")
    networking: NetworkingConfig = param(NetworkingConfig(), "")
    ties: TiesConfig = param(TiesConfig(), "")
    leads: LeadsConfig = param(LeadsConfig(), "")
    hiring: HiringConfig = param(HiringConfig(), "")
    recall: RecallConfig = param(RecallConfig(), "")
    funnel: FunnelConfig = param(FunnelConfig(), "")
    strategy: StrategyConfig = param(StrategyConfig(), "")
    output: OutputConfig = param(OutputConfig(), "")


# --------------------------------------------------------------------------- building


def build_config(data: Mapping | None = None) -> SimConfig:
    """Build and validate a :class:`SimConfig` from a nested mapping.

    Missing keys take their defaults; unknown keys, wrong types and values out of
    range raise :class:`ConfigError` with a one-line message naming the key.

    Args:
        data: nested mapping (a plain dict, or an OmegaConf container converted
            with ``OmegaConf.to_container(cfg, resolve=True)``).

    Returns:
        The validated configuration.
    """
    cfg = _build(SimConfig, dict(data or {}), "")
    _resolve_markets(cfg)
    _validate_strategy(cfg.strategy)
    if cfg.recall.enabled and cfg.market.jobs != "vacancies":
        raise ConfigError(f"recall.enabled=true: needs market.jobs=vacancies (got "
                          f"market.jobs={cfg.market.jobs}: no employers to recall)")
    if cfg.recall.enabled and cfg.recall.decay == "exponential" and cfg.recall.horizon < 1:
        raise ConfigError(f"recall.horizon={cfg.recall.horizon}: must be at least 1 with "
                          f"recall.decay=exponential (the weeks over which recall falls by e)")
    if cfg.funnel.enabled and cfg.market.jobs != "vacancies":
        raise ConfigError(f"funnel.enabled=true: needs market.jobs=vacancies (got "
                          f"market.jobs={cfg.market.jobs}: no vacancies to apply to)")
    t = cfg.ties
    if t.prune_below > t.degree_min_strength:
        raise ConfigError(f"ties.prune_below={t.prune_below:g}: must be at most "
                          f"ties.degree_min_strength={t.degree_min_strength:g} (pruned ties "
                          "would leave the reported degree)")
    return cfg


def n_markets(n_workers: int, market_size: int) -> int:
    """Number of local labour markets (sectors) of ``market_size`` workers among ``n_workers``.

    Args:
        n_workers: workers simulated.
        market_size: workers per market.

    Returns:
        ``n_workers / market_size`` rounded to the nearest integer (halves up), at least 1.
    """
    return max(1, math.floor(n_workers / market_size + 0.5))


def _resolve_markets(cfg: SimConfig) -> None:
    """With ``market.market_size`` set, derive ``market.n_sectors`` from it (in place).

    ``market_size`` decides: ``n_sectors`` becomes ``n_markets(n_workers, market_size)``.
    With fewer workers than ``market_size`` the market simulated is all of them (one
    market, ``market_size`` set to ``n_workers``, with a warning on the ``sim`` logger).
    An ``n_sectors`` other than its default or that number was set on purpose and
    contradicts ``market_size``: an error. The derived value is what the config then holds
    (so the resolved config, written with a run, rebuilds to itself).
    """
    m = cfg.market
    if m.market_size is None:
        return
    key = f"market.market_size={m.market_size}"
    if m.market_size < m.mean_firm_size:
        raise ConfigError(f"{key}: must be at least market.mean_firm_size={m.mean_firm_size:g} "
                          f"(a market holds at least one firm of mean size)")
    if m.market_size > cfg.n_workers:
        # fewer workers than one market holds: one market of them all, said and recorded
        # (the resolved config holds the market size simulated, so it rebuilds to itself)
        logging.getLogger("sim").warning(
            "n_workers=%d is below %s: one market of %d workers is simulated (outcomes depend "
            "on the market size, docs/ODD.md section 2)", cfg.n_workers, key, cfg.n_workers)
        m.market_size = cfg.n_workers
        key = f"market.market_size={m.market_size}"
    k = n_markets(cfg.n_workers, m.market_size)
    if k == 1 and cfg.networking.same_sector_share < 1:
        # a market alone keeps inside it the ties meant for other markets (a known bias)
        logging.getLogger("sim").warning(
            "n_workers=%d is one market alone: the random ties that "
            "networking.same_sector_share=%g sends to other markets stay inside it, so it is "
            "not a market among others; n_workers >= %d simulates one (docs/VALIDATION.md "
            "section 6)", cfg.n_workers, cfg.networking.same_sector_share, 2 * m.market_size)
    default = MarketConfig.__dataclass_fields__["n_sectors"].default
    if m.n_sectors not in (default, k):
        raise ConfigError(f"market.n_sectors={m.n_sectors}: contradicts {key}, which decides the "
                          f"number of sectors (n_workers / market_size = {k}); give one of the two")
    m.n_sectors = k


def _validate_strategy(s: StrategyConfig) -> None:
    names = available()
    if not s.shares:
        raise ConfigError("strategy.shares={}: give at least one strategy and its share")
    fills = [k for k, v in s.shares.items() if v is None]
    for k, v in s.shares.items():
        if k not in names:
            raise ConfigError(
                f"strategy.shares.{k}: unknown strategy '{k}'; available: {', '.join(names)}")
        if v is not None:
            _check_scalar(f"strategy.shares.{k}", float, v, PROB)
    if len(fills) > 1:
        raise ConfigError(f"strategy.shares: only one share may be null (got {', '.join(fills)})")
    total = sum(float(v) for v in s.shares.values() if v is not None)
    if fills:
        if total > 1 + 1e-9:
            raise ConfigError(f"strategy.shares: given shares sum to {total:g} > 1, nothing left "
                              f"for '{fills[0]}'")
        s.shares = {k: (max(0.0, 1.0 - total) if v is None else float(v))
                    for k, v in s.shares.items()}
    elif abs(total - 1.0) > 1e-6:
        raise ConfigError(f"strategy.shares: shares sum to {total:g}, must sum to 1 "
                          f"({', '.join(f'{k}={v}' for k, v in s.shares.items())})")
    for k, v in s.params.items():
        if not isinstance(v, Mapping):
            raise ConfigError(f"strategy.params.{k}={_fmt(v)}: must be a mapping of parameters")
        if k not in names:
            raise ConfigError(
                f"strategy.params.{k}: unknown strategy '{k}'; available: {', '.join(names)}")
        get_strategy(k).build_params(s.params[k], prefix=f"strategy.params.{k}.")


def with_values(cfg: SimConfig, values: Mapping[str, float]) -> SimConfig:
    """``cfg`` with dotted keys set, validated again.

    A key ``group.*`` multiplies every value of the group by the given factor
    (e.g. ``ties.decay.*``: all decay rates at once).
    """
    data = to_dict(cfg)
    for key, value in values.items():
        *path, last = key.split(".")
        node = data
        for p in path:
            node = node[p]
        if last == "*":
            for k in node:
                node[k] = float(node[k]) * float(value)
        else:
            node[last] = float(value)
    return build_config(data)


# Memory of a run, measured as peak RSS (README, Performance: 1.23 GB at 1M lions with 7.5M ties;
# base refitted after commit b047051: 0.23 GB at 2,000 workers, 0.43-0.45 GB at 200k lions;
# benchmarks/model_speed.py at 20k and 200k workers, lions and everyone, fit
# RSS = base + a * workers + b * ties): the interpreter with numpy, pandas, numba and the
# compiled kernels; per worker its state arrays and spell records; per tie its columns
# (36 bytes), the pair hash table, both CSR entries and the spare capacity of growing arrays.
MEMORY_BASE = 250e6
MEMORY_PER_WORKER = 250
MEMORY_PER_TIE = 100


def expected_ties(cfg: SimConfig) -> float:
    """Ties at the start: half the mean initial degree per worker (each tie has two ends).

    Strategies that make new connections grow the network beyond it (``everyone`` at
    the defaults reaches a mean degree of about 73 in two years, against 16 at the start).

    Args:
        cfg: the run's configuration.

    Returns:
        The expected number of ties at the start.
    """
    t = cfg.ties
    return cfg.n_workers * (t.initial_colleagues + t.initial_acquaintances + t.initial_online) / 2


def memory_estimate(cfg: SimConfig) -> float:
    """Bytes a run needs at least: the measured base, per worker and per tie
    (:data:`MEMORY_BASE`, :data:`MEMORY_PER_WORKER`, :data:`MEMORY_PER_TIE`), with the
    ties of the start (:func:`expected_ties`); a network that grows needs more.

    Args:
        cfg: the run's configuration.

    Returns:
        The estimate in bytes (1M workers at the defaults: 1.35 GB; measured 1.23 GB).
    """
    return MEMORY_BASE + MEMORY_PER_WORKER * cfg.n_workers + MEMORY_PER_TIE * expected_ties(cfg)


def available_memory() -> int | None:
    """Bytes of memory available to a new process here: the kernel's ``MemAvailable``,
    lowered to what a cgroup limit leaves (containers, Slurm jobs); None if unknown.

    Returns:
        Available bytes, or None where ``/proc/meminfo`` does not exist.
    """
    try:
        meminfo = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    avail = next((int(line.split()[1]) * 1024 for line in meminfo.splitlines()
                  if line.startswith("MemAvailable:")), None)
    cg = Path("/sys/fs/cgroup")
    try:
        limit, used = (cg / "memory.max").read_text().strip(), (cg / "memory.current").read_text()
        if limit != "max" and avail is not None:
            avail = min(avail, int(limit) - int(used))
    except (OSError, ValueError):
        pass
    return avail


def check_memory(cfg: SimConfig, available: float | None = None,
                 where: str = "on this machine") -> None:
    """Refuse a run that cannot fit in memory, before anything is allocated.

    Args:
        cfg: the run's configuration.
        available: bytes available (default: :func:`available_memory` of this machine).
        where: where that memory is, for the message (e.g. ``per Slurm job``).

    Raises:
        ConfigError: one line with the estimate and the memory available, naming
            ``n_workers``.
    """
    available = available_memory() if available is None else available
    need = memory_estimate(cfg)
    if available is not None and need > available:
        raise ConfigError(
            f"n_workers={cfg.n_workers}: does not fit in memory: needs at least "
            f"{need / 1e9:,.1f} GB (estimated from {cfg.n_workers:,} workers and "
            f"{expected_ties(cfg):,.0f} ties: {MEMORY_BASE / 1e9:g} GB + {MEMORY_PER_WORKER} B per "
            f"worker + {MEMORY_PER_TIE} B per tie), {available / 1e9:,.1f} GB available {where}")


def to_dict(cfg: Any) -> dict:
    """Plain nested dict of a config dataclass (for JSON provenance)."""
    return dataclasses.asdict(cfg)


__all__ = [
    "ConfigError",
    "SimConfig",
    "build_config",
    "build_params",
    "field_help",
    "n_markets",
    "to_dict",
]
