"""Figures specific to each named experiment, where the generic figures of
:mod:`analysis.figures` do not answer its question directly.

Every function takes the loaded sweep and an output folder and returns the files
written (PDF + PNG per figure, paper style); it raises
:class:`analysis.figures.Skip` when the data cannot support the figure.
Differences between strategies are paired by seed (common random numbers; in a
mixed population both strategies are in the same run), averaged within seed over
the swept factors a figure does not show, and carry 95% paired t intervals across
seeds (:func:`analysis.survival.strategy_difference`,
:func:`analysis.stats.paired_difference`), intersected with the difference's
possible range; stars come from Holm-adjusted p-values across the figure. Each
figure states its estimand and, with fewer than :data:`analysis.bands.FEW_RUNS`
seeds, that its intervals rest on few runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import bands, survival
from analysis.data import Data
from analysis.figures import Skip, intervals, param_label
from analysis.stats import holm, paired_difference, range_interval
from analysis.style import figure, header, save, strategy_color, strategy_line, style
from sim.results.contract import SUMMARY

METRICS = (("rmst", "RMST (weeks)", 1.0), ("share_within", "within 4 weeks (%-points)", 100.0))


def _zero(ax, horizontal: bool = True) -> None:
    (ax.axhline if horizontal else ax.axvline)(0.0, color="0.5", lw=0.6, zorder=0)


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, (int, float, np.integer, np.floating)) else str(v)


def _tau(data: Data, horizon: float = survival.DEFAULT_HORIZON) -> float:
    return min(float(horizon), float(data.horizon_weeks))


def _what(data: Data) -> str:
    """The two outcomes of :data:`METRICS`, in words."""
    return (f"RMST (restricted mean weeks unemployed within {_tau(data):g} weeks of a spell) "
            f"and share re-employed within {survival.WITHIN} weeks, per run (Kaplan-Meier)")


def _seeds_note(n: pd.Series | list) -> str:
    """``n = 3 seeds per estimate`` and the few-runs warning if it applies."""
    n = np.asarray(n, dtype=int)
    if not len(n):
        return ""
    lo, hi = int(n.min()), int(n.max())
    few = bands.few_runs_sentence(lo, "seeds", "estimate")
    return few or f"n = {lo if lo == hi else f'{lo}-{hi}'} seeds per estimate."


def _averaged(others: list[str]) -> str:
    return (", averaged within seed over " + ", ".join(param_label(p) for p in others)
            if others else "")


# ---------------------------------------------------------------------------- E1


def e1_figures(data: Data, out: Path, size: str = "one") -> list[Path]:
    """E1: each strategy minus ``everyone`` (RMST and share re-employed within 4
    weeks), paired by seed, as a forest plot (``e1_difference_vs_everyone``):
    95% paired t intervals intersected with the difference's range, stars from paired t
    tests Holm-adjusted across every comparison of the figure."""
    others = [s for s in data.strategies if s != "everyone"]
    if "everyone" not in data.strategies or not others:
        raise Skip(f"needs everyone and another strategy (have {data.strategies})")
    rows = []
    for metric, _, k in METRICS:
        for i, s in enumerate(others):
            d = survival.strategy_difference(data, s, "everyone", metric, by=[])
            if not d.empty:
                rows.append({**d.iloc[0].to_dict(), "strategy": s, "i": i, "k": k})
    if not rows:
        raise Skip("no seed holds everyone and another strategy")
    table = pd.DataFrame(rows)
    table["p_fig"] = holm(table["p_value"].to_numpy(float))
    tau = _tau(data)
    with style():
        fig, axes = figure(size, 2, ncols=2, sharey=True)
        for ax, (metric, label, k) in zip(axes, METRICS, strict=True):
            top = survival.metric_bounds(metric, tau, data.horizon_weeks)[1] * k
            for r in table[table["metric"] == metric].to_dict("records"):
                err = ([[(r["diff"] - r["lower"]) * k], [(r["upper"] - r["diff"]) * k]]
                       if np.isfinite(r["lower"]) else None)
                ax.errorbar(r["diff"] * k, r["i"], xerr=err, fmt="o", color=strategy_color(
                    r["strategy"]), ms=4, capsize=2)
                ax.annotate(f"{r['diff'] * k:+.1f}{bands.stars(r['p_fig'])}", (r["diff"] * k, r["i"]),
                            xytext=(0, 5), textcoords="offset points", ha="center", fontsize=6)
            _zero(ax, horizontal=False)
            lo, hi = ax.get_xlim()
            ax.set_xlim(max(lo, -top), min(hi, top))
            ax.set_xlabel(label.replace(" (", "\n("))
            ax.set_yticks(range(len(others)), [f"{s}" for s in others])
            ax.set_ylim(-0.6, len(others) - 0.4)
        axes[0].set_ylabel("strategy minus everyone")
        tests = int(table["p_value"].notna().sum())
        header(fig, size, f"Each strategy minus everyone in {_what(data)}, paired by seed: mean "
               "over seeds of the per-seed difference. RMST below 0: re-employed sooner.",
               "Bars: 95% paired t interval across seeds, intersected with the difference's "
               "range; "
               + (f"stars: p < 0.05 / 0.01 / 0.001 after Holm adjustment across the {tests} "
                  "tests of the figure (bars not adjusted)." if tests else "no test."),
               _seeds_note(table["n_seeds"]))
    return save(fig, out, "e1_difference_vs_everyone")


# ---------------------------------------------------------------------------- E2


SHARE = "strategy.shares.lions"


def e2_figures(data: Data, out: Path, size: str = "one") -> list[Path]:
    """E2: lions minus everyone within the same mixed population, against the share
    of lions (``e2_lions_minus_everyone_vs_share``): does the private advantage
    survive adoption? Paired by seed (both strategies are in the same run), the
    other swept factors averaged within seed."""
    if SHARE not in data.params:
        raise Skip(f"{SHARE} is not swept")
    others = [p for p in data.params if p != SHARE]
    tau = _tau(data)
    ns = []
    with style():
        fig, axes = figure(size, 2, ncols=2, sharey=False)
        for ax, (metric, label, k) in zip(axes, METRICS, strict=True):
            d = survival.strategy_difference(data, "lions", "everyone", metric, by=[SHARE])
            if d.empty:
                raise Skip("no run holds both lions and everyone")
            d = d.sort_values(SHARE)
            ns += d["n_seeds"].tolist()
            x = d[SHARE].astype(float) * 100
            intervals(ax, x, d["diff"] * k, d["lower"] * k, d["upper"] * k,
                      strategy_color("lions"))
            _zero(ax)
            ax.set_xlabel("share of lions (%)")
            ax.set_ylabel(f"lions \u2212 everyone,\n{label}")
        header(fig, size, f"Lions minus everyone within the same mixed population in "
               f"{_what(data)}, paired by seed{_averaged(others)}; against the share of lions.",
               f"Bars: 95% paired t interval across seeds, intersected with [-{tau:g}, {tau:g}] weeks and "
               "[-100, 100] points.", _seeds_note(ns))
    return save(fig, out, "e2_lions_minus_everyone_vs_share")


# ---------------------------------------------------------------------------- E3


def e3_figures(data: Data, out: Path, size: str = "one") -> list[Path]:
    """E3: main effect of each swept factor on lions minus everyone (RMST)
    (``e3_main_effects``): the paired difference averaged over the other factors'
    levels within each seed, then a t interval across seeds
    (:func:`analysis.survival.strategy_difference` with ``by=[factor]``)."""
    if not data.params:
        raise Skip("nothing swept")
    factors = list(data.params)
    tau = _tau(data)
    ns = []
    with style():
        fig, axes = figure(size if len(factors) < 3 else "two", len(factors),
                           ncols=len(factors), sharey=True)
        for ax, f in zip(axes, factors, strict=True):
            m = survival.strategy_difference(data, "lions", "everyone", "rmst", by=[f])
            if m.empty:
                raise Skip("needs both lions and everyone")
            m = m.sort_values(f)
            ns += m["n_seeds"].tolist()
            x = m[f].astype(float)
            intervals(ax, x, m["diff"], m["lower"], m["upper"], strategy_color("lions"))
            _zero(ax)
            ax.set_xticks(list(x), [_fmt(v) for v in x])
            ax.set_xlabel(param_label(f))
        axes[0].set_ylabel("lions \u2212 everyone,\nRMST (weeks)")
        header(fig, size if len(factors) < 3 else "two",
               f"Main effect of each factor on lions minus everyone in RMST (restricted mean "
               f"weeks unemployed within {tau:g} weeks of a spell): per seed, the paired "
               "difference averaged over the other factors' levels; mean over seeds.",
               f"Bars: 95% paired t interval across seeds, intersected with [-{tau:g}, {tau:g}]"
               + ("" if min(ns) >= 2 else "; one seed: no bar") + ".", _seeds_note(ns))
    return save(fig, out, "e3_main_effects")


# ---------------------------------------------------------------------------- E4


EMPLOYED = "networking.employed_share"


def _level_gains(g: pd.DataFrame, param: str, others: list[str], metric: str) -> pd.DataFrame:
    """Per seed: ``metric`` at each level of ``param`` minus at its lowest level,
    same seed and other factors, then averaged within seed over ``others`` (only
    seeds with every combination). Columns: ``seed`` and one per level."""
    wide = g.pivot_table(index=[*others, "seed"], columns=param, values=metric, aggfunc="first")
    gain = wide.sub(wide[min(wide.columns)], axis=0).dropna()
    if others and not gain.empty:
        combos = gain.reset_index()[others].drop_duplicates().shape[0]
        sizes = gain.groupby(level="seed").size()
        gain = gain[gain.index.get_level_values("seed").isin(sizes[sizes == combos].index)]
    return gain.groupby(level="seed").mean()


def e4_figures(data: Data, out: Path, size: str = "one") -> list[Path]:
    """E4: weeks saved by networking while employed (``e4_preparedness_gain``): per
    strategy, the outcome at each employed share minus at the lowest share, same
    seed (and same other factors, then averaged over them within seed), with a
    95% paired t interval across seeds intersected with the difference's range."""
    if EMPLOYED not in data.params:
        raise Skip(f"{EMPLOYED} is not swept")
    others = [p for p in data.params if p != EMPLOYED]
    est = survival.per_run(data, ["strategy", *data.params])
    tau = _tau(data)
    ns = []
    with style():
        fig, axes = figure(size, 2, ncols=2, sharey=False)
        for ax, (metric, label, k) in zip(axes, METRICS, strict=True):
            bounds = survival.metric_bounds(metric, tau, data.horizon_weeks, difference=True)
            groups = list(est.groupby("strategy", observed=True, sort=True))
            for i, (strat, g) in enumerate(groups):
                gain = _level_gains(g, EMPLOYED, others, metric)
                base = min(gain.columns)
                m = pd.DataFrame([{"x": float(c), **paired_difference(gain[c].to_numpy(), bounds)}
                                  for c in gain.columns]).rename(columns={"diff": "mean"})
                ns += m["n"].tolist()
                intervals(ax, m["x"] * 100, m["mean"] * k, m["lower"] * k, m["upper"] * k,
                          strategy_color(strat), strategy_line(strat), strat,
                          (i - (len(groups) - 1) / 2) * 2.0)
            _zero(ax)
            ax.set_xlabel("kept while employed (%)")
            ax.set_ylabel(f"change from {base * 100:g}% kept,\n{label}")
        axes[0].legend()
        header(fig, size, f"Change in {_what(data)}, against the share of networking time kept "
               f"while employed, relative to the lowest share: same strategy and seed"
               f"{_averaged(others)}; mean over seeds.",
               "Bars: 95% paired t interval across seeds, intersected with the difference's "
               "range.",
               _seeds_note(ns))
    return save(fig, out, "e4_preparedness_gain")


