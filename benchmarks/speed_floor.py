"""Benchmark: the least a week of the model can cost on this machine, against a target.

Builds a run (default: 100,000 workers, the default population, burn-in plus 26 weeks so
that the network has evolved), then times, on that state, only the duties that the
model's definition makes every week cost, each alone (best of ``--repeat`` calls):

* the weekly investment in the ties (every tie with a worker who spreads hours gains
  strength; ``kernels.invest``, as the networking submodel calls it) and the weekly
  ageing of every tie (``kernels.age_ties``); also a sketch of both in one loop, to
  show that fusing them does not make the pass cheaper;
* the lions' ranking of their ties at each plan (``kernels.lions_plan``, once every
  ``networking.plan_every`` weeks), and a sketch that reads the same columns but keeps
  only each worker's best tie (less than the model must do: its cost bounds the
  ranking from below);
* the funnel's random draws of a week's formal applications (Poisson numbers of
  applications of the searching and the employed, a position and a signal each), with
  numpy's generator as the model uses it;
* the scan of the ties of the week's helpers that a lead search needs (a count of
  their contacts who search, through the neighbour index, nothing written).

The *floor* is the sum, per week, of the cheaper of the model's kernel and the sketch
for each duty; everything else a week does (hiring, separations, new ties, pruning,
records, the Python between the kernels) counts as free. So a run cannot take less
than the floor times its weeks with the model's present definition on this machine,
whatever the implementation, unless a duty is done in a way cheaper than both (which
is the claim to test before promising a speed). ``--target S`` compares the floor of a
whole run (``--weeks`` + ``--burn-in``, default 520 + 104) with a target in seconds.

Usage:
  python benchmarks/speed_floor.py                                  # 100k, mixed
  python benchmarks/speed_floor.py --strategy everyone --target 15
  python benchmarks/speed_floor.py --strategy lions --target 6 --out benchmarks/results/speed_floor_lions.json
  python benchmarks/speed_floor.py --workers 10000 --strategy lions --preset legacy
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout (as model_speed.py does)

from benchmarks.model_speed import commit, machine, merged, preset, strategy_config  # noqa: E402

# the targets of a 100,000-worker run of 520 + 104 weeks, in seconds (README, performance)
TARGETS = {"mixed": 10.0, "everyone": 15.0, "lions": 6.0}


@numba.njit(error_model="numpy")
def _fused_tie_pass(a, b, strength, kind, cowork, even, keep, max_gain, saturation, floor):
    # a week of one tie in one loop: the even hours of its two ends, the Hill gain, the
    # decay of its kind, the floor while its ends work together
    for r in range(len(a)):
        x = (even[a[r]] + even[b[r]]) / saturation
        x2 = x * x
        s = strength[r]
        s = (s + max_gain * x2 / (1.0 + x2) * (1.0 - s)) * keep[kind[r]]
        if cowork[r] and s < floor:
            s = floor
        strength[r] = s


@numba.njit
def _best_tie_pass(a, b, knows_a, knows_b, strength, code, best):
    # the lions' score of each member's side of each tie (code bit 0: member, bit 1:
    # employed), keeping only each member's best score
    for r in range(len(a)):
        ca, cb = code[a[r]], code[b[r]]
        if ca & 1:
            s = knows_a[r] * strength[r] * (0.1 + 0.9 * ((cb >> 1) & 1))
            if s > best[a[r]]:
                best[a[r]] = s
        if cb & 1:
            s = knows_b[r] * strength[r] * (0.1 + 0.9 * ((ca >> 1) & 1))
            if s > best[b[r]]:
                best[b[r]] = s


@numba.njit
def _stream_tie_week(a, b, kind, cowork, strength, one, zero):
    # read what a week's tie pass must read at every tie and write every strength (with
    # runtime one = 1 and zero = 0, so that nothing can be left out): its memory bound
    for r in range(len(a)):
        strength[r] = strength[r] * one + (a[r] + b[r] + kind[r] + cowork[r]) * zero


@numba.njit
def _stream_ranking(a, b, knows_a, knows_b, strength):
    # read what a ranking must read at every tie: its memory bound
    c = 0.0
    for r in range(len(a)):
        c += a[r] + b[r] + knows_a[r] + knows_b[r] + strength[r]
    return c


@numba.njit
def _searching_contacts(workers, start, len_, nbr, searching):
    # how many contacts of the given workers search (the neighbour index read in order)
    c = 0
    for w in workers:
        for i in range(start[w], start[w] + len_[w]):
            c += searching[nbr[i]]
    return c


def best_ms(fn, repeat: int, before=None) -> float:
    """The least time of ``repeat`` calls of ``fn`` in milliseconds (``before`` runs,
    untimed, ahead of each call), after one untimed call."""
    if before is not None:
        before()
    fn()
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * min(times)


def duties(m, repeat: int) -> list[dict]:
    """The timed duties of the model ``m`` in its present state (see the module
    docstring): name, ms per call, calls per week, and the group whose cheaper entry
    counts in the floor."""
    from sim.core import kernels
    from sim.core.ties import ACQUAINTANCE, COLLEAGUE, ONLINE, SUPERVISOR

    cfg, t = m.cfg, m.ties
    nw, tc = cfg.networking, cfg.ties
    hours, even = m.networking_hours()  # (as the model invests them)
    strength0 = t.strength.copy()
    keep = m._keep.astype(np.float32)
    out = []

    def add(name, group, ms, per_week, how, bound=False):
        out.append({"duty": name, "group": group, "ms_per_call": ms, "calls_per_week": per_week,
                    "ms_per_week": ms * per_week, "how": how, "bound": bound})

    def restore():
        t.strength[:] = strength0

    if tc.evolve and nw.time_budget > 0:
        inv = best_ms(lambda: kernels.invest(
            t.a, t.b, t.share_a, t.share_b, hours, even, t.strength, nw.max_gain,
            nw.saturation_hours, share_rows=m._share_rows), repeat, restore)
        age = best_ms(lambda: kernels.age_ties(
            t.kind, t.strength, t.knows_a, t.knows_b, t.cowork, m._keep, tc.work_strength,
            tc.learn_rate, (COLLEAGUE, SUPERVISOR, ACQUAINTANCE, ONLINE)), repeat, restore)
        add("tie investment + ageing (model)", "ties", inv + age, 1.0,
            f"kernels.invest {inv:.1f} ms + kernels.age_ties {age:.1f} ms")
        fused = best_ms(lambda: _fused_tie_pass(
            t.a, t.b, t.strength, t.kind, t.cowork, even, keep, np.float32(nw.max_gain),
            np.float32(nw.saturation_hours), np.float32(tc.work_strength)), repeat, restore)
        add("one fused tie pass (sketch)", "ties", fused, 1.0,
            "even hours, gain, decay and work floor in one loop (no shares, no learning)")
        stream = best_ms(lambda: _stream_tie_week(t.a, t.b, t.kind, t.cowork, t.strength,
                                                  np.float32(1.0), np.float32(0.0)), repeat)
        add("  memory bound: columns read once", "ties", stream, 1.0,
            "a, b, kind, cowork and strength read, strength written", bound=True)
        restore()
    lions = [k for k, s in enumerate(m.strategies) if hasattr(s, "plan_ties")]
    if lions:
        k = lions[0]
        members = m.strategy == k
        p = m.strategies[k].params
        scratch: dict = {}
        plan = best_ms(lambda: kernels.lions_plan(t, members, m.employed, m.sector, p.focus_k,
                                                  p.other_sector_weight, p.ask, scratch),
                       repeat)
        every = 1.0 / nw.plan_every
        add("lions' ranking at a plan (model)", "ranking", plan, every,
            f"kernels.lions_plan, top {p.focus_k} of each member's ties")
        code = ((m.employed.astype(np.int32) << 1) | members).astype(np.int32)
        best = np.zeros(cfg.n_workers, np.float32)
        top1 = best_ms(lambda: _best_tie_pass(t.a, t.b, t.knows_a, t.knows_b, t.strength, code,
                                              best), repeat, lambda: best.fill(0.0))
        add("each member's best tie (sketch)", "ranking", top1, every,
            "the same columns read, only the best tie kept (a lower bound of the top k)")
        stream = best_ms(lambda: _stream_ranking(t.a, t.b, t.knows_a, t.knows_b, t.strength),
                         repeat)
        add("  memory bound: columns read once", "ranking", stream, every,
            "a, b, knows_a, knows_b and strength read", bound=True)
    fc = cfg.funnel
    if fc.enabled and cfg.market.jobs == "vacancies":
        n_search = int((~m.employed & (m.ti_unemployed < m.week)).sum())
        n_emp = int(m.employed.sum())
        rng = np.random.default_rng(0)
        n_apps = int(rng.poisson(fc.applications, n_search).sum()
                     + rng.poisson(fc.employed_applications, n_emp).sum())

        def draws():
            rng.poisson(fc.applications, n_search)
            if fc.employed_applications > 0:
                rng.poisson(fc.employed_applications, n_emp)
            rng.random(n_apps)
            rng.normal(0.0, 1.0, n_apps)

        add("funnel's draws of a week", "draws", best_ms(draws, repeat), 1.0,
            f"{n_search:,} searching and {n_emp:,} employed workers, {n_apps:,} applications")
    if cfg.market.jobs == "vacancies":
        u = np.random.default_rng(1).random(cfg.n_workers)
        hear = kernels.hearing(m.employed, m.employer, m.firms.vacancies(), u,
                               cfg.leads.hear_prob)
        searching = ~m.employed
        t._reindex()  # (the index holds every tie: the scan reads no tail)
        scan = best_ms(lambda: _searching_contacts(hear, t._start, t._len, t._nbr, searching),
                       repeat)
        add("the week's helpers' ties (scan)", "leads", scan, 1.0,
            f"{len(hear):,} helpers' {int(t.degree()[hear].sum()):,} ties, counted")
    return out


def floor_per_week(rows: list[dict], bound: bool = False) -> float:
    """Sum over the groups of the cheapest way measured, in ms per week; with ``bound``,
    of the memory bound where a group has one (else of its cheapest way)."""
    groups: dict[str, float] = {}
    bounds: dict[str, float] = {}
    for r in rows:
        which = bounds if r["bound"] else groups
        which[r["group"]] = min(which.get(r["group"], np.inf), r["ms_per_week"])
    if bound:
        groups.update(bounds)
    return sum(groups.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=100_000)
    ap.add_argument("--strategy", default="mixed",
                    help="a strategy for all, or mixed (the default population)")
    ap.add_argument("--preset", default=None, help="configs/preset/PRESET.yaml first")
    ap.add_argument("--evolve", type=int, default=26,
                    help="recorded weeks simulated after the burn-in before timing (26)")
    ap.add_argument("--weeks", type=int, default=520, help="a run's recorded weeks (520)")
    ap.add_argument("--burn-in", type=int, default=104, help="a run's burn-in weeks (104)")
    ap.add_argument("--repeat", type=int, default=5, help="timed calls of each duty (5)")
    ap.add_argument("--target", type=float, default=None,
                    help="a run's target in seconds (default: the README's for 100,000 "
                         "workers and mixed, everyone or lions)")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args()
    for key in ("workers", "evolve", "weeks", "repeat"):
        if getattr(args, key) < 1:
            ap.error(f"--{key}={getattr(args, key)}: must be at least 1")
    if args.out is not None and not args.out.parent.is_dir():
        ap.error(f"--out={args.out}: its directory does not exist")
    target = args.target
    if target is None and args.workers == 100_000 and args.preset is None:
        target = TARGETS.get(args.strategy)

    from sim.core.model import LabourMarket

    cfg = merged(preset(args.preset) if args.preset else {},
                 {"n_workers": args.workers, "weeks": args.evolve + 1, "burn_in": args.burn_in,
                  "seed": 1, "strategy": strategy_config(args.strategy)})
    m = LabourMarket(cfg)
    while m.week < args.evolve - 26:
        m.step()
    t0 = time.perf_counter()
    weeks0 = m.week
    while m.week < args.evolve:
        m.step()
    timed = m.week - weeks0  # (26, or all the weeks of a shorter run)
    model_ms = 1000 * (time.perf_counter() - t0) / max(1, timed)
    rows = duties(m, args.repeat)
    floor, bound = floor_per_week(rows), floor_per_week(rows, bound=True)
    run_weeks = args.weeks + args.burn_in
    print(machine())
    print(f"# {args.workers:,} workers, {args.strategy}"
          f"{', preset ' + args.preset if args.preset else ''}: state after {args.burn_in} + "
          f"{args.evolve} weeks, {m.ties.n / 1e6:.2f} M ties; the model's own week "
          f"{model_ms:.1f} ms (its last {timed} weeks)")
    print(f"  {'duty':36s} {'ms/call':>8s} {'calls/wk':>8s} {'ms/week':>8s}  how")
    for r in rows:
        print(f"  {r['duty']:36s} {r['ms_per_call']:8.2f} {r['calls_per_week']:8.2f} "
              f"{r['ms_per_week']:8.2f}  {r['how']}")
    run_s, bound_s = floor * run_weeks / 1000, bound * run_weeks / 1000
    print(f"model now: {model_ms:.1f} ms a week, {model_ms * run_weeks / 1000:.1f} s for "
          f"{args.weeks} + {args.burn_in} weeks")
    for name, ms, s in (("floor (the cheapest way measured of each duty)", floor, run_s),
                        ("memory bound of the duties", bound, bound_s)):
        line = f"{name}: {ms:.1f} ms a week, {s:.1f} s"
        if target is not None:
            line += f" = {s / target:.2f} x the target"
        print(line)
    if target is not None:
        print(f"target: {target:g} s for {args.weeks} + {args.burn_in} weeks "
              f"({1000 * target / run_weeks:.1f} ms a week)")
    if args.out is not None:
        args.out.write_text(json.dumps({
            "commit": commit(), "machine": machine(), "date": datetime.date.today().isoformat(),
            "command": " ".join(sys.argv), "workers": args.workers, "strategy": args.strategy,
            "preset": args.preset, "ties": int(m.ties.n), "model_ms_per_week": model_ms,
            "duties": rows, "floor_ms_per_week": floor, "bound_ms_per_week": bound,
            "run_weeks": run_weeks, "floor_run_s": run_s, "bound_run_s": bound_s,
            "target_s": target}, indent=1) + "\n")


if __name__ == "__main__":
    main()
