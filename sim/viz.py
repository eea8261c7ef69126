"""Interactive exploration page: ``python -m sim viz`` (Mesa SolaraViz).

The page runs the project's own model, :class:`sim.core.model.LabourMarket`, week by
week in the browser. :class:`ExploreMarket` only gives it the keyword constructor
that Mesa's SolaraViz needs to (re)build a model from the page's inputs; the
inputs become a config dict that goes through :func:`sim.core.config.build_config`,
like any run, so bad input shows the same one-line error and nothing runs. The
burn-in runs at (re)build time, so the page opens at week 0.

Shown live: unemployment and vacancy series, Kaplan-Meier curves by strategy
(spells that began at week 0 or later, open spells censored at the current week),
hires by channel, and the ties of a fixed sample of workers. The sample (a few
hundred workers, drawn once per model as small ego networks) keeps the drawing
cost independent of the market size: the whole network is never drawn.

The data functions (:func:`km_by_strategy`, :func:`sample_workers`,
:func:`network_view`, ...) read the model's public arrays only and are tested
without a browser; ``tests/test_viz.py`` also drives the page in headless Chromium.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path as FilePath

import mesa
import numpy as np
import solara
import yaml
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch
from matplotlib.path import Path
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from analysis.style import CHANNEL_COLORS, STRATEGY_COLORS, strategy_line
from sim.core.config import ConfigError, SimConfig, build_config
from sim.core.model import LabourMarket
from sim.results.contract import CHANNELS, TIE_KINDS
from sim.results.metrics import kaplan_meier

CONFIG_DIR = FilePath(__file__).resolve().parent.parent / "configs"
DEFAULT_N_WORKERS = 2000  # small enough that Reset (with burn-in) and Step feel instant
MAX_N_WORKERS = 20_000  # the burn-in of a larger market blocks the page for many seconds
SAMPLE_SIZE = 200  # workers drawn in the network view, whatever the market size
EGO_CONTACTS = 9  # contacts kept per sampled ego (its strongest), so the sample has ties
KM_WEEKS = 52  # Kaplan-Meier curves are shown over the first year of a spell
ENV_N_WORKERS = "SIM_VIZ_N_WORKERS"  # --n-workers, passed to the page's server
UNEMPLOYED_MARKER, EMPLOYED_MARKER = "X", "o"
WIDTH_CLASSES = 5  # line widths of ties, by strength class
DPI = 90
PNG = {"format": "png", "pil_kwargs": {"compress_level": 1}}  # fast to encode, a bit larger


# --------------------------------------------------------------------------- config


def mixed_strategy() -> dict:
    """The mix as ``configs/strategy/mixed.yaml`` defines it (shares, one null = the rest)."""
    return yaml.safe_load((CONFIG_DIR / "strategy" / "mixed.yaml").read_text())


def _number(text):
    """An int from a text box ("10,000" and "10_000" too); unparsable text is returned
    as is, so that ``build_config`` names the key and the bad value."""
    if isinstance(text, str):
        try:
            return int(text.strip().replace(",", "").replace("_", ""))
        except ValueError:
            return text
    return text


def page_config(n_workers=str(DEFAULT_N_WORKERS), lions=0.5, passive=0.0, broadcast=0.0,
                vacancy_rate=0.04, time_budget=5.0, tie_decay=1.0, seed="0") -> SimConfig:
    """The validated config of the page's inputs (:func:`model_params`, which passes
    them all; the defaults here are for calls from Python).

    Args:
        n_workers, seed: text of the input boxes.
        lions, passive, broadcast: shares of those strategies; ``everyone`` takes the
            rest (the null share of ``mixed.yaml``).
        vacancy_rate: ``market.vacancy_rate``.
        time_budget: ``networking.time_budget`` (hours per week while unemployed).
        tie_decay: multiplier of every tie kind's default ``ties.decay``.

    Raises:
        ConfigError: one line naming the key and the bad value.
    """
    n = _number(n_workers)
    if isinstance(n, int) and n > MAX_N_WORKERS:
        raise ConfigError(f"n_workers={n}: the page allows at most {MAX_N_WORKERS} workers "
                          "(use python -m sim run for larger markets)")
    strategy = mixed_strategy()
    # in mixed.yaml's order; everyone's share is null: the rest
    strategy["shares"] = (dict.fromkeys(strategy["shares"], 0.0)
                          | {"lions": lions, "passive": passive, "broadcast": broadcast}
                          | {"everyone": None})
    decay = SimConfig().ties.decay
    return build_config({
        "seed": _number(seed), "n_workers": n,
        "market": {"vacancy_rate": vacancy_rate},
        "networking": {"time_budget": time_budget},
        "ties": {"decay": {k: round(getattr(decay, k) * tie_decay, 6) for k in TIE_KINDS}},
        "strategy": strategy,
        "output": {"progress": "off"},
    })


def model_params(n_workers: int | None = None) -> dict:
    """SolaraViz inputs; the keys are :class:`ExploreMarket`'s keyword arguments."""
    d = SimConfig()
    shares = mixed_strategy()["shares"]
    n = n_workers or int(os.environ.get(ENV_N_WORKERS, DEFAULT_N_WORKERS))

    def share(name, label):
        return {"type": "SliderFloat", "label": label, "value": float(shares.get(name) or 0.0),
                "min": 0.0, "max": 1.0, "step": 0.05}

    return {
        "n_workers": {"type": "InputText", "label": f"workers (2 to {MAX_N_WORKERS})",
                      "value": str(n)},
        "lions": share("lions", "share lions (everyone: the rest)"),
        "passive": share("passive", "share passive"),
        "broadcast": share("broadcast", "share broadcast"),
        "vacancy_rate": {"type": "SliderFloat", "label": "vacancy rate",
                         "value": d.market.vacancy_rate, "min": 0.0, "max": 0.2, "step": 0.005},
        "time_budget": {"type": "SliderFloat", "label": "networking hours per week",
                        "value": d.networking.time_budget, "min": 0.0, "max": 20.0, "step": 0.5},
        "tie_decay": {"type": "SliderFloat", "label": "tie decay (x default, per kind)",
                      "value": 1.0, "min": 0.0, "max": 4.0, "step": 0.1},
        "seed": {"type": "InputText", "label": "seed", "value": str(d.seed)},
    }


