"""On the single-node Slurm of .ci/run: the command that submitted a sweep dies while its
array tasks run, and is run again while they still run. No run is computed twice."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_durability import TINY, computed, events, outputs, sim

SLURM = os.environ.get("SIM_SLURM_AVAILABLE") == "1"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.slurm,
    pytest.mark.skipif(not SLURM and not os.environ.get("CI"),
                       reason="needs the single-node Slurm that .ci/run starts"),
]

SWEEP = ["run", "-m", "+strategy=passive", "seed=0,1,2,3", *TINY]
SLURM_ARGS = ["hydra/launcher=slurm", "hydra.launcher.timeout_min=10", "hydra.launcher.mem_gb=1",
              "hydra.launcher.array_parallelism=1", "hydra.sweep.dir=sw"]


def array_jobs(sweep: Path) -> set[str]:
    """Slurm array job ids submitted for the sweep (submitit's log folders)."""
    return {p.name.split("_")[0] for p in (sweep / ".submitit").glob("*_*")
            if re.fullmatch(r"\d+_\d+", p.name)}


def queued(jobs: set[str]) -> set[str]:
    """Those of ``jobs`` (array job ids) with a task still in the queue."""
    out = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout
    return {j.split("_")[0] for j in out.split()} & jobs


def wait_for(what, timeout: float, message: str):
    deadline = time.time() + timeout
    while not (value := what()):
        assert time.time() < deadline, message
        time.sleep(0.5)
    return value


def test_submitting_command_killed_then_resumed_while_tasks_run(tmp_path):
    assert SLURM, "CI must run this test on the Slurm cluster started by .ci/run"
    ref = sim(*SWEEP, "hydra.sweep.dir=ref", cwd=tmp_path)
    assert ref.returncode == 0, ref.stderr[-2000:]
    log, go = tmp_path / "events.log", tmp_path / "go"
    # the run seed=0 (the first array's first task) waits before writing its outputs until
    # the test says go, so that it is still running when the submitting command is killed
    # and while the same command runs again (sbatch passes the environment to the tasks)
    env = {**os.environ, "SIM_TEST_LOG": str(log),
           "SIM_TEST_HOOK": f"before-outputs:wait={go}@seed=0"}
    sweep = tmp_path / "sw"
    first = subprocess.Popen([sys.executable, "-m", "sim", *SWEEP, *SLURM_ARGS], cwd=tmp_path,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    jobs: set[str] = set()
    try:
        wait_for(lambda: list(sweep.glob("*/lease.*.json")) or first.poll() is not None, 600,
                 "no array task started")
        assert first.poll() is None, first.communicate()[1][-2000:]
        jobs |= array_jobs(sweep)
        os.killpg(first.pid, signal.SIGKILL)  # the login session dies
        first.wait()
        assert queued(jobs), "killing the submitting command must not end its Slurm jobs"

        s = sim("status", "sw", cwd=tmp_path)
        assert s.returncode == 1 and "1 running" in s.stdout, s.stdout
        (orig,) = jobs
        (running,) = [ln.split()[1].rstrip(":") for ln in s.stdout.splitlines()
                      if ln.strip().startswith("running")]
        assert "seed=0," in running and f"Slurm job {orig}_0" in s.stdout

        # run the same command again while the first array still runs
        again = sim(*SWEEP, *SLURM_ARGS, cwd=tmp_path, env=env, timeout=1200)
        assert re.search(r"4 runs: 3 complete, 0 failed, 1 running", again.stdout), \
            again.stdout + again.stderr[-2000:]
        assert again.returncode == 1  # not all complete yet
        jobs |= array_jobs(sweep)
        assert len(jobs) == 2, jobs
        assert orig in queued(jobs)  # the first array still runs
        go.touch()
        wait_for(lambda: not queued(jobs), 900, "Slurm jobs did not end")
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        left = queued(jobs | array_jobs(sweep))
        if left:  # only this test's jobs
            subprocess.run(["scancel", *left], check=False)

    counts = computed(log)
    assert counts == {name: 1 for name in counts} and len(counts) == 4, counts  # once each
    (resumed,) = jobs - {orig}
    skipped = {(name, job) for event, name, _, job in events(log) if event == "busy"}
    assert (running, resumed) in skipped, "the resumed tasks did not meet the running one"
    done = {(name, job) for event, name, _, job in events(log) if event == "complete"}
    assert {name for name, job in done if job == orig} == set(counts) - {running}
    s = sim("status", "sw", cwd=tmp_path)
    assert s.returncode == 0 and "4 runs: 4 complete" in s.stdout, s.stdout
    assert outputs(sweep) == outputs(tmp_path / "ref")
    assert not list(sweep.glob("*/lease.*.json")) and not list(sweep.glob("*/.*.partial"))
