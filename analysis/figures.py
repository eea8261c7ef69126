"""Paper figures of time to re-employment, mechanisms and market series.

Each ``plot_*`` function takes a :class:`~analysis.data.Data` and returns a
:class:`matplotlib.figure.Figure` in the paper style (:mod:`analysis.style`), or
raises :class:`Skip` with the reason when the data cannot support it (e.g. a
heatmap needs two swept parameters). :func:`make_figures` makes every figure the
data support and logs why the others were skipped.

Intervals: curves of one group (Kaplan-Meier, weekly hazard) carry their pooled
pointwise bands; outcomes compared across scenarios (against a parameter or a
share, differences between strategies, market series) carry t intervals across
replicate runs (seeds), the honest unit of a simulation experiment.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from analysis import survival
from analysis.data import Data
from analysis.mechanisms import hires_by_channel
from analysis.stats import t_interval
from analysis.style import CHANNEL_COLORS, figure, save, strategy_color, strategy_line, style

log = logging.getLogger(__name__)

__all__ = ["Skip", "make_figures", "param_label", "plot_channels", "plot_difference_heatmap", "plot_hazard",
           "plot_km", "plot_market", "plot_outcome_vs_param", "plot_outcome_vs_share", "share_of",
           "style"]

MAX_PANELS = 6
MAX_BARS = 24
ROW, ROW_TWO = 1.5, 1.6  # inches per row of the market figure (one / two columns)
SHARE_PREFIX = "strategy.shares."
LABELS = {"market.vacancy_rate": "vacancy rate", "market.separation_rate": "weekly separation rate",
          "market.n_sectors": "number of sectors", "networking.time_budget":
          "networking time budget (h/week)", "market.firm_shock_rate": "weekly firm shock rate",
          "ties.decay.colleague": "weekly decay of colleague ties",
          "networking.employed_share": "share of networking kept while employed",
          "leads.hear_prob": "weekly chance a contact hears of an opening",
          "hiring.referral_bonus": "referral bonus (trust)",
          "hiring.referral_noise": "referral noise (1 = formal)"}


class Skip(Exception):
    """The data cannot support this figure (the message says why)."""


# ---------------------------------------------------------------------------- helpers


def param_label(name: str) -> str:
    """Axis label of a swept parameter.

    Args:
        name: the parameter key, e.g. ``market.vacancy_rate``.

    Returns:
        A short human label, e.g. ``vacancy rate``.
    """
    if name in LABELS:
        return LABELS[name]
    if name.startswith(SHARE_PREFIX):
        return f"share of {name[len(SHARE_PREFIX):]}"
    return name.rsplit(".", 1)[-1].replace("_", " ")


def _metric_label(metric: str, horizon: float, at: float) -> str:
    if metric == "rmst":
        return f"RMST to re-employment\n(weeks, horizon {horizon:g})"
    if metric == "median":
        return "median time to\nre-employment (weeks)"
    return f"re-employed within\n{at:g} weeks (%)"


def _fmt(v) -> str:
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return f"{v:g}"
    return str(v)


def _cell_title(cell: dict) -> str:
    return "\n".join(f"{param_label(k)} = {_fmt(v)}" for k, v in cell.items())


def _cells(df: pd.DataFrame, cols: Sequence[str]) -> list[dict]:
    """Combinations of ``cols`` present in ``df`` (at most :data:`MAX_PANELS`)."""
    cols = list(cols)
    if not cols:
        return [{}]
    combos = df[cols].drop_duplicates().sort_values(cols).to_dict("records")
    if len(combos) > MAX_PANELS:
        log.info("%d panels for %s: showing the first %d", len(combos), cols, MAX_PANELS)
    return combos[:MAX_PANELS]


def _select(df: pd.DataFrame, cell: dict) -> pd.DataFrame:
    mask = np.ones(len(df), bool)
    for k, v in cell.items():
        mask &= (df[k] == v).to_numpy() if pd.notna(v) else df[k].isna().to_numpy()
    return df[mask]


def _numeric(values: pd.Series) -> pd.Series | None:
    x = pd.to_numeric(values, errors="coerce")
    return None if x.isna().any() else x.astype(float)


def _legend(ax, **kw) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, **kw)


def _scale(metric: str) -> float:
    return 100.0 if metric == "share_within" else 1.0


def _limits(ax, metric: str, horizon: float) -> None:
    """Clip the y axis to the support of the metric (an interval may run past it)."""
    lo, hi = ax.get_ylim()
    top = {"rmst": horizon, "share_within": 100.0}.get(metric, np.inf)
    ax.set_ylim(max(lo, 0.0), min(hi, top))


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "-", name).strip("-")


# ---------------------------------------------------------------------------- figures


def plot_km(data: Data, size: str = "one", max_week: float | None = None) -> Figure:
    """Kaplan-Meier curves of the share still unemployed by strategy, with 95% bands.

    One panel per combination of the swept parameters (at most six).

    Args:
        data: loaded outputs.
        size: ``"one"`` or ``"two"`` column layout.
        max_week: right end of the x axis (default: 52 weeks or the horizon).

    Returns:
        The figure.
    """
    table = survival.km_table(survival.fit_km(data))
    if table.empty:
        raise Skip("no spell starts in the horizon")
    max_week = max_week or min(52, data.horizon_weeks)
    cells = _cells(table, data.params)
    with style():
        fig, axes = figure(size, len(cells))
        for ax, cell in zip(axes, cells, strict=True):
            sub = _select(table, cell)
            for strat, g in sub.groupby("strategy", observed=True, sort=True):
                g = g[g["week"] <= max_week]
                c = strategy_color(strat)
                ax.step(g["week"], g["survival"], where="post", color=c, ls=strategy_line(strat),
                        label=strat)
                ax.fill_between(g["week"], g["lower"], g["upper"], step="post", color=c,
                                alpha=0.2, lw=0)
            ax.set_xlim(0, max_week)
            ax.set_ylim(0, 1.0)
            ax.set_xlabel("weeks of search")
            if cell:
                ax.set_title(_cell_title(cell))
        axes[0].set_ylabel("share still unemployed")
        _legend(axes[0], loc="upper right")
    return fig


def plot_outcome_vs_param(data: Data, param: str, metric: str = "rmst", size: str = "one",
                          horizon: float = survival.DEFAULT_HORIZON,
                          at: float = survival.WITHIN) -> Figure:
    """An outcome (RMST, median or share within ``at`` weeks) against a swept
    parameter, one line per strategy, with 95% t intervals across replicates.

    Panels: combinations of the other swept parameters (share parameters
    included). Cells with a single run fall back to the pooled Kaplan-Meier
    interval (logged).

    Args:
        data: loaded outputs.
        param: the swept parameter on the x axis (numeric).
        metric: ``"rmst"``, ``"median"`` or ``"share_within"``.
        size: ``"one"`` or ``"two"``.
        horizon: RMST horizon in weeks.
        at: weeks of the share re-employed.

    Returns:
        The figure.
    """
    if param not in data.params:
        raise Skip(f"{param} is not a swept parameter that varies")
    if _numeric(data.spells[param]) is None:
        raise Skip(f"{param} is not numeric")
    table = survival.replicate_summary(data, horizon=horizon, at=at)
    lo, hi, mid = f"{metric}_lower", f"{metric}_upper", f"{metric}_mean"
    if table[mid].isna().all():
        raise Skip(f"{metric} undefined in every cell (e.g. fewer than half the spells end)")
    if table[lo].isna().any() and (table["n_runs"] < 2).any():
        log.info("%s vs %s: cells with one run get the pooled KM interval", metric, param)
        pooled = survival.pooled_summary(data, horizon=horizon, at=at)
        pcol = {"rmst": "rmst", "median": "median", "share_within": "share"}[metric]
        keys = ["strategy", *data.params]
        fill = table[keys].merge(pooled, on=keys, how="left")
        one = (table["n_runs"] < 2).to_numpy()
        table.loc[one, lo] = fill.loc[one, f"{pcol}_lower"].to_numpy()
        table.loc[one, hi] = fill.loc[one, f"{pcol}_upper"].to_numpy()
    others = [p for p in data.params if p != param]
    cells = _cells(table, others)
    k = _scale(metric)
    with style():
        fig, axes = figure(size, len(cells))
        for ax, cell in zip(axes, cells, strict=True):
            sub = _select(table, cell)
            for strat, g in sub.groupby("strategy", observed=True, sort=True):
                g = g.assign(_x=pd.to_numeric(g[param])).sort_values("_x")
                c = strategy_color(strat)
                ax.plot(g["_x"], g[mid] * k, color=c, ls=strategy_line(strat), marker="o", ms=3,
                        label=strat)
                ax.fill_between(g["_x"], g[lo] * k, g[hi] * k, color=c, alpha=0.2, lw=0)
            xs = sorted(pd.to_numeric(sub[param]).unique())
            if len(xs) <= 8:
                ax.set_xticks(xs, [_fmt(v) for v in xs])
            ax.set_xlabel(param_label(param))
            if cell:
                ax.set_title(_cell_title(cell))
            _limits(ax, metric, table["horizon"].iloc[0])
        axes[0].set_ylabel(_metric_label(metric, table["horizon"].iloc[0], at))
        _legend(axes[0])
    return fig


def plot_difference_heatmap(data: Data, x: str, y: str, a: str = "lions", b: str = "everyone",
                            metric: str = "rmst", size: str = "one",
                            horizon: float = survival.DEFAULT_HORIZON,
                            at: float = survival.WITHIN) -> Figure:
    """Heatmap over two swept parameters of the difference ``a - b`` of a metric.

    Each cell shows the mean paired difference (runs with the same seed share the
    market; in a mixed population both strategies are in the same run), with an
    asterisk when its 95% interval excludes 0. Negative (blue) means ``a``
    finds work sooner for RMST and median.

    Args:
        data: loaded outputs.
        x: parameter on the x axis.
        y: parameter on the y axis.
        a: first strategy.
        b: strategy subtracted.
        metric: ``"rmst"``, ``"median"`` or ``"share_within"``.
        size: ``"one"`` or ``"two"``.
        horizon: RMST horizon in weeks.
        at: weeks of the share re-employed.

    Returns:
        The figure.
    """
    for p in (x, y):
        if p not in data.params:
            raise Skip(f"{p} is not a swept parameter that varies")
    if a not in data.strategies or b not in data.strategies:
        raise Skip(f"needs both strategies {a} and {b} (have {data.strategies})")
    diff = survival.strategy_difference(data, a, b, metric, by=[x, y], horizon=horizon, at=at)
    if diff.empty or diff["diff"].isna().all():
        raise Skip(f"no cell of ({x}, {y}) holds both {a} and {b} with a defined {metric}")
    k = _scale(metric)
    grid = diff.pivot(index=y, columns=x, values="diff") * k
    sig = diff.assign(_s=(diff["lower"] > 0) | (diff["upper"] < 0)).pivot(index=y, columns=x,
                                                                          values="_s")
    vmax = float(np.nanmax(np.abs(grid.to_numpy()))) or 1.0
    unit = "%-points" if metric == "share_within" else "weeks"
    with style():
        fig, (ax,) = figure(size, 1, height=2.6 if size == "one" else 3.0)
        im = ax.imshow(grid.to_numpy(float), origin="lower", aspect="auto", cmap="RdBu_r",
                       norm=TwoSlopeNorm(0.0, -vmax, vmax))
        ax.set_xticks(range(grid.shape[1]), [_fmt(v) for v in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [_fmt(v) for v in grid.index])
        for (i, j), v in np.ndenumerate(grid.to_numpy(float)):
            if np.isfinite(v):
                star = "*" if bool(sig.to_numpy()[i, j]) else ""
                ax.text(j, i, f"{v:+.1f}{star}", ha="center", va="center", fontsize=6,
                        color="white" if abs(v) > 0.6 * vmax else "black")
        ax.set_xlabel(param_label(x))
        ax.set_ylabel(param_label(y))
        ax.spines[["top", "right"]].set_visible(True)
        name = {"rmst": "RMST", "median": "median", "share_within": f"within {at:g} wk"}[metric]
        fig.colorbar(im, ax=ax, label=f"{a} \u2212 {b}, {name} ({unit})")
    return fig


def share_of(data: Data, strategy: str = "lions") -> pd.Series:
    """Share of workers following ``strategy`` in each run (index ``run_id``).

    From the swept ``strategy.shares.<strategy>`` if present, else the run's
    configuration (``share.<strategy>`` in :attr:`~analysis.data.Data.runs`), else
    the composition of the run's job seekers (workers with a spell): an
    approximation, since who becomes unemployed may depend on the strategy.

    Args:
        data: loaded outputs.
        strategy: the strategy.

    Returns:
        A Series of shares in [0, 1].
    """
    col = SHARE_PREFIX + strategy
    runs = data.runs.set_index("run_id")
    if col in runs and runs[col].notna().all():
        return runs[col].astype(float)
    if f"share.{strategy}" in runs:
        s = runs[f"share.{strategy}"].astype(float).fillna(0.0)
        if runs[f"share.{strategy}"].notna().any():
            return s
    workers = data.all_spells.drop_duplicates(["run_id", "worker_id"])
    comp = pd.crosstab(workers["run_id"], workers["strategy"].astype(str), normalize="index")
    return comp[strategy] if strategy in comp else pd.Series(0.0, index=comp.index)


def plot_outcome_vs_share(data: Data, strategy: str = "lions", metric: str = "rmst",
                          size: str = "one", horizon: float = survival.DEFAULT_HORIZON,
                          at: float = survival.WITHIN) -> Figure:
    """Outcome of each strategy's workers, and of all workers, against the share
    adopting ``strategy`` (mixed populations: private vs social returns).

    Points are per-run estimates; lines and bands the mean and 95% t interval
    across runs at each share. Panels: combinations of the other swept
    parameters.

    Args:
        data: loaded outputs.
        strategy: the strategy whose share is on the x axis.
        metric: ``"rmst"``, ``"median"`` or ``"share_within"``.
        size: ``"one"`` or ``"two"``.
        horizon: RMST horizon in weeks.
        at: weeks of the share re-employed.

    Returns:
        The figure.
    """
    share = share_of(data, strategy)
    mixed = ((share > 0) & (share < 1)).any()
    if share.nunique() < 2 or not mixed:
        raise Skip(f"the share of {strategy} does not vary across mixed populations "
                   f"(values: {[float(v) for v in sorted(share.unique().round(3))]})")
    others = [p for p in data.params if p != SHARE_PREFIX + strategy]
    est = survival.per_run(data, ["strategy", *others], horizon, at)
    allw = survival.per_run(data, others, horizon, at).assign(strategy="all")
    est = pd.concat([est, allw], ignore_index=True)
    est["share"] = est["run_id"].map(share).to_numpy(float)
    k = _scale(metric)
    cells = _cells(est, others)
    with style():
        fig, axes = figure(size, len(cells))
        for ax, cell in zip(axes, cells, strict=True):
            sub = _select(est, cell)
            for strat, g in sub.groupby("strategy", sort=False):
                g = g[np.isfinite(g[metric])]
                if g.empty:
                    continue
                c = strategy_color(strat)
                ax.scatter(g["share"] * 100, g[metric] * k, s=6, color=c, alpha=0.5, lw=0)
                m = pd.DataFrame([{"share": s, **t_interval(v[metric].to_numpy(), 0.95)}
                                  for s, v in g.groupby("share")])
                ax.plot(m["share"] * 100, m["mean"] * k, color=c, ls=strategy_line(strat),
                        label=f"{strat} workers" if strat != "all" else "all workers")
                ax.fill_between(m["share"] * 100, m["lower"] * k, m["upper"] * k, color=c,
                                alpha=0.2, lw=0)
            ax.set_xlabel(f"share of workers following {strategy} (%)")
            if cell:
                ax.set_title(_cell_title(cell))
            _limits(ax, metric, min(horizon, data.horizon_weeks))
        axes[0].set_ylabel(_metric_label(metric, min(horizon, data.horizon_weeks), at))
        _legend(axes[0])
    return fig


def plot_channels(data: Data, size: str = "one") -> Figure:
    """Stacked bars of the share of hires by channel (formal, lead, referral) per
    strategy and parameter combination (every hire in the horizon).

    Args:
        data: loaded outputs.
        size: ``"one"`` or ``"two"``.

    Returns:
        The figure.
    """
    table = hires_by_channel(data)
    if table.empty or table["n"].sum() == 0:
        raise Skip("no hire in the data")
    by = ["strategy", *data.params]
    if table[by].drop_duplicates().shape[0] > MAX_BARS:
        log.info("hires by channel: more than %d bars; pooling over the parameters", MAX_BARS)
        by = ["strategy"]
        table = hires_by_channel(data, by=by)
    bars = table[by].drop_duplicates().reset_index(drop=True)
    labels = [_bar_label(r, by) for r in bars.to_dict("records")]
    with style():
        fig, (ax,) = figure(size, 1, height=2.4 if size == "one" else 2.8)
        bottom = np.zeros(len(bars))
        for ch in table["channel"].cat.categories:
            share = bars.merge(table[table["channel"] == ch], on=by, how="left")["share"]
            vals = share.fillna(0).to_numpy() * 100
            ax.bar(range(len(bars)), vals, bottom=bottom, color=CHANNEL_COLORS.get(ch),
                   edgecolor="black", linewidth=0.4, label=ch, width=0.75)
            bottom += vals
        few = len(bars) <= 4
        ax.set_xticks(range(len(bars)), labels if few else [x.replace("\n", " ") for x in labels],
                      rotation=0 if few else 90, fontsize=7 if len(bars) <= 12 else 5)
        ax.set_xlabel(" / ".join(["strategy", *(param_label(p) for p in by[1:])]))
        ax.set_ylim(0, 100)
        ax.set_ylabel("share of hires (%)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title="channel")
    return fig


def _bar_label(row: dict, by: list[str]) -> str:
    parts = [str(row["strategy"])] + [_fmt(row[p]) for p in by[1:]]
    return "\n".join(parts)


def plot_market(data: Data, size: str = "one") -> Figure:
    """Unemployment and vacancy rates by week: mean across runs with a 95% t band.

    One line per run-level strategy (``+strategy``), one column per combination of
    the swept parameters (at most four).

    Args:
        data: loaded outputs (needs the run folders for ``timeseries.parquet``).
        size: ``"one"`` or ``"two"``.

    Returns:
        The figure.
    """
    ts = data.timeseries
    if ts is None or ts.empty:
        raise Skip("no timeseries.parquet readable (run folders not found)")
    cells = _cells(ts, data.params)[:4]
    rows = (("unemployment_rate", "unemployment rate (%)"), ("vacancy_rate", "vacancy rate (%)"))
    with style():
        ncols = len(cells)
        fig, axes = figure(size, 2 * ncols, ncols=ncols, sharey=False,
                           height=2 * ROW if size == "one" else 2 * ROW_TWO)
        for j, cell in enumerate(cells):
            sub = _select(ts, cell)
            for i, (col, label) in enumerate(rows):
                ax = axes[i * ncols + j]
                if j > 0:
                    ax.sharey(axes[i * ncols])
                for strat, g in sub.groupby("strategy_mix", sort=True):
                    m = _band(g, col)
                    c = strategy_color(strat)
                    ax.plot(m.index, m["mean"] * 100, color=c, ls=strategy_line(strat), label=strat)
                    ax.fill_between(m.index, m["lower"] * 100, m["upper"] * 100, color=c,
                                    alpha=0.2, lw=0)
                ax.set_ylim(bottom=0)
                if j == 0:
                    ax.set_ylabel(label)
                if i == 1:
                    ax.set_xlabel("week")
                elif cell:
                    ax.set_title(_cell_title(cell))
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncols=max(1, len(labels)))
    return fig


def _band(g: pd.DataFrame, col: str) -> pd.DataFrame:
    """Mean and 95% t interval across runs of ``col`` per week."""
    wide = g.pivot_table(index="week", columns="run_id", values=col)
    rows = {w: t_interval(v.dropna().to_numpy(), 0.95) for w, v in wide.iterrows()}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["lower"] = out["lower"].fillna(out["mean"])
    out["upper"] = out["upper"].fillna(out["mean"])
    return out


def plot_hazard(data: Data, size: str = "one", max_week: int | None = None) -> Figure:
    """Weekly hazard of re-employment by spell duration and strategy (duration
    dependence), with exact binomial 95% bands; spells pooled over parameters.
    Weeks with fewer than 20 spells at risk are not drawn.

    Args:
        data: loaded outputs.
        size: ``"one"`` or ``"two"``.
        max_week: last week shown (default: 52 or the horizon).

    Returns:
        The figure.
    """
    max_week = max_week or min(52, data.horizon_weeks)
    h = survival.hazard_by_duration(data, by="strategy", max_week=max_week)
    if h.empty:
        raise Skip("no spell starts in the horizon")
    with style():
        fig, (ax,) = figure(size, 1)
        for strat, g in h.groupby("strategy", observed=True, sort=True):
            g = g[g["at_risk"] >= 20]  # hide weeks with almost nobody at risk
            c = strategy_color(strat)
            ax.plot(g["week"], g["hazard"] * 100, color=c, ls=strategy_line(strat), label=strat)
            ax.fill_between(g["week"], g["lower"] * 100, g["upper"] * 100, color=c, alpha=0.2,
                            lw=0)
        ax.set_xlabel("weeks of search")
        ax.set_ylabel("weekly re-employment hazard (%)")
        ax.set_xlim(1, max_week)
        ax.set_ylim(bottom=0)
        _legend(ax)
    return fig


# ---------------------------------------------------------------------------- all figures


def make_figures(data: Data, out_dir: str | Path, size: str = "one", metric: str = "rmst",
                 horizon: float = survival.DEFAULT_HORIZON,
                 skipped: dict[str, str] | None = None) -> list[Path]:
    """Make every figure the data support, as PDF and PNG in ``out_dir``.

    Figures: ``km`` (Kaplan-Meier by strategy), ``hazard`` (weekly hazard),
    ``<metric>_vs_<param>`` and ``median_vs_<param>`` for each numeric swept
    parameter, ``diff_<a>_minus_<b>_<metric>`` (heatmap over the first two swept
    parameters), ``<metric>_vs_share_<strategy>`` (mixed populations), ``channels``
    (stacked hires by channel), ``market`` (unemployment and vacancy series).

    Args:
        data: loaded outputs (:func:`analysis.data.load`).
        out_dir: output folder.
        size: ``"one"`` (3.5 in) or ``"two"`` (7.1 in) column layout.
        metric: headline outcome, ``"rmst"`` (default, always defined),
            ``"median"`` or ``"share_within"``.
        horizon: RMST horizon in weeks.
        skipped: if given, filled with ``{figure: reason}`` for skipped figures.

    Returns:
        The paths written (two per figure).
    """
    jobs = [("km", lambda: plot_km(data, size)), ("hazard", lambda: plot_hazard(data, size))]
    params = [p for p in data.params if not p.startswith(SHARE_PREFIX)]
    metrics = [metric] + (["median"] if metric != "median" else [])
    for p, m in itertools.product(params, metrics):
        jobs.append((f"{m}_vs_{_slug(p)}",
                     lambda p=p, m=m: plot_outcome_vs_param(data, p, m, size, horizon)))
    heat = (data.params + [None, None])[:2]
    jobs.append((f"diff_lions_minus_everyone_{metric}",
                 lambda: _heatmap_or_skip(data, heat, metric, size, horizon)))
    jobs.append((f"{metric}_vs_share_lions",
                 lambda: plot_outcome_vs_share(data, "lions", metric, size, horizon)))
    jobs.append(("channels", lambda: plot_channels(data, size)))
    jobs.append(("market", lambda: plot_market(data, size)))
    paths: list[Path] = []
    for name, make in jobs:
        try:
            fig = make()
        except Skip as e:
            log.info("figure %s skipped: %s", name, e)
            if skipped is not None:
                skipped[name] = str(e)
            continue
        paths += save(fig, out_dir, name)
    return paths


def _heatmap_or_skip(data: Data, pair: list, metric: str, size: str, horizon: float) -> Figure:
    if pair[1] is None:
        raise Skip(f"needs two swept parameters (have {data.params or 'none'})")
    if len(data.params) > 2:
        log.info("heatmap over %s: other parameters %s pooled", pair, data.params[2:])
    return plot_difference_heatmap(data, pair[0], pair[1], metric=metric, size=size,
                                   horizon=horizon)
