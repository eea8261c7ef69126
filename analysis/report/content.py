"""What the report says: its sections in order (Overview, Figures, Tables,
Parameters, Provenance), the tables with their estimands (each written as CSV
and LaTeX), the warnings the Overview must show, and the figures' order and
captions. Nothing here knows the output format (:mod:`analysis.report.render`)
or how files are published (:mod:`analysis.report.publish`).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import figures, mechanisms, tables
from analysis.data import Data
from analysis.report.parameters import (
    fixed_config,
    provenance,
    run_summaries,
    strategy_config,
    sweep_definition,
    sweep_folder,
    varied_parameters,
    varied_table,
)
from analysis.stats import FEW_RUNS
from sim.results.contract import COLLECTED, SPELLS, SUMMARY
from sim.results.folders import sweep_status

#: Captions of the figures by name (prefixes for the families of names).
CAPTIONS = {
    "km": "Kaplan-Meier curves of the share still unemployed by weeks of search, by "
          "strategy, with pointwise 95% within-run bands (spells pooled over runs and treated "
          "as independent: not for comparing scenarios).",
    "hazard": "Weekly hazard of re-employment by spell duration and strategy (exact "
              "binomial 95% within-run bands, spells pooled over runs and swept cells): "
              "duration dependence.",
    "rmst_vs_": "Restricted mean weeks to re-employment against a swept parameter, by "
                "strategy; bands are 95% t intervals across replicate runs.",
    "median_vs_": "Median weeks to re-employment against a swept parameter, by strategy; "
                  "bands are 95% t intervals across replicate runs.",
    "share_within_vs_": "Share re-employed within 4 weeks against a swept parameter, by "
                        "strategy, with 95% t intervals across replicate runs.",
    "diff_": "Heatmap of the paired difference lions minus everyone over two swept "
             "parameters (negative: lions re-employed sooner; * the 95% interval excludes 0).",
    "_vs_share_": "Outcome of each strategy's workers and of all workers against the share "
                  "adopting lions (points: runs; lines and bands: mean and 95% t interval).",
    "channels": "Share of hires by channel (formal application, lead, referral, recall by the "
                "last employer; contact hires are lead + referral).",
    "market": "Unemployment and vacancy rates by week: mean across runs with 95% t bands.",
}
ORDER = ("km", "hazard", "rmst_vs_", "median_vs_", "share_within_vs_", "diff_", "_vs_share_",
         "channels", "market")


@dataclass
class Section:
    """One section of a report: a heading and its blocks, in order.

    A block is ``("p", text)``, ``("warn", text)`` (shown prominently),
    ``("table", name, shown_df, caption)``,
    ``("figure", png_path, caption)``, ``("pre", text)`` or ``("details", summary,
    shown_df)``.
    """

    title: str
    blocks: list = field(default_factory=list)




def _data_mtime(data: Data) -> float:
    files = [data.root / COLLECTED / SPELLS, data.root / SPELLS,
             data.root / SUMMARY]
    return max((f.stat().st_mtime for f in files if f.is_file()), default=0.0)


def ensure_figures(data: Data, fig_dir: Path, size: str = "one", horizon: float = 52.0,
                   skipped: dict[str, str] | None = None) -> list[Path]:
    """The PNG figures of ``fig_dir``, made with :func:`analysis.figures.make_figures`
    first if the folder has none or they are older than the data.

    Args:
        data: loaded outputs.
        fig_dir: the figures folder (e.g. ``<sweep>/figures``).
        size: ``"one"`` or ``"two"`` column width for figures made here.
        horizon: RMST horizon in weeks for figures made here.
        skipped: filled with ``{figure: reason}`` when figures are made here.

    Returns:
        The PNG paths, sorted.
    """
    pngs = sorted(fig_dir.glob("*.png"))
    if not pngs or min(p.stat().st_mtime for p in pngs) < _data_mtime(data):
        figures.make_figures(data, fig_dir, size=size, horizon=horizon, skipped=skipped)
        pngs = sorted(fig_dir.glob("*.png"))
    return pngs


def caption(name: str, extra: dict[str, str] | None = None) -> str:
    """The caption of a figure file stem: ``extra`` captions first, then
    :data:`analysis.figures.CAPTIONS` (the figures module knows its bands), then
    :data:`CAPTIONS`.

    Args:
        name: the figure's file stem (``km``, ``rmst_vs_market-vacancy_rate``, ...).
        extra: captions by stem or stem prefix (ending ``_``) that come first.

    Returns:
        The caption (the stem in words if no table has it).
    """
    for table in (extra or {}, figures.CAPTIONS, CAPTIONS):
        if name in table:
            return table[name]
        for key, text in table.items():
            if key.endswith("_") and (name.startswith(key) or (key.startswith("_") and key in name)):
                return text
    return name.replace("_", " ")


def _figure_rank(name: str, first: tuple[str, ...]) -> tuple[int, str, int]:
    """Sort key of a figure: its kind's place (``first``, then ``ORDER``), then its page
    (``<name>_p<k>`` continues ``<name>`` right after it)."""
    m = re.fullmatch(r"(.+)_p(\d+)", name)
    base, page = (m.group(1), int(m.group(2))) if m else (name, 1)
    if base in first:
        return (-len(first) + first.index(base), base, page)
    for i, key in enumerate(ORDER):
        if base == key or (key.endswith("_") and (base.startswith(key) or key in base)):
            return (i, base, page)
    return (len(ORDER), base, page)



# ---------------------------------------------------------------------------- build


def build_sections(data: Data, png: list[Path], staging: Path, *, horizon: float,
                   command: str | None, skipped: dict[str, str] | None = None,
                   intro: str | None = None, captions: dict[str, str] | None = None,
                   first: tuple[str, ...] = (), cox_max_spells: int = tables.COX_MAX_SPELLS,
                   defaults: Mapping | None = None) -> list[Section]:
    """Compute every table (written to ``staging/tables``) and lay out the report.

    Args:
        data: loaded outputs.
        png: figure PNGs to show (copied with their PDFs to ``staging/figures``).
        staging: the staging folder.
        horizon: RMST horizon in weeks.
        command: the command that made the report, for provenance.
        skipped: figures skipped, with why.
        intro: a paragraph placed first (e.g. an experiment's question).
        captions: extra figure captions by file stem.
        first: figure stems shown first, in this order.
        cox_max_spells: spells per Cox model (see :func:`analysis.tables.cox_table`).
        defaults: the configuration's defaults (nested, as in ``summary.json``'s
            ``config``), to show which fixed settings differ from them; None: not shown.

    Returns:
        The sections.
    """
    summaries = run_summaries(data)
    definition = sweep_definition(data)
    tables_sec, findings = _tables_section(data, staging / "tables", horizon, cox_max_spells)
    overview = Section("Overview")
    if intro:
        overview.blocks.append(("p", intro))
    n_spells = len(data.spells)
    varied = varied_parameters(data)
    overview.blocks.append(("p", (
        f"{data.kind.capitalize()} at {data.root}: {len(data.runs)} complete runs, "
        f"{n_spells:,} unemployment spells begun in the horizon (the basis of every count, "
        f"share and duration below; {len(data.all_spells) - n_spells:,} spells already running "
        f"at week 0 are left out), strategies: {', '.join(data.strategies)}; varied across "
        f"runs: {', '.join(varied) or 'nothing'}. Horizon {data.horizon_weeks + 1} weeks; RMST "
        f"restricted to {min(horizon, data.horizon_weeks):g} weeks.")))
    overview.blocks.append(("p", (
        "Runs are the unit of inference: every interval and test that compares scenarios is "
        "computed from per-run estimates (means across runs with t intervals that stay inside "
        "the quantity's range; differences paired by seed; Cox fits per seed combined across "
        "seeds; log-rank tests stratified by seed), p-values are Holm-adjusted within each "
        "table. Intervals that treat spells as independent appear only in tables labelled "
        "within-run.")))
    for kind, text in findings.get("notes", []):
        overview.blocks.append((kind, text))
    status = _status_line(data)
    if status:
        overview.blocks.append(("p", status))
    figs = Section("Figures")
    fig_out = staging / "figures"
    fig_out.mkdir(parents=True, exist_ok=True)
    for p in sorted(png, key=lambda p: _figure_rank(p.stem, first)):
        shutil.copy2(p, fig_out / p.name)
        if p.with_suffix(".pdf").is_file():
            shutil.copy2(p.with_suffix(".pdf"), fig_out / p.with_suffix(".pdf").name)
        figs.blocks.append(("figure", fig_out / p.name, caption(p.stem, captions)))
    for name, why in (skipped or {}).items():
        figs.blocks.append(("p", f"Skipped {name}: {why}."))
    return [overview, figs, tables_sec, _parameters_section(data, summaries, definition, defaults),
            Section("Provenance", [("table", None, provenance(data, summaries, command),
                                    "Where the results come from.")])]


def _status_line(data: Data) -> str:
    sweep = sweep_folder(data)
    if sweep is None:
        return ""
    runs = sweep_status(sweep)
    bad = [r for r in runs if r.status != "complete"]
    if not bad:
        return f"The sweep is complete ({len(runs)} runs)."
    counts: dict[str, int] = {}
    for r in bad:
        counts[r.status] = counts.get(r.status, 0) + 1
    return (f"Warning: the sweep is not complete ({', '.join(f'{v} {k}' for k, v in counts.items())} "
            f"of {len(runs)} runs); the results cover the complete runs only "
            f"(python -m sim status {sweep}).")


def _replicates_note(data: Data) -> tuple[str, str] | None:
    """An Overview block on the number of runs per cell (None if 5 or more everywhere)."""
    keys = ["strategy", *data.params]
    per_cell = data.spells.groupby(keys, observed=True, dropna=False)["run_id"].nunique()
    if per_cell.empty:
        return None
    lo, hi = int(per_cell.min()), int(per_cell.max())
    runs = f"{lo}" if lo == hi else f"{lo} to {hi}"
    if lo < 2:
        return ("warn", f"No replicates: {runs} run(s) per strategy and cell. Nothing here is an "
                "interval across runs; the estimates describe one simulated market each, and the "
                "within-run intervals (spells treated as independent) do not measure how much "
                "another market would differ. Run several seeds to compare scenarios.")
    if lo < FEW_RUNS:
        return ("warn", f"Few replicates: {runs} runs per strategy and cell. With fewer than "
                f"{FEW_RUNS} runs the intervals rest on few runs: they are wide and only "
                "approximate (a t interval with 1 degree of freedom for 2 runs), and a "
                "quantity equal in every run has no interval at all.")
    return None


def _estimand(text: str) -> str:
    return f"Estimand: {text}"


def _tables_section(data: Data, out: Path, horizon: float, cox_max_spells: int
                    ) -> tuple[Section, dict]:
    """The Tables section and what the Overview must say about it (``notes``)."""
    sec = Section("Tables")
    notes: list[tuple[str, str]] = []
    rep = _replicates_note(data)
    if rep:
        notes.append(rep)
        sec.blocks.append(rep)
    sec.blocks.append(("p", "Each table is also in tables/ as CSV (numbers) and LaTeX "
                       "(booktabs; needs \\usepackage{booktabs}). Intervals are 95%; `note` says "
                       "when an interval is missing (one run, identical runs) or rests on few runs."))
    tau = min(horizon, data.horizon_weeks)
    made: dict[str, pd.DataFrame] = {}

    def add(name: str, table: pd.DataFrame, text: str) -> None:
        made[name] = table
        if table.empty:
            sec.blocks.append(("p", f"{name}: not applicable to these data."))
            return
        tables.write_table(table, out, name, text)
        sec.blocks.append(("table", name, tables.display(table), text))

    head = tables.headline_table(data, horizon)
    add("headline", head, _estimand(
        f"per strategy, the mean over runs of each run's Kaplan-Meier median weeks to "
        f"re-employment, restricted mean weeks (RMST, horizon {tau:g} weeks) and share "
        "re-employed within 4 weeks, over spells begun in the horizon. 95% t intervals across "
        "runs, formed on the logit scale of each quantity's range so that they stay inside it; "
        "none with one run."))
    if (head["runs"] < 2).any():
        add("within_run", tables.within_run_table(data, horizon), _estimand(
            "the same quantities for the spells of each single run pooled. WITHIN-RUN intervals: "
            "they treat the spells of one simulated market as independent and say nothing about "
            "how another market (seed) would differ; not for comparing scenarios."))
    diff = tables.difference_table(data, horizon=horizon)
    add("difference", diff, _estimand(
        "lions minus everyone, the mean over seeds of the per-seed difference (runs of a seed "
        f"share the market; other swept factors averaged within seed) in RMST (weeks, horizon "
        f"{tau:g}) and in the share re-employed within 4 weeks (percentage points); positive RMST "
        "difference: lions slower. Paired t intervals across seeds within the possible range; "
        "p_holm: Holm across the rows of this table."))
    censored = mechanisms.censor_recalls(data)
    if censored is not data:  # recall hires in the data: the gap without them as well
        add("difference_recall_censored", tables.difference_table(censored, horizon=horizon),
            _estimand(
                "the difference table with every recall hire censored at its week (the time to a "
                "hire through the other channels, had the recall not happened: recalls are "
                "decided by the employer, not by the strategy). Censored rather than dropped: "
                "dropping the recalled spells would remove the spells that end soonest."))
    lr = tables.logrank_table(data)
    cox, cox_note = tables.cox_table(data, cox_max_spells)
    direction = tables.direction_table(data, cox, lr, horizon) if not cox.empty else pd.DataFrame()
    add("direction", direction, _estimand(
        "which strategy each estimate says is re-employed sooner: the difference of mean per-run "
        "medians, the paired RMST difference, the stratified log-rank test (observed minus "
        "expected hires) and the Cox hazard ratio (total effect). `agree` is yes when all that "
        "say anything say the same."))
    if not direction.empty:
        bad = direction[~direction["agree"]]
        if len(bad):
            notes.append(("warn", "The estimates disagree in direction for "
                          f"{', '.join(bad['comparison'].astype(str).unique())}: the KM median, "
                          "RMST difference, log-rank and Cox do not all point the same way (table "
                          "direction). The RMST difference is the headline; with non-proportional "
                          "hazards a single hazard ratio can point the other way." + (
                              " In these comparisons the RMST difference is not distinguishable "
                              "from 0 (paired p >= 0.05 or no replicates): the disagreement may be "
                              "noise." if not (bad["rmst_p"] < 0.05).any() else "")))
        else:
            notes.append(("p", "Direction check: the KM median, RMST difference, stratified "
                          "log-rank test and Cox hazard ratio agree on which strategy is "
                          "re-employed sooner in every comparison (table direction)."))
    add("logrank", lr, _estimand(
        "the hypothesis of equal re-employment hazards across strategies, tested with log-rank "
        "tests stratified by seed (each spell compared only with spells of the same market; the "
        "score test of a Cox model with a baseline hazard per seed). Within a seed spells still "
        "count as independent, so p-values are small with many spells: the difference table is "
        "the run-level comparison. p_holm: Holm across the rows of this table."))
    add("cox", cox, _estimand(
        "the total effect of each strategy on the hazard of re-employment against the reference "
        "strategy (hazard ratio > 1: faster re-employment), adjusted only for ability (fixed "
        "before the strategy acts); network measures such as the degree at the start of the "
        "spell are caused by the strategy and are not adjusted for. One Cox model per seed "
        "(baseline hazard per sector), log hazard ratios averaged across seeds with a t interval "
        "across seeds (runs as the unit). " + cox_note))
    ph = tables.ph_table(data, cox_max_spells) if not cox.empty else pd.DataFrame()
    add("ph_test", ph, _estimand(
        "whether each hazard ratio of the cox table is constant over the weeks of search "
        "(proportional-hazards test on scaled Schoenfeld residuals against Kaplan-Meier time, "
        "lifelines; baseline hazard per seed and sector; spells as independent within seed). "
        "rejected: the single hazard ratio averages effects that change with duration; read the "
        "piecewise table and the RMST difference instead. p_holm: Holm across this table."))
    refs = cox["reference"].dropna().unique() if not cox.empty else []
    pairs = [(s, r) for r in refs for s in data.strategies if s != r]
    pw = pd.concat([tables.piecewise_table(data, a, b) for a, b in pairs], ignore_index=True
                   ) if pairs else pd.DataFrame()
    if not pw.empty:
        pw["p_holm"] = tables.holm(pw["p_value"].to_numpy(float))
    add("piecewise", pw, _estimand(
        "the hazard ratio of re-employment (strategy / reference) within bands of search weeks "
        "(1-4, 5-13, 14-26, 27-52), as the geometric mean over seeds of per-seed ratios of "
        "hires per week searched in the band; no proportional-hazards assumption across bands. "
        "Paired t intervals across seeds; p_holm: Holm across this table."))
    if not ph.empty:
        strat = ph[ph["covariate"].str.startswith("strategy[")]
        rejected = strat[strat["proportional"] == "rejected"]
        if len(rejected):
            notes.append(("warn", "Proportional hazards rejected for "
                          f"{', '.join(rejected['covariate'].unique())} (Holm-adjusted p < 0.05, "
                          "table ph_test): the strategy's hazard ratio changes with the weeks of "
                          "search, so the single Cox hazard ratio is an average over durations. "
                          "Read the piecewise hazard ratios; the RMST difference stays the "
                          "headline."))
        elif len(strat):
            notes.append(("p", "Proportional hazards not rejected for the strategy terms "
                          "(table ph_test); the piecewise table shows the hazard ratio by weeks "
                          "of search."))
    adj, adj_note = tables.cox_adjusted_table(data, cox_max_spells)
    add("cox_adjusted", adj, _estimand(
        "effect not through network size: the strategy's hazard ratio among workers with the "
        "same number of contacts at the start of the spell (log2(1 + degree) and ability "
        "adjusted). The strategy changes the network, so this removes the part of its effect "
        "that works through the number of contacts; it is NOT the strategy's total effect (the "
        "cox table) and can point the other way. Fitted like the cox table. " + adj_note))
    add("channels", tables.channels_table(data), _estimand(
        "per strategy, over the hires ending spells begun in the horizon, the mean over runs of "
        "each run's share of hires by channel (formal application, lead, referral, recall: a hire "
        "back by the last employer that the employer decides, only with recall.enabled), of "
        "hires by the last employer whatever the channel (last_employer), and of "
        "contact hires (lead + referral) through weak ties, by kind (acquaintance or online, not "
        "colleague or supervisor) "
        "and by strength (tie strength at the hire below the run's ties.work_strength, the "
        "strength working together keeps). 95% t intervals across runs on the "
        "logit scale (inside 0-100%); none with one run."))
    return sec, {"notes": notes, "tables": made}


def _parameters_section(data: Data, summaries: list[dict], definition: dict,
                        defaults: Mapping | None) -> Section:
    sec = Section("Parameters")
    if definition:
        lines = [f"sweep folder: {definition['folder']}"]
        if definition.get("experiment"):
            lines.append(f"experiment: configs/experiment/{definition['experiment']}.yaml")
        lines += [f"sweeper: {k}={v}" for k, v in definition["sweeper_params"].items()]
        lines += [f"override: {o}" for o in definition["overrides"]]
        sec.blocks.append(("pre", "\n".join(lines)))
    varied = varied_table(data)
    if not varied.empty:
        sec.blocks.append(("table", None, varied, "What varied across the complete runs."))
    fixed, differing = fixed_config(summaries, set(data.params), defaults)
    if differing:
        sec.blocks.append(("p", "Warning: these settings differ across runs although they were "
                           f"not swept: {', '.join(differing)}."))
    if defaults is None:  # nothing to compare with: the whole fixed configuration, unmarked
        sec.blocks.append(("table", None, fixed[["key", "value"]] if len(fixed) else
                           pd.DataFrame({"key": ["(none)"]}),
                           "Fixed settings of the runs (the defaults were not given to the "
                           "report, so changes from them are not marked)."))
    else:
        changed = fixed[fixed["changed"]] if len(fixed) else fixed
        sec.blocks.append(("table", None, changed.drop(columns="changed") if len(changed) else
                           pd.DataFrame({"key": ["(none)"]}),
                           "Fixed settings that differ from the defaults of configs/config.yaml."))
    strat = strategy_config(summaries)
    if not strat.empty:
        sec.blocks.append(("table", None, strat, "Strategy settings of the runs."))
    if len(fixed) and defaults is not None:
        sec.blocks.append(("details", "The whole fixed configuration", fixed.drop(columns="changed")))
    return sec