# ---------------------------------------------------------------------------- E5


HEAR, BONUS, NOISE = "leads.hear_prob", "hiring.referral_bonus", "hiring.referral_noise"
#: the asking switch (lions only); a sweep without it ran lions with the default, asking
ASK = "strategy.params.lions.ask"
MECHANISMS = ("full", "no precision", "no trust", "no endorsement", "information off")


def _config_value(data: Data, dotted: str, default: float) -> float:
    for folder in data.run_folders.values():
        cfg = json.loads((folder / SUMMARY).read_text()).get("config", {})
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
    """Per-run RMST by strategy with the E5 ``mechanism`` label of its cell and its
    asking switch (column :data:`ASK`; True where the sweep did not vary it). The
    four endorsement cells with information off are the same model: only the one
    with the default (or first) endorsement settings is kept."""
    formal = _config_value(data, "hiring.formal_noise", 1.0)
    fixed = {HEAR: _config_value(data, HEAR, 0.01), BONUS: _config_value(data, BONUS, 0.25),
             NOISE: _config_value(data, NOISE, 0.25)}
    est = survival.per_run(data, ["strategy", *data.params])
    for key, v in fixed.items():
        if key not in est:
            est[key] = v
    if ASK not in est:
        est[ASK] = True
    est[ASK] = est[ASK].astype(bool)
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


