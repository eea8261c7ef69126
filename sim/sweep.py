"""Sweeps: the runs a sweep folder should hold, their status, and collection.

Hydra does the sweeping (``python -m sim run -m ...``, any launcher). Each run
gets a folder named after its overrides (``hydra.job.override_dirname``), a
stable id that does not depend on the job number, so running the same command
again skips the complete runs and redoes the others. This module reads a sweep
folder back:

- :func:`expected_runs` expands the sweep recorded in ``multirun.yaml`` into the
  run ids it should produce (the same way Hydra's basic sweeper does);
- :func:`sweep_status` classifies each run: complete, failed, incomplete, missing;
- :func:`collect` writes one tidy dataset for the sweep, streaming run by run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sim.runner import SUMMARY

ERROR = "error.json"
ROW_GROUP = 500_000  # spells per Parquet row group when collecting (bounds memory)
COLLECTED = "collected"
log = logging.getLogger(__name__)


@dataclass
class RunInfo:
    """One run of a sweep, as found on disk."""

    run_id: str
    folder: Path
    status: str  # complete | failed | incomplete | missing | corrupt
    overrides: list[str] = field(default_factory=list)
    error: str | None = None


def _override_settings(cfg) -> tuple[list[str], str, str]:
    od = cfg.hydra.job.config.override_dirname
    return list(od.exclude_keys), od.item_sep, od.kv_sep


def expected_runs(sweep_dir: str | Path) -> dict[str, list[str]] | None:
    """Run id -> job overrides, for the sweep recorded in ``multirun.yaml``.

    Returns None when the folder has no ``multirun.yaml`` (not a Hydra sweep).
    """
    from hydra._internal.config_loader_impl import get_overrides_dirname
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    path = Path(sweep_dir) / "multirun.yaml"
    if not path.is_file():
        return None
    cfg = OmegaConf.load(path)
    params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
    args = [f"{k}={v}" for k, v in params.items()] + list(cfg.hydra.overrides.task)
    parser = OverridesParser.create()
    batches = BasicSweeper.split_arguments(parser.parse_overrides(args), None)[0]
    exclude, item_sep, kv_sep = _override_settings(cfg)
    out = {}
    for job in batches:
        run_id = get_overrides_dirname(parser.parse_overrides(job), exclude_keys=exclude,
                                       item_sep=item_sep, kv_sep=kv_sep)
        out[run_id] = job
    return out


def _run_overrides(folder: Path) -> list[str]:
    f = folder / ".hydra" / "overrides.yaml"
    if f.is_file():
        try:
            return list(yaml.safe_load(f.read_text()) or [])
        except yaml.YAMLError:
            return []
    return []


def _error_text(folder: Path) -> str:
    try:
        err = json.loads((folder / ERROR).read_text())
        return f"{err.get('type', 'Error')}: {err.get('message', '')}"
    except (OSError, ValueError):
        return "error.json unreadable"


def _classify(folder: Path) -> tuple[str, str | None]:
    if not folder.is_dir():
        return "missing", None
    if (folder / SUMMARY).is_file():
        try:
            json.loads((folder / SUMMARY).read_text())
        except (OSError, ValueError) as e:
            return "corrupt", f"summary.json unreadable: {e}"
        if (folder / ERROR).is_file():  # complete, but of another configuration (cli.StaleRun)
            return "failed", _error_text(folder)
        return "complete", None
    if (folder / ERROR).is_file():
        return "failed", _error_text(folder)
    return "incomplete", None


def _discover(sweep_dir: Path) -> Iterator[Path]:
    """Run folders under a sweep folder that has no multirun.yaml."""
    for p in sorted(sweep_dir.rglob(".hydra")):
        if p.is_dir() and COLLECTED not in p.parts:
            yield p.parent


def sweep_status(sweep_dir: str | Path) -> list[RunInfo]:
    """Status of every run of the sweep (expected ones included when known)."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"{sweep_dir}: no such sweep folder")
    expected = expected_runs(sweep_dir)
    runs = []
    if expected is not None:
        for run_id, job in expected.items():
            folder = sweep_dir / run_id
            status, err = _classify(folder)
            runs.append(RunInfo(run_id, folder, status, job, err))
        known = {r.folder.resolve() for r in runs}
        extra = [p for p in _discover(sweep_dir) if p.resolve() not in known]
    else:
        extra = list(_discover(sweep_dir))
    for folder in extra:  # runs of an earlier version of the sweep, or a plain folder
        status, err = _classify(folder)
        runs.append(RunInfo(str(folder.relative_to(sweep_dir)), folder, status,
                            _run_overrides(folder), err))
    return runs


