"""What the runs were: the sweep's definition, what varied, the fixed configuration
against the defaults, the strategy settings, and provenance (versions, git commit,
dates, hosts, commands), read from the run folders (``summary.json``,
``multirun.yaml``).

The configuration's defaults are not read here: :mod:`analysis` reads run folders
only, so the caller passes them (``python -m sim report`` passes the defaults of
``configs/config.yaml``).
"""

from __future__ import annotations

import json
import logging
import shlex
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml

from analysis.data import Data
from sim.results.contract import SUMMARY

log = logging.getLogger(__name__)

REPORT_PACKAGES = ("lifelines", "matplotlib", "scipy", "pandas", "numpy")


def flatten(d: dict, prefix: str = "") -> dict[str, object]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``.

    Args:
        d: a nested mapping.
        prefix: put before every key.

    Returns:
        The flat mapping (an empty nested mapping stays a value).
    """
    out: dict[str, object] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def run_summaries(data: Data) -> list[dict]:
    """The runs' ``summary.json`` contents.

    Args:
        data: loaded outputs.

    Returns:
        One dict per run folder, with its ``run_id`` (unreadable ones logged and left out).
    """
    out = []
    for run_id, folder in data.run_folders.items():
        try:
            out.append({"run_id": run_id, **json.loads((folder / SUMMARY).read_text())})
        except (OSError, ValueError) as e:
            log.warning("%s: summary unreadable: %s", folder, e)
    return out


def sweep_folder(data: Data) -> Path | None:
    """The sweep folder of ``data``.

    Args:
        data: loaded outputs.

    Returns:
        Its root or the root's parent, whichever has ``multirun.yaml``; None for neither.
    """
    for p in (data.root, data.root.parent):
        if (p / "multirun.yaml").is_file():
            return p
    return None


def sweep_definition(data: Data) -> dict:
    """What the sweep asked for.

    Args:
        data: loaded outputs.

    Returns:
        ``experiment`` (the ``+experiment=`` sweep file or None), ``sweeper_params``,
        the command-line ``overrides`` and the ``folder``, from ``multirun.yaml``;
        empty for a single run.
    """
    sweep = sweep_folder(data)
    if sweep is None:
        return {}
    cfg = yaml.safe_load((sweep / "multirun.yaml").read_text()) or {}
    hydra = cfg.get("hydra", {})
    overrides = list(hydra.get("overrides", {}).get("task", []) or [])
    exp = next((o.split("=", 1)[1] for o in overrides if o.lstrip("+").startswith("experiment=")),
               None)
    return {"experiment": exp, "sweeper_params": dict(hydra.get("sweeper", {}).get("params") or {}),
            "overrides": overrides, "folder": str(sweep)}


def varied_table(data: Data) -> pd.DataFrame:
    """The parameters that vary across the complete runs (seed and strategy mix included).

    Args:
        data: loaded outputs.

    Returns:
        One row per parameter: ``parameter``, ``values``, ``runs per value``.
    """
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
    Parameters section: the one definition of "varied" used everywhere in the report.

    Args:
        data: loaded outputs.

    Returns:
        ``+strategy``, swept parameters, ``seed``: those that take several values.
    """
    return list(varied_table(data)["parameter"])


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def fixed_config(summaries: list[dict], varied: set[str],
                 defaults: Mapping | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The configuration shared by the runs, against the defaults.

    Args:
        summaries: the runs' ``summary.json`` contents.
        varied: keys that vary by design (left out).
        defaults: the configuration's defaults (nested, as in ``summary.json``'s
            ``config``); None: unknown (``default`` is ``-`` and ``changed`` None).

    Returns:
        ``(table, differing)``: rows ``key``, ``value``, ``default``, ``changed``
        (non-default values first), and keys that differ across runs although not
        swept (should be empty).
    """
    if not summaries:
        return pd.DataFrame(columns=["key", "value", "default", "changed"]), []
    flat = [flatten(s.get("config", {})) for s in summaries]
    flat_defaults = flatten(dict(defaults)) if defaults is not None else {}
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
        d = flat_defaults.get(k, "-")
        rows.append({"key": k, "value": _short(v), "default": _short(d),
                     "changed": v != d if defaults is not None else None})
    df = pd.DataFrame(rows, columns=["key", "value", "default", "changed"])
    if defaults is not None:
        df = df.sort_values(["changed", "key"], ascending=[False, True], ignore_index=True)
    return df, differing


def strategy_config(summaries: list[dict]) -> pd.DataFrame:
    """Strategy settings of the runs (shares, assignment, parameters).

    Args:
        summaries: the runs' ``summary.json`` contents.

    Returns:
        One row per distinct setting: ``strategy settings``, ``runs``.
    """
    counts: dict[str, int] = {}
    for s in summaries:
        strat = flatten(s.get("config", {}).get("strategy", {}))
        text = ", ".join(f"{k}={_short(v)}" for k, v in sorted(strat.items()))
        counts[text] = counts.get(text, 0) + 1
    return pd.DataFrame([{"strategy settings": k, "runs": v} for k, v in counts.items()])


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
