"""``python -m sim report PATH``: a self-contained report of a sweep, a collected
dataset or one run.

The report holds the figures, the tables (each also as CSV and booktabs LaTeX),
the sweep's parameters (what varied, the fixed configuration) and provenance
(package versions, git commit, dates, hosts, the command), in HTML (figures
embedded as base64 PNG: one file to mail or archive) or Markdown (figures linked
as files beside it).

Where it writes: ``PATH/report/`` (or ``--out``) gets ``report.html`` (or
``report.md``), ``tables/*.csv|tex``, ``figures/*.png|pdf`` and a manifest
``.report-files.json`` with the SHA-256 of every file the report wrote. Every file
is first written to a staging folder, then renamed into place. A later report
replaces only files whose content is still what the report wrote: if a file was
edited by hand (or not made by the report), nothing is written and the command
stops with a one-line error naming the file (``--force`` replaces it anyway).
Files the previous report made that the new one does not (e.g. a figure now
skipped) are removed if unedited. Figures come from ``PATH/figures/`` when they
are newer than the data, and are made there (as ``python -m sim plot`` does)
otherwise.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import logging
import os
import re
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd

from analysis import mechanisms, tables
from analysis.data import COLLECTED, SUMMARY, Data, load
from analysis.stats import FEW_RUNS
from sim.results.files import write_text_atomic

log = logging.getLogger(__name__)

MANIFEST = ".report-files.json"
REPORT_PACKAGES = ("lifelines", "matplotlib", "scipy", "pandas", "numpy")
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


class ReportError(Exception):
    """The report cannot be made; the message is one line."""


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


# ---------------------------------------------------------------------------- figures


def _data_mtime(data: Data) -> float:
    files = [data.root / COLLECTED / "spells.parquet", data.root / "spells.parquet",
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
        from analysis.figures import make_figures

        make_figures(data, fig_dir, size=size, horizon=horizon, skipped=skipped)
        pngs = sorted(fig_dir.glob("*.png"))
    return pngs


def caption(name: str, extra: dict[str, str] | None = None) -> str:
    """The caption of a figure file stem: ``extra`` captions first, then
    ``analysis.figures.CAPTIONS`` if the figures module defines it (it knows its
    bands), then :data:`CAPTIONS`."""
    import analysis.figures as figures_module

    own = getattr(figures_module, "CAPTIONS", None) or {}
    for table in (extra or {}, own, CAPTIONS):
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


# ---------------------------------------------------------------------------- parameters


def flatten(d: dict, prefix: str = "") -> dict[str, object]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out: dict[str, object] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _summaries(data: Data) -> list[dict]:
    out = []
    for run_id, folder in data.run_folders.items():
        try:
            out.append({"run_id": run_id, **json.loads((folder / SUMMARY).read_text())})
        except (OSError, ValueError) as e:
            log.warning("%s: summary unreadable: %s", folder, e)
    return out


def _sweep_dir(data: Data) -> Path | None:
    for p in (data.root, data.root.parent):
        if (p / "multirun.yaml").is_file():
            return p
    return None


def sweep_definition(data: Data) -> dict:
    """What the sweep asked for: ``experiment``, ``sweeper_params`` and the
    command-line ``overrides`` (from ``multirun.yaml``; empty for a single run)."""
    sweep = _sweep_dir(data)
    if sweep is None:
        return {}
    import yaml

    cfg = yaml.safe_load((sweep / "multirun.yaml").read_text()) or {}
    hydra = cfg.get("hydra", {})
    overrides = list(hydra.get("overrides", {}).get("task", []) or [])
    exp = next((o.split("=", 1)[1] for o in overrides if o.lstrip("+").startswith("experiment=")),
               None)
    return {"experiment": exp, "sweeper_params": dict(hydra.get("sweeper", {}).get("params") or {}),
            "overrides": overrides, "folder": str(sweep)}


def varied_table(data: Data) -> pd.DataFrame:
    """One row per parameter that varies across the complete runs (seed and
    strategy mix included): its values and how many runs took each."""
    runs = data.runs
    rows = []
    for col in ["strategy_mix", *data.params, "seed"]:
        if col not in runs or runs[col].nunique(dropna=False) < 2:
            continue
        counts = runs[col].value_counts(dropna=False).sort_index()
        values = ", ".join(f"{_short(v)}" for v in counts.index)
        if col == "seed" and len(counts) > 6:
            values = f"{len(counts)} seeds: {_short(min(counts.index))} .. {_short(max(counts.index))}"
        rows.append({"parameter": "+strategy" if col == "strategy_mix" else col,
                     "values": values, "runs per value": "/".join(sorted({str(c) for c in counts}))})
    return pd.DataFrame(rows, columns=["parameter", "values", "runs per value"])


def varied_parameters(data: Data) -> list[str]:
    """Names of the parameters that vary across the complete runs, as listed in the
    Parameters section (``+strategy``, swept parameters, ``seed``): the one
    definition of "varied" used everywhere in the report."""
    return list(varied_table(data)["parameter"])


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def fixed_config(summaries: list[dict], varied: set[str]) -> tuple[pd.DataFrame, list[str]]:
    """The configuration shared by the runs, against the defaults.

    Args:
        summaries: the runs' ``summary.json`` contents.
        varied: keys that vary by design (left out).

    Returns:
        ``(table, differing)``: rows ``key``, ``value``, ``default``, ``changed``
        (non-default values first), and keys that differ across runs although not
        swept (should be empty).
    """
    from sim.core.config import build_config, to_dict

    if not summaries:
        return pd.DataFrame(columns=["key", "value", "default", "changed"]), []
    flat = [flatten(s.get("config", {})) for s in summaries]
    defaults = flatten(to_dict(build_config({})))
    keys = sorted(set().union(*flat))
    rows, differing = [], []
    for k in keys:
        if k in varied or k == "seed" or k.startswith("strategy."):
            continue
        values = {json.dumps(f.get(k), sort_keys=True, default=str) for f in flat}
        if len(values) > 1:
            differing.append(k)
            continue
        v = flat[0].get(k)
        d = defaults.get(k, "-")
        rows.append({"key": k, "value": _short(v), "default": _short(d), "changed": v != d})
    df = pd.DataFrame(rows).sort_values(["changed", "key"], ascending=[False, True],
                                        ignore_index=True)
    return df, differing


def strategy_config(summaries: list[dict]) -> pd.DataFrame:
    """Strategy settings of the runs (shares, assignment, parameters), one row per
    distinct setting with the number of runs."""
    counts: dict[str, int] = {}
    for s in summaries:
        strat = flatten(s.get("config", {}).get("strategy", {}))
        text = ", ".join(f"{k}={_short(v)}" for k, v in sorted(strat.items()))
        counts[text] = counts.get(text, 0) + 1
    return pd.DataFrame([{"strategy settings": k, "runs": v} for k, v in counts.items()])


# ---------------------------------------------------------------------------- provenance


def _command(argv: list[str] | None) -> str:
    if not argv:
        return "-"
    head = "python -m sim run" if str(argv[0]).endswith(" run") else shlex.quote(str(argv[0]))
    return " ".join([head, *(shlex.quote(str(a)) for a in argv[1:])])


def provenance(data: Data, summaries: list[dict], command: str | None) -> pd.DataFrame:
    """Where the results come from: versions, git, dates, hosts, commands, wall time.

    Args:
        data: loaded outputs.
        summaries: the runs' ``summary.json`` contents.
        command: the command that made the report (None if unknown).

    Returns:
        Rows ``item``, ``value``.
    """
    rows = [("source", str(data.root)), ("runs complete", f"{len(data.runs)}")]
    if summaries:
        starts = sorted(s.get("started_utc", "") for s in summaries if s.get("started_utc"))
        if starts:
            rows.append(("runs started (UTC)", f"{starts[0]} .. {starts[-1]}"
                         if starts[0] != starts[-1] else starts[0]))
        hosts = sorted({s.get("host") or "-" for s in summaries})
        rows.append(("hosts", ", ".join(hosts[:5]) + (f" (+{len(hosts) - 5})" if len(hosts) > 5
                                                      else "")))
        gits = sorted({(g or {}).get("commit", "-") + (" (uncommitted changes)" if (g or {}).get(
            "dirty") else "") for g in (s.get("git") for s in summaries)})
        rows.append(("git commit" if len(gits) == 1 else "git commits (differ!)", "; ".join(gits)))
        versions: dict[str, set] = {}
        for s in summaries:
            for k, v in (s.get("versions") or {}).items():
                versions.setdefault(k, set()).add(str(v))
        for k, vs in versions.items():
            rows.append((f"{k} version", ", ".join(sorted(vs)) + (" (differ!)" if len(vs) > 1
                                                                   else "")))
        wall = [s.get("wall_time_s") or 0.0 for s in summaries]
        rows.append(("model wall time", f"{sum(wall):,.0f} s in total, {sum(wall) / len(wall):,.1f}"
                     f" s per run on average, longest {max(wall):,.1f} s"))
        commands = sorted({_command(s.get("argv")) for s in summaries})
        rows.append(("run command" if len(commands) == 1 else "run commands",
                     "\n".join(commands[:5])))
    for pkg in REPORT_PACKAGES:
        try:
            rows.append((f"{pkg} (report)", metadata.version(pkg)))
        except metadata.PackageNotFoundError:
            pass
    rows.append(("report made (UTC)", datetime.now(UTC).isoformat(timespec="seconds")))
    if command:
        rows.append(("report command", command))
    return pd.DataFrame(rows, columns=["item", "value"])


# ---------------------------------------------------------------------------- build


def build_sections(data: Data, png: list[Path], staging: Path, *, horizon: float,
                   command: str | None, skipped: dict[str, str] | None = None,
                   intro: str | None = None, captions: dict[str, str] | None = None,
                   first: tuple[str, ...] = (), cox_max_spells: int = tables.COX_MAX_SPELLS
                   ) -> list[Section]:
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

    Returns:
        The sections.
    """
    summaries = _summaries(data)
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
    return [overview, figs, tables_sec, _parameters_section(data, summaries, definition),
            Section("Provenance", [("table", None, provenance(data, summaries, command),
                                    "Where the results come from.")])]


