"""The tables of a report: headline outcomes, strategy differences, log-rank tests,
Cox models and hiring channels, as tidy numeric DataFrames, plus formatting and
export (CSV for machines, LaTeX with booktabs rules for papers).

Each ``*_table`` function returns numeric columns (the CSV); :func:`display`
turns a table into the strings shown in a report and in the ``.tex`` file
(estimates with their interval as ``12.3 [11.8, 12.9]``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import mechanisms, survival
from analysis.data import Data

log = logging.getLogger(__name__)

COX_MAX_SPELLS = 200_000  # spells per Cox model (whole runs kept; see cox_table)
COX_MAX_CELLS = 6  # more cells of swept parameters: one model with a baseline hazard per cell


def _keys(data: Data) -> list[str]:
    return ["strategy", *data.params]


# ---------------------------------------------------------------------------- tables


def headline_table(data: Data, horizon: float = survival.DEFAULT_HORIZON,
                   at: float = survival.WITHIN) -> pd.DataFrame:
    """Headline outcomes per strategy and swept-parameter cell.

    With two or more runs in a cell, each outcome is the mean of the per-run
    estimates with a 95% t interval across runs (seeds); with one run, the pooled
    Kaplan-Meier estimate and its interval (``interval`` says which).

    Args:
        data: loaded outputs.
        horizon: RMST horizon in weeks.
        at: weeks of the share re-employed.

    Returns:
        Columns: strategy, swept parameters, ``runs``, ``spells``, ``events``,
        ``median``, ``median_lower``, ``median_upper``, ``rmst``, ``rmst_lower``,
        ``rmst_upper``, ``within``, ``within_lower``, ``within_upper``,
        ``interval``, ``horizon``, ``at``.
    """
    keys = _keys(data)
    pooled = survival.pooled_summary(data, keys, horizon, at)
    rep = survival.replicate_summary(data, keys, horizon, at)
    rep = rep[[*keys, "n_runs", *(c for c in rep.columns if c.endswith(
        ("_mean", "_lower", "_upper")))]].rename(columns=lambda c: c if c in keys else f"rep_{c}")
    df = pooled.merge(rep, on=keys, how="left")
    many = (df["rep_n_runs"] >= 2).to_numpy()
    out = df[keys].copy()
    out["runs"], out["spells"], out["events"] = df["n_runs"], df["n_spells"], df["n_events"]
    for m, rep_name, pooled_name in (("median", "median", "median"), ("rmst", "rmst", "rmst"),
                                     ("within", "share_within", "share")):
        pooled_est = "share_within" if m == "within" else m
        out[m] = np.where(many, df[f"rep_{rep_name}_mean"], df[pooled_est])
        for side in ("lower", "upper"):
            out[f"{m}_{side}"] = np.where(many, df[f"rep_{rep_name}_{side}"],
                                          df[f"{pooled_name}_{side}"])
    out["interval"] = np.where(many, "t across runs", "pooled KM")
    out["horizon"], out["at"] = df["horizon"], at
    return out


def difference_table(data: Data, a: str = "lions", b: str = "everyone",
                     horizon: float = survival.DEFAULT_HORIZON,
                     at: float = survival.WITHIN) -> pd.DataFrame:
    """``a - b`` of RMST and of the share re-employed within ``at`` weeks per cell of
    the swept parameters, paired by seed where possible
    (:func:`analysis.survival.strategy_difference`); empty if a strategy is missing."""
    if a not in data.strategies or b not in data.strategies:
        return pd.DataFrame()
    frames = [survival.strategy_difference(data, a, b, m, horizon=horizon, at=at)
              for m in ("rmst", "share_within")]
    out = pd.concat(frames, ignore_index=True)
    if out.empty:
        return out
    out.insert(0, "comparison", f"{a} - {b}")
    return out


def logrank_table(data: Data) -> pd.DataFrame:
    """Log-rank tests between strategies (multivariate and pairwise with Holm
    adjustment) within each cell of the swept parameters."""
    return survival.logrank(data)


def cox_table(data: Data, max_spells: int = COX_MAX_SPELLS) -> tuple[pd.DataFrame, str]:
    """Cox models of re-employment (strategy, ability, log2 degree; sector strata;
    worker-clustered variance), one per cell of the swept parameters, or with more
    than :data:`COX_MAX_CELLS` cells one model stratified by sector and cell.

    lifelines' Cox fit grows faster than linearly with the spells, so a cell with
    more than ``max_spells`` spells is fitted on its first runs by seed (whole runs,
    every strategy of a kept seed) up to that many spells.

    Args:
        data: loaded outputs.
        max_spells: largest number of spells per model.

    Returns:
        ``(table, note)``: the tidy table of :func:`analysis.survival.cox_table` and
        a sentence on any subsampling (empty if none).
    """
    spells = data.spells
    cells = list(data.params)
    note = ""
    n_cells = len(spells[cells].drop_duplicates()) if cells else 1
    if n_cells > COX_MAX_CELLS:  # one model, a baseline hazard per sector and cell
        spells = spells.assign(sector=spells["sector"].astype(str) + "|" + spells[cells].astype(
            str).agg("|".join, axis=1))
        note = (f"One model over the {n_cells} cells of the swept parameters, with a baseline "
                "hazard per sector and cell: the strategy hazard ratios are averages over the "
                "cells. ")
        cells = []
    kept, dropped = _cap_runs(spells, cells, max_spells)
    fits = survival.fit_cox(kept, within=cells)
    if dropped:
        note += (f"{dropped} of {spells['run_id'].nunique()} runs left out of the Cox models "
                 f"(at most {max_spells:,} spells per model, the lowest seeds kept).")
    return survival.cox_table(fits), note


def _cap_runs(spells: pd.DataFrame, cells: Sequence[str], max_spells: int
              ) -> tuple[pd.DataFrame, int]:
    parts, dropped = [], 0
    groups = spells.groupby(list(cells), observed=True, dropna=False) if cells else [((), spells)]
    for _, g in groups:
        if len(g) <= max_spells:
            parts.append(g)
            continue
        per_seed = g.groupby("seed").size().sort_index()
        keep = per_seed.index[(per_seed.cumsum() <= max_spells).to_numpy()]
        keep = keep if len(keep) else per_seed.index[:1]
        sub = g[g["seed"].isin(keep)]
        dropped += g["run_id"].nunique() - sub["run_id"].nunique()
        parts.append(sub)
    return pd.concat(parts) if parts else spells, dropped


def channels_table(data: Data) -> pd.DataFrame:
    """Hires by channel per strategy and cell, and the share of contact hires
    through weak ties (acquaintance or online). Shares are means of per-run shares
    with t intervals across runs (pooled exact interval with one run).

    Returns:
        Columns: strategy, swept parameters, ``hires``, and for each of
        ``formal``, ``lead``, ``referral``, ``weak_ties``: the share with
        ``_lower``/``_upper``.
    """
    keys = _keys(data)
    ch = mechanisms.hires_by_channel(data, keys)
    if ch.empty:
        return pd.DataFrame()
    out = ch.groupby(keys, observed=True, dropna=False)["n"].first().reset_index()
    out = out.rename(columns={"n": "hires"})
    frames = [(c, ch[ch["channel"] == c]) for c in ch["channel"].cat.categories]
    weak = mechanisms.contact_ties(data, keys)
    if not weak.empty:
        frames.append(("weak_ties", weak[weak["definition"] == "kind"]))
    for name, f in frames:
        f = _share_columns(f, name)
        out = out.merge(f[[*keys, name, f"{name}_lower", f"{name}_upper"]], on=keys, how="left")
    return out


def _share_columns(f: pd.DataFrame, name: str) -> pd.DataFrame:
    many = f["n_runs"] >= 2
    f = f.copy()
    f[name] = np.where(many, f["share_mean"], f["share"])
    f[f"{name}_lower"] = np.where(many, f["mean_lower"], f["lower"])
    f[f"{name}_upper"] = np.where(many, f["mean_upper"], f["upper"])
    return f


# ---------------------------------------------------------------------------- display


def _num(v, digits: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "not reached"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return f"{v:.{digits}f}" if abs(v) >= 10 ** -digits or v == 0 else f"{v:.2g}"
    return str(v)


def _ci(est, lo, hi, digits: int = 1, scale: float = 1.0) -> str:
    if est is None or pd.isna(est):
        return "-"
    if np.isinf(est):
        return "not reached"
    text = _num(float(est) * scale, digits)
    if pd.notna(lo) and pd.notna(hi):
        text += f" [{_num(float(lo) * scale, digits)}, {_num(float(hi) * scale, digits)}]"
    return text


def _p(v) -> str:
    if v is None or pd.isna(v):
        return "-"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


#: estimate columns shown as "est [lower, upper]": name -> (label, digits, scale)
CI_COLUMNS = {
    "median": ("median weeks", 1, 1.0), "rmst": ("RMST weeks", 1, 1.0),
    "within": ("within 4 wk %", 1, 100.0), "diff": ("difference", 2, 1.0),
    "hr": ("hazard ratio", 2, 1.0), "formal": ("formal %", 1, 100.0),
    "lead": ("lead %", 1, 100.0), "referral": ("referral %", 1, 100.0),
    "weak_ties": ("weak ties % of contact hires", 1, 100.0),
}
P_COLUMNS = ("p", "p_holm", "p_value")
HIDDEN = ("horizon", "at", "se", "coef", "z", "sd")


def display(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Strings for a report: ``est [lower, upper]`` for estimates with an interval,
    p-values to three decimals, counts with thousands separators; bookkeeping
    columns (``*_lower``/``*_upper``, ``horizon``, ``at``, raw ``coef``/``se``/``z``)
    dropped.

    Args:
        table: a numeric table of this module.
        digits: decimals of other floats.

    Returns:
        A DataFrame of strings.
    """
    out = {}
    cols = list(table.columns)
    for c in cols:
        if c.endswith(("_lower", "_upper")) or c in HIDDEN:
            continue
        if c in CI_COLUMNS and f"{c}_lower" in cols:
            label, d, k = CI_COLUMNS[c]
            out[label] = [_ci(e, lo, hi, d, k) for e, lo, hi in
                          zip(table[c], table[f"{c}_lower"], table[f"{c}_upper"], strict=True)]
        elif c == "diff" and "lower" in cols:
            scale = np.where(table.get("metric", "") == "share_within", 100.0, 1.0)
            out["difference [95% CI]"] = [_ci(e, lo, hi, 2, s) for e, lo, hi, s in zip(
                table["diff"], table["lower"], table["upper"], scale, strict=True)]
        elif c in ("lower", "upper"):
            continue
        elif c in P_COLUMNS:
            out[c] = [_p(v) for v in table[c]]
        elif c == "hr" and "hr_lower" in cols:
            continue
        else:
            out[c] = [_num(v, digits) for v in table[c]]
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------- export


