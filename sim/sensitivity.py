"""Global sensitivity analysis (SALib): Morris screening and Sobol indices.

``python -m sim sensitivity`` varies the main parameters (:data:`PARAMS`) over
their ranges and measures, at each sampled point, two outcomes:

* ``rmst``: time to re-employment, the restricted mean (52 weeks) of spells
  begun in the horizon, averaged over a population of lions and one of
  everyone;
* ``diff``: lions minus everyone in that restricted mean (weeks; negative when
  cultivating lions re-employs faster).

Both populations of a point run with the same seed (common random numbers),
and every point with the same seed, so that the indices measure the
parameters, not seed noise. Morris (elementary effects, ``--trajectories`` r,
r(D+1) points) screens; Sobol (Saltelli sampling, ``--sobol-n`` N, N(D+2)
points, first-order and total indices with bootstrap intervals) apportions the
variance. Evaluated points are saved in chunks as they finish, so running the
same command again resumes (each design under its own settings). Outputs in the
output folder: ``points.parquet`` (inputs and outputs of every point),
``morris.csv``, ``sobol.csv``, ``sensitivity.pdf``/``.png`` (the figure) and
``report.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import SimConfig, to_dict, with_values
from sim.runner import write_atomic, write_text_atomic

OUTPUTS = {"rmst": "time to re-employment (RMST, weeks)",
           "diff": "lions - everyone (RMST, weeks)"}
HORIZON = 52.0


@dataclass(frozen=True)
class Param:
    """A varied parameter: a dotted config key (``group.*`` scales every key of
    the group by the sampled factor), its range and a label."""

    key: str
    low: float
    high: float
    label: str


PARAMS: tuple[Param, ...] = (
    Param("networking.time_budget", 1.0, 10.0, "time budget (h/wk)"),
    Param("ties.decay.*", 0.5, 2.0, "tie decay (x default)"),
    Param("market.vacancy_rate", 0.02, 0.06, "vacancy rate"),
    Param("hiring.applications", 0.03, 0.12, "formal applications"),
    Param("leads.hear_prob", 0.005, 0.02, "lead hearing prob."),
    Param("hiring.referral_bonus", 0.0, 0.5, "referral bonus"),
    Param("networking.max_gain", 0.1, 0.4, "max tie gain"),
)


def problem() -> dict:
    """The SALib problem definition."""
    return {"num_vars": len(PARAMS), "names": [p.key for p in PARAMS],
            "bounds": [[p.low, p.high] for p in PARAMS]}


def rmst_of(cfg: SimConfig) -> float:
    """RMST (HORIZON weeks) of the spells begun in the horizon of one run."""
    import logging

    from sim.metrics import km_rmst
    from sim.model import LabourMarket

    logging.getLogger("MESA").setLevel(logging.WARNING)
    sp = LabourMarket(cfg).run().spells_frame()
    sp = sp[~sp["left_truncated"]]
    return km_rmst(sp["duration_weeks"].to_numpy(), ~sp["censored"].to_numpy(), HORIZON)


def evaluate(lions: SimConfig, everyone: SimConfig, values: Mapping[str, float]) -> dict:
    """Both outcomes at one point."""
    r_l, r_e = rmst_of(with_values(lions, values)), rmst_of(with_values(everyone, values))
    return {"rmst": (r_l + r_e) / 2, "diff": r_l - r_e, "rmst_lions": r_l, "rmst_everyone": r_e}


def _chunks(folder: Path) -> pd.DataFrame:
    files = sorted(folder.glob("chunk-*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files else \
        pd.DataFrame(columns=["design", "index"])


def run_points(design: str, X: np.ndarray, lions: SimConfig, everyone: SimConfig, folder: Path,
               jobs: int, chunk: int = 16, progress: bool = False) -> pd.DataFrame:
    """Evaluate the rows of ``X`` not already saved in ``folder``; returns all of
    the design's points in row order."""
    from joblib import Parallel, delayed

    folder.mkdir(parents=True, exist_ok=True)
    done = _chunks(folder)
    have = set(done.loc[done["design"] == design, "index"].astype(int))
    todo = [i for i in range(len(X)) if i not in have]
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(X), initial=len(X) - len(todo), unit="point", desc=design,
                   dynamic_ncols=True)
    names = [p.key for p in PARAMS]
    with Parallel(n_jobs=jobs) as parallel:
        for start in range(0, len(todo), chunk):
            idx = todo[start:start + chunk]
            res = parallel(delayed(evaluate)(lions, everyone, dict(zip(names, X[i], strict=True)))
                           for i in idx)
            df = pd.DataFrame(res)
            df.insert(0, "index", idx)
            df.insert(0, "design", design)
            for j, n in enumerate(names):
                df[n] = X[idx, j]
            # a chunk is saved whole or not at all
            write_atomic(folder / f"chunk-{design}-{idx[0]:06d}.parquet",
                         lambda p, df=df: df.to_parquet(p, index=False))
            if bar:
                bar.update(len(idx))
    if bar:
        bar.close()
    out = _chunks(folder)
    return out[out["design"] == design].sort_values("index").reset_index(drop=True)


