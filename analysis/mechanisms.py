"""Mechanisms: how jobs are found (channels, ties) and whether unemployment
clusters along ties (docs/RESEARCH.md questions 4 and 5, stylized facts 1-3 and 6).

Hires are taken from the spell records on the project's one counting basis: the
hires that end spells begun in the horizon (:attr:`analysis.data.Data.spells`,
like the run summary's ``n_hires`` and ``share_hires_contacts``; hires ending
spells that began in the burn-in are left out). The network is known only at
the end of a run (``ties.parquet``, written with ``output.ties=true``); measures
that need it say so and return nothing rather than guess when it is missing.

Shares come with two intervals: ``lower``/``upper`` are within-run exact binomial
(Clopper-Pearson) intervals on the pooled counts (hires as independent draws),
``mean_lower``/``mean_upper`` a run-level t interval of the mean of per-run
shares on the logit scale (:func:`analysis.stats.range_interval`: inside [0, 1];
none with one run); the latter is the one to compare scenarios with.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.data import Data
from analysis.stats import clopper_pearson, interval_note, poisson_interval, range_interval
from sim.results.contract import SUMMARY

log = logging.getLogger(__name__)

CONTACT_CHANNELS = ("lead", "referral")
WEAK_KINDS = ("acquaintance", "online")
WORK_STRENGTH = "ties.work_strength"  # the config key of the strength-based definition
STRENGTH_BINS = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))
COMMON_BINS = (0, 1, 2, 4, 8, 16, 32, np.inf)


def _by(data: Data, by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return ["strategy", *data.params]
    return [by] if isinstance(by, str) else list(by)


def _hires(data: Data) -> pd.DataFrame:
    """Hires ending spells begun in the horizon (the counting basis of the headline)."""
    s = data.spells
    return s[~s["censored"]]


def _shares(df: pd.DataFrame, by: list[str], flag: pd.Series, level: float) -> pd.DataFrame:
    """Share of rows with ``flag`` per group: within-run pooled (Clopper-Pearson) and
    run-level (mean of per-run shares, logit-scale t interval, ``note``)."""
    df = df.assign(_flag=flag.to_numpy(bool))
    rows = []
    for key, g in df.groupby(by, observed=True, dropna=False, sort=True) if by else [((), df)]:
        key = key if isinstance(key, tuple) else (key,)
        k, n = int(g["_flag"].sum()), len(g)
        lo, hi = clopper_pearson(k, n, level)
        per_run = g.groupby("run_id")["_flag"].mean()
        ti = range_interval(per_run.to_numpy(), (0.0, 1.0), level)
        rows.append({**dict(zip(by, key, strict=True)), "n": n, "k": k, "share": k / n if n else np.nan,
                     "lower": float(lo), "upper": float(hi), "n_runs": len(per_run),
                     "share_mean": ti["mean"], "mean_lower": ti["lower"], "mean_upper": ti["upper"],
                     "note": interval_note(len(per_run), ti["sd"])})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- channels


def hires_by_channel(data: Data, by: str | Sequence[str] | None = None,
                     level: float = 0.95) -> pd.DataFrame:
    """Hires by channel (formal, lead, referral, recall) per group.

    ``recall`` (a hire back by the last employer, decided by the employer) exists only
    with ``recall.enabled``; it is not a contact channel (:data:`CONTACT_CHANNELS`).

    Args:
        data: loaded outputs.
        by: grouping columns (default: ``strategy`` and the swept parameters).
        level: confidence level.

    Returns:
        One row per group and channel: ``channel``, ``hires`` (count), ``n`` (all
        hires of the group, of spells begun in the horizon), ``share`` with
        within-run ``lower``/``upper``, and the mean of per-run shares
        ``share_mean`` with run-level ``mean_lower``/``mean_upper`` and ``note``.
    """
    by = _by(data, by)
    hires = _hires(data)
    frames = []
    for ch in hires["channel"].cat.categories:
        f = _shares(hires, by, hires["channel"] == ch, level)
        f.insert(len(by), "channel", ch)
        frames.append(f.rename(columns={"k": "hires"}))
    out = pd.concat(frames, ignore_index=True)
    out["channel"] = pd.Categorical(out["channel"], categories=hires["channel"].cat.categories)
    return out.sort_values([*by, "channel"], ignore_index=True)


def last_employer_returns(data: Data, by: str | Sequence[str] | None = None,
                          level: float = 0.95) -> pd.DataFrame:
    """Share of hires made by the worker's last employer (``hired_by`` equal to
    ``last_employer``), whatever the channel, per group.

    Args:
        data: loaded outputs (spells with ``last_employer`` and ``hired_by``; outputs
            written before these columns existed give an empty table).
        by: grouping columns (default: ``strategy`` and the swept parameters).
        level: confidence level.

    Returns:
        One row per group, as :func:`hires_by_channel` (``k`` = hires back to the last
        employer, ``n`` = hires of workers with a last employer); empty without the
        columns or such hires.
    """
    hires = _hires(data)
    if not {"last_employer", "hired_by"} <= set(hires.columns):
        return pd.DataFrame()
    hires = hires[hires["last_employer"].notna()]
    if hires.empty:
        return pd.DataFrame()
    back = (pd.to_numeric(hires["hired_by"]).to_numpy(float, na_value=np.nan)
            == pd.to_numeric(hires["last_employer"]).to_numpy(float, na_value=np.nan))
    return _shares(hires, _by(data, by), pd.Series(back, index=hires.index), level)


def censor_recalls(data: Data) -> Data:
    """The data with every recall hire censored at its week: the spell counts as
    searched until the recall and as ending without a hire through the other channels.

    The cause-specific view of "recall hires excluded": a recall is decided by the
    employer (an independent draw in the model, given the firm's open positions), so
    censoring it estimates the time to a hire through the other channels had the
    recall not happened. Dropping the recalled spells instead would condition on the
    outcome (removing the spells that end soonest).

    Args:
        data: loaded outputs.

    Returns:
        ``data`` itself when it holds no recall hire, else a copy whose recall spells
        have ``censored=True`` (their ``duration_weeks`` unchanged).
    """
    s = data.all_spells
    rec = (~s["censored"].to_numpy(bool)) & (s["channel"] == "recall").to_numpy(bool)
    if not rec.any():
        return data
    s = s.copy()
    s.loc[rec, "censored"] = True
    return replace(data, all_spells=s)


def work_strength(data: Data) -> pd.Series:
    """``ties.work_strength`` of each spell's run (aligned with ``data.spells``).

    Taken from the spells when swept, else from each run's ``summary.json`` (its
    config). NaN for the runs where it is unknown (a collected dataset without its
    run folders): no default is assumed, since the runs may not have used it.
    """
    spells = data.spells
    if WORK_STRENGTH in spells.columns:
        return pd.to_numeric(spells[WORK_STRENGTH], errors="coerce").astype(float)
    per_run = {}
    for run_id in spells["run_id"].unique():
        value = _config_value(data.run_folders.get(run_id), ("ties", "work_strength"))
        per_run[run_id] = np.nan if value is None else float(value)
    return spells["run_id"].map(per_run).astype(float)


def _config_value(folder, keys: Sequence[str]):
    """A value of a run's config from its ``summary.json`` (None if unavailable)."""
    if folder is None or not (folder / SUMMARY).is_file():
        return None
    value = json.loads((folder / SUMMARY).read_text()).get("config", {})
    for k in keys:
        if not isinstance(value, dict) or k not in value:
            return None
        value = value[k]
    return value


