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
from analysis.stats import IDENTICAL, holm, interval_note

log = logging.getLogger(__name__)

COX_MAX_SPELLS = 200_000  # spells per Cox model (whole runs kept; see cox_table)
COX_MAX_CELLS = 6  # more cells of swept parameters: one model with a baseline hazard per cell


def _keys(data: Data) -> list[str]:
    return ["strategy", *data.params]


# ---------------------------------------------------------------------------- tables


def _notes(*notes: str) -> str:
    return "; ".join(dict.fromkeys(n for n in notes if n))


def headline_table(data: Data, horizon: float = survival.DEFAULT_HORIZON,
                   at: float = survival.WITHIN) -> pd.DataFrame:
    """Headline outcomes per strategy and swept-parameter cell, runs as the unit.

    Estimands: the mean over runs of each run's Kaplan-Meier median weeks, RMST
    on [0, ``horizon``] weeks, and share re-employed within ``at`` weeks, over the
    spells begun in the horizon. Intervals are 95% t intervals across runs on the
    logit scale of each quantity's range (:func:`analysis.survival.replicate_summary`),
    so they stay in the range; a cell with one run has no interval ("no
    replicates"); ``note`` says when the runs are few or identical.

    Args:
        data: loaded outputs.
        horizon: RMST horizon in weeks.
        at: weeks of the share re-employed.

    Returns:
        Columns: strategy, swept parameters, ``runs``, ``spells``, ``events``,
        ``median``, ``median_lower``, ``median_upper``, ``rmst``, ``rmst_lower``,
        ``rmst_upper``, ``within``, ``within_lower``, ``within_upper``, ``note``,
        ``horizon``, ``at``.
    """
    keys = _keys(data)
    rep = survival.replicate_summary(data, keys, horizon, at)
    counts = data.spells.groupby(keys, observed=True, dropna=False).agg(
        events=("censored", lambda c: int((~c.astype(bool)).sum()))).reset_index()
    rep = rep.merge(counts, on=keys, how="left")
    out = rep[keys].copy()
    out["runs"], out["spells"], out["events"] = rep["n_runs"], rep["n_spells"], rep["events"]
    for m, name in (("median", "median"), ("rmst", "rmst"), ("within", "share_within")):
        out[m] = rep[f"{name}_mean"]
        out[f"{m}_lower"], out[f"{m}_upper"] = rep[f"{name}_lower"], rep[f"{name}_upper"]
    notes = []
    for r in rep.itertuples(index=False):
        n = interval_note(r.n_runs, 1.0)
        ident = [lab for lab, name in (("median", "median"), ("RMST", "rmst"),
                                       ("share", "share_within"))
                 if getattr(r, f"{name}_note") == IDENTICAL]
        undefined = r.median_note if r.median_undefined else ""
        notes.append(_notes(n, f"{', '.join(ident)}: {IDENTICAL}" if ident else "",
                            undefined))
    out["note"] = notes
    out["horizon"], out["at"] = rep["horizon"], at
    return out


def within_run_table(data: Data, horizon: float = survival.DEFAULT_HORIZON,
                     at: float = survival.WITHIN) -> pd.DataFrame:
    """Within-run intervals: the Kaplan-Meier estimates of the spells of each cell
    pooled, with intervals that treat spells as independent.

    Estimands: the median, RMST and share within ``at`` weeks of the spells of the
    run(s) of a cell. The intervals describe the sampling of spells within these
    simulated markets, not the variation between markets: they are not intervals
    for comparing scenarios (:func:`headline_table` is). Shown for cells with a
    single run.

    Returns:
        Columns: strategy, swept parameters, ``runs``, ``spells``, ``median``,
        ``rmst``, ``within`` with ``_lower``/``_upper``, ``interval``.
    """
    keys = _keys(data)
    p = survival.pooled_summary(data, keys, horizon, at)
    out = p[keys].copy()
    out["runs"], out["spells"] = p["n_runs"], p["n_spells"]
    for m, name, ci in (("median", "median", "median"), ("rmst", "rmst", "rmst"),
                        ("within", "share_within", "share")):
        out[m] = p[name]
        out[f"{m}_lower"], out[f"{m}_upper"] = p[f"{ci}_lower"], p[f"{ci}_upper"]
        if m != "median":
            lo, hi = (0.0, p["horizon"]) if m == "rmst" else (0.0, 1.0)
            out[f"{m}_lower"] = np.maximum(out[f"{m}_lower"], lo)
            out[f"{m}_upper"] = np.minimum(out[f"{m}_upper"], hi)
    out["interval"] = "within-run (spells as independent)"
    return out