# --------------------------------------------------------------------------- the model


class ExploreMarket(LabourMarket):
    """:class:`~sim.core.model.LabourMarket` built from the page's inputs, after burn-in.

    Takes :func:`page_config`'s keyword arguments (SolaraViz passes the page's
    inputs by name). Invalid input does not raise (SolaraViz's Reset would only log
    a traceback): the model is then inert, with the one-line message in
    ``config_error`` and ``running`` false.
    """

    # the keywords are spelt out: given **kwargs, SolaraViz's Reset also passes a Mesa
    # `scenario` (tests/test_viz.py checks they match page_config's)
    def __init__(self, n_workers=str(DEFAULT_N_WORKERS), lions=0.5, passive=0.0, broadcast=0.0,
                 vacancy_rate=0.04, time_budget=5.0, tie_decay=1.0, seed="0"):
        try:
            cfg = page_config(n_workers=n_workers, lions=lions, passive=passive,
                              broadcast=broadcast, vacancy_rate=vacancy_rate,
                              time_budget=time_budget, tie_decay=tie_decay, seed=seed)
        except ConfigError as e:
            mesa.Model.__init__(self)
            self.config_error, self.cfg, self.week, self.running = f"error: {e}", None, 0, False
            return
        self.config_error = None
        super().__init__(cfg)
        while self.week < 0:
            # the burn-in bypasses Mesa's step counter, so Mesa's time is the recorded week
            LabourMarket.step(self)
        # the sample has its own generator: drawing it must not change the model's streams
        rng = np.random.default_rng([cfg.seed, 1])
        self.sample = sample_workers(self, SAMPLE_SIZE, rng)
        self.layout = layout_sample(self, self.sample, cfg.seed)

    def step(self) -> None:
        """One week; stops (``running`` false) at the end of the horizon."""
        if self.config_error is None and self.week < self.cfg.weeks:
            super().step()
        self.running = self.config_error is None and self.week < self.cfg.weeks


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
    counts in the order of :data:`sim.core.records.CHANNELS`."""
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
    import networkx as nx

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
    colour = strategy, marker = employment, line width = tie strength."""
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