def contact_ties(data: Data, by: str | Sequence[str] | None = None,
                 weak_kinds: Sequence[str] = WEAK_KINDS,
                 strength_threshold: float | None = None, level: float = 0.95) -> pd.DataFrame:
    """Weak vs strong ties among contact hires (leads and referrals).

    Two definitions of a weak tie, reported side by side (the same two as
    ``python -m sim validate``'s fact 2):

    - by kind (``definition = "kind"``): ``tie_kind`` in ``weak_kinds`` (default
      acquaintances and online-only connections, Granovetter's contacts seen
      rarely; colleagues and supervisors are strong);
    - by strength (``definition = "strength<T"``): the tie's strength at the hire
      below ``T`` = ``strength_threshold``, by default each run's
      ``ties.work_strength`` (the strength working together keeps: people the seeker
      no longer sees every working day, most former colleagues included).
      ``T`` is printed when it is one value, else the label reads
      ``strength<ties.work_strength``. The contact hires of runs whose
      ``ties.work_strength`` is unknown (a collected dataset without its run
      folders) are left out of this definition, with a logged warning (and the
      definition is left out when no run's is known): pass ``strength_threshold``
      to classify them against a value you know.

    Args:
        data: loaded outputs.
        by: grouping columns (default: ``strategy`` and the swept parameters).
        weak_kinds: tie kinds counted as weak.
        strength_threshold: strength below which a tie is weak (default: the
            run's ``ties.work_strength``, see :func:`work_strength`).
        level: confidence level.

    Returns:
        One row per group and definition: ``definition``, ``meaning`` (the
        definition in words), ``n`` contact hires (classified by it), ``k`` through
        weak ties, ``share`` (weak share) with pooled and across-run intervals.
    """
    by = _by(data, by)
    hires = _hires(data)
    contact = hires[hires["channel"].isin(CONTACT_CHANNELS)]
    if contact.empty:
        log.info("no contact hire in the data")
        return pd.DataFrame()
    kind = _shares(contact, by, contact["tie_kind"].isin(weak_kinds), level)
    kind.insert(len(by), "definition", "kind")
    kind.insert(len(by) + 1, "meaning", f"tie kind {' or '.join(weak_kinds)}")
    if strength_threshold is None:
        threshold = work_strength(data).loc[contact.index]
        unknown = threshold.isna()
        n_unknown = contact.loc[unknown, "run_id"].nunique()
        if n_unknown:
            log.warning("%s unknown for %d run(s) (run folders not found): their %d contact "
                        "hires are left out of the weak ties by strength (pass "
                        "strength_threshold to classify them)", WORK_STRENGTH, n_unknown,
                        int(unknown.sum()))
            if unknown.all():
                return kind
            contact, threshold = contact[~unknown], threshold[~unknown]
        values = threshold.unique()
        label = f"{values[0]:g}" if len(values) == 1 else WORK_STRENGTH
        meaning = f"tie strength at the hire below {WORK_STRENGTH}" + (
            f" ({values[0]:g})" if len(values) == 1 else " (of each run)") + (
            f"; {n_unknown} run(s) with it unknown left out" if n_unknown else "")
    else:
        threshold = pd.Series(float(strength_threshold), index=contact.index)
        label = f"{strength_threshold:g}"
        meaning = f"tie strength at the hire below {strength_threshold:g}"
    weak = contact["tie_strength"].astype(float) < threshold
    strength = _shares(contact, by, weak, level)
    strength.insert(len(by), "definition", f"strength<{label}")
    strength.insert(len(by) + 1, "meaning", meaning)
    return pd.concat([kind, strength], ignore_index=True)


