"""Figures specific to each named experiment, where the generic figures of
:mod:`analysis.figures` do not answer its question directly.

Every function takes the loaded sweep and an output folder and returns the files
written (PDF + PNG per figure, paper style); it raises
:class:`analysis.figures.Skip` when the data cannot support the figure.
Differences between strategies are paired by seed (common random numbers; in a
mixed population both strategies are in the same run) and carry 95% t intervals
across seeds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import survival
from analysis.data import Data
from analysis.figures import Skip, param_label
from analysis.stats import t_interval
from analysis.style import figure, save, strategy_color, strategy_line, style

METRICS = (("rmst", "RMST (weeks)", 1.0), ("share_within", "within 4 weeks (%-points)", 100.0))


def _zero(ax, horizontal: bool = True) -> None:
    (ax.axhline if horizontal else ax.axvline)(0.0, color="0.5", lw=0.6, zorder=0)


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, (int, float, np.integer, np.floating)) else str(v)


# ---------------------------------------------------------------------------- E1


def e1_figures(data: Data, out: Path, size: str = "one") -> list[Path]:
    """E1: each strategy minus ``everyone`` (RMST and share re-employed within 4
    weeks), paired by seed, as a forest plot (``e1_difference_vs_everyone``)."""
    others = [s for s in data.strategies if s != "everyone"]
    if "everyone" not in data.strategies or not others:
        raise Skip(f"needs everyone and another strategy (have {data.strategies})")
    with style():
        fig, axes = figure(size, 2, ncols=2, sharey=True)
        for ax, (metric, label, k) in zip(axes, METRICS, strict=True):
            for i, s in enumerate(others):
                d = survival.strategy_difference(data, s, "everyone", metric, by=[])
                if d.empty:
                    continue
                r = d.iloc[0]
                err = ([[(r["diff"] - r["lower"]) * k], [(r["upper"] - r["diff"]) * k]]
                       if np.isfinite(r["lower"]) else None)
                ax.errorbar(r["diff"] * k, i, xerr=err, fmt="o", color=strategy_color(s), ms=4,
                            capsize=2)
            _zero(ax, horizontal=False)
            ax.set_xlabel(label.replace(" (", "\n("))
            ax.set_yticks(range(len(others)), [f"{s}" for s in others])
            ax.set_ylim(-0.6, len(others) - 0.4)
        axes[0].set_ylabel("strategy minus everyone")
    return save(fig, out, "e1_difference_vs_everyone")


# ---------------------------------------------------------------------------- E2


SHARE = "strategy.shares.lions"


def e2_figures(data: Data, out: Path, size: str = "one") -> list[Path]:
    """E2: lions minus everyone within the same mixed population, against the share
    of lions (``e2_lions_minus_everyone_vs_share``): does the private advantage
    survive adoption?"""
    if SHARE not in data.params:
        raise Skip(f"{SHARE} is not swept")
    others = [p for p in data.params if p != SHARE]
    with style():
        fig, axes = figure(size, 2, ncols=2, sharey=False)
        for ax, (metric, label, k) in zip(axes, METRICS, strict=True):
            d = survival.strategy_difference(data, "lions", "everyone", metric, by=[SHARE, *others])
            if d.empty:
                raise Skip("no run holds both lions and everyone")
            d = d.groupby(SHARE, as_index=False)[["diff", "lower", "upper"]].mean().sort_values(SHARE)
            x = d[SHARE].astype(float) * 100
            ax.plot(x, d["diff"] * k, color=strategy_color("lions"), marker="o", ms=3)
            ax.fill_between(x, d["lower"] * k, d["upper"] * k, color=strategy_color("lions"),
                            alpha=0.2, lw=0)
            _zero(ax)
            ax.set_xlabel("share of lions (%)")
            ax.set_ylabel(f"lions \u2212 everyone,\n{label}")
    return save(fig, out, "e2_lions_minus_everyone_vs_share")


# ---------------------------------------------------------------------------- E3


def paired_differences(data: Data, a: str = "lions", b: str = "everyone",
                       metric: str = "rmst", horizon: float = survival.DEFAULT_HORIZON
                       ) -> pd.DataFrame:
    """Per cell of the swept parameters and seed: ``a - b`` of a per-run metric.

    Returns:
        Columns: the swept parameters, ``seed``, ``diff``.
    """
    est = survival.per_run(data, ["strategy", *data.params], horizon)
    wide = est.pivot_table(index=[*data.params, "seed"], columns="strategy", values=metric,
                           observed=True)
    if a not in wide or b not in wide:
        raise Skip(f"needs both {a} and {b}")
    return (wide[a] - wide[b]).rename("diff").dropna().reset_index()


def e3_figures(data: Data, out: Path, size: str = "one") -> list[Path]:
    """E3: main effect of each swept factor on lions minus everyone (RMST)
    (``e3_main_effects``): the paired difference averaged over the other factors'
    levels within each seed, then a t interval across seeds."""
    if not data.params:
        raise Skip("nothing swept")
    diffs = paired_differences(data)
    factors = list(data.params)
    with style():
        fig, axes = figure(size if len(factors) < 3 else "two", len(factors),
                           ncols=len(factors), sharey=True)
        for ax, f in zip(axes, factors, strict=True):
            per_seed = diffs.groupby([f, "seed"])["diff"].mean().reset_index()
            rows = [{f: lvl, **t_interval(g["diff"].to_numpy(), 0.95)}
                    for lvl, g in per_seed.groupby(f)]
            m = pd.DataFrame(rows).sort_values(f)
            x = m[f].astype(float)
            c = strategy_color("lions")
            ax.plot(x, m["mean"], color=c, marker="o", ms=3)
            ax.fill_between(x, m["lower"].fillna(m["mean"]), m["upper"].fillna(m["mean"]), color=c,
                            alpha=0.2, lw=0)
            _zero(ax)
            ax.set_xticks(list(x), [_fmt(v) for v in x])
            ax.set_xlabel(param_label(f))
        axes[0].set_ylabel("lions \u2212 everyone,\nRMST (weeks)")
    return save(fig, out, "e3_main_effects")


# ---------------------------------------------------------------------------- E4


EMPLOYED = "networking.employed_share"


def e4_figures(data: Data, out: Path, size: str = "one") -> list[Path]:
    """E4: weeks saved by networking while employed (``e4_preparedness_gain``): per
    strategy, RMST at each employed share minus RMST at the lowest share, same seed."""
    if EMPLOYED not in data.params:
        raise Skip(f"{EMPLOYED} is not swept")
    others = [p for p in data.params if p != EMPLOYED]
    est = survival.per_run(data, ["strategy", *data.params])
    with style():
        fig, axes = figure(size, 2, ncols=2, sharey=False)
        for ax, (metric, label, k) in zip(axes, METRICS, strict=True):
            for strat, g in est.groupby("strategy", observed=True, sort=True):
                wide = g.pivot_table(index=[*others, "seed"], columns=EMPLOYED, values=metric)
                base = min(wide.columns)
                gain = wide.sub(wide[base], axis=0)
                rows = [{"x": float(c), **t_interval(gain[c].dropna().to_numpy(), 0.95)}
                        for c in gain.columns]
                m = pd.DataFrame(rows)
                col = strategy_color(strat)
                ax.plot(m["x"] * 100, m["mean"] * k, color=col, ls=strategy_line(strat), marker="o",
                        ms=3, label=strat)
                ax.fill_between(m["x"] * 100, m["lower"].fillna(m["mean"]) * k,
                                m["upper"].fillna(m["mean"]) * k, color=col, alpha=0.2, lw=0)
            _zero(ax)
            ax.set_xlabel("networking kept while employed (%)")
            ax.set_ylabel(f"change from {base * 100:g}% kept,\n{label}")
        axes[0].legend()
    return save(fig, out, "e4_preparedness_gain")


# ---------------------------------------------------------------------------- E5


HEAR, BONUS, NOISE = "leads.hear_prob", "hiring.referral_bonus", "hiring.referral_noise"
MECHANISMS = ("full", "no precision", "no trust", "no endorsement", "information off")


def _config_value(data: Data, dotted: str, default: float) -> float:
    for folder in data.run_folders.values():
        cfg = json.loads((folder / "summary.json").read_text()).get("config", {})
        for part in dotted.split("."):
            cfg = cfg.get(part, {}) if isinstance(cfg, dict) else {}
        return float(cfg) if isinstance(cfg, (int, float)) else default
    return default


def mechanism(hear: float, bonus: float, noise: float, formal_noise: float) -> str:
    """The mechanism switch a cell of E5 stands for."""
    if hear <= 0:
        return "information off"
    trust, precise = bonus > 0, noise < formal_noise
    return {(True, True): "full", (True, False): "no precision", (False, True): "no trust",
            (False, False): "no endorsement"}[(trust, precise)]


def mechanism_cells(data: Data) -> pd.DataFrame:
    """Per-run RMST by strategy with the E5 ``mechanism`` label of its cell. The
    four endorsement cells with information off are the same model: only the one
    with the default (or first) endorsement settings is kept."""
    formal = _config_value(data, "hiring.formal_noise", 1.0)
    fixed = {HEAR: _config_value(data, HEAR, 0.01), BONUS: _config_value(data, BONUS, 0.25),
             NOISE: _config_value(data, NOISE, 0.25)}
    est = survival.per_run(data, ["strategy", *data.params])
    for key, v in fixed.items():
        if key not in est:
            est[key] = v
    est["mechanism"] = [mechanism(h, b, n, formal) for h, b, n in
                        zip(est[HEAR], est[BONUS], est[NOISE], strict=True)]
    off = est[est["mechanism"] == "information off"]
    if not off.empty:
        cells = off[[BONUS, NOISE]].drop_duplicates()
        default = cells[(cells[BONUS] == 0.25) & (cells[NOISE] == 0.25)]
        keep = (default if not default.empty else cells).iloc[0]
        drop = (est["mechanism"] == "information off") & ~((est[BONUS] == keep[BONUS])
                                                           & (est[NOISE] == keep[NOISE]))
        est = est[~drop]
    return est


def e5_figures(data: Data, out: Path, size: str = "one") -> list[Path]:
    """E5: RMST by strategy under each mechanism switch, and lions minus everyone
    under each (``e5_mechanisms``)."""
    if not {HEAR, BONUS, NOISE} & set(data.params):
        raise Skip("no mechanism switch is swept")
    est = mechanism_cells(data)
    present = [m for m in MECHANISMS if m in set(est["mechanism"])]
    strategies = [s for s in data.strategies]
    with style():
        fig, axes = figure("two" if size == "two" else "one", 2, ncols=1, sharey=False,
                           height=4.2)
        ax = axes[0]
        width = 0.8 / max(1, len(strategies))
        for j, s in enumerate(strategies):
            for i, m in enumerate(present):
                v = est[(est["strategy"] == s) & (est["mechanism"] == m)]["rmst"].to_numpy()
                ti = t_interval(v, 0.95)
                err = [[ti["mean"] - ti["lower"]], [ti["upper"] - ti["mean"]]] if ti["n"] > 1 else None
                ax.bar(i + (j - (len(strategies) - 1) / 2) * width, ti["mean"], width,
                       color=strategy_color(s), label=s if i == 0 else None, yerr=err,
                       error_kw={"lw": 0.6, "capsize": 1.5})
        ticks = [m.replace(" ", "\n", 1) for m in present]
        ax.set_xticks(range(len(present)), ticks, fontsize=6)
        ax.set_ylabel("RMST to re-employment\n(weeks)")
        ax.legend(ncols=len(strategies), loc="lower center", bbox_to_anchor=(0.5, 1.0))
        ax = axes[1]
        for i, m in enumerate(present):
            g = est[est["mechanism"] == m]
            wide = g.pivot_table(index="seed", columns="strategy", values="rmst", observed=True)
            if "lions" not in wide or "everyone" not in wide:
                continue
            ti = t_interval((wide["lions"] - wide["everyone"]).dropna().to_numpy(), 0.95)
            err = [[ti["mean"] - ti["lower"]], [ti["upper"] - ti["mean"]]] if ti["n"] > 1 else None
            ax.bar(i, ti["mean"], 0.6, color=strategy_color("lions"), yerr=err,
                   error_kw={"lw": 0.6, "capsize": 2})
        _zero(ax)
        ax.set_xticks(range(len(present)), ticks, fontsize=6)
        ax.set_ylabel("lions \u2212 everyone,\nRMST (weeks)")
    return save(fig, out, "e5_mechanisms")
