"""Load simulation outputs (a sweep, a collected dataset or one run) for analysis.

The data contract is the one in README "Outputs" and "Sweeps": a run folder holds
``spells.parquet``, ``timeseries.parquet``, ``summary.json`` (and ``ties.parquet``
with ``output.ties=true``); ``python -m sim collect`` writes
``<sweep>/collected/spells.parquet`` (with ``run_id`` and the swept parameters as
columns) and ``runs.parquet``. :func:`load` accepts any of the three and returns a
:class:`Data` object with the same shape in every case, so the analysis code does
not care whether it looks at one run or a thousand.

Spells already running at week 0 (``left_truncated``) began during the burn-in;
:attr:`Data.spells` leaves them out (the duration analyses use a flow sample of
spells that start in the horizon, the basis of every headline count and share),
:attr:`Data.all_spells` keeps them (for the state at the end of a run, e.g. who
is unemployed in the final week).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.results.contract import (
    CHANNELS,
    COLLECTED,
    SPELL_COLUMNS,
    SPELLS,
    SUMMARY,
    TIE_KINDS,
    TIMESERIES,
)
from sim.results.files import verify_run
from sim.results.folders import collect, summary_row

log = logging.getLogger(__name__)

#: Preferred display order of strategies (others follow, sorted).
STRATEGY_ORDER = ("passive", "everyone", "lions", "broadcast")
#: Swept keys that are not experimental factors: ``seed`` indexes replicates,
#: ``strategy`` is a spell column (the worker's strategy), ``output.*`` and Hydra
#: keys do not change results.
NOT_FACTORS = ("seed", "strategy", "experiment")
NOT_FACTOR_PREFIXES = ("output.", "hydra")


@dataclass
class Data:
    """Simulation outputs ready for analysis.

    Attributes:
        kind: ``"sweep"`` or ``"run"``.
        root: the sweep folder (or collected folder if its sweep is gone) or the run folder.
        all_spells: every spell, ``left_truncated`` ones included, with ``run_id``,
            ``seed`` and the swept parameters as columns; ``strategy``, ``channel``
            and ``tie_kind`` are categoricals in a fixed order.
        runs: one row per run (``run_id``, ``status``, parameters, ``seed``,
            ``strategy_mix`` = the run's ``+strategy`` group, headline metrics,
            ``weeks``, ``n_workers`` and ``share.<strategy>`` from the run's config
            when its folder is readable).
        params: swept parameters (spell/run columns) that take more than one value
            across the complete runs, other than ``seed`` and ``strategy``.
        run_folders: run id -> run folder, for the runs whose folder exists.
    """

    kind: str
    root: Path
    all_spells: pd.DataFrame
    runs: pd.DataFrame
    params: list[str]
    run_folders: dict[str, Path] = field(default_factory=dict)

    @cached_property
    def spells(self) -> pd.DataFrame:
        """Spells for duration analyses: those that start in the horizon
        (``left_truncated`` spells left out). Computed once: do not modify
        :attr:`all_spells` in place afterwards."""
        return self.all_spells[~self.all_spells["left_truncated"]]

    @property
    def strategies(self) -> list[str]:
        """Strategies that have at least one spell, in display order."""
        present = set(self.all_spells["strategy"].dropna().astype(str))
        return [s for s in self.all_spells["strategy"].cat.categories if s in present]

    @property
    def horizon_weeks(self) -> int:
        """Longest duration any spell of the data could have (``weeks - 1`` of the
        shortest run), or the longest observed duration when ``weeks`` is unknown."""
        if "weeks" in self.runs and self.runs["weeks"].notna().any():
            return int(self.runs["weeks"].min()) - 1
        return int(self.spells["duration_weeks"].max())

    @cached_property
    def timeseries(self) -> pd.DataFrame | None:
        """Weekly series of every run, concatenated, with ``run_id``, ``seed``,
        ``strategy_mix`` and the parameters as columns; None if no run folder is readable."""

        # read and joined in Arrow, the run's columns added once (10,000 runs: 26 s in pandas)
        tables, ids = [], []
        for run_id, folder in self.run_folders.items():
            f = folder / TIMESERIES
            if f.is_file():
                tables.append(pq.read_table(f, use_threads=False).replace_schema_metadata(None))
                ids.append(run_id)
        if not tables:
            log.info("no timeseries.parquet readable under %s", self.root)
            return None
        ts = pa.concat_tables(tables, promote_options="default").to_pandas()
        which = np.repeat(np.arange(len(ids)), [t.num_rows for t in tables])
        ts.insert(0, "run_id", np.asarray(ids, dtype=object)[which])
        info = self.runs.set_index("run_id")
        cols = [c for c in ("seed", "strategy_mix", *self.params) if c in info.columns]
        for i, c in enumerate(cols):
            ts.insert(1 + i, c, info[c].reindex(ids).to_numpy()[which])
        return ts

    def ties(self, run_id: str) -> pd.DataFrame | None:
        """The ties at the end of run ``run_id`` (``ties.parquet``), or None if the run
        was made without ``output.ties=true`` or its folder is not available."""
        folder = self.run_folders.get(run_id)
        if folder is None or not (folder / "ties.parquet").is_file():
            return None
        return pd.read_parquet(folder / "ties.parquet")

    def run_value(self, run_id: str, column: str, default=None):
        """One value of :attr:`runs` (``default`` if absent or missing)."""
        row = self.runs.loc[self.runs["run_id"] == run_id]
        if column not in row or row.empty or pd.isna(row[column].iloc[0]):
            return default
        return row[column].iloc[0]


# ---------------------------------------------------------------------------- loading


def load(path: str | Path, recollect: bool = False) -> Data:
    """Load a sweep folder, a collected folder or a single run folder.

    Args:
        path: a sweep folder (its ``collected/`` dataset is used; it is made with
            :func:`sim.results.folders.collect` first if missing), a collected folder
            (``spells.parquet`` + ``runs.parquet``), or one run folder (with
            ``summary.json``).
        recollect: collect the sweep again even if ``collected/`` exists (e.g.
            after more runs finished).

    Returns:
        A :class:`Data` object.

    Raises:
        FileNotFoundError: ``path`` is none of the above (nothing is written).
        ValueError: an incomplete run folder, or a sweep with no complete run
            (checked before collecting: nothing is written).
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: not a sweep, collected or run folder")
    if (path / SUMMARY).is_file():
        if not (path / SPELLS).is_file():
            raise ValueError(f"{path}: a run folder without spells.parquet")
        return _load_run(path)
    if (path / "runs.parquet").is_file() and not (path / COLLECTED).exists():
        return _load_collected(path, path.parent)
    if (path / ".hydra").is_dir() or any(path.glob("lease.*.json")):
        raise ValueError(f"{path}: an incomplete run (no summary.json)")
    runs_below = [p.parent for p in path.rglob(".hydra") if p.is_dir() and COLLECTED not in
                  p.relative_to(path).parts]
    if (path / "multirun.yaml").is_file() or (path / COLLECTED).is_dir() or runs_below:
        if recollect or not (path / COLLECTED / "runs.parquet").is_file():
            if not any((p / SUMMARY).is_file() for p in runs_below):
                # checked before collect writes anything: nothing is left behind
                raise ValueError(f"{path}: no complete run to analyse "
                                 f"({len(runs_below)} run folders, none with summary.json)")

            res = collect(path)
            log.info("collected %s: %s", path, res["by_status"])
            for p in res["problems"]:
                log.warning("not collected: %s", p)
        return _load_collected(path / COLLECTED, path)
    raise FileNotFoundError(f"{path}: not a sweep, collected or run folder")


