"""Convergence study: headline outcomes against n_workers at a fixed market size, and
against the market size at fixed n_workers (issue 15).

The population is the default mixed market (``configs/strategy/mixed.yaml``: 50 %
lions, 50 % everyone). Every run is one (setting, seed); runs are the unit of the
intervals: each outcome is the mean over seeds of the per-run estimate with a 95 % t
interval across seeds kept inside the quantity's range
(:func:`analysis.stats.range_interval`), and lions - everyone is paired by seed
(:func:`analysis.stats.paired_difference`).

Outcomes per run (spells begun in the recorded horizon, as ``sim.results.metrics.headline``):
Kaplan-Meier median weeks and RMST(52) weeks per strategy, share re-employed within 4
weeks (S4), share of hires through contacts, mean unemployment rate over the horizon,
mean degree over the horizon (all workers). Mechanism measurements (``measured_market``),
by strategy: at every formal hire (firm drawn without the network), how many people the
new hire already knows at the hiring firm, and how many of them through a non-work tie
(online or acquaintance); at every job loss, the ties to people at the firm just left;
the share of hires (and of contact hires) back at the last employer; every 13 weeks, how
many aware contacts (tie at or above ``leads.aware_strength``) each searcher has at firms
with a vacancy, i.e. the people who can pass them a lead.

Modes:
  python benchmarks/market_size.py workers --workers 20000 100000 1000000   # the defaults' size
  python benchmarks/market_size.py workers --legacy --workers 2000 10000 50000   # n_sectors=10
  python benchmarks/market_size.py size --workers 50000 --market-sizes 250 1000 5000 50000

Each run's measurements are stored as JSON under ``--out`` (default
``/tmp/market_size``), one file per run: a second call with the same settings reuses
them (resumable; ``--redo`` recomputes; ``--stored-only`` computes nothing and reports the
runs stored so far). The table is printed and a figure written to
``<out>/<mode>.png``. Runs go through ``nice``-friendly worker processes (``--jobs``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

STRATEGIES = ("lions", "everyone")
MIXED = {"name": "mixed", "shares": {"lions": 0.5, "everyone": 0.5}}
TAU = 52.0
SAMPLE_EVERY = 13  # weeks between two samples of the searchers' aware contacts


def measured_market(cfg):
    """A :class:`sim.core.model.LabourMarket` that also measures the market-size mechanism.

    Args:
        cfg: the run's configuration.

    Returns:
        The model; after ``run()``, ``model.mech`` holds sums per strategy over the
        horizon: formal hires, people known at the hiring firm, of which through
        non-work ties, hires knowing at least one; searcher-samples with their aware
        contacts at firms with a vacancy (all kinds, and colleague or supervisor ties);
        job losses with their ties to the firm left; hires, contact hires, and those of
        them back at the last employer.
    """
    from sim.core.model import LabourMarket
    from sim.core.records import FORMAL, LEAD, REFERRAL
    from sim.core.ties import ACQUAINTANCE, COLLEAGUE, ONLINE, SUPERVISOR

    class Measured(LabourMarket):
        def __init__(self, c):
            super().__init__(c)
            k = len(self.strategy_names)
            self.mech = {key: np.zeros(k) for key in (
                "formal_hires", "known_at_firm", "known_nonwork", "hires_knowing",
                "searcher_samples", "aware_helpers", "aware_helpers_work", "job_losses",
                "coworkers_at_loss", "hires", "contact_hires", "returns", "contact_returns")}

        def _lose_jobs(self, workers, layoff):
            if self.week >= 0 and len(workers):
                # ties to people at the firm just left (cowork flags are last week's)
                h = self.ties.rows_of(workers)
                k = len(self.strategy_names)
                idx = np.full(self.cfg.n_workers, -1, dtype=np.int64)
                idx[workers] = np.arange(len(workers))
                cw = np.bincount(idx[h.ego], weights=self.ties.cowork[h.edge],
                                 minlength=len(workers))
                st = self.strategy[workers]
                self.mech["job_losses"] += np.bincount(st, minlength=k)
                self.mech["coworkers_at_loss"] += np.bincount(st, weights=cw, minlength=k)
            super()._lose_jobs(workers, layoff)  # (sets the model's last_employer)

        def _close_spells(self, workers, channel, helper, row, hired_by=-1):
            super()._close_spells(workers, channel, helper, row, hired_by)
            if self.week < 0 or self.cfg.market.jobs != "vacancies":
                return
            k = len(self.strategy_names)
            st = self.strategy[workers]
            back = self.employer[workers] == self.last_employer[workers]  # back to last employer
            contact = np.isin(channel, (LEAD, REFERRAL))  # (recall is not a contact hire)
            for key, w in (("hires", None), ("contact_hires", contact), ("returns", back),
                           ("contact_returns", back & contact)):
                self.mech[key] += np.bincount(st, weights=w, minlength=k)
            w = workers[channel == FORMAL]  # formal hires: firm drawn without the network
            if len(w) == 0:
                return
            h = self.ties.rows_of(w)
            same = self.employer[h.alter] == self.employer[h.ego]
            kind = self.ties.kind[h.edge]
            nonwork = same & np.isin(kind, (ONLINE, ACQUAINTANCE))
            idx = np.full(self.cfg.n_workers, -1, dtype=np.int64)
            idx[w] = np.arange(len(w))
            pos = idx[h.ego]  # each half-edge's hire
            k = len(self.strategy_names)
            st = self.strategy[w]
            m = self.mech
            m["formal_hires"] += np.bincount(st, minlength=k)
            known = np.bincount(pos, weights=same, minlength=len(w))
            m["known_at_firm"] += np.bincount(st, weights=known, minlength=k)
            m["known_nonwork"] += np.bincount(
                st, weights=np.bincount(pos, weights=nonwork, minlength=len(w)), minlength=k)
            m["hires_knowing"] += np.bincount(st, weights=known > 0, minlength=k)

        def record(self):
            super().record()
            if self.week % SAMPLE_EVERY or self.cfg.market.jobs != "vacancies":
                return
            n = self.cfg.n_workers
            searching = ~self.employed & (self.ti_unemployed < self.week)
            vac = self.firms.vacancies()
            at_vac = np.zeros(n, dtype=bool)
            at_vac[self.employed] = vac[self.employer[self.employed]] > 0
            if not hasattr(self, "_aware_rng"):  # graded awareness draws: its own stream,
                # so measuring does not change the run
                self._aware_rng = np.random.default_rng([self.cfg.seed, 2])
            helper, seeker, row, _ = self._aware_pairs(np.flatnonzero(at_vac), searching,
                                                       self._aware_rng)
            work = np.isin(self.ties.kind[row], (COLLEAGUE, SUPERVISOR))
            k = len(self.strategy_names)
            m = self.mech
            m["searcher_samples"] += np.bincount(self.strategy[searching], minlength=k)
            m["aware_helpers"] += np.bincount(self.strategy[seeker], minlength=k)
            m["aware_helpers_work"] += np.bincount(self.strategy[seeker], weights=work, minlength=k)

    return Measured(cfg)


def run_one(spec: dict) -> dict:
    """One run: the outcomes and mechanism measurements of ``spec`` (a config mapping)."""
    from sim.results.metrics import headline, km_rmst

    t0 = time.perf_counter()
    m = measured_market(spec).run()
    sp, ts = m.spells_frame(), m.timeseries_frame()
    head = headline(sp, m.strategy_names)
    fresh = ~sp["left_truncated"].to_numpy()
    out = {"n_sectors": m.cfg.market.n_sectors, "workers_per_sector":
           m.cfg.n_workers / m.cfg.market.n_sectors,
           "unemployment": float(ts["unemployment_rate"].mean()),
           "mean_degree": float(ts["mean_degree"].mean()),
           "seconds": time.perf_counter() - t0}
    for j, s in enumerate(m.strategy_names):
        if s not in STRATEGIES:
            continue
        g = fresh & (sp["strategy"] == s).to_numpy()
        dur, obs = sp["duration_weeks"].to_numpy()[g], ~sp["censored"].to_numpy()[g]
        h = head[s]
        mech = {k: float(v[j]) for k, v in m.mech.items()}
        out[s] = {"n_spells": h["n_spells"], "km_median": h["km_median_weeks"],
                  "rmst52": km_rmst(dur, obs, TAU) if len(dur) else None,
                  "s4": h["share_reemployed_4w"], "contact_share": h["share_hires_contacts"],
                  "mean_degree": float(ts[f"mean_degree_{s}"].mean()),
                  "known_at_firm": mech["known_at_firm"] / max(mech["formal_hires"], 1),
                  "known_nonwork": mech["known_nonwork"] / max(mech["formal_hires"], 1),
                  "share_knowing": mech["hires_knowing"] / max(mech["formal_hires"], 1),
                  "aware_helpers": mech["aware_helpers"] / max(mech["searcher_samples"], 1),
                  "aware_helpers_work": mech["aware_helpers_work"]
                  / max(mech["searcher_samples"], 1),
                  "coworkers_at_loss": mech["coworkers_at_loss"] / max(mech["job_losses"], 1),
                  "return_share": mech["returns"] / max(mech["hires"], 1),
                  "contact_return_share": mech["contact_returns"]
                  / max(mech["contact_hires"], 1)}
    return out


def spec_of(n: int, market_size: int | None, seed: int, weeks: int, burn_in: int,
            legacy_sectors: int | None, extra: dict) -> dict:
    """The configuration mapping of one run."""
    market = {"market_size": market_size} if legacy_sectors is None else {
        "n_sectors": legacy_sectors}
    spec = {"n_workers": n, "seed": seed, "weeks": weeks, "burn_in": burn_in,
            "market": market, "strategy": MIXED, "output": {"progress": "off"}}
    for key, value in extra.items():
        node = spec
        *path, last = key.split(".")
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    return spec


def _tag(spec: dict) -> str:
    return json.dumps(spec, sort_keys=True)


def _file(out: Path, spec: dict) -> Path:
    import hashlib

    return out / "runs" / (hashlib.sha1(_tag(spec).encode()).hexdigest()[:16] + ".json")


def _child(spec: dict, path: str) -> str:
    res = run_one(spec)
    tmp = Path(path + ".tmp")
    tmp.write_text(json.dumps({"spec": spec, "result": res}))
    tmp.replace(path)
    return path


# (label, key in the run's result, bounds of the per-run value, strategy-level?)
OUTCOMES = [
    ("KM median wk", "km_median", (0.0, None), True),
    ("RMST(52) wk", "rmst52", (0.0, TAU), True),
    ("S4", "s4", (0.0, 1.0), True),
    ("contact share", "contact_share", (0.0, 1.0), True),
    ("known at firm", "known_at_firm", (0.0, None), True),
    ("known at firm via non-work tie", "known_nonwork", (0.0, None), True),
    ("aware helpers", "aware_helpers", (0.0, None), True),
    ("aware helpers via work tie", "aware_helpers_work", (0.0, None), True),
    ("coworker ties at job loss", "coworkers_at_loss", (0.0, None), True),
    ("hires back at last employer", "return_share", (0.0, 1.0), True),
    ("contact hires back at last employer", "contact_return_share", (0.0, 1.0), True),
    ("unemployment", "unemployment", (0.0, 1.0), False),
    ("mean degree", "mean_degree", (0.0, None), False),
]
DIFFS = [("lions-everyone RMST(52)", "rmst52", (-TAU, TAU)), ("lions-everyone S4", "s4", (-1, 1))]


def summarise(rows: list[tuple[float, int, dict]]) -> list[dict]:
    """Per setting (x): every outcome's mean over seeds with its interval.

    Args:
        rows: ``(x, seed, result)`` of every run.

    Returns:
        One dict per x, ``{"x", "n_runs", label: range_interval or paired_difference}``.
    """
    from analysis.stats import paired_difference, range_interval

    out = []
    for x in sorted({r[0] for r in rows}):
        res = [r[2] for r in rows if r[0] == x]
        row = {"x": x, "n_runs": len(res)}
        for label, key, bounds, per_strategy in OUTCOMES:
            names = STRATEGIES if per_strategy else ("",)
            for s in names:
                vals = [(r[s][key] if s else r[key]) for r in res]
                vals = [np.nan if v is None else v for v in vals]
                row[f"{label} {s}".strip()] = range_interval(vals, bounds)
        for label, key, bounds in DIFFS:
            d = [r["lions"][key] - r["everyone"][key] for r in res
                 if r["lions"][key] is not None and r["everyone"][key] is not None]
            row[label] = paired_difference(d, bounds)
        out.append(row)
    return out


def _fmt(iv: dict, scale: float = 1.0, digits: int = 2) -> str:
    m = iv.get("mean", iv.get("diff"))
    if m is None or not np.isfinite(m):
        return "n/a"
    s = f"{m * scale:.{digits}f}"
    if np.isfinite(iv["lower"]):
        s += f" [{iv['lower'] * scale:.{digits}f}, {iv['upper'] * scale:.{digits}f}]"
    return s


def table(summary: list[dict], xname: str) -> str:
    """The summary as text: one block per outcome, one line per setting."""
    lines = []
    keys = [k for k in summary[0] if k not in ("x", "n_runs")]
    pct = ("S4", "contact share", "unemployment", "lions-everyone S4", "hires back",
           "contact hires back")
    for k in keys:
        scale, digits = (100.0, 1) if k.startswith(pct) else (1.0, 2)
        unit = " (%)" if scale == 100 else ""
        lines.append(f"{k}{unit}")
        for row in summary:
            lines.append(f"  {xname}={row['x']:>9,.0f}  runs={row['n_runs']}  "
                         f"{_fmt(row[k], scale, digits)}")
    return "\n".join(lines)


def figure(summary: list[dict], xname: str, path: Path, title: str) -> None:
    """Outcomes against x with their intervals across seeds (error bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("KM median wk", "KM median (weeks)", 1), ("RMST(52) wk", "RMST(52) (weeks)", 1),
              ("S4", "re-employed within 4 weeks (%)", 100),
              ("contact share", "hires through contacts (%)", 100),
              ("lions-everyone", "lions - everyone, paired by seed", 1),
              ("unemployment", "unemployment (%)", 100), ("mean degree", "mean degree", 1),
              ("known at firm", "known at hiring firm per formal hire", 1),
              ("aware helpers", "aware contacts at firms with a vacancy", 1)]
    fig, axes = plt.subplots(3, 3, figsize=(13, 10))
    x = np.array([r["x"] for r in summary], float)
    for ax, (key, ylabel, scale) in zip(axes.flat, panels, strict=True):
        if key == "lions-everyone":
            series = [("RMST(52) wk", "lions-everyone RMST(52)"),
                      ("S4 (points)", "lions-everyone S4")]
            for (lab, k), sc in zip(series, (1, 100), strict=True):
                m = np.array([r[k]["diff"] for r in summary]) * sc
                lo = np.array([r[k]["lower"] for r in summary]) * sc
                hi = np.array([r[k]["upper"] for r in summary]) * sc
                ax.errorbar(x, m, yerr=[m - np.where(np.isfinite(lo), lo, m),
                                        np.where(np.isfinite(hi), hi, m) - m],
                            marker="o", capsize=3, label=lab)
            ax.axhline(0, color="grey", lw=0.8)
        else:
            names = [f"{key} {s}" for s in STRATEGIES if f"{key} {s}" in summary[0]] or [key]
            for k in names:
                m = np.array([r[k]["mean"] for r in summary]) * scale
                lo = np.array([r[k]["lower"] for r in summary]) * scale
                hi = np.array([r[k]["upper"] for r in summary]) * scale
                ax.errorbar(x, m, yerr=[m - np.where(np.isfinite(lo), lo, m),
                                        np.where(np.isfinite(hi), hi, m) - m],
                            marker="o", capsize=3, label=k.removeprefix(key).strip() or None)
        ax.set_xscale("log")
        ax.set_xlabel(xname)
        ax.set_ylabel(ylabel)
        if ax.get_legend_handles_labels()[1]:
            ax.legend(fontsize=8)
    fig.suptitle(title + "\nmean over seeds, 95 % t interval across seeds (runs are the unit)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("workers", "size"),
                    help="workers: outcomes against n_workers at one market size (or the "
                    "legacy fixed n_sectors); size: against market_size at one n_workers")
    from sim.core.config import MarketConfig, SimConfig

    ap.add_argument("--workers", type=int, nargs="+", default=[20000, 100000])
    ap.add_argument("--market-size", type=int, default=MarketConfig.market_size,
                    help="workers mode: market size (default: the model's, %(default)s)")
    ap.add_argument("--market-sizes", type=int, nargs="+", default=[250, 1000, 5000, 50000],
                    help="size mode: the market sizes")
    ap.add_argument("--legacy", type=int, nargs="?", const=10, default=None, metavar="N_SECTORS",
                    help="workers mode: fixed market.n_sectors (default 10) instead of a "
                    "market size (today's default behaviour)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--weeks", type=int, default=520)
    ap.add_argument("--burn-in", type=int, default=SimConfig.burn_in,
                    help="default: the model's, %(default)s")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="further overrides, e.g. networking.same_sector_share=0.9")
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/market_size"))
    ap.add_argument("--redo", action="store_true", help="recompute runs already stored")
    ap.add_argument("--stored-only", action="store_true",
                    help="compute nothing: table and figure from the runs already stored under "
                    "--out (a setting's missing seeds are left out, e.g. after stopping a long "
                    "sweep; the table says how many runs each setting has)")
    a = ap.parse_args(argv)
    if a.redo and a.stored_only:
        print("error: --redo and --stored-only: give one of the two", file=sys.stderr)
        return 2
    import yaml

    extra = {}
    for kv in a.set:
        key, sep, value = kv.partition("=")
        if not sep:
            print(f"error: --set {kv}: must be KEY=VALUE", file=sys.stderr)
            return 2
        extra[key] = yaml.safe_load(value)
    if a.mode == "workers":
        xs = [(n, n) for n in a.workers]
        spec = lambda x, s: spec_of(x, a.market_size, s, a.weeks, a.burn_in, a.legacy, extra)  # noqa: E731
        xname = "n_workers"
        what = (f"market.n_sectors={a.legacy} (legacy)" if a.legacy is not None
                else f"market_size={a.market_size:,}")
    else:
        n = a.workers[0]
        xs = [(ms, ms) for ms in a.market_sizes]
        spec = lambda x, s: spec_of(n, x, s, a.weeks, a.burn_in, None, extra)  # noqa: E731
        xname = "market_size"
        what = f"n_workers={n:,}"
    from sim.core.config import ConfigError, build_config

    todo, rows = [], []
    for x, _ in xs:
        for s in a.seeds:
            sp = spec(x, s)
            try:
                build_config(sp)
            except ConfigError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            f = _file(a.out, sp)
            if a.stored_only and not f.exists():
                continue
            if a.redo or not f.exists():
                todo.append((x, s, sp, f))
            else:
                rows.append((x, s, json.loads(f.read_text())["result"]))
    if not todo and not rows:
        print(f"error: no run of these settings is stored under {a.out}", file=sys.stderr)
        return 2
    (a.out / "runs").mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=a.jobs) as pool:
        futs = {pool.submit(_child, sp, str(f)): (x, s) for x, s, sp, f in todo}
        for fut in futs:
            x, s = futs[fut]
            res = json.loads(Path(fut.result()).read_text())["result"]
            print(f"  {xname}={x:,} seed={s}: {res['seconds']:.0f} s", file=sys.stderr)
            rows.append((x, s, res))
    summary = summarise(rows)
    title = (f"{a.mode} mode, {what}, +strategy=mixed (50 % lions / 50 % everyone), "
             f"weeks={a.weeks}, burn_in={a.burn_in}" + (f", {' '.join(a.set)}" if a.set else ""))
    print(title)
    print(f"(seeds {a.seeds}; {len(todo)} runs computed in {time.perf_counter() - t0:.0f} s, "
          f"{len(rows) - len(todo)} reused from {a.out})")
    print(table(summary, xname))
    label = a.mode if a.legacy is None else f"{a.mode}_legacy{a.legacy}"
    png = a.out / f"{label}.png"
    figure(summary, xname, png, title)
    (a.out / f"{label}.json").write_text(json.dumps(
        {"title": title, "summary": summary}, default=float, indent=1))
    print(f"figure: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