def _status_line(data: Data) -> str:
    sweep = _sweep_dir(data)
    if sweep is None:
        return ""
    from sim.results.folders import sweep_status

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


def _parameters_section(data: Data, summaries: list[dict], definition: dict) -> Section:
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
    fixed, differing = fixed_config(summaries, set(data.params))
    if differing:
        sec.blocks.append(("p", "Warning: these settings differ across runs although they were "
                           f"not swept: {', '.join(differing)}."))
    changed = fixed[fixed["changed"]] if len(fixed) else fixed
    sec.blocks.append(("table", None, changed.drop(columns="changed") if len(changed) else
                       pd.DataFrame({"key": ["(none)"]}),
                       "Fixed settings that differ from the defaults of configs/config.yaml."))
    strat = strategy_config(summaries)
    if not strat.empty:
        sec.blocks.append(("table", None, strat, "Strategy settings of the runs."))
    if len(fixed):
        sec.blocks.append(("details", "The whole fixed configuration", fixed.drop(columns="changed")))
    return sec


# ---------------------------------------------------------------------------- render


CSS = """body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.4}table{border-collapse:collapse;margin:.5em 0 1.5em;
font-size:.85em}th,td{border-bottom:1px solid #ccc;padding:.2em .6em;text-align:left;
vertical-align:top}th{border-bottom:2px solid #444}caption{caption-side:top;text-align:left;
font-size:.95em;padding:.3em 0;color:#444}figure{margin:1em 0 2em}figcaption{font-size:.9em;
color:#444;max-width:760px}pre{background:#f5f5f5;padding:.6em;overflow-x:auto;font-size:.85em}
td{white-space:pre-wrap}.warn{background:#fff3cd;border-left:4px solid #d39e00;padding:.4em .6em}"""