def _indices(analyze, columns: Sequence[str], points: pd.DataFrame) -> pd.DataFrame:
    """One row per outcome and parameter with the ``columns`` of SALib's result."""
    rows = []
    for y in OUTPUTS:
        res = analyze(points[y].to_numpy())
        for j, p in enumerate(PARAMS):
            rows.append({"output": y, "parameter": p.key, "label": p.label,
                         **{c: res[c][j] for c in columns}})
    return pd.DataFrame(rows)


def morris(X: np.ndarray, points: pd.DataFrame, levels: int, seed: int) -> pd.DataFrame:
    from SALib.analyze import morris as morris_analyze

    return _indices(lambda y: morris_analyze.analyze(problem(), X, y, num_levels=levels, seed=seed),
                    ("mu_star", "mu_star_conf", "mu", "sigma"), points)


def sobol(points: pd.DataFrame, seed: int) -> pd.DataFrame:
    from SALib.analyze import sobol as sobol_analyze

    # SALib's Sobol analysis ignores a seed of 0 (``if seed:``) and then bootstraps from
    # numpy's global state: seed + 1 keeps the intervals reproducible for every seed
    return _indices(lambda y: sobol_analyze.analyze(problem(), y, calc_second_order=False,
                                                    seed=seed + 1),
                    ("S1", "S1_conf", "ST", "ST_conf"), points)


def figure(morris_df: pd.DataFrame, sobol_df: pd.DataFrame | None, path: Path) -> list[Path]:
    """Morris mu* (bars with intervals) and, when run, Sobol S1/ST, per outcome."""
    from analysis.style import figure as styled_figure
    from analysis.style import save, style

    rows = 2 if sobol_df is not None else 1
    with style():
        fig, axes = styled_figure("two", n_panels=2 * rows, ncols=2, height=2.6 * rows, sharey=False)
        for k, (y, title) in enumerate(OUTPUTS.items()):
            m = morris_df[morris_df["output"] == y].sort_values("mu_star")
            ax = axes[k]
            ax.barh(m["label"], m["mu_star"], xerr=m["mu_star_conf"], color="C0")
            ax.set_xlabel("Morris $\\mu^*$ (weeks)")
            ax.set_title(title)
            if sobol_df is not None:
                s = sobol_df[sobol_df["output"] == y].set_index("label").loc[m["label"]]
                ax = axes[2 + k]
                pos = np.arange(len(s))
                ax.barh(pos - 0.2, s["S1"], 0.4, xerr=s["S1_conf"], label="first order $S_1$",
                        color="C1")
                ax.barh(pos + 0.2, s["ST"], 0.4, xerr=s["ST_conf"], label="total $S_T$", color="C2")
                ax.set_yticks(pos, s.index)
                ax.set_xlabel("Sobol index (share of variance)")
                ax.legend(loc="lower right")
        fig.set_layout_engine("constrained")
        return save(fig, path.parent, path.name)


def _folder(args, lions: SimConfig) -> Path:
    # the designs' own settings name their points (run_points), so that changing one
    # design (e.g. a larger Sobol sample) keeps the other's points
    key = json.dumps({"config": to_dict(lions), "params": [p.__dict__ for p in PARAMS],
                      "seed": args.sample_seed}, sort_keys=True, default=str)
    return Path("outputs") / "sensitivity" / hashlib.sha1(key.encode()).hexdigest()[:10]


