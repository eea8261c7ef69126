"""What the page shows: data read from a running model, its figures and the dashboard.

The data functions (:func:`km_by_strategy`, :func:`sample_workers`,
:func:`network_view`, ...) read the model's public arrays only and are tested
without a browser. Shown live: unemployment and vacancy series, Kaplan-Meier
curves by strategy (spells that began at week 0 or later, open spells censored at
the current week), hires by channel, and the ties of a fixed sample of workers.
The sample (a few hundred workers, drawn once per model as small ego networks)
keeps the drawing cost independent of the market size: the whole network is never
drawn. :func:`Dashboard` places the four figures beside SolaraViz's controls.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import solara
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch
from matplotlib.path import Path
from mesa.visualization.utils import update_counter

from analysis.style import CHANNEL_COLORS, STRATEGY_COLORS, strategy_line
from sim.core.model import LabourMarket
from sim.results.contract import CHANNELS
from sim.results.metrics import kaplan_meier

EGO_CONTACTS = 9  # contacts kept per sampled ego (its strongest), so the sample has ties
KM_WEEKS = 52  # Kaplan-Meier curves are shown over the first year of a spell
UNEMPLOYED_MARKER, EMPLOYED_MARKER = "X", "o"
WIDTH_CLASSES = 5  # line widths of ties, by strength class
DPI = 90
PNG = {"format": "png", "pil_kwargs": {"compress_level": 1}}  # fast to encode, a bit larger


# --------------------------------------------------------------------------- data


def spell_durations(model: LabourMarket) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spells that began at week 0 or later, up to the current week.

    Returns:
        ``(strategy, duration, observed)``: an open spell is censored at the last
        simulated week (``model.week - 1``), as in ``spells.parquet`` at the end.
    """
    c, n = model.spells.cols, model.spells.n
    start, closed = c["start_week"][:n], c["closed"][:n]
    fresh = start >= 0  # spells running at week 0 are left-truncated: left out, as in metrics
    end = np.where(closed, c["end_week"][:n], model.week - 1)
    return c["strategy"][:n][fresh], (end - start)[fresh], closed[fresh]


def km_by_strategy(model: LabourMarket) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """Kaplan-Meier curve of each strategy that has workers: ``{name: (t, S(t), n_spells)}``.

    The curve starts at ``(0, 1)``, is the product-limit estimate of
    :func:`sim.results.metrics.kaplan_meier` at each event time, and goes on flat to the longest
    follow-up (the longest spell, censored or not), so that spells with no event yet
    still show as a curve at S = 1 for as long as they have been followed.
    """
    strategy, duration, observed = spell_durations(model)
    size = np.bincount(model.strategy, minlength=len(model.strategy_names))
    out = {}
    for k, name in enumerate(model.strategy_names):
        if size[k] == 0:
            continue
        mask = strategy == k
        t, s = kaplan_meier(duration[mask], observed[mask])
        t, s = np.r_[0.0, t], np.r_[1.0, s]
        follow_up = float(duration[mask].max()) if mask.any() else 0.0
        if follow_up > t[-1]:
            t, s = np.r_[t, follow_up], np.r_[s, s[-1]]
        out[name] = (t, s, int(mask.sum()))
    return out


def channel_counts(model: LabourMarket) -> dict[str, np.ndarray]:
    """Hires in weeks ``0 .. week-1`` by strategy and channel: ``{strategy: counts}``,
    counts in the order of :data:`sim.results.contract.CHANNELS`."""
    c, n = model.spells.cols, model.spells.n
    hired = c["closed"][:n] & (c["end_week"][:n] >= 0)
    k = len(model.strategy_names)
    codes = c["strategy"][:n][hired].astype(np.int64) * len(CHANNELS) + c["channel"][:n][hired]
    table = np.bincount(codes, minlength=k * len(CHANNELS)).reshape(k, len(CHANNELS))
    size = np.bincount(model.strategy, minlength=k)
    return {s: table[j] for j, s in enumerate(model.strategy_names) if size[j]}