# ---------------------------------------------------------------------------- help per tie


def help_per_tie(data: Data, measure: str = "strength", bins: Sequence[float] | None = None,
                 by: str | Sequence[str] | None = None, level: float = 0.95) -> pd.DataFrame | None:
    """Contact hires per job seeker's tie, by tie strength or embeddedness.

    Measure (approximate; the network is known only at the end of a run):

    - numerator: contact hires (lead or referral) ending spells begun in the
      horizon, in a bin of the carrying tie's strength (or common neighbours)
      *at the hire* (spell records);
    - exposure: ties of job seekers in the same bin *at the end of the run*
      (``ties.parquet``), counted once per seeker end (a seeker is a worker with
      at least one spell begun in the horizon; the group is the seeker's strategy);
    - help per tie = hires / exposure: pooled over runs with a within-run exact
      Poisson interval on the count (``lower``/``upper``: hires as independent
      events), and the mean over runs of each run's ratio with a run-level t
      interval on the log scale (``mean_help``, ``mean_lower``/``mean_upper``,
      ``note``; none with one run), the one to compare scenarios with.

    It treats the end-of-run network as representative of the seekers' networks
    during the horizon (steady state). Ties that carried a hire usually become
    colleague ties afterwards (kept at ``ties.work_strength``), so the exposure of
    strong bins is inflated: compare the shape across bins, not the levels.

    Args:
        data: loaded outputs; runs without ``ties.parquet`` are skipped.
        measure: ``"strength"`` or ``"common_neighbors"``.
        bins: bin edges (default: strength in tenths of [0, 1], bins ``(a, b]``;
            common neighbours 0, 1, 2-3, 4-7, 8-15, 16-31, 32+, bins ``[a, b)``).
        by: grouping columns (default: ``strategy`` and the swept parameters).
        level: confidence level.

    Returns:
        One row per group and bin: ``bin``, ``bin_mid``, ``hires``, ``ties``,
        ``help_per_tie``, ``lower``, ``upper`` (within-run), ``n_runs``,
        ``mean_help``, ``mean_lower``, ``mean_upper`` (run-level), ``note``; None (with a logged
        reason) when no run has ``ties.parquet``.
    """
    if measure not in ("strength", "common_neighbors"):
        raise ValueError("measure must be 'strength' or 'common_neighbors'")
    by = _by(data, by)
    edges = np.asarray(bins if bins is not None else
                       (STRENGTH_BINS if measure == "strength" else COMMON_BINS), float)
    hire_col = "tie_strength" if measure == "strength" else "tie_common_neighbors"
    tie_col = "strength" if measure == "strength" else "common_neighbors"
    parts = []
    for run_id, spells in data.spells.groupby("run_id", sort=True, observed=True):
        ties = data.ties(run_id)
        if ties is None:
            continue
        hires = spells[~spells["censored"] & spells["channel"].isin(CONTACT_CHANNELS)]
        right = measure == "strength"  # strength bins (a, b] from 0 to 1; counts [a, b)
        num = hires.assign(bin=_bin(hires[hire_col], edges, right))
        num = num.groupby([*by, "bin"], observed=True, dropna=False).size().rename("hires")
        seeker = spells.drop_duplicates("worker_id").set_index("worker_id")
        half = pd.concat([pd.DataFrame({"ego": ties["a"], "v": ties[tie_col]}),
                          pd.DataFrame({"ego": ties["b"], "v": ties[tie_col]})], ignore_index=True)
        half = half[half["ego"].isin(seeker.index)]
        exp = seeker.loc[half["ego"], by].reset_index(drop=True).assign(
            bin=_bin(half["v"], edges, right).to_numpy())
        exp = exp.groupby([*by, "bin"], observed=True, dropna=False).size().rename("ties")
        part = pd.concat([num, exp], axis=1).fillna(0).reset_index()
        part["run_id"] = run_id
        parts.append(part)
    if not parts:
        log.warning("help per tie: no run has ties.parquet (%s)",
                    "run the sweep with output.ties=true" if data.run_folders
                    else "run folders not found: only the collected dataset")
        return None
    allp = pd.concat(parts, ignore_index=True)
    out = allp.groupby([*by, "bin"], observed=True, dropna=False).agg(
        hires=("hires", "sum"), ties=("ties", "sum"), n_runs=("run_id", "nunique")).reset_index()
    out = out[out["ties"] > 0].copy()
    lo, hi = poisson_interval(out["hires"].to_numpy(), level)
    out["help_per_tie"] = out["hires"] / out["ties"]
    out["lower"], out["upper"] = lo / out["ties"], hi / out["ties"]
    out["bin_mid"] = [_mid(b) for b in out["bin"]]
    allp = allp.assign(ratio=np.where(allp["ties"] > 0, allp["hires"] / allp["ties"].where(
        allp["ties"] > 0, 1), np.nan))
    runlevel = []
    for _, g in out.iterrows():
        sel = np.ones(len(allp), bool)
        for c in [*by, "bin"]:
            sel &= (allp[c] == g[c]).to_numpy()
        vals = allp.loc[sel, "ratio"].to_numpy(float)
        ri = range_interval(vals, (0.0, None), level)
        runlevel.append({"mean_help": ri["mean"], "mean_lower": ri["lower"],
                         "mean_upper": ri["upper"], "note": interval_note(ri["n"], ri["sd"])})
    out = pd.concat([out.reset_index(drop=True), pd.DataFrame(runlevel)], axis=1)
    return out.reset_index(drop=True)