def _png_width(path: Path) -> int:
    head = path.read_bytes()[16:20]
    return int.from_bytes(head, "big") if len(head) == 4 else 1000


def render_html(title: str, sections: list[Section]) -> str:
    """A single HTML file: inline CSS, figures as base64 PNG, no external resource."""
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
           f"<h1>{html.escape(title)}</h1>"]
    for sec in sections:
        out.append(f"<h2>{html.escape(sec.title)}</h2>")
        for block in sec.blocks:
            out.append(_html_block(block))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_block(block) -> str:
    kind = block[0]
    if kind == "p":
        return f"<p>{html.escape(block[1])}</p>"
    if kind == "warn":
        return f'<p class="warn"><strong>Warning:</strong> {html.escape(block[1])}</p>'
    if kind == "pre":
        return f"<pre>{html.escape(block[1])}</pre>"
    if kind == "figure":
        path, cap = block[1], block[2]
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        width = round(_png_width(path) / 300 * 110)  # 300 dpi files shown at ~110 px/in
        return (f'<figure><img alt="{html.escape(path.stem)}" style="max-width:100%;width:{width}px" '
                f'src="data:image/png;base64,{data}"><figcaption><b>{html.escape(path.stem)}</b>: '
                f"{html.escape(cap)}</figcaption></figure>")
    if kind == "table":
        name, df, cap = block[1], block[2], block[3]
        table = df.to_html(index=False, escape=True, border=0, na_rep="-")
        label = f"<b>{html.escape(name)}</b>: " if name else ""
        files = (f" (tables/{html.escape(name)}.csv, tables/{html.escape(name)}.tex)"
                 if name else "")
        return _html_table(table, label, cap, files)
    if kind == "details":
        table = block[2].to_html(index=False, escape=True, border=0, na_rep="-")
        return f"<details><summary>{html.escape(block[1])}</summary>{table}</details>"
    raise ValueError(kind)


