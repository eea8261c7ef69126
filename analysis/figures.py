"""Paper figures of time to re-employment, mechanisms and market series.

Each ``plot_*`` function takes a :class:`~analysis.data.Data` and returns a
:class:`matplotlib.figure.Figure` in the paper style (:mod:`analysis.style`), or
raises :class:`Skip` with the reason when the data cannot support it (e.g. a
heatmap needs two swept parameters). :func:`make_figures` makes every figure the
data support and reports why the others were skipped.

Every figure states above its panels what it estimates and what its band or
error bar is (:func:`analysis.style.header`).

Intervals: runs (seeds) are the unit of inference (the run-level statistics of
:mod:`analysis.survival` and :mod:`analysis.stats`, with :mod:`analysis.bands`).
Curves (Kaplan-Meier, weekly hazard, market series) are the mean of per-run
curves with a pointwise 95% t band across runs; outcomes against a parameter or a
share carry 95% t intervals across runs; both are formed on the logit scale of
the quantity's range, so they stay inside it. Differences between strategies are
paired by seed, averaged within seed over the swept factors not shown, with a
paired t interval intersected with the difference's possible range and tests
Holm-adjusted across the cells of a figure. A figure whose cells have fewer than
:data:`analysis.bands.FEW_RUNS` runs says so. A figure made from one run per curve
shows either no band or a within-run band labelled as such (spells treated as
independent), never a band presented as between-run uncertainty.

Cells: a figure with a panel per combination of the swept parameters shows at most
:data:`MAX_PANELS` panels per page; the other cells go on further pages
(attribute ``n_pages`` of the returned figure; :func:`make_figures` writes page
``k`` as ``<name>_p<k>``) and each page says which cells it holds. No cell is
dropped.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from analysis import bands, survival
from analysis.data import Data
from analysis.mechanisms import hires_by_channel
from analysis.stats import range_interval
from analysis.style import (
    CHANNEL_COLORS,
    FORMATS,
    figure,
    header,
    save,
    strategy_color,
    strategy_line,
    style,
)

log = logging.getLogger(__name__)

__all__ = ["CAPTIONS", "Skip", "intervals", "make_figures", "param_label", "plot_channels",
           "plot_difference_heatmap", "plot_hazard", "plot_km", "plot_market",
           "plot_outcome_vs_param", "plot_outcome_vs_share", "share_of", "style"]

MAX_PANELS = 8  # panels per page of a figure with a panel per cell
MARKET_COLUMNS = {"one": 2, "two": 4}  # cells per page of the market figure (a column each)
MIN_AT_RISK = 5  # spells at risk for a run to enter a week's mean hazard
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

#: Panel-title labels (a panel is narrow: a few words each).
SHORT = {"market.vacancy_rate": "vacancy rate", "market.separation_rate": "separation rate",
         "market.n_sectors": "sectors", "networking.time_budget": "time budget (h)",
         "market.firm_shock_rate": "firm shock rate", "ties.decay.colleague": "colleague decay",
         "networking.employed_share": "kept while employed", "leads.hear_prob": "hear prob.",
         "hiring.referral_bonus": "referral bonus", "hiring.referral_noise": "referral noise"}


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


def short_label(name: str) -> str:
    """A short label of a swept parameter for panel titles (e.g. ``vacancy rate``)."""
    if name in SHORT:
        return SHORT[name]
    if name.startswith(SHARE_PREFIX):
        return f"share {name[len(SHARE_PREFIX):]}"
    return name.rsplit(".", 1)[-1].replace("_", " ")


def _cell_title(cell: dict) -> str:
    return "\n".join(f"{short_label(k)} = {_fmt(v)}" for k, v in cell.items())


def _title(ax, cell: dict) -> None:
    if cell:
        ax.set_title(_cell_title(cell), fontsize=7 if len(cell) < 3 else 6)


def _cells(df: pd.DataFrame, cols: Sequence[str]) -> list[dict]:
    """Every combination of ``cols`` present in ``df``, sorted."""
    cols = list(cols)
    if not cols:
        return [{}]
    return df[cols].drop_duplicates().sort_values(cols).to_dict("records")


def _page(cells: list[dict], page: int, per_page: int = MAX_PANELS) -> tuple[list[dict], int, str]:
    """The cells on ``page`` (1-based), the number of pages and the note that says
    which cells this page holds (empty when one page holds them all)."""
    n_pages = max(1, math.ceil(len(cells) / per_page))
    if not 1 <= page <= n_pages:
        raise ValueError(f"page must be in 1..{n_pages}")
    first = (page - 1) * per_page
    shown = cells[first:first + per_page]
    if n_pages == 1:
        return shown, 1, ""
    files = ("page 2 is the file with suffix _p2" if n_pages == 2 else
             f"pages 2-{n_pages} are the files with suffix _p2 to _p{n_pages}")
    note = (f"Page {page} of {n_pages}: cells {first + 1}-{first + len(shown)} of {len(cells)} "
            f"(page 1 is the file without suffix, {files}).")
    return shown, n_pages, note


def _runs_text(n: pd.Series | np.ndarray, what: str = "curve") -> str:
    """``n = 3 runs per curve`` (or ``n = 2-5 runs ...``)."""
    n = np.asarray(n, dtype=int)
    lo, hi = int(n.min()), int(n.max())
    return f"n = {lo if lo == hi else f'{lo}-{hi}'} run{'s' if hi > 1 else ''} per {what}"


def _estimand(metric: str, tau: float, at: float) -> str:
    """What a per-run outcome is, in words."""
    if metric == "rmst":
        return (f"RMST to re-employment: restricted mean weeks unemployed within the first "
                f"{tau:g} weeks of a spell (Kaplan-Meier, per run)")
    if metric == "median":
        return "Median weeks to re-employment (Kaplan-Meier, per run)"
    return f"Share re-employed within {at:g} weeks of search, 1 - S({at:g}) (Kaplan-Meier, per run)"


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
    """Keep the y axis inside the support of the metric."""
    lo, hi = ax.get_ylim()
    top = {"rmst": horizon, "share_within": 100.0}.get(metric, np.inf)
    ax.set_ylim(max(lo, 0.0), min(hi, top * 1.02))


def intervals(ax, x, mean, lower, upper, color: str, ls: str = "-", label: str | None = None,
              dodge: float = 0.0) -> None:
    """Means joined by a line, with error bars where the interval exists.

    Error bars rather than a filled band: a cell without an interval (one run,
    identical runs) leaves a gap in a band and can hide its neighbours' intervals.

    Args:
        ax: the axes.
        x: positions.
        mean: point estimates.
        lower: lower bounds (NaN: no interval at that point).
        upper: upper bounds.
        color: line and bar colour.
        ls: line style.
        label: legend label.
        dodge: added to ``x`` for the points and bars (to keep several lines apart).
    """
    x = np.asarray(x, float) + dodge
    mean, lower, upper = (np.asarray(v, float) for v in (mean, lower, upper))
    ax.plot(x, mean, color=color, ls=ls, marker="o", ms=3, label=label)
    ok = np.isfinite(lower) & np.isfinite(upper) & np.isfinite(mean)
    if ok.any():
        ax.errorbar(x[ok], mean[ok], yerr=[mean[ok] - lower[ok], upper[ok] - mean[ok]], fmt="none",
                    ecolor=color, elinewidth=0.8, capsize=2)


def _dodge(xs, i: int, n: int) -> float:
    """Offset of line ``i`` of ``n`` so that their error bars do not overlap."""
    xs = np.unique(np.asarray(xs, float))
    step = np.diff(xs).min() if len(xs) > 1 else 1.0
    return (i - (n - 1) / 2) * 0.04 * step


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "-", name).strip("-")


# ---------------------------------------------------------------------------- figures


def _runs_per_curve(data: Data, keys: list[str]) -> tuple[pd.Series, bool]:
    """Runs per curve, and whether every curve comes from a single run."""
    n = data.spells.groupby(keys, observed=True, dropna=False)["run_id"].nunique()
    return n, bool(n.max() < 2)


def _curves(data: Data, max_week: float | None) -> tuple[int, list[str], pd.Series, bool]:
    """What a figure of curves by week needs: the last week shown (default 52 or the
    horizon), its curves' keys (strategy and the swept parameters), the runs per curve
    and whether every curve comes from a single run; :class:`Skip` without spells."""
    if data.spells.empty:
        raise Skip("no spell starts in the horizon")
    keys = ["strategy", *data.params]
    return int(max_week or min(52, data.horizon_weeks)), keys, *_runs_per_curve(data, keys)


def plot_km(data: Data, size: str = "one", max_week: float | None = None, page: int = 1) -> Figure:
    """Kaplan-Meier curves of the share still unemployed by strategy: the mean of
    the per-run curves with a pointwise 95% t band across runs on the logit scale
    (inside [0, 1]; :func:`analysis.survival.km_run_level`).

    One panel per combination of the swept parameters. With one run per curve the
    band is lifelines' within-run interval, labelled as such.

    Args:
        data: loaded outputs.
        size: ``"one"`` or ``"two"`` column layout.
        max_week: right end of the x axis (default: 52 weeks or the horizon).
        page: which page of cells (see the module docstring).

    Returns:
        The figure (attribute ``n_pages``).
    """
    max_week, keys, n_runs, within = _curves(data, max_week)
    if within:
        table = survival.km_table(survival.fit_km(data, keys))
    else:
        table = survival.km_run_level(data, keys, max_week)
    table = table.rename(columns={"survival": "mean"})
    cells, n_pages, page_note = _page(_cells(table, data.params), page)
    with style():
        fig, axes = figure(size, len(cells))
        for ax, cell in zip(axes, cells, strict=True):
            sub = _select(table, cell)
            for strat, g in sub.groupby("strategy", observed=True, sort=True):
                g = g[g["week"] <= max_week]
                c = strategy_color(strat)
                ax.step(g["week"], g["mean"], where="post", color=c, ls=strategy_line(strat),
                        label=strat)
                if g["lower"].notna().any():
                    ax.fill_between(g["week"], g["lower"], g["upper"], step="post", color=c,
                                    alpha=0.2, lw=0)
            ax.set_xlim(0, max_week)
            ax.set_ylim(0, 1.0)
            ax.set_xlabel("weeks of search")
            _title(ax, cell)
        axes[0].set_ylabel("share still unemployed")
        _legend(axes[0], loc="upper right")
        if within:
            band = ("One run per curve: the band is the within-run pointwise 95% interval "
                    "(spells treated as independent), not uncertainty between runs.")
            est = "Share still unemployed after t weeks of search (Kaplan-Meier), by strategy."
        else:
            band = (f"Band: pointwise 95% t interval across runs ({_runs_text(n_runs)}) on the "
                    f"logit scale, inside [0, 1]; none where every run agrees"
                    f"{' and for curves from one run' if n_runs.min() < 2 else ''}.")
            est = ("Share still unemployed after t weeks of search (Kaplan-Meier), by strategy: "
                   "mean of the per-run curves.")
        header(fig, size, est, band,
               "" if within else bands.few_runs_sentence(int(n_runs.min()), per="curve"), page_note)
    fig.n_pages = n_pages
    return fig


def plot_hazard(data: Data, size: str = "one", max_week: int | None = None,
                page: int = 1) -> Figure:
    """Weekly hazard of re-employment by spell duration and strategy (duration
    dependence): the mean of the per-run weekly hazards with a pointwise 95% t
    band across runs on the logit scale (inside [0, 1]; :func:`analysis.survival.hazard_run_level`).

    One panel per combination of the swept parameters (cells are never pooled).
    A run enters a week's mean when at least :data:`MIN_AT_RISK` of its spells are
    at risk that week; weeks with fewer than two such runs are not drawn. With one
    run per curve the band is the within-run exact binomial interval, labelled as
    such, and weeks with fewer than 20 spells at risk are not drawn. With 2 to
    :data:`analysis.bands.FEW_RUNS` - 1 runs per curve the runs' own hazards are drawn
    (thin) instead of a t band, which would span most of [0, 1].

    Args:
        data: loaded outputs.
        size: ``"one"`` or ``"two"``.
        max_week: last week shown (default: 52 or the horizon).
        page: which page of cells.

    Returns:
        The figure (attribute ``n_pages``).
    """
    max_week, keys, n_runs, within = _curves(data, max_week)
    if within:
        table = survival.hazard_by_duration(data, by=keys, max_week=max_week)
        table = table[table["at_risk"] >= 20].rename(columns={"hazard": "mean"})
    else:
        table = survival.hazard_run_level(data, keys, max_week, min_at_risk=MIN_AT_RISK)
        table = table[table["n_runs"] >= 2].rename(columns={"hazard": "mean"})
    if table.empty:
        raise Skip("no week with enough spells at risk")
    few = not within and n_runs.max() < bands.FEW_RUNS
    if few:  # a t band of 2-4 runs spans most of [0, 1] and hides the curve: draw the runs
        runs = survival.hazard_per_run(data, keys, max_week)
        runs = runs[runs["at_risk"] >= MIN_AT_RISK]
    cells, n_pages, page_note = _page(_cells(table, data.params), page)
    with style():
        fig, axes = figure(size, len(cells))
        for ax, cell in zip(axes, cells, strict=True):
            for strat, g in _select(table, cell).groupby("strategy", observed=True, sort=True):
                c = strategy_color(strat)
                if few:
                    mine = _select(runs, cell)
                    for _, r in mine[mine["strategy"] == strat].groupby("run_id"):
                        ax.plot(r["week"], r["hazard"] * 100, color=c, lw=0.4, alpha=0.6)
                else:
                    ax.fill_between(g["week"], g["lower"] * 100, g["upper"] * 100, color=c,
                                    alpha=0.2, lw=0)
                ax.plot(g["week"], g["mean"] * 100, color=c, ls=strategy_line(strat), label=strat)
            ax.set_xlabel("weeks of search")
            ax.set_xlim(1, max_week)
            ax.set_ylim(bottom=0)
            _title(ax, cell)
        axes[0].set_ylabel("weekly re-employment hazard (%)")
        _legend(axes[0])
        est = ("Weekly hazard of re-employment: of the spells still searching at the start of "
               "week t, the share hired in week t, by strategy")
        if within:
            est += "."
            band = ("One run per curve: the band is the within-run exact binomial 95% interval "
                    "(spells treated as independent), not uncertainty between runs; weeks with "
                    "fewer than 20 spells at risk are not drawn.")
        else:
            est += ": mean of the per-run hazards."
            count = (f"a run counts in a week if at least {MIN_AT_RISK} of its spells are at "
                     "risk; weeks with fewer than 2 such runs are not drawn.")
            if few:
                band = (f"Thin lines: the runs themselves ({_runs_text(n_runs)}); with fewer "
                        f"than {bands.FEW_RUNS} runs no band is drawn; {count}")
            else:
                band = (f"Band: pointwise 95% t interval across runs ({_runs_text(n_runs)}) on "
                        f"the logit scale, inside [0, 1]; {count}")
        header(fig, size, est, band,
               "" if within or few else bands.few_runs_sentence(int(n_runs.min()), per="curve"),
               page_note)
    fig.n_pages = n_pages
    return fig


def plot_outcome_vs_param(data: Data, param: str, metric: str = "rmst", size: str = "one",
                          horizon: float = survival.DEFAULT_HORIZON,
                          at: float = survival.WITHIN, page: int = 1) -> Figure:
    """An outcome (RMST, median or share within ``at`` weeks) against a swept
    parameter, one line per strategy: the mean across runs with 95% t error bars
    across runs on the logit scale of the outcome's range, so it stays inside
    (:func:`analysis.survival.replicate_summary`).

    Panels: combinations of the other swept parameters (share parameters
    included). Cells with a single run have no interval (the figure says so).

    Args:
        data: loaded outputs.
        param: the swept parameter on the x axis (numeric).
        metric: ``"rmst"``, ``"median"`` or ``"share_within"``.
        size: ``"one"`` or ``"two"``.
        horizon: RMST horizon in weeks.
        at: weeks of the share re-employed.
        page: which page of cells.

    Returns:
        The figure (attribute ``n_pages``).
    """
    if param not in data.params:
        raise Skip(f"{param} is not a swept parameter that varies")
    if _numeric(data.spells[param]) is None:
        raise Skip(f"{param} is not numeric")
    table = survival.replicate_summary(data, horizon=horizon, at=at)
    lo, hi, mid = f"{metric}_lower", f"{metric}_upper", f"{metric}_mean"
    if table[mid].isna().all():
        raise Skip(f"{metric} undefined in every cell (e.g. fewer than half the spells end)")
    tau = float(table["horizon"].iloc[0])
    k = _scale(metric)
    top = survival.metric_bounds(metric, tau, data.horizon_weeks)[1]
    others = [p for p in data.params if p != param]
    cells, n_pages, page_note = _page(_cells(table, others), page)
    with style():
        fig, axes = figure(size, len(cells))
        for ax, cell in zip(axes, cells, strict=True):
            sub = _select(table, cell)
            xs = sorted(pd.to_numeric(sub[param]).unique())
            groups = list(sub.groupby("strategy", observed=True, sort=True))
            for i, (strat, g) in enumerate(groups):
                g = g.assign(_x=pd.to_numeric(g[param])).sort_values("_x")
                intervals(ax, g["_x"], g[mid] * k, g[lo] * k, g[hi] * k, strategy_color(strat),
                          strategy_line(strat), strat, _dodge(xs, i, len(groups)))
            if len(xs) <= 8:
                ax.set_xticks(xs, [_fmt(v) for v in xs])
            ax.set_xlabel(param_label(param))
            _title(ax, cell)
            _limits(ax, metric, tau)
        axes[0].set_ylabel(_metric_label(metric, tau, at))
        _legend(axes[0])
        n = table["n_runs"]
        rng = f"[0, {top * k:g}]" + (" %" if metric == "share_within" else " weeks")
        band = (f"Bars: 95% t interval across runs ({_runs_text(n, 'point')}), formed on the "
                f"logit scale of {rng} so that it stays inside"
                + ("; points from one run have no bar." if n.min() < 2 else "."))
        missing = ("" if metric != "median" or table[mid].notna().all() else
                   "Points missing: a run's curve there does not reach 0.5 (no median).")
        header(fig, size, f"{_estimand(metric, tau, at)}: mean across runs, by strategy.", band,
               bands.few_runs_sentence(int(n.min()), per="point") if n.min() >= 2 else "", missing, page_note)
    fig.n_pages = n_pages
    return fig


def plot_difference_heatmap(data: Data, x: str, y: str, a: str = "lions", b: str = "everyone",
                            metric: str = "rmst", size: str = "one",
                            horizon: float = survival.DEFAULT_HORIZON,
                            at: float = survival.WITHIN) -> Figure:
    """Heatmap over two swept parameters of the difference ``a - b`` of a metric,
    paired by seed (:func:`analysis.survival.strategy_difference`).

    Each cell shows the mean over seeds of the per-seed difference (the other
    swept parameters averaged within seed), its 95% paired t interval (kept in the
    difference's possible range) when the grid is small, and stars from the
    paired t test's p-value Holm-adjusted across the cells of the figure.
    Negative (blue) means ``a`` finds work sooner for RMST and median.

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
    low = diff.pivot(index=y, columns=x, values="lower").reindex_like(grid) * k
    high = diff.pivot(index=y, columns=x, values="upper").reindex_like(grid) * k
    star = diff.assign(_s=[bands.stars(p) for p in diff["p_holm"]]).pivot(
        index=y, columns=x, values="_s").reindex_like(grid)
    unpaired = diff.assign(_u=~diff["paired"].astype(bool)).pivot(
        index=y, columns=x, values="_u").reindex_like(grid)
    vmax = float(np.nanmax(np.abs(grid.to_numpy(float)))) or 1.0
    unit = "%-points" if metric == "share_within" else "weeks"
    show_ci = grid.size <= 16 and diff["lower"].notna().any()
    with style():
        fig, (ax,) = figure(size, 1, height=2.6 if size == "one" else 3.0)
        im = ax.imshow(grid.to_numpy(float), origin="lower", aspect="auto", cmap="RdBu_r",
                       norm=TwoSlopeNorm(0.0, -vmax, vmax))
        ax.set_xticks(range(grid.shape[1]), [_fmt(v) for v in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [_fmt(v) for v in grid.index])
        for (i, j), v in np.ndenumerate(grid.to_numpy(float)):
            if not np.isfinite(v):
                continue
            text = f"{v:+.1f}{star.iat[i, j] or ''}{' (u)' if unpaired.iat[i, j] else ''}"
            if show_ci and np.isfinite(low.iat[i, j]):
                text += f"\n[{low.iat[i, j]:+.1f}, {high.iat[i, j]:+.1f}]"
            ax.text(j, i, text, ha="center", va="center", fontsize=6 if show_ci else 5.5,
                    color="white" if abs(v) > 0.6 * vmax else "black")
        ax.set_xlabel(param_label(x))
        ax.set_ylabel(param_label(y))
        ax.spines[["top", "right"]].set_visible(True)
        name = {"rmst": "RMST", "median": "median", "share_within": f"within {at:g} wk"}[metric]
        fig.colorbar(im, ax=ax, label=f"{a} \u2212 {b}, {name} ({unit})")
        tau = min(float(horizon), float(data.horizon_weeks))
        top = survival.metric_bounds(metric, tau, data.horizon_weeks)[1] * k
        others = [p for p in data.params if p not in (x, y)]
        what = {"rmst": f"RMST (restricted mean weeks unemployed, horizon {tau:g} weeks)",
                "median": "median weeks to re-employment",
                "share_within": f"share re-employed within {at:g} weeks (%-points)"}[metric]
        est = (f"{a} \u2212 {b} in {what}, per run, paired by seed: mean over seeds of the "
               "per-seed difference")
        if others:
            est += ", averaged within seed over " + ", ".join(
                f"{param_label(p)} ({data.spells[p].nunique()} levels)" for p in others)
        n = diff["n_seeds"]
        tests = int(diff["p_value"].notna().sum())
        seeds = _runs_text(n, "cell").replace("run", "seed")
        if tests:
            band = ((f"Brackets: 95% paired t interval across seeds, kept in [-{top:g}, {top:g}]. "
                     if show_ci else "")
                    + f"Stars: paired t test p < 0.05 / 0.01 / 0.001 after Holm adjustment "
                      f"across the {tests} tested cells ({seeds}); the intervals are not "
                      "adjusted.")
        else:
            band = f"No interval and no test ({seeds})."
        notes = ["(u): no common seed, unpaired Welch interval over runs."
                 if unpaired.to_numpy(bool).any() else "",
                 bands.few_runs_sentence(int(n.min()), "seeds") if n.min() >= 2 else ""]
        header(fig, size, est + ".", band, *notes)
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


def _share_skip(share: pd.Series, strategy: str) -> str | None:
    """Why outcome-vs-share cannot be drawn (None if it can)."""
    mixed = share[(share > 0) & (share < 1)]
    values = [float(v) for v in sorted(share.unique().round(3))]
    if mixed.empty:
        return (f"no mixed population: every run is all-{strategy} or has none (shares of "
                f"{strategy}: {values}); sweep {SHARE_PREFIX}{strategy} with +strategy=mixed")
    if share.nunique() < 2:
        return (f"a single share of {strategy} ({values[0]:g}) in every run; sweep "
                f"{SHARE_PREFIX}{strategy} to see outcomes against it")
    return None


def plot_outcome_vs_share(data: Data, strategy: str = "lions", metric: str = "rmst",
                          size: str = "one", horizon: float = survival.DEFAULT_HORIZON,
                          at: float = survival.WITHIN, page: int = 1) -> Figure:
    """Outcome of each strategy's workers, and of all workers, against the share
    adopting ``strategy`` (mixed populations: private vs social returns).

    Points are per-run estimates; lines and error bars the mean and 95% t interval
    across runs at each share (logit scale of the outcome's range, so inside it). Panels:
    combinations of the other swept parameters.

    Args:
        data: loaded outputs.
        strategy: the strategy whose share is on the x axis.
        metric: ``"rmst"``, ``"median"`` or ``"share_within"``.
        size: ``"one"`` or ``"two"``.
        horizon: RMST horizon in weeks.
        at: weeks of the share re-employed.
        page: which page of cells.

    Returns:
        The figure (attribute ``n_pages``).
    """
    share = share_of(data, strategy)
    why = _share_skip(share, strategy)
    if why:
        raise Skip(why)
    others = [p for p in data.params if p != SHARE_PREFIX + strategy]
    est = survival.per_run(data, ["strategy", *others], horizon, at)
    allw = survival.per_run(data, others, horizon, at).assign(strategy="all")
    est = pd.concat([est, allw], ignore_index=True)
    est["share"] = est["run_id"].map(share).to_numpy(float)
    k = _scale(metric)
    tau = min(float(horizon), float(data.horizon_weeks))
    bounds = survival.metric_bounds(metric, tau, data.horizon_weeks)
    cells, n_pages, page_note = _page(_cells(est, others), page)
    n_min = []
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
                m = pd.DataFrame([{"share": s, **range_interval(v[metric].to_numpy(), bounds)}
                                  for s, v in g.groupby("share")])
                n_min.append(int(m["n"].min()))
                intervals(ax, m["share"] * 100, m["mean"] * k, m["lower"] * k, m["upper"] * k, c,
                          strategy_line(strat),
                          f"{strat} workers" if strat != "all" else "all workers")
            ax.set_xlabel(f"share of workers following {strategy} (%)")
            _title(ax, cell)
            _limits(ax, metric, tau)
        axes[0].set_ylabel(_metric_label(metric, tau, at))
        _legend(axes[0])
        n = min(n_min) if n_min else 0
        rng = f"[0, {bounds[1] * k:g}]" + (" %" if metric == "share_within" else " weeks")
        header(fig, size, f"{_estimand(metric, tau, at)} of each strategy's workers and of all "
               f"workers, against the share following {strategy}. Dots: runs; lines: mean "
               f"across runs; bars: 95% t interval across runs on the logit scale of {rng}.",
               bands.few_runs_sentence(n, per="share"), page_note)
    fig.n_pages = n_pages
    return fig


def plot_channels(data: Data, size: str = "one") -> Figure:
    """Stacked bars of the share of hires by channel (formal, lead, referral, recall) per
    strategy and parameter combination: the mean over runs of each run's share
    among the hires that end spells begun in the horizon (as the report's channel
    table; its run-level intervals are there, not in the bars). With more than
    :data:`MAX_BARS` bars the parameters are pooled and the figure says so.

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
    pooled = ""
    n_bars = table[by].drop_duplicates().shape[0]
    if n_bars > MAX_BARS:
        pooled = (f"Pooled over {', '.join(param_label(p) for p in data.params)}: {n_bars} "
                  f"bars by cell would be more than {MAX_BARS}; hires_by_channel(data) in "
                  "analysis.mechanisms gives them by cell.")
        by = ["strategy"]
        table = hires_by_channel(data, by=by)
    bars = table[by].drop_duplicates().reset_index(drop=True)
    col = "share_mean" if "share_mean" in table else "share"
    labels = [_bar_label(r, by) for r in bars.to_dict("records")]
    with style():
        fig, (ax,) = figure(size, 1, height=2.4 if size == "one" else 2.8)
        bottom = np.zeros(len(bars))
        for ch in table["channel"].cat.categories:
            share = bars.merge(table[table["channel"] == ch], on=by, how="left")[col]
            vals = share.fillna(0).to_numpy() * 100
            ax.bar(range(len(bars)), vals, bottom=bottom, color=CHANNEL_COLORS.get(ch),
                   edgecolor="black", linewidth=0.4, label=ch, width=0.75)
            bottom += vals
        few = len(bars) <= 4
        ax.set_xticks(range(len(bars)), labels if few else [x.replace("\n", " ") for x in labels],
                      rotation=0 if few else 90, fontsize=7 if len(bars) <= 12 else 5)
        ax.set_xlabel(" / ".join(["strategy", *(short_label(p) for p in by[1:])]))
        ax.set_ylim(0, 100)
        ax.set_ylabel("share of hires (%)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title="channel")
        header(fig, size, "Share of hires by channel among the hires that end spells begun in "
               "the horizon: mean over runs of each run's share. No interval here (the report's "
               "channel table gives run-level intervals).", pooled)
    return fig


def _bar_label(row: dict, by: list[str]) -> str:
    parts = [str(row["strategy"])] + [_fmt(row[p]) for p in by[1:]]
    return "\n".join(parts)


def plot_market(data: Data, size: str = "one", page: int = 1) -> Figure:
    """Unemployment and vacancy rates by week: mean across runs with a pointwise
    95% t band across runs (logit scale, inside [0, 100] %); with fewer than
    :data:`analysis.bands.FEW_RUNS` runs per line the runs are drawn instead of a band.

    One line per run-level strategy (``+strategy``), a pair of panels (unemployment
    above vacancies) per combination of the swept parameters, :data:`MARKET_COLUMNS`
    pairs side by side and two rows of pairs per page.

    Args:
        data: loaded outputs (needs the run folders for ``timeseries.parquet``).
        size: ``"one"`` or ``"two"``.
        page: which page of cells.

    Returns:
        The figure (attribute ``n_pages``).
    """
    ts = data.timeseries
    if ts is None or ts.empty:
        raise Skip("no timeseries.parquet readable (run folders not found)")
    per_row = MARKET_COLUMNS[size]
    cells, n_pages, page_note = _page(_cells(ts, data.params), page, 2 * per_row)
    rows = (("unemployment_rate", "unemployment rate (%)"), ("vacancy_rate", "vacancy rate (%)"))
    n_runs = ts.groupby(["strategy_mix", *data.params], dropna=False)["run_id"].nunique()
    few = n_runs.max() < bands.FEW_RUNS
    with style():
        ncols = min(len(cells), per_row)
        blocks = -(-len(cells) // ncols)
        fig, axes = figure(size, 2 * blocks * ncols, ncols=ncols, sharey=False,
                           height=2 * blocks * (ROW if size == "one" else ROW_TWO))
        used, tops = set(), {}
        for n, cell in enumerate(cells):
            b, j = divmod(n, ncols)
            sub = _select(ts, cell)
            for i, (col, label) in enumerate(rows):
                ax = axes[(2 * b + i) * ncols + j]
                used.add((2 * b + i) * ncols + j)
                if j > 0:
                    ax.sharey(axes[(2 * b + i) * ncols])
                row = 2 * b + i
                for strat, g in sub.groupby("strategy_mix", sort=True):
                    m = _band(g, col)
                    c = strategy_color(strat)
                    if few:  # a t band of 2-4 runs would hide the series: draw the runs
                        for _, r in g.groupby("run_id"):
                            ax.plot(r["week"], r[col] * 100, color=c, lw=0.4, alpha=0.6)
                        top = g[col].max()
                    else:
                        ax.fill_between(m.index, m["lower"] * 100, m["upper"] * 100, color=c,
                                        alpha=0.2, lw=0)
                        top = np.nanmax([m["upper"].max(), m["mean"].max()])
                    ax.plot(m.index, m["mean"] * 100, color=c, ls=strategy_line(strat), label=strat)
                    tops[row] = np.nanmax([tops.get(row, 0.0), top * 100])
                if j == 0:
                    ax.set_ylabel(label)
                if i == 1:
                    ax.set_xlabel("week")
                else:
                    _title(ax, cell)
        for k, ax in enumerate(axes):
            if k not in used:  # the free places of a last, partial row of pairs
                ax.set_visible(False)
        for row, top in tops.items():  # one y range per row of panels (shared)
            axes[row * ncols].set_ylim(0, top * 1.05 if top > 0 else 1.0)
        _legend(axes[0], loc="best", ncols=2, fontsize=6)
        if n_runs.max() < 2:
            band = "One run per line: no band (no replicate runs)."
        elif few:
            band = (f"Thin lines: the runs themselves ({_runs_text(n_runs, 'line')}); with fewer "
                    f"than {bands.FEW_RUNS} runs no band is drawn.")
        else:
            band = (f"Band: pointwise 95% t interval across runs ({_runs_text(n_runs, 'line')}) "
                    f"on the logit scale, inside [0, 100] %"
                    f"{'; lines from one run have no band' if n_runs.min() < 2 else ''}.")
        header(fig, size, "Unemployment rate (unemployed / labour force) and vacancy rate by "
               "week, by the runs' strategy: mean across runs.", band,
               bands.few_runs_sentence(int(n_runs.min()), per="line") if not few else "", page_note)
    fig.n_pages = n_pages
    return fig


def _band(g: pd.DataFrame, col: str) -> pd.DataFrame:
    """Mean and 95% t interval across runs of ``col`` per week, on the logit scale
    of [0, 1] (:func:`analysis.stats.range_interval`)."""
    wide = g.pivot_table(index="week", columns="run_id", values=col)
    ri = range_interval(wide.to_numpy(float), (0.0, 1.0), 0.95, axis=1)
    return pd.DataFrame({k: ri[k] for k in ("mean", "lower", "upper")}, index=wide.index)


# ---------------------------------------------------------------------------- all figures

#: What each figure shows, for reports (by file stem; keys ending in ``_`` are prefixes,
#: a page ``<stem>_p<k>`` matches the prefix ``<stem>_``). Each figure also states it itself.
CAPTIONS = {  # "_vs_share_" first: it must win over "rmst_vs_" for rmst_vs_share_lions
    "_vs_share_": "Outcome of each strategy's workers and of all workers against the share "
                  "adopting lions (points: runs; lines and bands: mean and 95% t interval "
                  "across runs).",
    "km": "Kaplan-Meier curves of the share still unemployed by weeks of search, by "
          "strategy: mean of the per-run curves with pointwise 95% t bands across runs "
          "(with one run per curve: the within-run band, labelled).",
    "hazard": "Weekly hazard of re-employment by spell duration and strategy: mean of the "
              "per-run hazards with pointwise 95% t bands across runs, one panel per cell.",
    "rmst_vs_": "Restricted mean weeks to re-employment against a swept parameter, by "
                "strategy; bands are 95% t intervals across runs, kept in [0, horizon].",
    "median_vs_": "Median weeks to re-employment against a swept parameter, by strategy; "
                  "bands are 95% t intervals across runs.",
    "share_within_vs_": "Share re-employed within 4 weeks against a swept parameter, by "
                        "strategy, with 95% t intervals across runs, kept in [0, 100] %.",
    "diff_": "Heatmap of lions minus everyone over two swept parameters, paired by seed "
             "(other swept parameters averaged within seed); stars from Holm-adjusted paired "
             "t tests across the cells (negative: lions re-employed sooner).",
    "channels": "Share of hires by channel (formal application, lead, referral, recall by the "
                "last employer) among the hires that end spells begun in the horizon: mean over "
                "runs of each run's share. Contact hires are lead + referral; recall is not a "
                "contact hire.",
    "market": "Unemployment and vacancy rates by week: mean across runs with pointwise 95% t "
              "bands across runs.",
    "km_": "Kaplan-Meier curves by strategy (continued: further cells of the sweep).",
    "hazard_": "Weekly hazard of re-employment by strategy (continued: further cells).",
    "market_": "Unemployment and vacancy rates by week (continued: further cells).",
}


def _page_name(name: str, page: int) -> str:
    return name if page == 1 else f"{name}_p{page}"


def make_figures(data: Data, out_dir: str | Path, size: str = "one", metric: str = "rmst",
                 horizon: float = survival.DEFAULT_HORIZON,
                 skipped: dict[str, str] | None = None) -> list[Path]:
    """Make every figure the data support, as PDF and PNG in ``out_dir``.

    Figures: ``km`` (Kaplan-Meier by strategy), ``hazard`` (weekly hazard),
    ``<metric>_vs_<param>`` and ``median_vs_<param>`` for each numeric swept
    parameter (a share of a strategy is shown against the share instead),
    ``diff_<a>_minus_<b>_<metric>`` (heatmap over the first two swept
    parameters, the others averaged within seed), ``<metric>_vs_share_<strategy>``
    (mixed populations), ``channels`` (stacked hires by channel), ``market``
    (unemployment and vacancy series). A figure with more cells than a page holds
    is written as ``<name>``, ``<name>_p2``, ...

    Args:
        data: loaded outputs (:func:`analysis.data.load`).
        out_dir: output folder.
        size: ``"one"`` (3.5 in) or ``"two"`` (7.1 in) column layout.
        metric: headline outcome, ``"rmst"`` (default, always defined),
            ``"median"`` or ``"share_within"``.
        horizon: RMST horizon in weeks.
        skipped: if given, filled with ``{figure: reason}`` for skipped figures.

    Returns:
        The paths written (two per figure page).
    """
    jobs = [("km", lambda page=1: plot_km(data, size, page=page)),
            ("hazard", lambda page=1: plot_hazard(data, size, page=page))]
    metrics = [metric] + (["median"] if metric != "median" else [])
    not_here: dict[str, str] = {}
    if not data.params:
        for m in metrics:
            not_here[f"{m}_vs_parameter"] = ("no parameter is swept besides seed and strategy "
                                             "(outcomes by strategy: km and the report's tables)")
    for p, m in itertools.product(data.params, metrics):
        name = f"{m}_vs_{_slug(p)}"
        if p.startswith(SHARE_PREFIX):
            strat = p[len(SHARE_PREFIX):]
            not_here[name] = (f"the share of {strat} is on the x axis of {metric}_vs_share_{strat}"
                              + (f" ({m} by share: the report's headline table)" if m != metric
                                 else "")
                              if strat == "lions" else f"{p} is shown through the share of lions")
            continue
        jobs.append((name, lambda page=1, p=p, m=m: plot_outcome_vs_param(data, p, m, size, horizon,
                                                                          page=page)))
    heat = (data.params + [None, None])[:2]
    jobs.append((f"diff_lions_minus_everyone_{metric}",
                 lambda page=1: _heatmap_or_skip(data, heat, metric, size, horizon)))
    jobs.append((f"{metric}_vs_share_lions",
                 lambda page=1: plot_outcome_vs_share(data, "lions", metric, size, horizon,
                                                      page=page)))
    jobs.append(("channels", lambda page=1: plot_channels(data, size)))
    jobs.append(("market", lambda page=1: plot_market(data, size, page=page)))
    paths: list[Path] = []
    reasons = dict(not_here)
    for name, make in jobs:
        try:
            fig = make()
        except Skip as e:
            reasons[name] = str(e)
            continue
        paths += save(fig, out_dir, name)
        n_pages = getattr(fig, "n_pages", 1)
        for page in range(2, n_pages + 1):
            paths += save(make(page=page), out_dir, _page_name(name, page))
        _remove_pages_beyond(Path(out_dir), name, n_pages)
    for name, why in reasons.items():
        log.info("figure %s skipped: %s", name, why)
    if skipped is not None:
        skipped.update(reasons)
    return paths


def _remove_pages_beyond(out: Path, name: str, n_pages: int) -> None:
    """Remove ``<name>_p<k>`` files with ``k > n_pages`` left by an earlier call on data
    with more cells (a report would otherwise show them as current)."""
    for f in out.glob(f"{name}_p*.*"):
        k = f.stem[len(name) + 2:]
        if f.suffix.lstrip(".") in FORMATS and k.isdigit() and int(k) > n_pages:
            f.unlink()


def _heatmap_or_skip(data: Data, pair: list, metric: str, size: str, horizon: float) -> Figure:
    if pair[1] is None:
        raise Skip(f"needs two swept parameters (have {data.params or 'none'})")
    return plot_difference_heatmap(data, pair[0], pair[1], metric=metric, size=size,
                                   horizon=horizon)