def difference_table(data: Data, a: str = "lions", b: str = "everyone",
                     horizon: float = survival.DEFAULT_HORIZON,
                     at: float = survival.WITHIN) -> pd.DataFrame:
    """``a - b`` of RMST and of the share re-employed within ``at`` weeks per cell of
    the swept parameters, paired by seed (:func:`analysis.survival.strategy_difference`).

    Estimand: the mean over seeds of the per-seed difference (each seed's runs
    averaged over the other swept factors). Intervals: paired t across seeds
    within the difference's possible range; ``p_holm``: Holm's adjustment across
    every row of this table. Empty if a strategy is missing.
    """
    if a not in data.strategies or b not in data.strategies:
        return pd.DataFrame()
    frames = [survival.strategy_difference(data, a, b, m, horizon=horizon, at=at)
              for m in ("rmst", "share_within")]
    out = pd.concat(frames, ignore_index=True)
    if out.empty:
        return out
    out.insert(0, "comparison", f"{a} - {b}")
    out["p_holm"] = holm(out["p_value"].to_numpy(float))
    cols = [c for c in out.columns if c not in ("note", "paired")] + ["paired", "note"]
    return out[cols]


def logrank_table(data: Data) -> pd.DataFrame:
    """Log-rank tests between strategies, stratified by seed (multivariate and
    pairwise), within each cell of the swept parameters; Holm across the table."""
    return survival.logrank(data)


def _cox_input(data: Data, max_spells: int) -> tuple[pd.DataFrame, list[str], str]:
    spells = data.spells
    cells = list(data.params)
    note = ""
    n_cells = len(spells[cells].drop_duplicates()) if cells else 1
    if n_cells > COX_MAX_CELLS:  # one model, a baseline hazard per sector and cell
        spells = spells.assign(sector=spells["sector"].astype(str) + "|" + spells[cells].astype(
            str).agg("|".join, axis=1))
        note = (f"One model per seed over the {n_cells} cells of the swept parameters, with a "
                "baseline hazard per sector and cell: the strategy hazard ratios are averages "
                "over the cells. ")
        cells = []
    kept, dropped = _cap_runs(spells, cells, max_spells)
    if dropped:
        note += (f"{dropped} of {spells['run_id'].nunique()} runs left out of the Cox models "
                 f"(at most {max_spells:,} spells per cell, the lowest seeds kept).")
    return kept, cells, note


def cox_table(data: Data, max_spells: int = COX_MAX_SPELLS,
              covariates: Sequence[str] = survival.TOTAL_EFFECT_COVARIATES
              ) -> tuple[pd.DataFrame, str]:
    """Cox hazard ratios of re-employment, one fit per seed combined across seeds
    (:func:`analysis.survival.cox_by_seed`), per cell of the swept parameters (with
    more than :data:`COX_MAX_CELLS` cells, one model per seed with a baseline
    hazard per sector and cell).

    Estimand (default covariates): the total effect of each strategy against the
    reference on the hazard of re-employment, as a geometric mean over seeds of
    per-seed hazard ratios; ability (fixed before the strategy acts) is adjusted
    for, network measures are not (they are caused by the strategy; see
    :func:`cox_adjusted_table`). A cell with more than ``max_spells`` spells is
    fitted on its lowest seeds (whole runs) up to that many spells.

    Args:
        data: loaded outputs.
        max_spells: largest number of spells per cell.
        covariates: numeric spell covariates besides the strategy.

    Returns:
        ``(table, note)``: one row per cell and covariate (``hr`` with run-level
        ``hr_lower``/``hr_upper``, ``p``, ``p_holm`` across the table, ``n_seeds``,
        ``n``, ``events``, ``reference``, ``note``) and a sentence on any
        subsampling (empty if none).
    """
    kept, cells, note = _cox_input(data, max_spells)
    table = survival.cox_by_seed(kept, covariates, within=cells)
    if not table.empty:
        table["p_holm"] = holm(table["p"].to_numpy(float))
        cols = [c for c in table.columns if c != "note"] + ["note"]
        table = table[cols]
    return table, note