def _html_table(table: str, label: str, cap: str, files: str) -> str:
    head, rest = table.split(">", 1)
    return f"{head}><caption>{label}{html.escape(cap)}{files}</caption>{rest}"


def _md_cell(v) -> str:
    return str(v).replace("|", "\\|").replace("\n", "<br>")


def md_table(df: pd.DataFrame) -> str:
    """A pipe table (GitHub-flavoured Markdown)."""
    cols = [_md_cell(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_md_cell("-" if pd.isna(v) else v) if not isinstance(
            v, (list, dict)) else _md_cell(v) for v in row) + " |")
    return "\n".join(lines)


def render_markdown(title: str, sections: list[Section], base: Path) -> str:
    """Markdown with the figures as relative links (``figures/<name>.png``)."""
    out = [f"# {title}", ""]
    for sec in sections:
        out += [f"## {sec.title}", ""]
        for block in sec.blocks:
            kind = block[0]
            if kind == "p":
                out += [block[1], ""]
            elif kind == "warn":
                out += [f"> **Warning:** {block[1]}", ""]
            elif kind == "pre":
                out += ["```", block[1], "```", ""]
            elif kind == "figure":
                rel = block[1].relative_to(base).as_posix()
                out += [f"![{block[1].stem}]({rel})", "", f"*{block[1].stem}*: {block[2]}", ""]
            elif kind == "table":
                name, df, cap = block[1], block[2], block[3]
                files = f" ([csv](tables/{name}.csv), [tex](tables/{name}.tex))" if name else ""
                label = f"**{name}**: " if name else ""
                out += [f"{label}{cap}{files}", "", md_table(df), ""]
            elif kind == "details":
                out += [f"<details><summary>{block[1]}</summary>", "", md_table(block[2]), "",
                        "</details>", ""]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------- publish


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(out: Path) -> dict[str, str]:
    try:
        return json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def publish(staging: Path, out: Path, force: bool = False) -> list[Path]:
    """Move the staged files into ``out``, never replacing a file the report did not
    write (or that was edited since) unless ``force``.

    Raises:
        ReportError: a file would be replaced that is not the report's own; nothing
            is moved.

    Returns:
        The paths written.
    """
    old = _manifest(out)
    files = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
    if not force:
        for rel in files:
            dest = out / rel
            if dest.exists() and (rel not in old or _sha(dest) != old[rel]):
                why = "edited since the report wrote it" if rel in old else "not written by the report"
                raise ReportError(f"{dest}: {why}; not overwritten (use --out DIR, or --force "
                                  "to replace it)")
    new = {rel: _sha(staging / rel) for rel in files}
    written = []
    for rel in files:
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, dest)
        written.append(dest)
    for rel, digest in old.items():  # files of the previous report that this one did not make
        dest = out / rel
        if rel not in new and dest.is_file() and _sha(dest) == digest:
            dest.unlink()
    write_text_atomic(out / MANIFEST, json.dumps(new, indent=1, sort_keys=True) + "\n")
    return written