def _load_run(folder: Path) -> Data:
    problem = verify_run(folder)  # the same check as collect: never analyse a corrupt run
    if problem is not None:
        raise ValueError(f"{folder}: a corrupt run ({problem}); run its sweep again to redo it")
    summary = json.loads((folder / SUMMARY).read_text())
    spells = pd.read_parquet(folder / SPELLS)
    run_id = folder.name
    spells.insert(0, "run_id", run_id)
    spells.insert(1, "seed", summary.get("seed"))
    row = {"run_id": run_id, "status": "complete", "error": None, **_summary_row(summary)}
    runs = pd.DataFrame([row])
    return Data("run", folder, _normalise(spells), runs, [], {run_id: folder})


def _load_collected(collected: Path, sweep: Path) -> Data:
    runs = pd.read_parquet(collected / "runs.parquet")
    if not (collected / SPELLS).is_file():
        raise ValueError(f"{collected}: no complete run was collected "
                         f"(status: {runs['status'].value_counts().to_dict()})")
    spells = pd.read_parquet(collected / SPELLS)
    swept = [c for c in spells.columns if c not in SPELL_COLUMNS and c != "run_id"]
    complete = runs[runs["status"] == "complete"].copy()
    if "seed" not in spells.columns:  # seed not swept: take each run's seed from its summary
        spells.insert(1, "seed", spells["run_id"].map(complete.set_index("run_id")["seed"]))
    folders = {}
    extra = []
    for run_id in complete["run_id"]:
        folder = sweep / run_id
        if (folder / SUMMARY).is_file():
            folders[run_id] = folder
            extra.append({"run_id": run_id, **_config_row(json.loads((folder / SUMMARY).read_text()))})
    if extra:
        extra_df = pd.DataFrame(extra)
        new = [c for c in extra_df.columns if c == "run_id" or c not in complete.columns]
        complete = complete.merge(extra_df[new], on="run_id", how="left")
    else:
        log.info("run folders of %s not found: no timeseries, ties or config", collected)
    if "strategy" in complete and "strategy_mix" in complete:
        complete["strategy_mix"] = complete["strategy_mix"].fillna(complete["strategy"])
    params = [c for c in swept if _is_factor(c) and complete[c].nunique(dropna=False) > 1]
    return Data("sweep", sweep if folders else collected, _normalise(spells), complete, params,
                folders)