def sample_workers(model: LabourMarket, size: int, rng: np.random.Generator) -> np.ndarray:
    """A fixed sample of workers for the network view: ego networks of random workers.

    Each ego (drawn uniformly) comes with its ``EGO_CONTACTS`` strongest contacts,
    until ``size`` workers are drawn; a uniform sample of a sparse network of
    thousands would have almost no ties among its members.
    """
    n = model.cfg.n_workers
    size = min(size, n)
    taken = np.zeros(n, dtype=bool)
    chosen: list[int] = []
    for ego in rng.permutation(n):
        if len(chosen) >= size:
            break
        if taken[ego]:
            continue
        h = model.ties.rows_of(np.array([ego]))
        strongest = h.alter[np.argsort(-model.ties.strength[h.edge], kind="stable")]
        group = [int(ego)] + [int(a) for a in strongest[:EGO_CONTACTS] if not taken[a]]
        group = group[: size - len(chosen)]
        taken[group] = True
        chosen += group
    return np.array(chosen, dtype=np.int64)


def network_view(model: LabourMarket, sample: np.ndarray) -> dict[str, np.ndarray]:
    """The current ties of the sample.

    Returns:
        ``inner`` (i, j) pairs of sample positions with ``inner_strength``: ties
        among sampled workers, once each; ``outer`` sample position and
        ``outer_alter`` (worker id) with ``outer_strength``: ties to workers outside
        the sample; ``strategy`` and ``employed`` of the sampled workers.
    """
    pos = np.full(model.cfg.n_workers, -1, dtype=np.int64)
    pos[sample] = np.arange(len(sample))
    h = model.ties.rows_of(sample)
    i, j = pos[h.ego], pos[h.alter]
    strength = model.ties.strength[h.edge]
    inner = (j >= 0) & (i < j)  # each inner tie is seen from both ends: keep one
    outer = j < 0
    return {"inner": np.c_[i[inner], j[inner]], "inner_strength": strength[inner],
            "outer": i[outer], "outer_alter": h.alter[outer], "outer_strength": strength[outer],
            "strategy": model.strategy[sample], "employed": model.employed[sample]}


def layout_sample(model: LabourMarket, sample: np.ndarray, seed: int) -> np.ndarray:
    """Fixed 2-d positions of the sampled workers (spring layout of their ties at week 0),
    so that the picture changes only where the network does."""
    view = network_view(model, sample)
    g = nx.Graph()
    g.add_nodes_from(range(len(sample)))
    g.add_weighted_edges_from((int(a), int(b), float(s))
                              for (a, b), s in zip(view["inner"], view["inner_strength"], strict=True))
    xy = nx.spring_layout(g, seed=seed, k=1.5 / np.sqrt(max(len(sample), 1)))
    return np.array([xy[k] for k in range(len(sample))], dtype=np.float64).reshape(-1, 2)


# --------------------------------------------------------------------------- figures


def _figure(width: float = 6.0, height: float = 4.2) -> Figure:
    # fixed margins: a constrained layout costs as much as drawing the figure, every week
    fig = Figure(figsize=(width, height), dpi=DPI)
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.13, top=0.9, wspace=0.35)
    return fig


def _segments(ax, start: np.ndarray, end: np.ndarray, strength: np.ndarray, width: tuple,
              **style) -> None:
    """Line segments with widths by tie strength, as one path per width class: thousands
    of segments in a LineCollection (one Path object each) cost most of a redraw."""
    cls = np.minimum((np.clip(strength, 0, 1) * WIDTH_CLASSES).astype(np.int64), WIDTH_CLASSES - 1)
    for c in np.unique(cls):
        m = cls == c
        verts = np.stack([start[m], end[m]], axis=1).reshape(-1, 2)
        codes = np.tile([Path.MOVETO, Path.LINETO], int(m.sum())).astype(Path.code_type)
        lw = width[0] + width[1] * (c + 0.5) / WIDTH_CLASSES
        # add_artist, not add_patch: the latter walks every segment to update the data limits
        ax.add_artist(PathPatch(Path(verts, codes), fill=False, lw=lw, **style))


def _color(name: str) -> str:
    return STRATEGY_COLORS.get(name, "#999999")


