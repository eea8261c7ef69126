"""Sweeps: the runs a sweep folder should hold, their status, and collection.

Hydra does the sweeping (``python -m sim run -m ...``, any launcher). Each run
gets a folder named after its overrides (``hydra.job.override_dirname``), a
stable id that does not depend on the job number, so running the same command
again skips the complete runs and redoes the others. This module reads a sweep
folder back:

- :func:`expected_runs` expands the sweep recorded in ``multirun.yaml`` into the
  run ids it should produce (the same way Hydra's basic sweeper does);
- :func:`sweep_status` classifies each run: complete, failed, running (a live
  process holds its lease), stale (its lease is left by a dead or silent process),
  incomplete, corrupt (its outputs do not match the sizes and SHA-256 of its
  ``summary.json``), missing;
- :func:`collect` writes one tidy dataset for the sweep, streaming run by run;
  only complete runs whose outputs match their summary are collected.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from tqdm import tqdm

from sim.results.contract import COLLECTED, ERROR, RUNS, SPELLS, SUMMARY
from sim.results.files import read_summary, verify_outputs, write_atomic
from sim.results.leases import LeaseInfo, current_lease, lease_timeout

ROW_GROUP = 500_000  # spells per Parquet row group when collecting (bounds memory)
#: keys of summary.json that collect uses (the outputs' digests, the runs.parquet row)
COLLECTED_SUMMARY_KEYS = ("files", "seed", "strategy", "wall_time_s", "metrics", "market",
                          "funnel")
log = logging.getLogger(__name__)


@dataclass
class RunInfo:
    """One run of a sweep, as found on disk."""

    run_id: str
    folder: Path
    status: str  # complete | failed | running | stale | incomplete | corrupt | missing
    overrides: list[str] = field(default_factory=list)
    error: str | None = None  # the error, the reason it is corrupt, or who holds the lease
    lease: LeaseInfo | None = None


def _override_settings(cfg) -> tuple[list[str], str, str]:
    od = cfg.hydra.job.config.override_dirname
    return list(od.exclude_keys), od.item_sep, od.kv_sep


def expected_runs(sweep_dir: str | Path) -> dict[str, list[str]] | None:
    """Run id -> job overrides, for the sweep recorded in ``multirun.yaml``.

    Returns None when the folder has no ``multirun.yaml`` (not a Hydra sweep).
    """
    # Hydra here, not at the top: only a sweep's list of expected runs needs it (collect and
    # analysis of a run folder do not)
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
    # Hydra's folder name (get_overrides_dirname) needs each override's key_or_group,
    # which depends only on the text before the first "=": one parse per swept key, not
    # one per run and key (10,000 runs x 5 keys took 17 s in Hydra's parser)
    examples = {text.split("=", 1)[0]: text for job in batches[:1] for text in job}
    parsed = {key: parser.parse_override(text) for key, text in examples.items()}
    out = {}
    for job in batches:
        if any(text.split("=", 1)[0] not in parsed for text in job):  # not expected; exact path
            run_id = get_overrides_dirname(parser.parse_overrides(job), exclude_keys=exclude,
                                           item_sep=item_sep, kv_sep=kv_sep)
        else:
            run_id = _dirname(job, parsed, exclude, item_sep, kv_sep)
        out[run_id] = job
    return out


def _dirname(job: list[str], parsed: dict, exclude: list[str], item_sep: str,
             kv_sep: str) -> str:
    """Hydra's ``get_overrides_dirname`` of ``job`` (overrides as Hydra's basic sweeper
    formats them), with the key of each override from ``parsed`` (key text -> Override)."""

    lines = sorted(text for text in job
                   if parsed[text.split("=", 1)[0]].key_or_group not in exclude)
    return re.sub(pattern="[=]", repl=kv_sep, string=item_sep.join(lines))


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


def _classify(folder: Path, content: bool = True, timeout: float | None = None,
              summaries: dict | None = None) -> tuple[str, str | None, LeaseInfo | None]:
    """Status, detail and lease of one run folder.

    ``content``: compare the outputs' SHA-256 with the summary (else sizes only);
    ``summaries``: if given, the summary read is kept in it by folder."""
    if not folder.is_dir():
        return "missing", None, None
    lease = current_lease(folder, timeout)
    if (folder / SUMMARY).is_file():
        try:
            summary = read_summary(folder)
            if summaries is not None:  # the parts collect uses (whole ones: 30 kB each)
                summaries[folder] = {k: summary[k] for k in COLLECTED_SUMMARY_KEYS
                                     if k in summary}
            problem = verify_outputs(folder, summary, content=content)
        except FileNotFoundError:  # removed meanwhile (a corrupt run being redone)
            problem = "summary.json removed"
        except (OSError, ValueError) as e:
            problem = f"summary.json unreadable: {e}"
        if problem is not None:
            if lease is not None and lease.live:  # being redone
                return "running", lease.describe(), lease
            return "corrupt", problem, lease
        if (folder / ERROR).is_file():  # complete, but of another configuration (cli.StaleRun)
            return "failed", _error_text(folder), lease
        return "complete", None, lease
    if lease is not None:
        return ("running" if lease.live else "stale"), lease.describe(), lease
    if (folder / ERROR).is_file():
        return "failed", _error_text(folder), None
    return "incomplete", None, None


def _is_run(folder: Path) -> bool:
    return (folder / SUMMARY).is_file() or (folder / ".hydra").is_dir() or \
        any(folder.glob("lease.*.json"))


def folder_kind(path: str | Path) -> str | None:
    """``"sweep"`` (a ``multirun.yaml`` or run folders below), ``"run"`` (one run
    folder), or None (neither: nothing for ``status`` or ``collect`` to read)."""
    path = Path(path)
    if not path.is_dir():
        return None
    if (path / "multirun.yaml").is_file():
        return "sweep"
    if _is_run(path):
        return "run"
    found = (p for p in path.rglob(".hydra") if p.is_dir() and COLLECTED not in p.parts)
    return "sweep" if next(found, None) is not None else None


def _discover(sweep_dir: Path) -> Iterator[Path]:
    """Run folders under a sweep folder that has no multirun.yaml."""
    for p in sorted(sweep_dir.rglob(".hydra")):
        if p.is_dir() and COLLECTED not in p.parts:
            yield p.parent


def sweep_status(sweep_dir: str | Path, content: bool = True,
                 summaries: dict | None = None) -> list[RunInfo]:
    """Status of every run of the sweep (expected ones included when known).

    Args:
        sweep_dir: a sweep folder, or one run folder.
        content: check the outputs' SHA-256 against ``summary.json`` (else only their
            sizes; :func:`collect` hashes what it reads itself).
        summaries: if given, the parts :func:`collect` uses of each summary read
            (``COLLECTED_SUMMARY_KEYS``) are kept in it by folder, so that collect
            reads each summary once.

    Returns:
        One :class:`RunInfo` per run.
    """
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"{sweep_dir}: no such sweep folder")
    timeout = lease_timeout()
    expected = expected_runs(sweep_dir)
    runs = []
    if expected is not None:
        for run_id, job in expected.items():
            folder = sweep_dir / run_id
            status, err, lease = _classify(folder, content, timeout, summaries)
            runs.append(RunInfo(run_id, folder, status, job, err, lease))
        known = {r.folder.resolve() for r in runs}
        extra = [p for p in _discover(sweep_dir) if p.resolve() not in known]
    elif _is_run(sweep_dir):  # one run folder
        status, err, lease = _classify(sweep_dir, content, timeout, summaries)
        return [RunInfo(sweep_dir.resolve().name, sweep_dir, status, _run_overrides(sweep_dir),
                        err, lease)]
    else:
        extra = list(_discover(sweep_dir))
    for folder in extra:  # runs of an earlier version of the sweep, or a plain folder
        status, err, lease = _classify(folder, content, timeout, summaries)
        runs.append(RunInfo(str(folder.relative_to(sweep_dir)), folder, status,
                            _run_overrides(folder), err, lease))
    return runs


STATUS_ORDER = ("complete", "failed", "running", "stale", "incomplete", "corrupt", "missing")


def format_status(runs: list[RunInfo], sweep_dir: str | Path) -> str:
    """A short report: counts by status, then the runs that are not complete: failed
    (with the error), running (host, pid, age and heartbeat of the process computing
    it), stale (a dead or silent process's lease, taken over on resume), incomplete,
    corrupt (which output does not match summary.json), missing."""
    counts: dict[str, int] = {}
    for r in runs:
        counts[r.status] = counts.get(r.status, 0) + 1
    head = ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUS_ORDER if counts.get(s, 0) or s in
                     ("complete", "failed", "missing"))
    lines = [f"sweep {sweep_dir}: {len(runs)} runs: {head}"]
    for status in STATUS_ORDER[1:]:
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
        out[key.lstrip("+")] = _override_value(value)
    return out


@functools.lru_cache(maxsize=65536)
def _override_value(value: str) -> object:
    """An override's value as YAML reads it (a list or mapping stays text); cached: a
    sweep repeats its values across runs."""
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    return value if isinstance(parsed, (dict, list)) else parsed


def summary_row(summary: dict) -> dict:
    """Run-level columns of ``runs.parquet`` from a run's ``summary.json``: seed,
    strategy mix, wall time, headline metrics as ``<metric>.<strategy>``, market means,
    and the hiring funnel's figures as ``funnel.<figure>`` (``funnel.<figure>.<channel>``
    for the per-channel ones; :func:`sim.results.metrics.funnel_figures`)."""
    row = {"seed": summary.get("seed"), "strategy_mix": summary.get("strategy"),
           "wall_time_s": summary.get("wall_time_s")}
    for group, m in summary.get("metrics", {}).items():
        for k, v in m.items():
            row[f"{k}.{group}"] = v
    for k, v in summary.get("market", {}).items():
        row[k] = v
    for k, v in (summary.get("funnel") or {}).items():
        if isinstance(v, dict):
            for channel, x in v.items():
                row[f"funnel.{k}.{channel}"] = x
        else:
            row[f"funnel.{k}"] = v
    return row


def _spells_with_run_columns(pending: list, param_keys: list[str]):
    """The spells of several runs as one Arrow table, with ``run_id`` and the swept
    parameters (constant within a run) as columns in front; a parameter that is also a
    spell column (e.g. ``strategy``) is the spell's; categorical columns as plain
    strings; no pandas metadata.

    Args:
        pending: ``(run id, parameters, spells table)`` of each run.
        param_keys: the swept parameters, in column order.
    """

    def plain(table):
        return pa.table({name: col.cast(col.type.value_type)
                         if pa.types.is_dictionary(col.type) else col
                         for name, col in zip(table.column_names, table.columns, strict=True)})

    spells = pa.concat_tables([plain(t) for _, _, t in pending]).replace_schema_metadata(None)
    which = np.repeat(np.arange(len(pending)), [t.num_rows for _, _, t in pending])
    columns = {"run_id": pc.take(pa.array([run_id for run_id, _, _ in pending], pa.string()),
                                 which)}
    for k in param_keys:
        if k not in spells.column_names:
            values = pa.array([params.get(k) for _, params, _ in pending])
            columns[k] = pc.take(values, which)
    for name, col in zip(spells.column_names, spells.columns, strict=True):
        columns[name] = col.combine_chunks()
    return pa.table(columns)


def collect(sweep_dir: str | Path, out_dir: str | Path | None = None,
            progress: bool = False) -> dict:
    """Write one tidy dataset for a sweep, reading one run at a time.

    Writes ``<out_dir>/spells.parquet`` (every spell of every complete run, with
    ``run_id`` and the run's swept parameters as columns) and
    ``<out_dir>/runs.parquet`` (one row per run: parameters, status, error,
    seed, headline metrics). ``out_dir`` defaults to ``<sweep_dir>/collected``.
    Both files are written under temporary names and renamed at the end; with no
    complete run there is no ``spells.parquet`` (an older one is removed). Runs
    whose outputs do not match the sizes and SHA-256 in their ``summary.json``
    are listed as corrupt and not collected.

    Returns:
        ``{"runs": n, "by_status": {...}, "spells": n_rows, "problems": [...],
        "out_dir": path, "files": [names written]}``.
    """


    sweep_dir = Path(sweep_dir)
    out_dir = Path(out_dir) if out_dir else sweep_dir / COLLECTED
    out_dir.mkdir(parents=True, exist_ok=True)
    summaries: dict[Path, dict] = {}
    runs = sweep_status(sweep_dir, content=False, summaries=summaries)  # sizes; hashes below
    param_keys: list[str] = []
    for r in runs:
        for k in parse_overrides(r.overrides):
            if k not in param_keys:
                param_keys.append(k)
    spells_tmp = out_dir / ".spells.parquet.partial"
    writer, schema = None, None
    pending: list = []  # (run id, parameters, spells table) waiting to be one row group
    pending_rows = 0
    rows, problems, n_spells = [], [], 0

    def flush():
        nonlocal writer, schema, pending, pending_rows
        if pending:
            table = _spells_with_run_columns(pending, param_keys)
            if writer is None:
                schema = table.schema
                writer = pq.ParquetWriter(spells_tmp, schema)
            writer.write_table(table if table.schema.equals(schema) else table.cast(schema))
            pending, pending_rows = [], 0

    iterator = runs
    if progress:

        iterator = tqdm(runs, unit="run", desc="collect")
    try:
        for r in iterator:
            params = parse_overrides(r.overrides)
            row = {"run_id": r.run_id, "status": r.status, "error": r.error,
                   **{k: params.get(k) for k in param_keys}}
            if r.status == "complete":
                try:
                    summary = summaries.pop(r.folder, None) or read_summary(r.folder)
                    raw = (r.folder / SPELLS).read_bytes()  # read once: hashed, parsed
                    problem = verify_outputs(r.folder, summary, data={SPELLS: raw})
                    if problem is not None:
                        raise ValueError(problem)
                    spells = pq.ParquetFile(pa.BufferReader(raw)).read(use_threads=False)
                except Exception as e:  # a corrupt file must not stop the collection
                    row["status"], row["error"] = "corrupt", f"{type(e).__name__}: {e}"
                    problems.append(f"{r.run_id}: {row['error']}")
                    rows.append(row)
                    continue
                row.update(summary_row(summary))
                pending.append((r.run_id, params, spells))
                pending_rows += spells.num_rows
                if pending_rows >= ROW_GROUP:
                    flush()
                n_spells += spells.num_rows
            elif r.status != "missing":
                problems.append(f"{r.run_id}: {r.status}" + (f" ({r.error})" if r.error else ""))
            rows.append(row)
        flush()
    finally:
        if writer is not None:
            writer.close()
    files = []
    if writer is not None:
        fd = os.open(spells_tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(spells_tmp, out_dir / SPELLS)
        files.append(SPELLS)
    else:  # no complete run: an older collection's spells must not pass for this one's
        (out_dir / SPELLS).unlink(missing_ok=True)
    runs_df = pd.DataFrame(rows)
    write_atomic(out_dir / RUNS, lambda p: runs_df.to_parquet(p, index=False))
    files.append(RUNS)
    by_status = runs_df["status"].value_counts().to_dict() if len(runs_df) else {}
    return {"runs": len(runs_df), "by_status": by_status, "spells": n_spells,
            "problems": problems, "out_dir": str(out_dir), "files": files}


def default_sweep_dir(argv: list[str]) -> Path:
    """A sweep folder that depends only on the sweep's overrides, so that the same
    command resumes the same sweep: ``outputs/sweeps/<experiment or sweep>-<hash>``.

    Args:
        argv: the arguments of ``python -m sim run`` (flags and ``hydra.*`` ignored).

    Returns:
        The folder, relative to the working directory.
    """
    keep = sorted(a for a in argv if not a.startswith("-") and not a.startswith("hydra"))
    digest = hashlib.sha1("\n".join(keep).encode()).hexdigest()[:8]
    exp = next((a.split("=", 1)[1] for a in argv if a.lstrip("+").startswith("experiment=")),
               "sweep")
    return Path("outputs") / "sweeps" / f"{exp}-{digest}"