def _bin(values: pd.Series, edges: np.ndarray, right: bool) -> pd.Series:
    return pd.cut(pd.to_numeric(values, errors="coerce").astype(float), edges, right=right,
                  include_lowest=True)


def _mid(interval) -> float:
    lo, hi = interval.left, interval.right
    return float(lo) if not np.isfinite(hi) else (float(lo) + float(hi)) / 2


# ---------------------------------------------------------------------------- correlation


@dataclass
class Correlation:
    """Correlation of unemployment across the two ends of ties (one run).

    Attributes:
        value: Pearson correlation of the unemployment indicators over both
            orientations of every tie (the assortativity coefficient of the binary
            attribute "unemployed"); None when it cannot be computed.
        reason: why ``value`` is None.
        n_ties: ties used.
        n_unemployed: unemployed workers at the measurement week.
        null_mean: mean correlation when the unemployed are reassigned at random
            among all workers (same number), keeping the network.
        null_sd: its standard deviation.
        p_value: one-sided permutation p-value of ``value`` above the null.
    """

    value: float | None
    reason: str | None = None
    n_ties: int = 0
    n_unemployed: int = 0
    null_mean: float | None = None
    null_sd: float | None = None
    p_value: float | None = None


def neighbour_correlation(a: np.ndarray, b: np.ndarray, unemployed: np.ndarray,
                          n_permutations: int = 199,
                          rng: np.random.Generator | None = None) -> Correlation:
    """Correlation of unemployment at the two ends of ties, with a permutation null.

    Args:
        a: one end of each tie (worker ids).
        b: the other end.
        unemployed: boolean indicator per worker id (length = number of workers).
        n_permutations: random reassignments of the indicator for the null (0 = none).
        rng: random generator for the permutations.

    Returns:
        A :class:`Correlation`; ``value`` is None (with ``reason``) when there is no
        tie or the indicator does not vary over tie ends.
    """
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    u = np.asarray(unemployed, bool)
    n_u = int(u.sum())
    if len(a) == 0:
        return Correlation(None, "no ties", 0, n_u)
    obs = _corr(u, a, b)
    if obs is None:
        return Correlation(None, "unemployment does not vary across tie ends", len(a), n_u)
    if n_permutations <= 0:
        return Correlation(obs, None, len(a), n_u)
    rng = rng or np.random.default_rng(0)
    null = np.array([_corr(rng.permutation(u), a, b) for _ in range(n_permutations)], dtype=float)
    null = null[np.isfinite(null)]
    p = (1 + int((null >= obs).sum())) / (1 + len(null))
    return Correlation(obs, None, len(a), n_u, float(null.mean()), float(null.std(ddof=1)), p)


