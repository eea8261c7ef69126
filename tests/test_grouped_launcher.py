"""Runs grouped into array tasks (hydra_plugins/sim_launcher/grouped.py): several runs per
task, each still its own run folder, skipped on resume, reported on its own; arrays no
larger than the cluster's MaxArraySize. On submitit's local executor, and on the
single-node Slurm of .ci/run (a task cancelled midway, then the sweep resumed)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hydra_plugins.sim_launcher.grouped import groups_of, slurm_max_array_size
from tests.test_durability import TINY, computed, events, outputs, run_of, sim
from tests.test_slurm_resume import wait_for

SLURM = os.environ.get("SIM_SLURM_AVAILABLE") == "1"


def test_groups_of_keeps_the_order_and_every_item():
    items = list(range(41))
    groups = groups_of(items, 10)
    assert [len(g) for g in groups] == [10, 10, 10, 10, 1]
    assert [i for g in groups for i in g] == items
    assert groups_of(items[:3], 5) == [[0, 1, 2]]
    # arrays of at most 3 tasks: 5 tasks -> 2 arrays
    assert [len(a) for a in groups_of(groups, 3)] == [3, 2]


@pytest.mark.slow
def test_local_grouped_runs_each_run_once_and_a_failure_does_not_stop_its_task(tmp_path):
    log = tmp_path / "events.log"
    env = {"SIM_TEST_LOG": str(log), "SIM_TEST_HOOK": "before-outputs:raise@seed=1,"}
    args = ["run", "-m", "+strategy=passive", "seed=range(0,5)", *TINY,
            "hydra/launcher=submitit_local_grouped", "hydra.launcher.runs_per_task=3",
            "hydra.launcher.array_parallelism=2", "hydra.sweep.dir=sw"]
    r = sim(*args, cwd=tmp_path, env=env)
    # seed=1 fails inside the first task; seed=2 (same task) and the second task still run
    assert r.returncode == 1 and "5 runs: 4 complete, 1 failed" in r.stdout, r.stdout + r.stderr
    sweep = tmp_path / "sw"
    tasks = [p for p in (sweep / ".submitit").iterdir() if p.name.isdigit()]  # one per task
    assert len(tasks) == 2, tasks  # 5 runs, 3 per task
    assert computed(log) == {run_of(sweep, s).name: 1 for s in range(5)}
    assert (run_of(sweep, 1) / "error.json").is_file()
    # resumed: only the failed run is computed again; complete runs are left as they are
    before = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in sweep.glob("*/*.parquet")}
    r = sim(*args, cwd=tmp_path, env={"SIM_TEST_LOG": str(log)})
    assert r.returncode == 0 and "5 runs: 5 complete" in r.stdout, r.stdout + r.stderr
    counts = computed(log)
    assert counts.pop(run_of(sweep, 1).name) == 2 and set(counts.values()) == {1}
    assert all((p.stat().st_mtime_ns, p.stat().st_ino) == v for p, v in before.items())


def test_bad_runs_per_task_is_refused(tmp_path):
    r = sim("run", "-m", "+strategy=passive", "seed=0,1", *TINY,
            "hydra/launcher=submitit_local_grouped", "hydra.launcher.runs_per_task=0",
            "hydra.sweep.dir=sw", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == \
        "error: hydra.launcher.runs_per_task=0: must be a whole number >= 1", r.stderr
    assert not (tmp_path / "sw").exists()  # refused before the sweep folder is made


# ----------------------------------------------------------------------------- on Slurm

def slurm_jobs(sweep: Path) -> list[str]:
    """Slurm job ids submitted for the sweep (submitit's log folders: ``<array>_<task>``, or
    ``<job>`` for an array of one task, which submitit submits as a plain job), in order."""
    return sorted({p.name.split("_")[0] for p in (sweep / ".submitit").iterdir()
                   if re.fullmatch(r"\d+(_\d+)?", p.name)}, key=int)


def queued(jobs: list[str]) -> set[str]:
    out = subprocess.run(["squeue", "-h", "-r", "-o", "%i"], capture_output=True,
                         text=True).stdout.split()
    return {j for j in out if j.split("_")[0] in jobs}


def files_state(sweep: Path) -> dict[str, tuple[int, int, int]]:
    """(size, mtime in ns, inode) of the outputs and summary.json of every complete run
    (not Hydra's sim.log and .hydra/, which a resumed task's skip appends to / rewrites)."""
    out = {}
    for summary in sorted(sweep.glob("*/summary.json")):
        for name in ["summary.json", *json.loads(summary.read_text())["files"]]:
            st = (summary.parent / name).stat()
            out[f"{summary.parent.name}/{name}"] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return out


@pytest.mark.slow
@pytest.mark.slurm
@pytest.mark.skipif(not SLURM and not os.environ.get("CI"),
                    reason="needs the single-node Slurm that .ci/run starts")
def test_40_runs_in_4_slurm_tasks_one_cancelled_midway_then_resumed(tmp_path):
    assert SLURM, "CI must run this test on the Slurm cluster started by .ci/run"
    assert slurm_max_array_size() >= 4  # read from `scontrol show config`
    sweep_args = ["run", "-m", "+strategy=passive", "seed=range(0,40)", *TINY]
    ref = sim(*sweep_args, "hydra.sweep.dir=ref", cwd=tmp_path)
    assert ref.returncode == 0, ref.stderr[-2000:]
    slurm = ["hydra/launcher=slurm", "hydra.launcher.timeout_min=10", "hydra.launcher.mem_gb=1",
             "hydra.launcher.runs_per_task=10", "hydra.launcher.max_array_size=3",
             "hydra.sweep.dir=sw"]
    log, go = tmp_path / "events.log", tmp_path / "go"
    # task 2 (runs seed=20..29) stops in its second run, seed=21, until the test says go
    env = {"SIM_TEST_LOG": str(log), "SIM_TEST_HOOK": f"before-outputs:wait={go}@seed=21,"}
    sweep = tmp_path / "sw"
    first = subprocess.Popen(
        [sys.executable, "-m", "sim", *sweep_args, *slurm], cwd=tmp_path,
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    jobs: list[str] = []
    try:
        def holding():
            found = [p for p in sweep.glob("*seed=21,*") if list(p.glob("lease.*.json"))]
            return found and (run_of(sweep, 20) / "summary.json").is_file() and found[0]

        held = wait_for(holding, 600, "task 2 did not reach seed=21")
        jobs = slurm_jobs(sweep)
        # 4 tasks of 10 runs, at most 3 tasks per array: two arrays (3 + 1 tasks)
        logs = {p.name for p in (sweep / ".submitit").iterdir()}
        assert len(jobs) == 2 and logs >= {f"{jobs[0]}_{i}" for i in range(3)} | {jobs[1]} \
            and f"{jobs[0]}_3" not in logs, logs
        subprocess.run(["scancel", f"{jobs[0]}_2"], check=True)
        wait_for(lambda: f"{jobs[0]}_2" not in queued(jobs), 300, "task 2 was not cancelled")
        # the submitting command notices the task that left the queue without a result
        # (also without Slurm accounting), waits for the others, reports every run
        out, err = first.communicate(timeout=900)
        assert first.returncode == 1 and "left the queue without a result" in err, err[-3000:]
        assert "40 runs: 31 complete, 0 failed, 1 stale, 8 missing" in out, out
        assert not queued(jobs)
        # every run is reported on its own: 31 complete, the killed one stale, 8 never started
        s = sim("status", "sw", cwd=tmp_path)
        assert "40 runs: 31 complete, 0 failed, 1 stale, 8 missing" in s.stdout, s.stdout
        assert f"stale      {held.name}" in s.stdout
        before = files_state(sweep)
        assert len({k.split("/")[0] for k in before}) == 31 and len(before) == 31 * 3
        # resumed with the same command (no hook): the 9 runs left are computed
        again = sim(*sweep_args, *slurm, cwd=tmp_path, env={"SIM_TEST_LOG": str(log)},
                    timeout=1200)
        assert again.returncode == 0 and "40 runs: 40 complete" in again.stdout, \
            again.stdout + again.stderr[-2000:]
        jobs = slurm_jobs(sweep)
    finally:
        go.touch()
        if first.poll() is None:
            first.kill()
            first.communicate()
        left = queued(jobs or slurm_jobs(sweep))
        if left:  # only this test's jobs
            subprocess.run(["scancel", *sorted({j.split("_")[0] for j in left})], check=False)

    counts = computed(log)
    assert len(counts) == 40
    assert counts.pop(held.name) == 2  # started in the cancelled task, then redone
    assert set(counts.values()) == {1}, counts  # every other run computed once
    after = files_state(sweep)
    assert {k: v for k, v in after.items() if k in before} == before  # not rewritten
    done = {name for event, name, _, _ in events(log) if event == "complete"}
    assert len(done) == 31  # the resumed tasks skipped the complete runs, one by one
    assert outputs(sweep) == outputs(tmp_path / "ref")
    assert not list(sweep.glob("*/lease.*.json")) and not list(sweep.glob("*/.*.partial"))