# --------------------------------------------------------------------------- page


def status_text(model: ExploreMarket) -> str:
    """One line: week, market state, size and mix."""
    cfg = model.cfg
    week = model.week
    u = model.series.data["unemployment_rate"][week - 1] if week > 0 else 1 - model.employed.mean()
    mix = ", ".join(f"{s} {v:.0%}" for s, v in cfg.strategy.shares.items() if v > 0)
    return (f"week {week} of {cfg.weeks} (after {cfg.burn_in} weeks of burn-in) · "
            f"unemployment {u:.1%} · {cfg.n_workers:,} workers ({mix}) · seed {cfg.seed}")


def _plot(make, model: ExploreMarket):
    # the PNG is re-encoded only when the model or its week changes
    return solara.FigureMatplotlib(make(model), dependencies=[model, model.week], **PNG)


@solara.component
def Dashboard(model: solara.Reactive):
    """Status line and the four views, in a fixed two-column grid.

    SolaraViz would lay its components out in a draggable grid, whose JavaScript
    library fails to load under Vue 3 (ipyvue 3: "GlobalVue.use is not a function"),
    leaving the page empty; so the views are placed here, beside SolaraViz's own
    controls, and redrawn on the same signal as Mesa's components.
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


def initial_values(params: Mapping) -> dict:
    """The inputs' starting values, as keyword arguments of :class:`ExploreMarket`."""
    return {k: v["value"] for k, v in params.items()}


@solara.component
def Page():
    """The page: Mesa's SolaraViz (controls, inputs) and the dashboard, one
    :class:`ExploreMarket` per browser session."""
    params = solara.use_memo(model_params, [])
    first = solara.use_memo(lambda: ExploreMarket(**initial_values(params)), [])
    model = solara.use_reactive(first)  # shared with SolaraViz: its Reset sets a new model here
    SolaraViz(model, components=[], model_params=params,
              name="Labour market: networking strategies")
    Dashboard(model)


# --------------------------------------------------------------------------- command

# Web assets the page loads besides the Python packages' own. Solara fetches them from
# a CDN on first use and keeps them in its cache folder; where that CDN cannot be
# reached (these machines reach only package registries), ensure_assets fills the
# cache from the npm registry instead. The versions are those solara 1.64 asks for
# (tests/test_viz.py checks them against the installed solara).
def web_assets() -> tuple[str, ...]:
    """``name@version`` of each npm package the page loads from the CDN (solara's
    Vue 3 app with ipyvue 3, its Vue 2 app otherwise)."""
    import ipyvue

    # solara.server.server's own test; importing that module here, before the server
    # has its app name, would leave the server without an app
    vue3 = ipyvue.__version__.startswith("3")
    app = "@widgetti/solara-vuetify3-app@5.2.0" if vue3 else "@widgetti/solara-vuetify-app@10.1.1"
    return app, "font-awesome@4.5.0", "requirejs@2.3.6"


def assets_dir() -> FilePath:
    """Solara's cache of CDN files (served to the page under ``/_solara/cdn``)."""
    from solara.server import settings

    return FilePath(settings.assets.proxy_cache_dir)


def ensure_assets(cache: FilePath | None = None) -> list[str]:
    """Put each of :func:`web_assets` missing from ``cache`` there, with ``npm pack``.

    Returns:
        One line per asset that could not be fetched (empty when all are there).
    """
    import shutil
    import subprocess
    import tarfile

    cache = cache or assets_dir()
    missing = [spec for spec in web_assets() if not (cache / spec / "package.json").is_file()]
    if not missing:
        return []
    npm = shutil.which("npm")
    if npm is None:
        return [f"{spec}: npm not found" for spec in missing]
    print(f"fetching the page's web assets into {cache} (once): {', '.join(missing)}", flush=True)
    problems = []
    for spec in missing:
        try:
            _npm_fetch(npm, spec, cache)
        except (OSError, subprocess.SubprocessError, tarfile.TarError, ValueError) as e:
            problems.append(f"{spec}: {e}")
    return problems


