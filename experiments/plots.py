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
from matplotlib.colors import TwoSlopeNorm
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
from matplotlib.tri import LinearTriInterpolator, Triangulation

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


# ---------------------------------------------------------------------------- E7


TIGHTNESS, COMPETITION = "market.vacancy_rate", "funnel.applications"
#: run-level column of the measured competition (``runs.parquet``; summary.json ``funnel``)
APPS_PER_VACANCY = "funnel.applications_per_vacancy"
PHASE_CSV = "e7_phase_cells.csv"
#: colour map of each outcome's difference: blue where lions do better (a shorter RMST,
#: a larger share re-employed within 4 weeks), red where everyone does
LIONS_BETTER = {"rmst": "RdBu_r", "share_within": "RdBu"}


def measured_tightness(data: Data) -> pd.Series:
    """Vacancies per searching worker in each run: the sum over its recorded weeks of
    ``n_vacancies`` over the sum of ``n_searching`` (a ratio of totals, as the funnel's
    figures are: :func:`sim.results.metrics.funnel_figures`), by ``run_id``.

    Raises:
        Skip: no run folder with its series is readable.
    """
    ts = data.timeseries
    if ts is None or not {"n_vacancies", "n_searching"} <= set(ts.columns):
        raise Skip("no weekly series (n_vacancies, n_searching) readable")
    s = ts.groupby("run_id")[["n_vacancies", "n_searching"]].sum()
    return (s["n_vacancies"] / s["n_searching"].where(s["n_searching"] > 0)).rename("tightness")


def phase_cells(data: Data) -> pd.DataFrame:
    """E7's design cells with their measured coordinates and lions minus everyone.

    Per run: the measured tightness (:func:`measured_tightness`) and competition
    (applications per vacancy filled, :data:`APPS_PER_VACANCY`). Per cell of the swept
    :data:`TIGHTNESS` and :data:`COMPETITION` (those of the two that vary), each
    coordinate is averaged within seed over any other swept factor, then over seeds,
    with a 95% t interval across seeds on the log scale (both are positive ratios;
    :func:`analysis.stats.range_interval`). Lions minus everyone in RMST and in the
    share re-employed within 4 weeks comes from
    :func:`analysis.survival.strategy_difference` (per-run Kaplan-Meier estimates,
    paired by seed: in a mixed market both strategies are in each run; 95% paired t
    interval across seeds, p-values Holm-adjusted across the cells).

    Args:
        data: a loaded sweep of mixed markets (lions and everyone).

    Returns:
        One row per cell: the cell's factor levels; ``tightness``, ``tightness_lower``,
        ``tightness_upper``, ``competition``, ``competition_lower``,
        ``competition_upper``, ``n_runs``; for ``m`` in ``rmst``, ``share_within``:
        ``<m>_diff``, ``<m>_lower``, ``<m>_upper``, ``<m>_p_holm``, ``<m>_n_seeds``,
        ``<m>_excludes_0`` (the interval exists and does not contain 0).

    Raises:
        Skip: neither factor varies, a strategy is missing, or the runs lack the
            funnel figures or the series.
    """
    cells = [p for p in (TIGHTNESS, COMPETITION) if p in data.params]
    if not cells:
        raise Skip(f"neither {TIGHTNESS} nor {COMPETITION} is swept")
    if not {"lions", "everyone"} <= set(data.strategies):
        raise Skip(f"needs lions and everyone (have {data.strategies})")
    if APPS_PER_VACANCY not in data.runs or data.runs[APPS_PER_VACANCY].isna().all():
        raise Skip(f"no run has {APPS_PER_VACANCY} (the hiring funnel's figures)")
    runs = data.runs.set_index("run_id")
    runs = runs.assign(tightness=measured_tightness(data),
                       competition=runs[APPS_PER_VACANCY].astype(float))
    per_seed = runs.groupby([*cells, "seed"])[["tightness", "competition"]].mean()
    n_runs = runs.groupby(cells).size()
    rows = []
    for key, g in per_seed.groupby(level=cells if len(cells) > 1 else cells[0]):
        row = dict(zip(cells, key if isinstance(key, tuple) else (key,), strict=True))
        for col in ("tightness", "competition"):
            ti = range_interval(g[col].to_numpy(float), (0.0, None))
            row.update({col: ti["mean"], f"{col}_lower": ti["lower"], f"{col}_upper": ti["upper"]})
        row["n_runs"] = int(n_runs.loc[key])
        rows.append(row)
    out = pd.DataFrame(rows)
    for metric, _, _ in METRICS:
        d = survival.strategy_difference(data, "lions", "everyone", metric, by=cells)
        if d.empty:
            raise Skip("no run holds both lions and everyone")
        d = d[[*cells, "diff", "lower", "upper", "p_holm", "n_seeds"]].rename(
            columns={c: f"{metric}_{c}" for c in ("diff", "lower", "upper", "p_holm", "n_seeds")})
        out = out.merge(d, on=cells, how="left")
        lo, hi = out[f"{metric}_lower"], out[f"{metric}_upper"]
        out[f"{metric}_excludes_0"] = (lo > 0) | (hi < 0)
    return out