def cox_adjusted_table(data: Data, max_spells: int = COX_MAX_SPELLS) -> tuple[pd.DataFrame, str]:
    """The Cox model adjusted for the number of contacts at the start of the spell
    (``log2(1 + degree_at_start)``): the strategy's effect *not through network
    size*. Same fitting as :func:`cox_table`."""
    return cox_table(data, max_spells, survival.ADJUSTED_COVARIATES)


def ph_table(data: Data, max_spells: int = COX_MAX_SPELLS) -> pd.DataFrame:
    """Proportional-hazards test of the default Cox model per cell
    (:func:`analysis.survival.ph_test`, baseline hazard per seed and sector), with
    Holm's adjustment across the table."""
    kept, cells, _ = _cox_input(data, max_spells)
    table = survival.ph_test(kept, within=cells)
    if not table.empty:
        table["p_holm"] = holm(table["p"].to_numpy(float))
        table["proportional"] = np.where(table["p_holm"] < 0.05, "rejected", "not rejected")
    return table


def piecewise_table(data: Data, a: str, b: str) -> pd.DataFrame:
    """Hazard ratio ``a / b`` by band of search weeks (1-4, 5-13, 14-26, 27-52),
    paired by seed (:func:`analysis.survival.piecewise_hazard_ratio`), Holm across
    the table."""
    table = survival.piecewise_hazard_ratio(data, a, b)
    if table.empty:
        return table
    table.insert(0, "comparison", f"{a} / {b}")
    table["p_holm"] = holm(table["p_value"].to_numpy(float))
    cols = [c for c in table.columns if c != "note"] + ["note"]
    return table[cols]