def series_figure(model: LabourMarket) -> Figure:
    """Unemployment (all and by strategy) and vacancy rate per week, in %."""
    fig = _figure()
    ax = fig.subplots()
    weeks = np.arange(model.week)
    data = model.series.data
    ax.plot(weeks, 100 * data["unemployment_rate"][: model.week], color="black", lw=1.6,
            label="unemployment, all")
    size = np.bincount(model.strategy, minlength=len(model.strategy_names))
    for k, s in enumerate(model.strategy_names):
        if size[k] and (size > 0).sum() > 1:  # one strategy alone is the "all" line
            ax.plot(weeks, 100 * data[f"unemployment_rate_{s}"][: model.week], color=_color(s),
                    ls=strategy_line(s), lw=1.0, label=f"unemployment, {s}")
    ax.plot(weeks, 100 * data["vacancy_rate"][: model.week], color="#888888", lw=1.2, ls=(0, (4, 2)),
            label="vacancy rate")
    ax.set_xlim(0, max(model.week, 10))
    # in percent: a top of 10 % until the series are higher (an empty axis would be 0-0.05)
    shown = [line.get_ydata() for line in ax.lines if len(line.get_ydata())]
    ax.set_ylim(0, max([10.0] + [1.15 * float(np.max(y)) for y in shown]))
    if model.week == 0:
        ax.text(0.5, 0.6, "week 0: the series begin with the first step", ha="center",
                transform=ax.transAxes, fontsize=9, color="#555555")
    ax.set_xlabel("week")
    ax.set_ylabel("%")
    ax.set_title("Unemployment and vacancies")
    ax.legend(fontsize=8, loc="lower center", ncol=2)
    return fig


def km_figure(model: LabourMarket) -> Figure:
    """Kaplan-Meier curves by strategy, with the KM median in the legend."""
    fig = _figure()
    ax = fig.subplots()
    for name, (t, s, n) in km_by_strategy(model).items():
        hit = np.flatnonzero(s <= 0.5)
        # not reached: S(t) stays above one half over the whole follow-up
        med = f"median {t[hit[0]]:.0f} wk" if len(hit) else f"median > {t[-1]:.0f} wk"
        ax.step(t, s, where="post", color=_color(name), ls=strategy_line(name), lw=1.6,
                marker="o" if len(t) == 1 else None, markersize=4,  # followed 0 weeks: a point
                label=f"{name} ({n} spells, {med})")
    ax.set_xlim(0, max(4, min(KM_WEEKS, model.week)))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("weeks unemployed")
    ax.set_ylabel("still unemployed, S(t)")
    ax.set_title("Time to re-employment (Kaplan-Meier, spells from week 0)")
    if ax.lines:
        ax.legend(fontsize=8, loc="upper right")
    return fig


def channels_figure(model: LabourMarket) -> Figure:
    """Weekly hires by channel (4-week mean, stacked) and each strategy's channel shares."""
    fig = _figure()
    fig.subplots_adjust(bottom=0.17)
    left, right = fig.subplots(1, 2, width_ratios=(3, 2))
    weeks = np.arange(model.week)
    if model.week:
        # trailing 4-week mean (over the weeks there are, at the start)
        stack = [np.convolve(model.series.data[f"hires_{ch}"][: model.week], np.ones(4))[: model.week]
                 / np.minimum(weeks + 1, 4) for ch in CHANNELS]
        left.stackplot(weeks, *stack, colors=[CHANNEL_COLORS[ch] for ch in CHANNELS],
                       labels=CHANNELS)
        left.legend(fontsize=8, loc="upper left")
    left.set_xlim(0, max(model.week, 10))
    left.set_xlabel("week")
    left.set_ylabel("hires per week (4-week mean)")
    counts = channel_counts(model)
    for x, c in enumerate(counts.values()):
        total, bottom = max(int(c.sum()), 1), 0.0
        for ch, v in zip(CHANNELS, c, strict=True):
            right.bar(x, v / total, bottom=bottom, color=CHANNEL_COLORS[ch], edgecolor="black",
                      linewidth=0.4, width=0.7)
            bottom += v / total
        right.text(x, 1.02, f"n={int(c.sum())}", ha="center", fontsize=7)
    right.set_xticks(range(len(counts)), list(counts), rotation=30, fontsize=8)
    right.set_ylim(0, 1.1)
    right.set_ylabel("share of hires")
    fig.suptitle("Hires by channel")
    return fig