def e5_series(est: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """The groups of E5's bars: ``everyone`` (its asking cells pooled: asking is a
    lions parameter, so they are one model), ``lions`` asking and ``lions, no asking``,
    each with its strategy and rows of :func:`mechanism_cells`; groups without runs
    are left out."""
    out = []
    for s in sorted(set(est["strategy"].astype(str)),
                    key=lambda x: (x != "everyone", x != "lions", x)):
        g = est[est["strategy"] == s]
        if s != "lions":
            out.append((s, s, g))
            continue
        for ask, label in ((True, "lions"), (False, "lions, no asking")):
            if (g[ASK] == ask).any():
                out.append((label, s, g[g[ASK] == ask]))
    return out


def _bar_style(label: str, strategy: str) -> dict:
    """Solid bars in the strategy's colour; hatched and open for lions without asking."""
    color = strategy_color(strategy)
    if label.endswith("no asking"):
        return {"facecolor": "white", "edgecolor": color, "hatch": "////", "lw": 0.6}
    return {"color": color}


def e5_figures(data: Data, out: Path, size: str = "one") -> list[Path]:
    """E5: RMST by strategy under each mechanism switch, lions with and without
    asking (top), and lions minus everyone under each, with and without asking
    (bottom), paired by seed (``e5_mechanisms``); per seed, the runs of one
    mechanism are averaged first, so seeds are the replicates. Intervals are t
    across seeds inside the quantity's range (logit scale for RMST, differences
    intersected with their range); stars are paired t tests Holm-adjusted across
    the bars of the bottom panel."""
    if not {HEAR, BONUS, NOISE, ASK} & set(data.params):
        raise Skip("no mechanism switch is swept")
    est = mechanism_cells(data)
    present = [m for m in MECHANISMS if m in set(est["mechanism"])]
    series = e5_series(est)
    tau = _tau(data)
    ns = []
    with style():
        fig, axes = figure("two" if size == "two" else "one", 2, ncols=1, sharey=False,
                           height=4.2)
        ax = axes[0]
        width = 0.8 / max(1, len(series))
        for j, (label, s, g) in enumerate(series):
            for i, m in enumerate(present):
                v = g[g["mechanism"] == m].groupby("seed")["rmst"].mean()
                if v.empty:
                    continue
                ti = range_interval(v.to_numpy(), (0.0, tau))
                ns.append(ti["n"])
                err = ([[ti["mean"] - ti["lower"]], [ti["upper"] - ti["mean"]]]
                       if np.isfinite(ti["lower"]) else None)
                ax.bar(i + (j - (len(series) - 1) / 2) * width, ti["mean"], width,
                       label=label if i == 0 else None, yerr=err,
                       error_kw={"lw": 0.6, "capsize": 1.5}, **_bar_style(label, s))
        ticks = [m.replace(" ", "\n", 1) for m in present]
        ax.set_xticks(range(len(present)), ticks, fontsize=6)
        ax.set_ylabel("RMST to re-employment\n(weeks)")
        ax.legend(ncols=len(series), loc="lower center", bbox_to_anchor=(0.5, 1.0))
        ax = axes[1]
        everyone = next((g for label, s, g in series if s == "everyone"), None)
        lions = [(label, g) for label, s, g in series if s == "lions"]
        diffs = []
        width = 0.8 / max(1, len(lions))
        for i, m in enumerate(present):
            if everyone is None:
                break
            ev = everyone[everyone["mechanism"] == m].groupby("seed")["rmst"].mean()
            for j, (label, g) in enumerate(lions):
                li = g[g["mechanism"] == m].groupby("seed")["rmst"].mean()
                d = (li - ev).dropna().to_numpy()
                if not len(d):
                    continue
                res = paired_difference(d, (-tau, tau))
                diffs.append({"x": i + (j - (len(lions) - 1) / 2) * width, "label": label,
                              "mean": res["diff"], "lower": res["lower"],
                              "upper": res["upper"], "n": res["n"], "p": res["p_value"]})
        table = pd.DataFrame(diffs)
        if not table.empty:
            table["p_holm"] = holm(table["p"].to_numpy(float))
        seen = set()
        for r in table.to_dict("records"):
            err = ([[r["mean"] - r["lower"]], [r["upper"] - r["mean"]]]
                   if np.isfinite(r["lower"]) else None)
            ax.bar(r["x"], r["mean"], width * 0.9, yerr=err, error_kw={"lw": 0.6, "capsize": 2},
                   label=None if r["label"] in seen else r["label"],
                   **_bar_style(r["label"], "lions"))
            seen.add(r["label"])
            star = bands.stars(r["p_holm"])
            if star:
                ax.annotate(star, (r["x"], r["mean"]), xytext=(0, 2), textcoords="offset points",
                            ha="center", fontsize=7)
        _zero(ax)
        if len(lions) > 1:
            ax.legend(fontsize=6, loc="best")
        ax.set_xticks(range(len(present)), ticks, fontsize=6)
        ax.set_ylabel("lions \u2212 everyone,\nRMST (weeks)")
        tests = int(table["p"].notna().sum()) if not table.empty else 0
        asking = (" Lions with and without asking their lions for help "
                  "(strategy.params.lions.ask)." if len(lions) > 1 else "")
        header(fig, size, f"RMST (restricted mean weeks unemployed within {tau:g} weeks of a "
               "spell, per run) by strategy under each mechanism switch (top), and lions minus "
               "everyone, paired by seed (bottom): means over seeds." + asking,
               "Bars: 95% t interval across seeds inside the quantity's range (logit scale for "
               "RMST; differences intersected with their range)"
               + (f"; stars: paired t test p < 0.05 / 0.01 / 0.001, Holm-adjusted across the "
                  f"{tests} bars." if tests else "."), _seeds_note(ns))
    return save(fig, out, "e5_mechanisms")