def _corr(u: np.ndarray, a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson correlation of ``(u[a], u[b])`` over both orientations of every tie.

    For a 0/1 indicator this is ``(P(both) - m^2) / (m (1 - m))`` with ``m`` the
    share of unemployed tie ends and ``P(both)`` the share of ties with both ends
    unemployed: the same number as ``np.corrcoef`` on the stacked pairs, in O(ties).
    """
    ua, ub = u[a], u[b]
    m = (np.count_nonzero(ua) + np.count_nonzero(ub)) / (2 * len(a))
    if m <= 0.0 or m >= 1.0:
        return None
    both = np.count_nonzero(ua & ub) / len(a)
    return float((both - m * m) / (m * (1.0 - m)))


def employment_correlation(data: Data, kinds: Sequence[str] | None = None,
                           n_permutations: int = 199, seed: int = 0) -> pd.DataFrame:
    """Unemployment correlation between tie neighbours at the final week, per run.

    Estimator: a worker is unemployed at the final week if they have a censored
    spell (running at the end); the network is ``ties.parquet`` (the ties at the
    end, optionally only ``kinds``). :func:`neighbour_correlation` gives the
    Pearson correlation of the indicator over both orientations of every tie and
    a permutation null that keeps the network and the number unemployed.

    Args:
        data: loaded outputs.
        kinds: tie kinds to use (default: all).
        n_permutations: permutations for the null.
        seed: seed of the permutations.

    Returns:
        One row per run: ``run_id``, ``seed``, swept parameters, ``n_workers``,
        ``corr`` (NaN when not computable), ``null_mean``, ``null_sd``, ``p_value``,
        ``n_ties``, ``n_unemployed``, ``reason`` (why ``corr`` is missing: no
        ``ties.parquet``, unknown number of workers, no variation).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for run_id, spells in data.all_spells.groupby("run_id", sort=True):
        row = {"run_id": run_id, "seed": spells["seed"].iloc[0],
               **{p: spells[p].iloc[0] for p in data.params}}
        ties = data.ties(run_id)
        n = data.run_value(run_id, "n_workers")
        if run_id not in data.run_folders:
            res = Correlation(None, "run folder not found (only the collected dataset)")
        elif ties is None:
            res = Correlation(None, "no ties.parquet (run with output.ties=true)")
        elif n is None:
            res = Correlation(None, "number of workers unknown (run folder missing)")
        else:
            if kinds is not None:
                ties = ties[ties["kind"].isin(kinds)]
            u = np.zeros(int(n), bool)
            u[spells.loc[spells["censored"], "worker_id"].to_numpy(np.int64)] = True
            res = neighbour_correlation(ties["a"].to_numpy(), ties["b"].to_numpy(), u,
                                        n_permutations, rng)
        rows.append({**row, "n_workers": n, "corr": np.nan if res.value is None else res.value,
                     "null_mean": res.null_mean, "null_sd": res.null_sd, "p_value": res.p_value,
                     "n_ties": res.n_ties, "n_unemployed": res.n_unemployed, "reason": res.reason})
    return pd.DataFrame(rows)