def network_figure(model: LabourMarket) -> Figure:
    """The sample's ties: inner ties as lines, ties to outsiders as short stubs;
    colour = strategy, marker = employment, line width = tie strength.

    Args:
        model: an :class:`~sim.viz.market.ExploreMarket` (its ``sample`` of workers and
            their ``layout``).
    """
    fig = _figure(6.0, 5.0)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.94)
    ax = fig.subplots()
    view = network_view(model, model.sample)
    xy = model.layout
    span = float(np.ptp(xy, axis=0).max()) if len(xy) > 1 else 1.0
    # a stub points in a direction fixed by the outsider's id, so it stays put between weeks
    angle = (view["outer_alter"] * 0.6180339887) % 1.0 * 2 * np.pi
    tip = xy[view["outer"]] + 0.035 * span * np.c_[np.cos(angle), np.sin(angle)]
    _segments(ax, xy[view["outer"]], tip, view["outer_strength"], (0.2, 1.5), color="#bbbbbb",
              alpha=0.6, zorder=1)
    inner = view["inner"]
    _segments(ax, xy[inner[:, 0]], xy[inner[:, 1]], view["inner_strength"], (0.3, 3.0),
              color="#555555", alpha=0.8, zorder=2)
    names = np.array(model.strategy_names)
    colors = np.array([_color(s) for s in names])[view["strategy"]]
    for employed, marker, size in ((True, EMPLOYED_MARKER, 22), (False, UNEMPLOYED_MARKER, 60)):
        m = view["employed"] == employed
        ax.scatter(xy[m, 0], xy[m, 1], c=colors[m], marker=marker, s=size, edgecolors="black",
                   linewidths=0.4, zorder=3)
    present = [s for k, s in enumerate(names) if (view["strategy"] == k).any()]
    handles = [Line2D([], [], ls="", marker="s", color=_color(s), label=s) for s in present]
    handles += [Line2D([], [], ls="", marker=EMPLOYED_MARKER, color="grey", label="employed"),
                Line2D([], [], ls="", marker=UNEMPLOYED_MARKER, color="grey", label="unemployed")]
    ax.legend(handles=handles, fontsize=8, loc="lower left", ncol=3, framealpha=0.8)
    pad = 0.08 * span
    ax.set_xlim(xy[:, 0].min() - pad, xy[:, 0].max() + pad)
    ax.set_ylim(xy[:, 1].min() - pad, xy[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(f"Ties of a sample of {len(model.sample)} of {model.cfg.n_workers:,} workers "
                 f"({len(view['inner'])} among them, {len(view['outer'])} to others)", fontsize=9)
    return fig


# --------------------------------------------------------------------------- dashboard


def status_text(model: LabourMarket) -> str:
    """One line: week, market state, size, local markets and mix."""
    cfg = model.cfg
    week = model.week
    u = model.series.data["unemployment_rate"][week - 1] if week > 0 else 1 - model.employed.mean()
    mix = ", ".join(f"{s} {v:.0%}" for s, v in cfg.strategy.shares.items() if v > 0)
    # local labour markets (sectors): of equal size with market.market_size set
    k = cfg.market.n_sectors
    about = "about " if cfg.market.market_size is None else ""
    markets = "one market" if k == 1 else f"{k} markets of {about}{cfg.n_workers / k:,.0f} workers"
    return (f"week {week} of {cfg.weeks} (after {cfg.burn_in} weeks of burn-in) · "
            f"unemployment {u:.1%} · {cfg.n_workers:,} workers ({mix}) in {markets} · "
            f"seed {cfg.seed}")


def _plot(make, model: LabourMarket):
    # the PNG is re-encoded only when the model or its week changes
    return solara.FigureMatplotlib(make(model), dependencies=[model, model.week], **PNG)


@solara.component
def Dashboard(model: solara.Reactive):
    """Status line and the four views, in a fixed two-column grid.

    SolaraViz would lay its components out in a draggable grid, whose JavaScript
    library fails to load under Vue 3 (ipyvue 3: "GlobalVue.use is not a function"),
    leaving the page empty; so the views are placed here, beside SolaraViz's own
    controls, and redrawn on the same signal as Mesa's components.

    Args:
        model: the page's model (an :class:`~sim.viz.market.ExploreMarket`), shared
            with SolaraViz, whose Reset replaces it.
    """
    update_counter.get()  # Mesa bumps it after every step and reset
    m = model.value
    with solara.Column(style={"padding": "0 12px"}):
        if m.config_error is not None:
            solara.Error(m.config_error)
            solara.Text("Fix the input and press Reset.")
            return
        # plain text: solara's Markdown would load mermaid and KaTeX from the CDN
        solara.Text(status_text(m), style={"font-size": "16px", "font-weight": "500",
                                           "margin": "8px 0"})
        with solara.Columns([1, 1]):
            _plot(network_figure, m)
            _plot(series_figure, m)
        with solara.Columns([1, 1]):
            _plot(km_figure, m)
            _plot(channels_figure, m)