def _is_factor(col: str) -> bool:
    return col not in NOT_FACTORS and not col.startswith(NOT_FACTOR_PREFIXES)


def _summary_row(summary: dict) -> dict:
    """Run-level columns from a summary.json (as in ``runs.parquet``, plus config)."""
    row = summary_row(summary)
    row.update(_config_row(summary))
    return row


def _config_row(summary: dict) -> dict:
    """``weeks``, ``n_workers``, ``burn_in`` and ``share.<strategy>`` of a run's config."""
    cfg = summary.get("config", {})
    row = {k: cfg.get(k) for k in ("weeks", "n_workers", "burn_in")}
    for s, share in (cfg.get("strategy", {}).get("shares") or {}).items():
        row[f"share.{s}"] = share
    return row


def _ordered(values, preferred) -> list[str]:
    present = sorted({str(v) for v in values if pd.notna(v)})
    return [s for s in preferred if s in present] + [s for s in present if s not in preferred]


def _normalise(spells: pd.DataFrame) -> pd.DataFrame:
    """Categorical ``strategy``/``channel``/``tie_kind`` in a fixed order (a single
    run stores categoricals, a collected dataset strings)."""
    spells = spells.copy()
    strat = spells["strategy"].astype("string")
    spells["strategy"] = pd.Categorical(strat, categories=_ordered(strat.unique(), STRATEGY_ORDER))
    spells["channel"] = pd.Categorical(spells["channel"].astype("string"), categories=CHANNELS)
    spells["tie_kind"] = pd.Categorical(spells["tie_kind"].astype("string"), categories=TIE_KINDS)
    return spells.reset_index(drop=True)