def sign_boundary(x, y, z, n: int = 200):
    """The difference ``z`` interpolated linearly over the cells, on a grid in
    log10(x), log10(y): the surface whose 0 contour is the sign boundary.

    Args:
        x: the cells' measured tightness (positive).
        y: the cells' measured competition (positive).
        z: the cells' difference (NaN cells are left out).
        n: grid points per axis.

    Returns:
        ``(gx, gy, gz)``: 2-d grids in the data's units, ``gz`` masked outside the
        cells' convex hull; None if fewer than 3 cells, or they lie on one line.
    """
    x, y, z = (np.asarray(v, float) for v in (x, y, z))
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(z) & (x > 0) & (y > 0)
    lx, ly = np.log10(x[ok]), np.log10(y[ok])
    if ok.sum() < 3 or np.linalg.matrix_rank(np.c_[lx - lx.mean(), ly - ly.mean()], tol=1e-9) < 2:
        return None
    tri = Triangulation(lx, ly)
    gx, gy = np.meshgrid(np.linspace(lx.min(), lx.max(), n), np.linspace(ly.min(), ly.max(), n))
    gz = LinearTriInterpolator(tri, z[ok])(gx, gy)
    return 10 ** gx, 10 ** gy, gz


def e7_figures(data: Data, out: Path, size: str = "one") -> list[Path]:
    """E7: the phase diagram (``e7_phase``): lions minus everyone in the same mixed
    market, in RMST (left/top) and in the share re-employed within 4 weeks
    (right/bottom), over the measured market tightness (vacancies per searching
    worker) and competition (applications per vacancy filled), one point per design
    cell at its mean over seeds (:func:`phase_cells`). Colour: the difference
    (diverging, centred at 0; shaded: its linear interpolation over the cells); dashed
    line: the 0 contour of that interpolation (the sign boundary); a black ring: the
    cell's 95% paired t interval across seeds excludes 0. Blue means lions do better in
    both panels. Also writes the cells, with the 95% t intervals of their measured
    coordinates across seeds, as ``e7_phase_cells.csv``."""
    cells = phase_cells(data)
    factors = [p for p in (TIGHTNESS, COMPETITION) if p in cells]
    others = [p for p in data.params if p not in factors]
    tau = _tau(data)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = out / PHASE_CSV
    cells.to_csv(table, index=False)
    ns = []
    with style():
        two = size == "two"
        fig, axes = figure(size, 2, ncols=2 if two else 1, sharey=False,
                           height=2.9 if two else 5.4)
        for ax, (metric, label, k) in zip(axes, METRICS, strict=True):
            c = cells[np.isfinite(cells[f"{metric}_diff"])]
            ns += c[f"{metric}_n_seeds"].tolist()
            z = c[f"{metric}_diff"].to_numpy(float) * k
            vmax = float(np.nanmax(np.abs(z))) if len(z) else 0.0
            norm = TwoSlopeNorm(0.0, -(vmax or 1.0), vmax or 1.0)
            cmap = LIONS_BETTER[metric]
            x, y = c["tightness"].to_numpy(float), c["competition"].to_numpy(float)
            surface = sign_boundary(x, y, z)
            if surface is not None:
                gx, gy, gz = surface
                ax.contourf(gx, gy, gz, levels=np.linspace(-(vmax or 1.0), vmax or 1.0, 21),
                            cmap=cmap, norm=norm, alpha=0.35, zorder=0, extend="both")
                if np.nanmin(gz) < 0 < np.nanmax(gz):
                    ax.contour(gx, gy, gz, levels=[0.0], colors="k", linewidths=0.9,
                               linestyles="--", zorder=1)
            sig = c[f"{metric}_excludes_0"].to_numpy(bool)
            sc = ax.scatter(x, y, c=z, cmap=cmap, norm=norm, s=26, zorder=3,
                            edgecolors=np.where(sig, "k", "0.65"),
                            linewidths=np.where(sig, 1.2, 0.5))
            for xi, yi, zi in zip(x, y, z, strict=True):
                ax.annotate(f"{zi:+.1f}", (xi, yi), xytext=(0, 5), textcoords="offset points",
                            ha="center", fontsize=5, zorder=4)
            ax.set_xscale("log")
            ax.set_yscale("log")
            for lim, v in ((ax.set_xlim, x), (ax.set_ylim, y)):
                if len(v) and np.isfinite(v).all() and (v > 0).all():
                    pad = max(1.15, (v.max() / v.min()) ** 0.08)  # points clear of the frame
                    lim(v.min() / pad, v.max() * pad)
            for axis in (ax.xaxis, ax.yaxis):
                axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
                axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
                axis.set_minor_formatter(NullFormatter())
            ax.set_xlabel("tightness: vacancies per searching worker")
            ax.set_ylabel("competition: applications\nper vacancy filled")
            fig.colorbar(sc, ax=ax, label=f"lions \u2212 everyone,\n{label}")
        axes[0].scatter([], [], s=26, facecolors="white", edgecolors="k", linewidths=1.2,
                        label="95% interval excludes 0")
        axes[0].scatter([], [], s=26, facecolors="white", edgecolors="0.65", linewidths=0.5,
                        label="includes 0 (or none)")
        axes[0].plot([], [], "k--", lw=0.9, label="sign boundary (0 contour)")
        axes[0].legend(fontsize=5.5, loc="best")
        design = ", ".join(param_label(p) for p in factors)
        header(fig, size, f"Lions minus everyone within the same mixed market in {_what(data)}, "
               f"paired by seed{_averaged(others)}: one point per design cell ({design}) "
               "at its measured tightness (vacancies per searching worker, ratio of totals over "
               "the run) and competition (applications per vacancy filled), means over seeds. "
               "Blue: lions do better (RMST below 0, share above 0); red: everyone does.",
               "Black ring: the cell's 95% paired t interval across seeds excludes 0 (not "
               "adjusted for the cells); shading: linear interpolation over the cells in log "
               "coordinates, dashed: its 0 contour (the sign boundary; intervals of the "
               f"coordinates in {PHASE_CSV}). Differences kept in [-{tau:g}, {tau:g}] weeks "
               "and [-100, 100] points.",
               _seeds_note(ns))
    return [*save(fig, out, "e7_phase"), table]