def _report(args, morris_df, sobol_df, n_points, lions: SimConfig) -> str:
    lines = ["# Global sensitivity analysis", "",
             f"Command: `python -m sim sensitivity {' '.join(args.argv)}`  ",
             f"{lions.n_workers} workers x {lions.weeks} weeks per run, seed {lions.seed}; "
             f"{n_points} points, two runs each (lions, everyone).", "",
             "| parameter | range |", "|---|---|"]
    lines += [f"| `{p.key}` ({p.label}) | [{p.low}, {p.high}] |" for p in PARAMS]
    for y, title in OUTPUTS.items():
        lines += ["", f"## {title}", "", "| parameter | Morris mu* | sigma |"
                  + (" Sobol S1 | Sobol ST |" if sobol_df is not None else ""),
                  "|---|---|---|" + ("---|---|" if sobol_df is not None else "")]
        m = morris_df[morris_df["output"] == y].sort_values("mu_star", ascending=False)
        for _, r in m.iterrows():
            row = f"| {r['label']} | {r['mu_star']:.2f} ± {r['mu_star_conf']:.2f} | {r['sigma']:.2f} |"
            if sobol_df is not None:
                s = sobol_df[(sobol_df["output"] == y) & (sobol_df["parameter"] == r["parameter"])].iloc[0]
                row += f" {s['S1']:.2f} ± {s['S1_conf']:.2f} | {s['ST']:.2f} ± {s['ST_conf']:.2f} |"
            lines.append(row)
    lines += ["", "![sensitivity](sensitivity.png)"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str]) -> None:
    from sim.cli import compose, fail

    p = argparse.ArgumentParser(prog="python -m sim sensitivity", description=__doc__.splitlines()[0])
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="config overrides in Hydra syntax, applied to both populations")
    p.add_argument("--n-workers", type=int, default=2000, help="workers per run (default: %(default)s)")
    p.add_argument("--weeks", type=int, default=260, help="recorded weeks per run (default: %(default)s)")
    p.add_argument("--trajectories", type=int, default=10,
                   help="Morris trajectories r; r(D+1) points (default: %(default)s)")
    p.add_argument("--levels", type=int, default=4, help="Morris grid levels (default: %(default)s)")
    p.add_argument("--sobol-n", type=int, default=0,
                   help="Sobol base sample N (a power of 2), N(D+2) points; 0 = Morris only "
                   "(default: %(default)s; 256 for a paper)")
    p.add_argument("--sample-seed", type=int, default=0, help="seed of the samples (default: 0)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="runs in parallel processes (default: all cores)")
    p.add_argument("--out", help="output folder (default: outputs/sensitivity/<hash of the settings>)")
    args = p.parse_args(list(argv))
    args.argv = list(argv)
    for key in ("n_workers", "weeks", "trajectories", "jobs"):
        if getattr(args, key) < 1:
            fail(f"--{key.replace('_', '-')}={getattr(args, key)}: must be >= 1")
    if args.levels < 2 or args.levels % 2:
        fail(f"--levels={args.levels}: must be an even number >= 2")
    if args.sobol_n < 0 or (args.sobol_n and args.sobol_n & (args.sobol_n - 1)):
        fail(f"--sobol-n={args.sobol_n}: must be 0 or a power of 2")
    size = [f"n_workers={args.n_workers}", f"weeks={args.weeks}", *args.overrides]
    lions, everyone = compose(["+strategy=lions", *size]), compose(["+strategy=everyone", *size])
    out = Path(args.out) if args.out else _folder(args, lions)
    progress = sys.stderr.isatty()

    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    Xm = morris_sample.sample(problem(), args.trajectories, num_levels=args.levels,
                              seed=args.sample_seed)
    pts = run_points(f"morris-r{args.trajectories}-l{args.levels}", Xm, lions, everyone,
                     out / "points", args.jobs, progress=progress)
    morris_df = morris(Xm, pts, args.levels, args.sample_seed)
    all_pts, sobol_df = [pts], None
    if args.sobol_n:
        Xs = sobol_sample.sample(problem(), args.sobol_n, calc_second_order=False,
                                 seed=args.sample_seed)
        spts = run_points(f"sobol-n{args.sobol_n}", Xs, lions, everyone, out / "points", args.jobs,
                          progress=progress)
        sobol_df = sobol(spts, args.sample_seed)
        all_pts.append(spts)
    points = pd.concat(all_pts)
    write_atomic(out / "points.parquet", lambda p: points.to_parquet(p, index=False))
    write_text_atomic(out / "morris.csv", morris_df.to_csv(index=False))
    if sobol_df is not None:
        write_text_atomic(out / "sobol.csv", sobol_df.to_csv(index=False))
    figure(morris_df, sobol_df, out / "sensitivity")
    n_points = sum(len(x) for x in all_pts)
    text = _report(args, morris_df, sobol_df, n_points, lions)
    write_text_atomic(out / "report.md", text)
    print(text)
    print(f"written to {out}")