def to_latex(shown: pd.DataFrame, caption: str, label: str) -> str:
    """A booktabs LaTeX table (``\\toprule``, ``\\midrule``, ``\\bottomrule``) of a
    displayed table, special characters escaped.

    Args:
        shown: the output of :func:`display` (strings).
        caption: table caption.
        label: LaTeX label (``tab:<label>``).

    Returns:
        The LaTeX source (needs ``\\usepackage{booktabs}``).
    """
    styler = shown.style.hide(axis="index").format(escape="latex").format_index(
        escape="latex", axis=1)
    return styler.to_latex(hrules=True, caption=_latex_escape(caption), label=f"tab:{label}",
                           column_format="l" * shown.shape[1], position="htbp")


def _latex_escape(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"),
                 ("#", r"\#"), ("_", r"\_"), ("{", r"\{"), ("}", r"\}"), ("~", r"\~{}"),
                 ("^", r"\^{}")):
        text = text.replace(a, b)
    return text


def write_table(table: pd.DataFrame, out_dir: Path, name: str, caption: str) -> list[Path]:
    """Write ``<name>.csv`` (numeric) and ``<name>.tex`` (booktabs) in ``out_dir``.

    Returns:
        The two paths.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    csv, tex = out_dir / f"{name}.csv", out_dir / f"{name}.tex"
    table.to_csv(csv, index=False)
    tex.write_text(to_latex(display(table), caption, name))
    return [csv, tex]