def _npm_fetch(npm: str, spec: str, cache: FilePath) -> None:
    """``npm pack`` one package and unpack it as ``cache/<name>@<version>/``."""
    import shutil
    import subprocess
    import tarfile
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run([npm, "pack", "--silent", spec], cwd=tmp, capture_output=True,
                             text=True, timeout=300)
        tgz = sorted(FilePath(tmp).glob("*.tgz"))
        if res.returncode or not tgz:
            why = (res.stderr.strip().splitlines() or ["no tarball"])[-1]
            raise ValueError(f"npm pack failed ({why})")
        with tarfile.open(tgz[0]) as tar:
            tar.extractall(tmp, filter="data")
        # npm tarballs hold one folder, "package/" (or the package's name)
        (top,) = [p for p in FilePath(tmp).iterdir() if p.is_dir()]
        target = cache / spec
        target.parent.mkdir(parents=True, exist_ok=True)
        # staged beside the target and renamed: a server starting at the same time never
        # sees half a folder (whichever rename comes second fails, harmlessly)
        staging = FilePath(tempfile.mkdtemp(dir=target.parent, prefix=".fetch-"))
        try:
            shutil.move(str(top), staging / "package")
            os.rename(staging / "package", target)
        except OSError:
            if not (target / "package.json").is_file():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def main(argv: list[str] | None = None) -> None:
    """``python -m sim viz``: serve the page until Ctrl-C."""
    from sim.cli import COMMANDS, fail

    parser = argparse.ArgumentParser(
        prog="python -m sim viz", description=COMMANDS["viz"],
        epilog="In the page: choose the strategy mix (lions, passive, broadcast; everyone takes "
        "the rest, as in configs/strategy/mixed.yaml), workers, vacancy rate, networking hours, "
        "tie decay and seed, then Reset to build the market (burn-in included) and Step or play.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to serve on (default: 127.0.0.1, this machine only; "
                        "0.0.0.0 would expose the page and its Python process to the network)")
    parser.add_argument("--port", type=int, default=8765, help="TCP port (default: 8765)")
    parser.add_argument("--n-workers", type=int, default=DEFAULT_N_WORKERS, metavar="N",
                        help=f"workers of the first market shown (default: {DEFAULT_N_WORKERS}; "
                        f"2 to {MAX_N_WORKERS}, changeable in the page)")
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        fail(f"--port {args.port}: must be in 1..65535")
    if not 2 <= args.n_workers <= MAX_N_WORKERS:
        fail(f"--n-workers {args.n_workers}: must be in 2..{MAX_N_WORKERS}")
    if not _port_free(args.host, args.port):
        fail(f"--port {args.port}: cannot listen on {args.host}:{args.port} (in use, or not "
             "an address of this machine)")
    for line in ensure_assets():
        print(f"warning: web asset {line}; the page will try the CDN instead", file=sys.stderr)
    os.environ[ENV_N_WORKERS] = str(args.n_workers)
    from solara.server import settings

    settings.telemetry.mixpanel_enable = False  # solara's usage reports: no calls home
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"serving the exploration page at http://{host}:{args.port}/ (Ctrl-C to stop)",
          flush=True)
    import warnings

    import click
    from solara.__main__ import run

    # Solara warns on every page load over http from a host other than "localhost" that a
    # SameSite=None session cookie needs https, and falls back to SameSite=Lax. Lax is
    # right here: the page is served on this machine and not embedded in another site.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https",
                            category=UserWarning, module="solara.server.starlette")
    try:
        run.main(["sim.viz", "--host", args.host, "--port", str(args.port), "--production",
                  "--no-open", "--log-level", "warning"], prog_name="python -m sim viz",
                 standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        pass
    print("server stopped", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