def write_report(data: Data, out: Path, fmt: str = "html", *, title: str | None = None,
                 figures: Path | None = None, size: str = "one", horizon: float = 52.0,
                 force: bool = False, command: str | None = None,
                 skipped: dict[str, str] | None = None, intro: str | None = None,
                 captions: dict[str, str] | None = None, first: tuple[str, ...] = (),
                 cox_max_spells: int = tables.COX_MAX_SPELLS) -> Path:
    """Make the report of ``data`` in ``out`` (see the module docstring).

    Args:
        data: loaded outputs.
        out: report folder.
        fmt: ``"html"`` or ``"md"``.
        title: the report's title (default from the folder name).
        figures: the figures folder (default ``<root>/figures``; made if missing or stale).
        size: column width of figures made here.
        horizon: RMST horizon in weeks.
        force: replace files even if edited by hand.
        command: the command line, for provenance.
        skipped: figures skipped, with why (when the caller made the figures).
        intro: a first paragraph (e.g. an experiment's question).
        captions: extra figure captions by file stem.
        first: figure stems shown first.
        cox_max_spells: spells per Cox model.

    Returns:
        The report file.

    Raises:
        ReportError: a file to replace was edited or not made by the report.
    """
    if fmt not in ("html", "md"):
        raise ValueError("fmt must be 'html' or 'md'")
    out = Path(out)
    fig_dir = Path(figures) if figures else data.root / "figures"
    made_skips: dict[str, str] = {}
    png = ensure_figures(data, fig_dir, size, horizon, made_skips)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        sections = build_sections(data, png, staging, horizon=horizon, command=command,
                                  skipped={**made_skips, **(skipped or {})}, intro=intro,
                                  captions=captions, first=first, cox_max_spells=cox_max_spells)
        title = title or f"Report: {data.root.name}"
        name = f"report.{fmt}"
        text = (render_html(title, sections) if fmt == "html"
                else render_markdown(title, sections, staging))
        (staging / name).write_text(text)
        publish(staging, out, force)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / name


# ---------------------------------------------------------------------------- command


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def _load(path: Path) -> Data:
    if not path.exists():
        _fail(f"{path}: no such file or folder")
    try:
        return load(path)
    except (FileNotFoundError, ValueError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        reason = reason.split(": ", 1)[1] if reason.startswith(str(path)) else reason
        _fail(f"{path}: {reason}")
    raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> None:
    """``python -m sim report PATH [--out DIR] [--format html|md] ...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m sim report",
        description="A self-contained report (figures, tables also as CSV and LaTeX, the "
                    "sweep's parameters, provenance) of a sweep folder, its collected/ folder "
                    "or one run folder. Replaces only files it made itself.")
    parser.add_argument("path", help="a sweep folder, its collected/ folder, or one run folder")
    parser.add_argument("--out", help="report folder (default: PATH/report)")
    parser.add_argument("--format", choices=("html", "md"), default="html",
                        help="html: one file with the figures embedded (default); md: Markdown "
                        "with the figures as files beside it")
    parser.add_argument("--size", choices=("one", "two"), default="one",
                        help="column width of figures made for the report (default: one)")
    parser.add_argument("--horizon", type=float, default=52.0,
                        help="RMST horizon in weeks (default: 52)")
    parser.add_argument("--cox-max-spells", type=int, default=tables.COX_MAX_SPELLS,
                        help=f"spells per Cox model; bigger cells use their lowest seeds "
                        f"(default: {tables.COX_MAX_SPELLS:,})")
    parser.add_argument("--force", action="store_true",
                        help="replace report files even if they were edited by hand")
    args = parser.parse_args(argv)
    # messages such as the RMST horizon clipping are stated in the report itself
    logging.getLogger("analysis").setLevel(logging.ERROR)
    path = Path(args.path)
    data = _load(path)
    out = Path(args.out) if args.out else path / "report"
    command = " ".join(["python -m sim report", *(shlex.quote(a) for a in argv)])
    from experiments import for_sweep

    exp = for_sweep(sweep_definition(data).get("experiment"))
    try:
        report = write_report(data, out, args.format, size=args.size, horizon=args.horizon,
                              force=args.force, command=command, cox_max_spells=args.cox_max_spells,
                              title=exp.title if exp else None,
                              intro=exp.intro() if exp else None,
                              captions=exp.captions if exp else None,
                              first=tuple(exp.captions) if exp else ())
    except ReportError as e:
        _fail(str(e))
    print(f"report: {report}")