def direction_table(data: Data, cox: pd.DataFrame, logrank: pd.DataFrame,
                    horizon: float = survival.DEFAULT_HORIZON) -> pd.DataFrame:
    """Do the estimates of the strategy comparison agree on which strategy finds
    work sooner?

    For each cell and each strategy against the Cox reference: the difference of
    the mean per-run KM medians, the paired RMST difference, the stratified
    log-rank test's direction (observed minus expected hires) and the Cox hazard
    ratio (total effect), each turned into the strategy it says is re-employed
    sooner. A zero difference says nothing.

    Args:
        data: loaded outputs.
        cox: the default :func:`cox_table`.
        logrank: the :func:`logrank_table`.
        horizon: RMST horizon in weeks.

    Returns:
        Columns: cell columns, ``comparison``, ``median_diff``, ``rmst_diff``,
        ``rmst_p`` (paired t test of the RMST difference), ``hr``, and ``median``,
        ``rmst``, ``logrank``, ``cox`` (the strategy each says is sooner),
        ``agree`` (bool).
    """
    if cox.empty or len(data.strategies) < 2:
        return pd.DataFrame()
    cells = [c for c in data.params if c in cox.columns]
    rows = []
    for ref in cox["reference"].dropna().unique():
        for s in [x for x in data.strategies if x != ref]:
            rm = survival.strategy_difference(data, s, ref, "rmst", by=cells, horizon=horizon)
            md = survival.strategy_difference(data, s, ref, "median", by=cells, horizon=horizon)
            for _, r in rm.iterrows():
                cell = {c: r[c] for c in cells}
                sel = np.ones(len(cox), bool)
                for c, v in cell.items():
                    sel &= (cox[c] == v).to_numpy()
                hr = cox[sel & (cox["covariate"] == f"strategy[{s}]").to_numpy()]["hr"]
                m = md
                for c, v in cell.items():
                    m = m[m[c] == v]
                lr = logrank[(logrank["test"] == "pairwise")
                             & (logrank["group_a"].isin([s, ref]))
                             & (logrank["group_b"].isin([s, ref]))]
                for c, v in cell.items():
                    lr = lr[lr[c] == v]
                med = float(m["diff"].iloc[0]) if len(m) else np.nan
                h = float(hr.iloc[0]) if len(hr) else np.nan

                def sooner(v, slower_if_positive=True, s=s, ref=ref):
                    if not np.isfinite(v) or v == 0:
                        return None
                    return ref if (v > 0) == slower_if_positive else s

                row = {**cell, "comparison": f"{s} vs {ref}", "median_diff": med,
                       "rmst_diff": float(r["diff"]), "rmst_p": float(r["p_value"]), "hr": h,
                       "median": sooner(med), "rmst": sooner(float(r["diff"])),
                       "logrank": lr["sooner"].iloc[0] if len(lr) else None,
                       "cox": sooner(np.log(h), slower_if_positive=False) if h > 0 else None}
                said = {row[k] for k in ("median", "rmst", "logrank", "cox") if row[k]}
                row["agree"] = len(said) <= 1
                rows.append(row)
    return pd.DataFrame(rows)


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
    through weak ties by kind (acquaintance or online) and by strength (below the
    run's ``ties.work_strength``).

    Estimands: over the hires that end spells begun in the horizon (the basis of
    every count and share), the mean over runs of each run's share of hires by
    channel, and of contact hires through weak ties. Intervals: 95% t across runs
    on the logit scale (inside [0, 1]); none with one run ("no replicates") or
    identical runs (``note``).

    Returns:
        Columns: strategy, swept parameters, ``runs``, ``hires``, and for each of
        ``formal``, ``lead``, ``referral``, ``recall`` (a hire back by the last employer,
        decided by it; 0 with ``recall.enabled=false``), ``last_employer`` (hires by
        the worker's last employer, any channel, among the hires of workers with one;
        absent for outputs without that column), ``weak_ties`` (by kind, among
        contact hires = lead + referral),
        ``weak_strength`` (by strength): the share with
        ``_lower``/``_upper``; ``note``.
    """
    keys = _keys(data)
    ch = mechanisms.hires_by_channel(data, keys)
    if ch.empty:
        return pd.DataFrame()
    out = ch.groupby(keys, observed=True, dropna=False).agg(
        runs=("n_runs", "max"), hires=("n", "first")).reset_index()
    frames = [(c, ch[ch["channel"] == c]) for c in ch["channel"].cat.categories]
    back = mechanisms.last_employer_returns(data, keys)
    if not back.empty:
        frames.append(("last_employer", back))
    weak = mechanisms.contact_ties(data, keys)
    if not weak.empty:
        frames.append(("weak_ties", weak[weak["definition"] == "kind"]))
        frames.append(("weak_strength", weak[weak["definition"].str.startswith("strength<")]))
    notes = pd.Series([""] * len(out), index=out.index)
    for name, f in frames:
        f = f.assign(**{name: f["share_mean"], f"{name}_lower": f["mean_lower"],
                        f"{name}_upper": f["mean_upper"], f"_{name}_note": f["note"]})
        out = out.merge(f[[*keys, name, f"{name}_lower", f"{name}_upper", f"_{name}_note"]],
                        on=keys, how="left")
    note_cols = [c for c in out.columns if c.startswith("_") and c.endswith("_note")]
    for i in out.index:
        per = {c[1:-5]: out.at[i, c] for c in note_cols if isinstance(out.at[i, c], str)
               and out.at[i, c]}
        common = [v for v in per.values() if not v.startswith(IDENTICAL)]
        ident = [k for k, v in per.items() if v.startswith(IDENTICAL)]
        notes[i] = _notes(*common, f"{', '.join(ident)}: {IDENTICAL}" if ident else "")
    out = out.drop(columns=note_cols)
    out["note"] = notes
    return out


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
    "recall": ("recall %", 1, 100.0),
    "last_employer": ("hired by the last employer % (any channel)", 1, 100.0),
    "weak_ties": ("weak ties by kind (acquaintance, online) % of contact hires", 1, 100.0),
    "weak_strength": ("weak ties by strength (< ties.work_strength) % of contact hires", 1, 100.0),
}
P_COLUMNS = ("p", "p_holm", "p_value", "rmst_p")
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