def format_status(runs: list[RunInfo], sweep_dir: str | Path) -> str:
    """A short report: counts by status, then the failed, incomplete and missing runs."""
    counts: dict[str, int] = {}
    for r in runs:
        counts[r.status] = counts.get(r.status, 0) + 1
    order = ("complete", "failed", "incomplete", "corrupt", "missing")
    head = ", ".join(f"{counts.get(s, 0)} {s}" for s in order if counts.get(s, 0) or s in
                     ("complete", "failed", "missing"))
    lines = [f"sweep {sweep_dir}: {len(runs)} runs: {head}"]
    for status in ("failed", "corrupt", "incomplete", "missing"):
        bad = [r for r in runs if r.status == status]
        for r in bad[:50]:
            detail = f": {r.error}" if r.error else ""
            lines.append(f"  {status:<10} {r.run_id or '(sweep folder)'}{detail}")
        if len(bad) > 50:
            lines.append(f"  ... and {len(bad) - 50} more {status}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- collect


def parse_overrides(overrides: list[str]) -> dict[str, object]:
    """``["+strategy=lions", "seed=3"]`` -> ``{"strategy": "lions", "seed": 3}``."""
    out = {}
    for o in overrides:
        if "=" not in o or o.startswith("~"):
            continue
        key, value = o.split("=", 1)
        key = key.lstrip("+")
        try:
            out[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            out[key] = value
        if isinstance(out[key], (dict, list)):
            out[key] = value
    return out


def summary_row(summary: dict) -> dict:
    """Run-level columns of ``runs.parquet`` from a run's ``summary.json``: seed,
    strategy mix, wall time, headline metrics as ``<metric>.<strategy>``, market means."""
    row = {"seed": summary.get("seed"), "strategy_mix": summary.get("strategy"),
           "wall_time_s": summary.get("wall_time_s")}
    for group, m in summary.get("metrics", {}).items():
        for k, v in m.items():
            row[f"{k}.{group}"] = v
    for k, v in summary.get("market", {}).items():
        row[k] = v
    return row


def collect(sweep_dir: str | Path, out_dir: str | Path | None = None,
            progress: bool = False) -> dict:
    """Write one tidy dataset for a sweep, reading one run at a time.

    Writes ``<out_dir>/spells.parquet`` (every spell of every complete run, with
    ``run_id`` and the run's swept parameters as columns) and
    ``<out_dir>/runs.parquet`` (one row per run: parameters, status, error,
    seed, headline metrics). ``out_dir`` defaults to ``<sweep_dir>/collected``.
    Both files are written under temporary names and renamed at the end.

    Returns:
        ``{"runs": n, "by_status": {...}, "spells": n_rows, "problems": [...]}``.
    """
    import os

    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    sweep_dir = Path(sweep_dir)
    out_dir = Path(out_dir) if out_dir else sweep_dir / COLLECTED
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = sweep_status(sweep_dir)
    param_keys: list[str] = []
    for r in runs:
        for k in parse_overrides(r.overrides):
            if k not in param_keys:
                param_keys.append(k)
    spells_tmp = out_dir / ".spells.parquet.partial"
    writer, schema = None, None
    pending: list = []  # tables waiting to be written as one row group
    pending_rows = 0
    rows, problems, n_spells = [], [], 0

    def flush():
        nonlocal writer, pending, pending_rows
        if pending:
            writer.write_table(pa.concat_tables(pending))
            pending, pending_rows = [], 0

    iterator = runs
    if progress:
        from tqdm import tqdm

        iterator = tqdm(runs, unit="run", desc="collect")
    try:
        for r in iterator:
            params = parse_overrides(r.overrides)
            row = {"run_id": r.run_id, "status": r.status, "error": r.error,
                   **{k: params.get(k) for k in param_keys}}
            if r.status == "complete":
                try:
                    summary = json.loads((r.folder / SUMMARY).read_text())
                    spells = pd.read_parquet(r.folder / "spells.parquet")
                except Exception as e:  # a corrupt file must not stop the collection
                    row["status"], row["error"] = "corrupt", f"{type(e).__name__}: {e}"
                    problems.append(f"{r.run_id}: {row['error']}")
                    rows.append(row)
                    continue
                row.update(summary_row(summary))
                for c in spells.columns:
                    if isinstance(spells[c].dtype, pd.CategoricalDtype):
                        spells[c] = spells[c].astype("string")
                spells.insert(0, "run_id", r.run_id)
                for i, k in enumerate(param_keys):
                    if k not in spells.columns:
                        spells.insert(1 + i, k, params.get(k))
                table = pa.Table.from_pandas(spells, preserve_index=False)
                if writer is None:
                    schema = table.schema.remove_metadata()
                    writer = pq.ParquetWriter(spells_tmp, schema)
                pending.append(table.replace_schema_metadata(None).cast(schema))
                pending_rows += len(spells)
                if pending_rows >= ROW_GROUP:
                    flush()
                n_spells += len(spells)
            elif r.status != "missing":
                problems.append(f"{r.run_id}: {r.status}" + (f" ({r.error})" if r.error else ""))
            rows.append(row)
        if writer is not None:
            flush()
    finally:
        if writer is not None:
            writer.close()
    if writer is not None:
        os.replace(spells_tmp, out_dir / "spells.parquet")
    runs_df = pd.DataFrame(rows)
    tmp = out_dir / ".runs.parquet.partial"
    runs_df.to_parquet(tmp, index=False)
    os.replace(tmp, out_dir / "runs.parquet")
    by_status = runs_df["status"].value_counts().to_dict() if len(runs_df) else {}
    return {"runs": len(runs_df), "by_status": by_status, "spells": n_spells,
            "problems": problems, "out_dir": str(out_dir)}
