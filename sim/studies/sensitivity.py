"""Global sensitivity analysis (SALib): Morris screening and Sobol indices,
each index set against the floor that seed noise alone produces.

``python -m sim sensitivity`` varies the main parameters (:data:`PARAMS`) over
their ranges and measures, at each sampled point, two outcomes:

* ``rmst``: time to re-employment, the restricted mean (52 weeks) of spells
  begun in the horizon, averaged over a population of lions and one of
  everyone;
* ``diff``: lions minus everyone in that restricted mean (weeks; negative when
  cultivating lions re-employs faster).

A run is chaotic in its parameters: with the seed fixed, a step of 1 % of a
range moves ``diff`` as much as a new seed does. One seed per point therefore
measures seed noise, not the parameters. Each point is run with
``--seeds-per-point`` k seeds, the same k seeds at every point (common random
numbers), lions and everyone paired by seed, and the outcomes are averaged over
the k seeds.

The noise that remains is measured at the base point (the configured values of
the parameters): ``--noise-groups`` R groups of k seeds each (disjoint seed
sets) give the standard deviation of a point's k-seed mean. From it, a Monte
Carlo on the same design with pure-noise outputs (:func:`morris_noise`,
:func:`sobol_noise`) gives the index that noise alone produces; its
``1 - 0.05 / D`` quantile (familywise 5 % over the D parameters of an outcome)
is the *noise floor*. An index at or below its floor is reported as "not
distinguishable from noise".

Morris (elementary effects, ``--trajectories`` r, r(D+1) points) screens; Sobol
(Saltelli sampling, ``--sobol-n`` N, N(D+2) points, first-order and total
indices with bootstrap intervals) apportions the variance. Evaluated points are
saved in chunks as they finish, so running the same command again resumes
(each design under its own settings). Outputs in the output folder:
``points.parquet`` (inputs and outputs of every point), ``noise.csv``,
``morris.csv``, ``sobol.csv``, ``sensitivity.pdf``/``.png`` (the figure) and
``report.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm import tqdm

from sim.core.config import SimConfig, to_dict, with_values
from sim.core.model import LabourMarket
from sim.errors import ConfigError
from sim.results.files import write_atomic, write_text_atomic
from sim.results.metrics import km_rmst
from sim.workflow.compose import compose

OUTPUTS = {"rmst": "time to re-employment (RMST, weeks)",
           "diff": "lions - everyone (RMST, weeks)"}
HORIZON = 52.0
ALPHA = 0.05  # familywise level of the noise floor over the parameters of one outcome
N_MC = 4000  # Monte Carlo replicates of the pure-noise indices
NOISE = "not distinguishable from noise"


@dataclass(frozen=True)
class Param:
    """A varied parameter: a dotted config key (``group.*`` scales every key of
    the group by the sampled factor), its range and a label."""

    key: str
    low: float
    high: float
    label: str


# The design of the calibrated model (the funnel on, the defaults): its free
# parameters around their calibrated values, over ranges that the data allow
# (experiments/E6_sensitivity.md says why each range).
PARAMS: tuple[Param, ...] = (
    Param("networking.time_budget", 1.0, 10.0, "time budget (h/wk)"),
    Param("ties.decay.*", 0.5, 2.0, "tie decay (x default)"),
    Param("networking.max_gain", 0.1, 0.4, "max tie gain"),
    Param("market.vacancy_rate", 0.03, 0.08, "vacancy rate"),
    Param("funnel.applications", 1.0, 3.0, "applications (/wk)"),
    Param("leads.hear_prob", 0.08, 0.32, "lead hearing prob."),
    Param("leads.aware_strength", 0.3, 0.6, "awareness centre"),
    Param("hiring.referral_bonus", 0.0, 2.0, "referral bonus"),
)

# The design of the legacy model (``+preset=legacy``: one round of weekly matching,
# no funnel), as first run (the order of the columns is part of the Morris and Sobol
# samples: kept as it was, so that the earlier results reproduce). Its formal
# applications are ``hiring.applications``.
LEGACY_PARAMS: tuple[Param, ...] = (
    Param("networking.time_budget", 1.0, 10.0, "time budget (h/wk)"),
    Param("ties.decay.*", 0.5, 2.0, "tie decay (x default)"),
    Param("market.vacancy_rate", 0.02, 0.06, "vacancy rate"),
    Param("hiring.applications", 0.03, 0.12, "formal applications"),
    Param("leads.hear_prob", 0.005, 0.02, "lead hearing prob."),
    Param("hiring.referral_bonus", 0.0, 0.5, "referral bonus"),
    Param("networking.max_gain", 0.1, 0.4, "max tie gain"),
)


def design_for(cfg: SimConfig) -> tuple[Param, ...]:
    """The varied parameters for a configuration: :data:`PARAMS` with the hiring
    funnel, :data:`LEGACY_PARAMS` without (where ``funnel.applications`` does nothing)."""
    return PARAMS if cfg.funnel.enabled else LEGACY_PARAMS


def problem(params: Sequence[Param] = PARAMS) -> dict:
    """The SALib problem definition."""
    return {"num_vars": len(params), "names": [p.key for p in params],
            "bounds": [[p.low, p.high] for p in params]}


def base_point(cfg: SimConfig, params: Sequence[Param] = PARAMS) -> np.ndarray:
    """The configured values of ``params`` (a ``group.*`` factor is 1)."""
    data = to_dict(cfg)
    out = []
    for p in params:
        *path, last = p.key.split(".")
        node = data
        for k in path:
            node = node[k]
        out.append(1.0 if last == "*" else float(node[last]))
    return np.array(out)


def check_base_point(cfg: SimConfig, params: Sequence[Param]) -> None:
    """Refuse a design whose ranges leave out the configured values: its noise,
    measured at the base point, would be measured outside the design."""
    for p, v in zip(params, base_point(cfg, params), strict=True):
        if not p.low <= v <= p.high:
            raise ConfigError(f"{p.key}={v:g}: outside the sensitivity range [{p.low:g}, {p.high:g}] "
                              "of this design (the base point must lie inside it)")


def rmst_of(cfg: SimConfig) -> float:
    """RMST (HORIZON weeks) of the spells begun in the horizon of one run."""


    logging.getLogger("MESA").setLevel(logging.WARNING)
    sp = LabourMarket(cfg).run().spells_frame()
    sp = sp[~sp["left_truncated"]]
    return km_rmst(sp["duration_weeks"].to_numpy(), ~sp["censored"].to_numpy(), HORIZON)


def evaluate(lions: SimConfig, everyone: SimConfig, values: Mapping[str, float],
             seeds: Sequence[int]) -> dict:
    """Both outcomes at one point, averaged over ``seeds``.

    Args:
        lions: the lions population's configuration.
        everyone: the everyone population's configuration.
        values: the point (dotted keys, see :func:`sim.core.config.with_values`).
        seeds: the seeds; lions and everyone run with the same seed and are
            paired by it.

    Returns:
        ``rmst`` and ``diff`` (means over the seeds), the two populations' mean
        RMSTs, and ``rmst_sd``/``diff_sd``, the standard deviations over the
        seeds (NaN with one seed).
    """
    lc, ec = with_values(lions, values), with_values(everyone, values)
    r_l = np.array([rmst_of(replace(lc, seed=int(s))) for s in seeds])
    r_e = np.array([rmst_of(replace(ec, seed=int(s))) for s in seeds])
    rmst, diff = (r_l + r_e) / 2, r_l - r_e
    sd = (lambda x: float(x.std(ddof=1))) if len(seeds) > 1 else (lambda x: float("nan"))
    return {"rmst": float(rmst.mean()), "diff": float(diff.mean()),
            "rmst_lions": float(r_l.mean()), "rmst_everyone": float(r_e.mean()),
            "rmst_sd": sd(rmst), "diff_sd": sd(diff), "n_seeds": len(seeds),
            "first_seed": int(seeds[0])}


def _chunks(folder: Path) -> pd.DataFrame:
    files = sorted(folder.glob("chunk-*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files else \
        pd.DataFrame(columns=["design", "index"])


def run_points(design: str, X: np.ndarray, lions: SimConfig, everyone: SimConfig, folder: Path,
               jobs: int, seed_sets: Sequence[Sequence[int]] | None = None, chunk: int = 16,
               progress: bool = False, params: Sequence[Param] = PARAMS) -> pd.DataFrame:
    """Evaluate the rows of ``X`` not already saved in ``folder``.

    Args:
        design: the design's name; it must change whenever its rows or seeds do.
        X: one point per row (columns in ``params`` order).
        lions: the lions population's configuration.
        everyone: the everyone population's configuration.
        folder: where the chunks of evaluated points are saved.
        jobs: points evaluated in parallel processes.
        seed_sets: the seeds of each row (default: the configured seed alone).
        chunk: points per saved chunk.
        progress: show a progress bar.
        params: the varied parameters (the columns of ``X``).

    Returns:
        The design's first ``len(X)`` points in row order.
    """

    if seed_sets is None:
        seed_sets = [(lions.seed,)] * len(X)
    folder.mkdir(parents=True, exist_ok=True)
    done = _chunks(folder)
    have = set(done.loc[done["design"] == design, "index"].astype(int))
    todo = [i for i in range(len(X)) if i not in have]
    bar = None
    if progress and todo:

        bar = tqdm(total=len(X), initial=len(X) - len(todo), unit="point", desc=design,
                   dynamic_ncols=True)
    names = [p.key for p in params]
    with Parallel(n_jobs=jobs) as parallel:
        for start in range(0, len(todo), chunk):
            idx = todo[start:start + chunk]
            res = parallel(delayed(evaluate)(lions, everyone, dict(zip(names, X[i], strict=True)),
                                             list(seed_sets[i]))
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
    out = out[(out["design"] == design) & (out["index"].astype(int) < len(X))]
    return out.sort_values("index").reset_index(drop=True)


# ---------------------------------------------------------------------- noise
def noise_sd(points: pd.DataFrame, k: int) -> pd.DataFrame:
    """The noise of a point's k-seed mean, from R groups of k seeds at one point.

    Args:
        points: R rows (groups) at the same point, with each outcome's mean and
            ``<outcome>_sd`` over the group's k seeds.
        k: seeds per group.

    Returns:
        One row per outcome: ``sd`` (the standard deviation of a k-seed mean,
        from all R k runs: their s.d. / sqrt(k)), its degrees of freedom ``df`` (R k
        - 1), ``sd_between`` (the s.d. between the R group means, a check with
        R - 1 degrees of freedom), ``sd_run`` (one run's s.d.) and ``mean``.
    """
    rows = []
    R = len(points)
    for y in OUTPUTS:
        m = points[y].to_numpy(float)
        within = points[f"{y}_sd"].to_numpy(float) if k > 1 else np.zeros(R)
        # all R k runs: within-group plus between-group sums of squares
        ss = (k - 1) * np.sum(within**2) + k * np.sum((m - m.mean()) ** 2)
        df = R * k - 1
        sd_run = float(np.sqrt(ss / df)) if df > 0 else float("nan")
        rows.append({"output": y, "mean": float(m.mean()), "sd_run": sd_run,
                     "sd": sd_run / np.sqrt(k), "df": df,
                     "sd_between": float(m.std(ddof=1)) if R > 1 else float("nan"),
                     "groups": R, "seeds_per_group": k})
    return pd.DataFrame(rows)


def _noise_draws(sd: float, df: int, n_points: int, n_mc: int, rng: np.random.Generator) -> np.ndarray:
    """Pure-noise outputs (n_mc x n_points); each replicate draws its s.d. from the
    sampling distribution of the estimate (sd * sqrt(df / chi2_df)), so that the
    floor carries the uncertainty of the measured noise."""
    scale = sd * np.sqrt(df / rng.chisquare(df, size=(n_mc, 1))) if df > 0 else sd
    return rng.standard_normal((n_mc, n_points)) * scale


def elementary_effects(X: np.ndarray, Y: np.ndarray, levels: int) -> np.ndarray:
    """SALib's Morris elementary effects for several output vectors at once.

    Args:
        X: the Morris sample (r(D+1) x D, trajectory after trajectory).
        Y: outputs, one vector per row (M x r(D+1)).
        levels: the grid levels of the sample.

    Returns:
        M x r x D effects: the change of the output per unit of the parameter's
        scaled range, signed by the direction of the step (as
        ``SALib.analyze.morris`` with ``scaled=False``).
    """
    D = X.shape[1]
    r = len(X) // (D + 1)
    delta = levels / (2.0 * (levels - 1))
    Xt = X.reshape(r, D + 1, D)
    Yt = np.atleast_2d(Y).reshape(-1, r, D + 1)
    dx = np.diff(Xt, axis=1)  # r x D steps x D parameters
    moved = np.argmax(np.abs(dx), axis=2)  # r x D: the parameter moved at each step
    sign = np.sign(np.take_along_axis(dx, moved[..., None], axis=2)[..., 0])
    dy = np.diff(Yt, axis=2) * sign  # M x r x D steps
    ee = np.empty_like(dy)
    rows = np.arange(r)[:, None]
    ee[:, rows, moved] = dy
    return ee / delta


def morris_noise(X: np.ndarray, levels: int, sd: float, df: int, n_mc: int = N_MC,
                 seed: int = 0) -> np.ndarray:
    """Morris mu* of pure-noise outputs on the design ``X`` (M x D).

    Args:
        X: the Morris sample the real outputs were computed on.
        levels: its grid levels.
        sd: the noise s.d. of one point's output.
        df: degrees of freedom of ``sd`` (0: take it as exact).
        n_mc: Monte Carlo replicates.
        seed: seed of the Monte Carlo.

    Returns:
        ``n_mc`` x D pure-noise mu*.
    """
    rng = np.random.default_rng([seed, 1])
    Y = _noise_draws(sd, df, len(X), n_mc, rng)
    return np.abs(elementary_effects(X, Y, levels)).mean(axis=1)


def sobol_noise(y: np.ndarray, sd: float, df: int, n_mc: int = N_MC,
                seed: int = 0, n_params: int = len(PARAMS)) -> tuple[np.ndarray, np.ndarray]:
    """Sobol S1 and ST that a parameter without effect shows, given the noise.

    For such a parameter the outputs at A and AB_j differ by noise alone, so
    SALib's estimators (Saltelli et al. 2010 for S1, Jansen for ST, on a Saltelli
    design without second order) reduce to ``mean(y_B (e' - e)) / V`` and
    ``mean((e - e')^2) / 2V``, with ``y_B`` the real (centred) outputs of the B
    matrix, ``V`` the variance of the real outputs and ``e, e'`` independent noise.

    Args:
        y: the real outputs of the design, N(D+2), in SALib's order.
        sd: the noise s.d. of one point's output.
        df: degrees of freedom of ``sd``.
        n_mc: Monte Carlo replicates.
        seed: seed of the Monte Carlo.
        n_params: D, the number of varied parameters.

    Returns:
        ``(S1, ST)``, each ``n_mc`` x D.
    """
    D = n_params
    v = np.asarray(y, float).reshape(-1, D + 2)
    var_y = float(np.var(np.r_[v[:, 0], v[:, -1]]))
    b = (v[:, -1] - np.mean(v))[None, :, None]
    rng = np.random.default_rng([seed, 2])
    e = _noise_draws(sd, df, v.size, n_mc, rng).reshape(n_mc, -1, D + 2)
    e_a, e_ab = e[:, :, :1], e[:, :, 1:-1]
    s1 = np.mean(b * (e_ab - e_a), axis=1) / var_y
    st = 0.5 * np.mean((e_a - e_ab) ** 2, axis=1) / var_y
    return s1, st


def floor_of(noise_index: np.ndarray, alpha: float = ALPHA) -> float:
    """The noise floor: the ``1 - alpha / D`` quantile of a pure-noise index
    (M x D; the D columns share one distribution and are pooled)."""
    return float(np.quantile(noise_index, 1 - alpha / noise_index.shape[1]))


def noise_p(noise_index: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Monte Carlo p-value of each observed index against pure noise: the share
    of pure-noise indices (M x D, pooled) at least as large (with the usual +1).
    An index is above its floor when ``p < ALPHA / D``."""
    pooled = np.sort(np.ravel(noise_index))
    ge = len(pooled) - np.searchsorted(pooled, np.asarray(observed, float), side="left")
    return (1 + ge) / (1 + len(pooled))


# ---------------------------------------------------------------------- indices
def _indices(analyze, columns: Sequence[str], points: pd.DataFrame,
             params: Sequence[Param]) -> pd.DataFrame:
    """One row per outcome and parameter with the ``columns`` of SALib's result."""
    rows = []
    for y in OUTPUTS:
        res = analyze(points[y].to_numpy())
        for j, p in enumerate(params):
            rows.append({"output": y, "parameter": p.key, "label": p.label,
                         **{c: res[c][j] for c in columns}})
    return pd.DataFrame(rows)


def morris(X: np.ndarray, points: pd.DataFrame, levels: int, seed: int,
           noise: pd.DataFrame | None = None, params: Sequence[Param] = PARAMS) -> pd.DataFrame:
    """Morris indices per outcome and parameter; with ``noise`` (:func:`noise_sd`)
    also the noise floor of mu* (``mu_star_floor``, ``mu_star_noise`` the mean
    pure-noise mu*) and ``above_noise`` (mu* above the floor)."""
    from SALib.analyze import morris as morris_analyze  # (SALib: about 1 s to import; --help and
    # bad options answer without it)

    df = _indices(lambda y: morris_analyze.analyze(problem(params), X, y, num_levels=levels,
                                                   seed=seed),
                  ("mu_star", "mu_star_conf", "mu", "sigma"), points, params)
    if noise is not None:
        for y in OUTPUTS:
            nz = noise.set_index("output").loc[y]
            mc = morris_noise(X, levels, nz["sd"], int(nz["df"]), seed=seed)
            sel = df["output"] == y
            df.loc[sel, "mu_star_noise"] = float(mc.mean())
            df.loc[sel, "mu_star_floor"] = floor_of(mc)
            df.loc[sel, "mu_star_p"] = noise_p(mc, df.loc[sel, "mu_star"])
        df["above_noise"] = df["mu_star"] > df["mu_star_floor"]
    return df


def sobol(points: pd.DataFrame, seed: int, noise: pd.DataFrame | None = None,
          params: Sequence[Param] = PARAMS) -> pd.DataFrame:
    """Sobol S1 and ST per outcome and parameter; with ``noise`` also their noise
    floors (``S1_floor`` on |S1|, ``ST_floor``) and ``S1_above_noise``,
    ``ST_above_noise``."""
    from SALib.analyze import sobol as sobol_analyze

    # SALib's Sobol analysis ignores a seed of 0 (``if seed:``) and then bootstraps from
    # numpy's global state: seed + 1 keeps the intervals reproducible for every seed
    df = _indices(lambda y: sobol_analyze.analyze(problem(params), y, calc_second_order=False,
                                                  seed=seed + 1),
                  ("S1", "S1_conf", "ST", "ST_conf"), points, params)
    if noise is not None:
        for y in OUTPUTS:
            nz = noise.set_index("output").loc[y]
            s1, st = sobol_noise(points[y].to_numpy(float), nz["sd"], int(nz["df"]), seed=seed,
                                 n_params=len(params))
            sel = df["output"] == y
            df.loc[sel, "S1_floor"] = floor_of(np.abs(s1))
            df.loc[sel, "S1_p"] = noise_p(np.abs(s1), df.loc[sel, "S1"])
            df.loc[sel, "ST_noise"] = float(st.mean())
            df.loc[sel, "ST_floor"] = floor_of(st)
            df.loc[sel, "ST_p"] = noise_p(st, df.loc[sel, "ST"])
        df["S1_above_noise"] = df["S1"] > df["S1_floor"]
        df["ST_above_noise"] = df["ST"] > df["ST_floor"]
    return df


# ---------------------------------------------------------------------- outputs
def figure(morris_df: pd.DataFrame, sobol_df: pd.DataFrame | None, path: Path) -> list[Path]:
    """Morris mu* (bars with intervals) and, when run, Sobol S1/ST, per outcome;
    the noise floors as dashed lines, indices not above them in grey."""
    # matplotlib (through analysis.style) only for the figure
    from analysis.style import figure as styled_figure
    from analysis.style import save, style

    rows = 2 if sobol_df is not None else 1
    grey = "0.7"
    with style():
        fig, axes = styled_figure("two", n_panels=2 * rows, ncols=2, height=2.6 * rows, sharey=False)
        for k, (y, title) in enumerate(OUTPUTS.items()):
            m = morris_df[morris_df["output"] == y].sort_values("mu_star")
            ax = axes[k]
            has_floor = "mu_star_floor" in m
            colors = [("C0" if a else grey) for a in m["above_noise"]] if has_floor else "C0"
            ax.barh(m["label"], m["mu_star"], xerr=m["mu_star_conf"], color=colors)
            if has_floor:
                from matplotlib.patches import Patch

                ax.axvline(m["mu_star_floor"].iloc[0], color="k", ls="--", lw=0.8,
                           label="noise floor")
                handles, _ = ax.get_legend_handles_labels()
                ax.legend(handles=[*handles, Patch(color=grey, label="not above the floor")],
                          loc="lower right", fontsize="x-small")
            ax.set_xlabel("Morris $\\mu^*$ (weeks)")
            ax.set_title(title)
            if sobol_df is not None:
                s = sobol_df[sobol_df["output"] == y].set_index("label").loc[m["label"]]
                ax = axes[2 + k]
                pos = np.arange(len(s))
                floors = "S1_floor" in s
                c1 = [("C1" if a else grey) for a in s["S1_above_noise"]] if floors else "C1"
                c2 = [("C2" if a else grey) for a in s["ST_above_noise"]] if floors else "C2"
                ax.barh(pos - 0.2, s["S1"], 0.4, xerr=s["S1_conf"], color=c1, edgecolor="C1")
                ax.barh(pos + 0.2, s["ST"], 0.4, xerr=s["ST_conf"], color=c2, edgecolor="C2")
                if floors:
                    ax.axvline(s["S1_floor"].iloc[0], color="C1", ls=":", lw=0.9,
                               label="$S_1$ noise floor")
                    ax.axvline(s["ST_floor"].iloc[0], color="C2", ls="--", lw=0.9,
                               label="$S_T$ noise floor")
                ax.set_yticks(pos, s.index)
                ax.set_xlabel("Sobol index (share of variance)")
                from matplotlib.patches import Patch

                lines, _ = ax.get_legend_handles_labels()
                patches = [Patch(color="C1", label="first order $S_1$"),
                           Patch(color="C2", label="total $S_T$")]
                if floors:
                    patches.append(Patch(color=grey, label="not above the floor"))
                ax.legend(handles=[*patches, *lines], loc="lower right", fontsize="x-small")
        fig.set_layout_engine("constrained")
        return save(fig, path.parent, path.name)


def _settings(args, lions: SimConfig, params: Sequence[Param]) -> str:
    """What all designs of one output folder share (configuration, parameters,
    sample seed); the designs' own settings name their points (run_points), so that
    changing one design (e.g. a larger Sobol sample) keeps the other's points."""
    return json.dumps({"config": to_dict(lions), "params": [p.__dict__ for p in params],
                       "seed": args.sample_seed}, sort_keys=True, default=str)


def _folder(settings: str) -> Path:
    return Path("outputs") / "sensitivity" / hashlib.sha1(settings.encode()).hexdigest()[:10]


def _claim_folder(out: Path, settings: str) -> None:
    """Refuse a folder that holds points of other settings; mark it as these settings'."""
    mark = out / "settings.json"
    if mark.exists() and mark.read_text() != settings:
        raise ConfigError(f"--out={out}: holds a sensitivity analysis of other settings (configuration, "
                          "parameters or --sample-seed); choose another folder")
    if not mark.exists():
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(mark, settings)


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _mark(value: str, above: bool) -> str:
    return value if above else f"{value} (noise)"


def _report(args, morris_df, sobol_df, noise: pd.DataFrame, design_noise: dict, n_points,
            lions: SimConfig, params: Sequence[Param] = PARAMS) -> str:
    k = args.seeds_per_point
    seeds = f"seeds {lions.seed}-{lions.seed + k - 1}" if k > 1 else f"seed {lions.seed}"
    lines = ["# Global sensitivity analysis", "",
             f"Command: `python -m sim sensitivity {' '.join(args.argv)}`  ",
             f"{lions.n_workers} workers x {lions.weeks} weeks per run; {n_points} design "
             f"points, each run with {k} seed(s) ({seeds}, the same at every point) for lions "
             f"and for everyone (paired by seed), outcomes averaged over the seeds.", "",
             "| parameter | range |", "|---|---|"]
    lines += [f"| `{p.key}` ({p.label}) | [{p.low}, {p.high}] |" for p in params]
    R = int(noise["groups"].iloc[0])
    lines += ["", "## Noise", "",
              f"At the base point (the configured values), {R} groups of {k} seeds (disjoint "
              f"seed sets, {R * k} runs of each population):", "",
              "| outcome | mean | s.d. of one run | s.d. of a point (mean of k seeds) "
              "| s.d. between group means (check) | s.d. of one run at the Morris points (check) |",
              "|---|---|---|---|---|---|"]
    for _, r in noise.iterrows():
        lines.append(f"| {OUTPUTS[r['output']]} | {r['mean']:.2f} | {r['sd_run']:.3f} | "
                     f"{r['sd']:.3f} ({int(r['df'])} df) | {r['sd_between']:.3f} | "
                     f"{design_noise.get(r['output'], (float('nan'),))[0]:.3f} |")
    D = len(params)
    lines += ["", f"Noise floor: the {1 - ALPHA / D:.4f} quantile (familywise {ALPHA:.0%} over "
              f"the {D} parameters of an outcome) of the index that pure noise of that s.d. "
              "gives on the same design (Monte Carlo, the s.d.'s own uncertainty included). "
              f"\"(noise)\": {NOISE}, i.e. at or below the floor. p (noise): the share of "
              f"pure-noise mu* at least as large (above the floor when p < {ALPHA / D:.4f})."]
    if design_noise:
        lines += ["", "Check: the noise varies across the parameter space. With the Morris points' "
                  "own s.d. (root mean square of the within-point s.d. over the seeds) instead of "
                  "the base point's, the mu* floor would be "
                  + " and ".join(f"{v[1]:.2f} ({y})" for y, v in design_noise.items()) + "."]
    for y, title in OUTPUTS.items():
        m = morris_df[morris_df["output"] == y].sort_values("mu_star", ascending=False)
        head = (f"| parameter | Morris mu* (floor {m['mu_star_floor'].iloc[0]:.2f}) | p (noise) "
                "| mu | sigma |")
        rule = "|---|---|---|---|---|"
        if sobol_df is not None:
            s0 = sobol_df[sobol_df["output"] == y].iloc[0]
            head += f" Sobol S1 (floor {s0['S1_floor']:.2f}) | Sobol ST (floor {s0['ST_floor']:.2f}) |"
            rule += "---|---|"
        lines += ["", f"## {title}", "", head, rule]
        for _, r in m.iterrows():
            row = (f"| {r['label']} | {_mark(f'{r.mu_star:.2f} ± {r.mu_star_conf:.2f}', r['above_noise'])}"
                   f" | {_p(r['mu_star_p'])} | {r['mu']:+.2f} | {r['sigma']:.2f} |")
            if sobol_df is not None:
                s = sobol_df[(sobol_df["output"] == y) & (sobol_df["parameter"] == r["parameter"])].iloc[0]
                row += (f" {_mark(f'{s.S1:.2f} ± {s.S1_conf:.2f}', s['S1_above_noise'])} |"
                        f" {_mark(f'{s.ST:.2f} ± {s.ST_conf:.2f}', s['ST_above_noise'])} |")
            lines.append(row)
        above = m.loc[m["above_noise"], "label"].tolist()
        lines += ["", f"Above the Morris floor: {', '.join(above).rstrip('.') if above else 'none'}."]
    lines += ["", "![sensitivity](sensitivity.png)"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str]) -> None:
    p = argparse.ArgumentParser(prog="python -m sim sensitivity", description=__doc__.splitlines()[0])
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="config overrides in Hydra syntax, applied to both populations")
    p.add_argument("--n-workers", type=int, default=SimConfig.n_workers,
                   help="workers per run (default: the model's, %(default)s: two markets, the size "
                   "at which the outcomes no longer depend on the number of workers)")
    p.add_argument("--weeks", type=int, default=260, help="recorded weeks per run (default: %(default)s)")
    p.add_argument("--trajectories", type=int, default=10,
                   help="Morris trajectories r; r(D+1) points (default: %(default)s)")
    p.add_argument("--levels", type=int, default=4, help="Morris grid levels (default: %(default)s)")
    p.add_argument("--sobol-n", type=int, default=0,
                   help="Sobol base sample N (a power of 2), N(D+2) points; 0 = Morris only "
                   "(default: %(default)s; 256 for a paper)")
    p.add_argument("--seeds-per-point", type=int, default=2,
                   help="seeds per point (the configured seed and the next ones, the same at every "
                   "point), outcomes averaged over them (default: %(default)s; the noise that is "
                   "left is measured at the base point and reported; experiments/E6_sensitivity.md)")
    p.add_argument("--noise-groups", type=int, default=16,
                   help="groups of --seeds-per-point seeds at the base point that measure the noise "
                   "(default: %(default)s)")
    p.add_argument("--sample-seed", type=int, default=0, help="seed of the samples (default: 0)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="runs in parallel processes (default: all cores)")
    p.add_argument("--out", help="output folder (default: outputs/sensitivity/<hash of the settings>)")
    args = p.parse_args(list(argv))
    args.argv = list(argv)
    for key in ("n_workers", "weeks", "trajectories", "jobs", "seeds_per_point"):
        if getattr(args, key) < 1:
            raise ConfigError(f"--{key.replace('_', '-')}={getattr(args, key)}: must be >= 1")
    if args.noise_groups < 2:
        raise ConfigError(f"--noise-groups={args.noise_groups}: must be >= 2")
    if args.levels < 2 or args.levels % 2:
        raise ConfigError(f"--levels={args.levels}: must be an even number >= 2")
    if args.sobol_n < 0 or (args.sobol_n and args.sobol_n & (args.sobol_n - 1)):
        raise ConfigError(f"--sobol-n={args.sobol_n}: must be 0 or a power of 2")
    size = [f"n_workers={args.n_workers}", f"weeks={args.weeks}", *args.overrides]
    lions, everyone = compose(["+strategy=lions", *size]), compose(["+strategy=everyone", *size])
    params = design_for(lions)
    check_base_point(lions, params)
    settings = _settings(args, lions, params)
    out = Path(args.out) if args.out else _folder(settings)
    _claim_folder(out, settings)
    progress = sys.stderr.isatty()
    k, R = args.seeds_per_point, args.noise_groups
    design_seeds = tuple(lions.seed + i for i in range(k))

    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    # the noise: R groups of k seeds at the base point; group 0 is the design's seed set
    Xn = np.tile(base_point(lions, params), (R, 1))
    npts = run_points(f"noise-k{k}", Xn, lions, everyone, out / "points", args.jobs,
                      seed_sets=[tuple(lions.seed + g * k + i for i in range(k)) for g in range(R)],
                      progress=progress, params=params)
    noise = noise_sd(npts, k)

    Xm = morris_sample.sample(problem(params), args.trajectories, num_levels=args.levels,
                              seed=args.sample_seed)
    pts = run_points(f"morris-r{args.trajectories}-l{args.levels}-k{k}", Xm, lions, everyone,
                     out / "points", args.jobs, seed_sets=[design_seeds] * len(Xm), progress=progress,
                     params=params)
    morris_df = morris(Xm, pts, args.levels, args.sample_seed, noise, params)
    all_pts, sobol_df = [pts], None
    if args.sobol_n:
        Xs = sobol_sample.sample(problem(params), args.sobol_n, calc_second_order=False,
                                 seed=args.sample_seed)
        spts = run_points(f"sobol-n{args.sobol_n}-k{k}", Xs, lions, everyone, out / "points",
                          args.jobs, seed_sets=[design_seeds] * len(Xs), progress=progress,
                          params=params)
        sobol_df = sobol(spts, args.sample_seed, noise, params)
        all_pts.append(spts)
    # a check of the base point's noise: one run's s.d. over the Morris points (k > 1), and
    # the mu* floor it would give
    design_noise = {}
    if k > 1:
        for y in OUTPUTS:
            sd_run = float(np.sqrt(np.mean(pts[f"{y}_sd"] ** 2)))
            mc = morris_noise(Xm, args.levels, sd_run / np.sqrt(k), len(pts) * (k - 1),
                              seed=args.sample_seed)
            design_noise[y] = (sd_run, floor_of(mc))
    points = pd.concat([npts, *all_pts])
    write_atomic(out / "points.parquet", lambda p: points.to_parquet(p, index=False))
    write_text_atomic(out / "noise.csv", noise.to_csv(index=False))
    write_text_atomic(out / "morris.csv", morris_df.to_csv(index=False))
    if sobol_df is not None:
        write_text_atomic(out / "sobol.csv", sobol_df.to_csv(index=False))
    figure(morris_df, sobol_df, out / "sensitivity")
    n_points = sum(len(x) for x in all_pts)
    text = _report(args, morris_df, sobol_df, noise, design_noise, n_points, lions, params)
    write_text_atomic(out / "report.md", text)
    print(text)
    print(f"written to {out}")
