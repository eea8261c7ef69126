"""The benchmark scripts still run against the current model (they subclass it and read
its internals, so a change of a private signature breaks them silently otherwise)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_market_size_study_runs_at_a_tiny_size(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "market_size.py"), "workers",
                        "--market-size", "300", "--workers", "600", "1200", "--seeds", "0",
                        "--weeks", "20", "--burn-in", "10", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path / "workers.png").is_file() and "lions-everyone RMST(52)" in r.stdout
    # --stored-only: the table of the stored runs, computing none (2400 has no stored run)
    again = subprocess.run([*r.args[:4], "300", "--workers", "600", "1200", "2400", "--seeds",
                            "0", "1", "--weeks", "20", "--burn-in", "10", "--out", str(tmp_path),
                            "--stored-only"], capture_output=True, text=True, timeout=600,
                           cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 runs computed" in again.stdout and "2 reused" in again.stdout
    assert "n_workers=    2,400" not in again.stdout and "n_workers=    1,200" in again.stdout


def test_awareness_grid_runs_at_a_tiny_size():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "benchmarks/awareness_grid.py", "--centres", "0.4",
                        "--widths", "0.1,0.2", "--seeds", "1", "--jobs", "1", "n_workers=400",
                        "weeks=40", "burn_in=10"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rows = [ln for ln in r.stdout.splitlines() if ln.startswith("| 0.4 |")]
    assert len(rows) == 2 and all(len(ln.split("|")) == 8 for ln in rows)


def test_abc_toy_prints_each_generation_for_both_samplers():
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "abc_toy.py"), "--population",
                        "20", "--generations", "2", "--max-simulations", "300"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    first = lines[lines.index("generation  epsilon  simulations  effective sample size") + 1]
    assert first.split()[0] == "0" and first.split()[-1] == "20"  # the prior sample: equal weights
    rep = lines.index("generation  epsilon  steps  acceptance  simulations  distinct particles")
    rows = [ln.split() for ln in lines[rep + 1:] if ln.split() and ln.split()[0].isdigit()]
    assert rows and all(1 <= int(row[-1]) <= 20 for row in rows)
    # epsilon never rises from one generation to the next
    eps = [float(row[1]) for row in rows]
    assert eps == sorted(eps, reverse=True)


@pytest.mark.slow
def test_emulator_probe_fits_a_known_response_and_refuses_a_folder_without_runs(tmp_path):
    """Stored runs whose measures are smooth functions of the parameters: every emulator's
    cross-validated R^2 is high, and the predicted share of the box is printed."""
    import json

    import numpy as np

    from sim.studies.calibrate import FREE, ONE_SIDED, RANGE_FACTS
    from sim.studies.posterior import GAPS
    from sim.studies.validate import FACT_BY_ID

    rng = np.random.default_rng(3)
    keys = [FACT_BY_ID[f].key for f in (*RANGE_FACTS, *(f for f, _, _ in ONE_SIDED))] + list(GAPS)
    (tmp_path / "runs").mkdir()
    for i in range(120):
        u = rng.random(len(FREE))
        values = {p.key: float(10 ** (np.log10(p.low) + x * np.log10(p.high / p.low)) if p.log
                               else p.low + x * (p.high - p.low)) for p, x in zip(FREE, u, strict=True)}
        result = {k: float(0.1 * (j + 1) + 0.05 * u[j % len(FREE)] + 0.02 * u[(j + 3) % len(FREE)])
                  for j, k in enumerate(keys)}
        (tmp_path / "runs" / f"{i:08x}.json").write_text(json.dumps({"values": values,
                                                                     "result": result}))
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "emulator_probe.py"),
                        str(tmp_path), "--draws", "2000"], capture_output=True, text=True,
                       timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    r2 = {ln.split()[0]: float(ln.split()[1]) for ln in r.stdout.splitlines()
          if ln.split() and ln.split()[0] in keys}
    assert set(r2) == set(keys) and min(r2.values()) > 0.95
    assert "share predicted <= 1:" in r.stdout
    (tmp_path / "empty").mkdir()
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "emulator_probe.py"),
                        str(tmp_path / "empty")], capture_output=True, text=True, timeout=120,
                       cwd=ROOT)
    assert r.returncode != 0 and "no stored runs" in r.stderr


def test_tie_churn_probe_runs_at_a_tiny_size():
    # lions-lions ties keep their weekly investment between plans; everyone's re-spread
    # over a changing degree every week (the probe behind the speed work's plan)
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "tie_churn.py"), "--workers",
                        "1200", "--weeks", "12", "--burn-in", "12"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    same = {line.split()[0]: float(line.split()[2].rstrip("%"))
            for line in r.stdout.splitlines()[2:]}
    assert set(same) == {"all", "Lions-Lions", "Lions-Everyone", "Everyone-Everyone"}
    assert same["Lions-Lions"] > same["all"] > same["Everyone-Everyone"]


def test_reference_speed_compares_the_best_of_repeated_runs():
    """reference_speed.py --repeat 2 runs each model twice, alternately, and prints the
    ratio of the best times and of the medians; --repeat 0 is refused with one line."""
    script = str(ROOT / "benchmarks" / "reference_speed.py")
    r = subprocess.run([sys.executable, script, "--workers", "300", "--weeks", "3",
                        "--burn-in", "2", "--repeat", "2"], capture_output=True, text=True,
                       timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    assert [ln.split()[0] for ln in lines if ln.startswith(("fast ", "reference "))] == [
        "fast", "reference", "fast", "reference"]
    assert "(best of each model's runs)" in r.stdout and "medians of 2 runs" in r.stdout
    bad = subprocess.run([sys.executable, script, "--repeat", "0"], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert bad.returncode == 2 and "--repeat=0: must be at least 1" in bad.stderr


def test_model_speed_reports_the_best_of_repeated_runs(tmp_path):
    """model_speed.py --repeat 2 runs each setting twice and writes the fastest run with
    both runs' times and their median; --repeat 0 is refused with one line."""
    import json

    script = str(ROOT / "benchmarks" / "model_speed.py")
    out = tmp_path / "speed.json"
    r = subprocess.run([sys.executable, script, "--sizes", "400", "--weeks", "3", "--burn-in",
                        "2", "--strategies", "lions", "--repeat", "2", "--out", str(out)],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    (res,) = json.loads(out.read_text())["results"]
    assert len(res["runs_ms_per_week"]) == 2
    assert res["ms_per_week"] == min(res["runs_ms_per_week"])
    assert res["median_ms_per_week"] == sum(res["runs_ms_per_week"]) / 2
    assert "best of 2:" in r.stdout
    bad = subprocess.run([sys.executable, script, "--repeat", "0"], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert bad.returncode == 2 and "--repeat=0: must be at least 1" in bad.stderr


def test_compare_speed_runs_both_sides_in_turns_and_prints_the_ratios():
    """compare_speed.py with two checkout folders (here this one twice) runs model_speed.py
    in turns and prints the per-round, best and median ratios; a side that is neither a
    folder nor a revision is refused with one line."""
    script = str(ROOT / "benchmarks" / "compare_speed.py")
    r = subprocess.run([sys.executable, script, "--base", str(ROOT), "--head", str(ROOT),
                        "--repeat", "2", "--", "--sizes", "400", "--weeks", "3", "--burn-in",
                        "2", "--strategies", "lions"], capture_output=True, text=True,
                       timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    rounds = [ln.split(":")[0] for ln in r.stdout.splitlines() if ln.startswith("round")]
    assert rounds == ["round 1 base", "round 1 head", "round 2 base", "round 2 head"]
    (summary,) = [ln for ln in r.stdout.splitlines() if ln.startswith("400 workers, lions")]
    assert "head / base per round" in summary and "best runs" in summary and "medians" in summary
    bad = subprocess.run([sys.executable, script, "--base", "no-such-revision-or-folder"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert bad.returncode == 1
    assert bad.stderr.strip() == ("error: no-such-revision-or-folder: neither a folder nor a "
                                  f"revision of {ROOT}")


def test_compare_speed_gives_one_side_its_own_arguments():
    """--head-args go to the head's model_speed.py only; its setting (another label) is
    paired with the base's setting of the same size in the same place."""
    script = str(ROOT / "benchmarks" / "compare_speed.py")
    r = subprocess.run([sys.executable, script, "--base", str(ROOT), "--head", str(ROOT),
                        "--repeat", "1", "--head-args", "--preset legacy", "--", "--sizes",
                        "400", "--weeks", "3", "--burn-in", "2", "--strategies", "lions"],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    assert [ln for ln in lines if ln.startswith("round 1 base: 400 lions ")]
    assert [ln for ln in lines if ln.startswith("round 1 head: 400 lions+legacy ")]
    (summary,) = [ln for ln in lines if ln.startswith("400 workers, ")]
    assert summary.startswith("400 workers, lions+legacy against lions: head / base per round")


@pytest.mark.slow
def test_compare_speed_checks_out_a_revision_and_removes_it(tmp_path):
    """A revision is checked out into a temporary worktree, measured and removed."""
    script = str(ROOT / "benchmarks" / "compare_speed.py")
    r = subprocess.run([sys.executable, script, "--base", "HEAD", "--repeat", "1", "--",
                        "--sizes", "400", "--weeks", "2", "--burn-in", "2", "--strategies",
                        "lions"], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "round 1 base: 400 lions" in r.stdout and "compare_speed_" in r.stdout
    worktrees = subprocess.run(["git", "-C", str(ROOT), "worktree", "list"],
                               capture_output=True, text=True).stdout
    assert "compare_speed_" not in worktrees


def test_speed_floor_times_each_duty_and_sums_the_cheapest(tmp_path):
    """speed_floor.py times the model's weekly duties and their sketches on an evolved
    state, and its floor is the sum over the duties of the cheapest way measured (the
    memory bound, where a duty has one, in the second sum); a bad count is refused."""
    import json

    script = str(ROOT / "benchmarks" / "speed_floor.py")
    out = tmp_path / "floor.json"
    r = subprocess.run([sys.executable, script, "--workers", "1500", "--evolve", "3",
                        "--burn-in", "8", "--weeks", "40", "--repeat", "1", "--target", "2",
                        "--out", str(out)], capture_output=True, text=True, timeout=600,
                       cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(out.read_text())
    rows = res["duties"]
    # the default population: tie pass, ranking (lions), funnel draws, leads scan
    assert {d["group"] for d in rows} == {"ties", "ranking", "draws", "leads"}
    groups: dict = {}
    bounds: dict = {}
    for d in rows:
        assert d["ms_per_week"] == pytest.approx(d["ms_per_call"] * d["calls_per_week"])
        which = bounds if d["bound"] else groups
        which[d["group"]] = min(which.get(d["group"], float("inf")), d["ms_per_week"])
    assert set(bounds) == {"ties", "ranking"}
    assert res["floor_ms_per_week"] == pytest.approx(sum(groups.values()))
    assert res["bound_ms_per_week"] == pytest.approx(sum({**groups, **bounds}.values()))
    assert res["floor_run_s"] == pytest.approx(res["floor_ms_per_week"] * 48 / 1000)
    # the ranking runs every networking.plan_every (4) weeks
    assert {d["calls_per_week"] for d in rows if d["group"] == "ranking"} == {0.25}
    assert "x the target" in r.stdout and "target: 2 s for 40 + 8 weeks" in r.stdout
    bad = subprocess.run([sys.executable, script, "--repeat", "0"], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert bad.returncode == 2 and "--repeat=0: must be at least 1" in bad.stderr
