"""The strategy interface: how a worker spends the weekly networking time budget.

A strategy is one module in ``sim/core/strategies/`` that defines ``STRATEGY``, a
subclass of :class:`Strategy`, plus one file ``configs/strategy/<name>.yaml`` (its
header, ``name`` and ``shares``; its ``params:`` block is generated from ``Params``
by ``make configs``).
Workers plan their networking every ``networking.plan_every`` weeks: the model
calls :meth:`Strategy.plan` once per strategy with a :class:`Context` holding that
strategy's workers and their ties, and stores the returned :class:`Plan`. Every
week the plan is carried out with the hours the worker has that week (more
while unemployed). Nothing else needs to change to add a strategy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sim.core.kernels import group_top_k
from sim.core.params import build_params
from sim.core.ties import HalfEdges


@dataclass
class Context:
    """What a strategy sees in one week (all arrays are numpy).

    Attributes:
        week: current week.
        egos: ids of the workers following this strategy.
        unemployed: whether each ego is unemployed.
        ties: the egos' ties, one row per (ego, tie); ``ties.ego`` are worker ids.
        ego_index: for each tie row, the position of its ego in ``egos``.
        strength: strength of each tie (0-1).
        knows: how well the contact knows the ego's work (0-1).
        alter_employed: whether the contact is employed.
        same_sector: whether the contact is in the ego's sector.
        rng: random stream for the strategy's own draws.
    """

    week: int
    egos: np.ndarray
    unemployed: np.ndarray
    ties: HalfEdges
    ego_index: np.ndarray
    strength: np.ndarray
    knows: np.ndarray
    alter_employed: np.ndarray
    same_sector: np.ndarray
    rng: np.random.Generator

    def degree(self) -> np.ndarray:
        """Number of ties of each ego."""
        return np.bincount(self.ego_index, minlength=len(self.egos))

    def top_k(self, score: np.ndarray, k: int) -> np.ndarray:
        """Mask of each ego's ``k`` highest-scoring ties (ties with score 0 excluded)."""
        out = np.zeros(len(score), dtype=bool)
        cand = np.flatnonzero(score > 0)
        out[cand[group_top_k(self.ego_index[cand], score[cand], k, len(self.egos))]] = True
        return out


@dataclass
class Plan:
    """How the egos will spend their networking hours until the next plan.

    Attributes:
        tie_share: share of the ego's weekly hours invested in each tie row
            (raises its strength); per ego, the shares plus ``new_tie_share``
            should not exceed 1.
        new_tie_share: share of each ego's hours spent making new connections
            (``networking.hours_per_new_tie`` each).
        ask: tie rows whose contact the ego asks for help while unemployed.
        announce: egos who announce their search to all contacts while unemployed.
        spread: share of each ego's hours spread evenly over all of its ties,
            whatever they are that week (new ties included); needs no tie rows,
            so a strategy using only this can set ``uses_ties = False``.
    """

    tie_share: np.ndarray
    new_tie_share: np.ndarray
    ask: np.ndarray
    announce: np.ndarray
    spread: np.ndarray | None = None

    @classmethod
    def nothing(cls, ctx: Context) -> Plan:
        n, m = len(ctx.egos), len(ctx.ties)
        return cls(np.zeros(m), np.zeros(n), np.zeros(m, bool), np.zeros(n, bool), np.zeros(n))


class Strategy:
    """Base class of the networking strategies.

    Subclasses set ``name``, ``Params`` (a dataclass of their parameters, built
    with the same checks as the model config), ``accepts_all`` (whether the
    worker accepts every invitation) and ``uses_ties`` (whether :meth:`plan`
    looks at the ties; if not, the context has none), and implement :meth:`plan`.
    """

    name: ClassVar[str] = ""
    accepts_all: ClassVar[bool] = False
    uses_ties: ClassVar[bool] = True

    @dataclass
    class Params:
        pass

    def __init__(self, params: Params):
        self.params = params

    @classmethod
    def build_params(cls, data: Mapping | None, prefix: str = "") -> Params:
        return build_params(cls.Params, data, prefix)

    def plan(self, ctx: Context) -> Plan:  # pragma: no cover - interface
        raise NotImplementedError
