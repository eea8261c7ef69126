"""Run folders that survive crashes and overlapping resumes (durable writes, checksums,
leases), with real processes: a SIGKILL between the outputs and the summary, a damaged
output under its summary, two sweeps on one folder at once, stale leases taken over."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.results.files import file_digest, verify_run, write_atomic
from sim.results.leases import LeaseLost, RunBusy, acquire_lease, current_lease, tidy
from tests.lease_race import race

TINY = ["n_workers=300", "weeks=12", "burn_in=4", "output.progress=off"]


def sim(*args: str, cwd: Path, env: dict | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def sweep_args(sweep: str, seeds: str = "0,1,2") -> list[str]:
    return ["run", "-m", "+strategy=passive", f"seed={seeds}", *TINY, f"hydra.sweep.dir={sweep}"]


def outputs(sweep: Path) -> dict[str, bytes]:
    """The Parquet outputs of every run of a sweep, by ``run/file``."""
    return {f"{p.parent.name}/{p.name}": p.read_bytes() for p in sorted(sweep.glob("*/*.parquet"))
            if p.parent.name != "collected"}


def run_of(sweep: Path, seed: int) -> Path:
    (found,) = [p for p in sweep.iterdir() if f"seed={seed}" in p.name.split(",")]
    return found


def events(log: Path) -> list[tuple[str, str, int, str]]:
    """Lines of the SIM_TEST_LOG hook: (event, run folder name, pid, Slurm job or -)."""
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        event, rest = line.split(" ", 1)
        folder, pid, job = rest.rsplit(" ", 2)
        out.append((event, Path(folder).name, int(pid), job))
    return out


def computed(log: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event, name, *_ in events(log):
        if event == "compute":
            counts[name] = counts.get(name, 0) + 1
    return counts


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, bytes]:
    """Outputs of the 3-run sweep made by one undisturbed process."""
    root = tmp_path_factory.mktemp("reference")
    r = sim(*sweep_args("ref"), cwd=root)
    assert r.returncode == 0, r.stderr[-2000:]
    return outputs(root / "ref")


# ------------------------------------------------------------------ durable writes, in-process


def test_write_atomic_returns_the_digest_of_what_is_on_disk(tmp_path):
    target = tmp_path / "x.bin"
    digest = write_atomic(target, lambda p: Path(p).write_bytes(b"abc" * 1000))
    assert digest == file_digest(target) and digest["bytes"] == 3000
    assert not list(tmp_path.glob(".*.partial"))

    def broken(p):
        Path(p).write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomic(tmp_path / "y.bin", broken)
    assert not (tmp_path / "y.bin").exists() and not list(tmp_path.glob(".*.partial"))


# ----------------------------------------------------------------------- leases, in-process


def test_one_of_many_processes_gets_the_lease(tmp_path):
    assert race(tmp_path / "run", 6, 600) == ["busy"] * 5 + ["won"]
    assert current_lease(tmp_path / "run") is None  # released


def test_one_of_many_processes_takes_over_a_stale_lease(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "lease.0.json").write_text(json.dumps(
        {"host": "gone.example", "pid": 1, "started": time.time() - 7200}))
    old = time.time() - 7200
    os.utime(folder / "lease.0.json", (old, old))
    assert race(folder, 6, 600) == ["busy"] * 5 + ["won"]
    assert not (folder / "lease.0.json").exists()  # the stale lease went with the takeover
    assert not list(folder.glob("lease.*.json"))


def test_heartbeat_keeps_a_long_run_live_and_release_removes_the_lease(tmp_path):
    lease = acquire_lease(tmp_path, timeout=1.0)
    lease.start_heartbeat(interval=0.1)
    time.sleep(2.5)  # much longer than the timeout: only the heartbeat keeps it live
    with pytest.raises(RunBusy) as busy:
        acquire_lease(tmp_path, timeout=1.0)
    assert busy.value.lease.host == socket.gethostname() and busy.value.lease.pid == os.getpid()
    lease.check()  # still ours
    lease.release()
    assert not list(tmp_path.glob("lease.*.json"))
    acquire_lease(tmp_path, timeout=1.0).release()


def test_a_lease_taken_over_is_lost_to_its_old_holder(tmp_path):
    old = acquire_lease(tmp_path, timeout=600)  # no heartbeat: goes stale
    time.sleep(0.05)
    new = acquire_lease(tmp_path, timeout=0.01)
    with pytest.raises(LeaseLost):
        old.check()
    old.release()  # must not remove the new holder's lease
    new.check()
    assert current_lease(tmp_path).path == new.path
    new.release()


# ---------------------------------------------------------------------- crashes, real processes


@pytest.mark.slow
def test_sigkill_between_outputs_and_summary(tmp_path, reference):
    log = tmp_path / "events.log"
    hooks = {"SIM_TEST_LOG": str(log), "SIM_TEST_HOOK": "before-summary:kill"}
    r = sim(*sweep_args("sw"), cwd=tmp_path, env=hooks)
    assert r.returncode == -9, r.stderr[-2000:]  # the process killed itself at the hook
    sweep = tmp_path / "sw"
    (killed,) = [p for p in sweep.iterdir() if p.is_dir() and (p / "spells.parquet").exists()]
    assert not (killed / "summary.json").exists()  # outputs written, summary not
    assert list(killed.glob("lease.*.json"))  # left by the dead process
    (killed / ".spells.parquet.x1y2.partial").write_bytes(b"left by a crash")

    s = sim("status", "sw", cwd=tmp_path)
    assert s.returncode == 1
    assert "0 complete" in s.stdout and "1 stale" in s.stdout
    assert f"stale      {killed.name}: host {socket.gethostname()} pid" in s.stdout
    assert "is gone" in s.stdout
    c = sim("collect", "sw", cwd=tmp_path)
    assert c.returncode == 0 and "no complete run" in c.stdout  # nothing to collect
    assert not (sweep / "collected" / "spells.parquet").exists()
    runs = pd.read_parquet(sweep / "collected" / "runs.parquet").set_index("run_id")
    assert runs.loc[killed.name, "status"] == "stale"

    r = sim(*sweep_args("sw"), cwd=tmp_path, env={"SIM_TEST_LOG": str(log)})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "3 runs: 3 complete" in r.stdout
    counts = computed(log)  # the killed run twice (killed, redone), the others once
    assert counts[killed.name] == 2 and sorted(counts.values()) == [1, 1, 2]
    assert outputs(sweep) == reference
    assert not list(sweep.glob("*/lease.*.json")) and not list(sweep.glob("*/.*.partial"))
    assert all(verify_run(p) is None for p in sweep.iterdir()
               if p.is_dir() and p.name != "collected")


@pytest.mark.slow
def test_damaged_outputs_under_a_summary_are_corrupt_and_redone(tmp_path, reference):
    r = sim(*sweep_args("sw"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    sweep = tmp_path / "sw"
    short, flipped, good = run_of(sweep, 0), run_of(sweep, 1), run_of(sweep, 2)
    data = (short / "spells.parquet").read_bytes()
    (short / "spells.parquet").write_bytes(data[: len(data) // 2])  # truncated, as by a crash
    ts = bytearray((flipped / "timeseries.parquet").read_bytes())
    ts[len(ts) // 2] ^= 0xFF  # same size, other content
    (flipped / "timeseries.parquet").write_bytes(bytes(ts))
    good_mtimes = {p.name: p.stat().st_mtime_ns for p in good.iterdir()
                   if p.suffix in (".json", ".parquet")}  # (Hydra appends to sim.log)

    s = sim("status", "sw", cwd=tmp_path)
    assert s.returncode == 1 and "1 complete" in s.stdout and "2 corrupt" in s.stdout
    assert f"corrupt    {short.name}: spells.parquet has {len(data) // 2} bytes" in s.stdout
    assert f"corrupt    {flipped.name}: timeseries.parquet does not match its SHA-256" in s.stdout
    c = sim("collect", "sw", cwd=tmp_path)
    assert c.returncode == 0
    assert c.stdout.count("not collected") == 2
    runs = pd.read_parquet(sweep / "collected" / "runs.parquet").set_index("run_id")
    assert runs.loc[short.name, "status"] == runs.loc[flipped.name, "status"] == "corrupt"
    spells = pd.read_parquet(sweep / "collected" / "spells.parquet")
    assert set(spells["run_id"]) == {good.name}  # never collected as data

    log = tmp_path / "events.log"
    r = sim(*sweep_args("sw"), cwd=tmp_path, env={"SIM_TEST_LOG": str(log)})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "3 runs: 3 complete" in r.stdout
    assert computed(log) == {short.name: 1, flipped.name: 1}  # the good run was not redone
    assert outputs(sweep) == reference
    assert {p.name: p.stat().st_mtime_ns for p in good.iterdir()
            if p.suffix in (".json", ".parquet")} == good_mtimes


@pytest.mark.slow
def test_two_sweeps_on_one_folder_compute_each_run_once(tmp_path, reference):
    log = tmp_path / "events.log"
    # a pause before the outputs makes each run last long enough for the two to overlap
    env = {**os.environ, "SIM_TEST_LOG": str(log), "SIM_TEST_HOOK": "before-outputs:sleep=1.5"}
    cmd = [sys.executable, "-m", "sim", *sweep_args("sw", "0,1,2,3,4,5")]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode in (0, 1), err[-2000:]  # 1: runs the other one still computes
        assert re.search(r"6 runs: \d complete, 0 failed", out), out + err[-2000:]
    sweep = tmp_path / "sw"
    counts = computed(log)
    assert len(counts) == 6 and set(counts.values()) == {1}, counts  # each run once
    pids = {pid for event, _, pid, _ in events(log) if event == "compute"}
    assert len(pids) == 2, "the two sweeps did not overlap: nothing was tested"
    assert any(event == "busy" for event, *_ in events(log))
    s = sim("status", "sw", cwd=tmp_path)
    assert s.returncode == 0 and "6 runs: 6 complete" in s.stdout
    single = reference
    assert {k: v for k, v in outputs(sweep).items() if k in single} == single
    assert len(outputs(sweep)) == 12
    assert not list(sweep.glob("*/lease.*.json")) and not list(sweep.glob("*/.*.partial"))


@pytest.mark.slow
def test_live_lease_is_left_alone_and_a_stale_one_taken_over(tmp_path, reference):
    sweep = tmp_path / "sw"
    r = sim(*sweep_args("sw"), cwd=tmp_path)
    assert r.returncode == 0
    held = run_of(sweep, 1)
    for p in held.glob("*"):  # as if another node had just begun it
        if p.is_file():
            p.unlink()
    lease = held / "lease.3.json"
    lease.write_text(json.dumps({"host": "node17.example", "pid": 4242, "started": time.time(),
                                 "slurm": {"array_job_id": "991", "array_task_id": "1"}}))
    log = tmp_path / "events.log"
    s = sim("status", "sw", cwd=tmp_path)
    assert s.returncode == 1 and "1 running" in s.stdout
    assert (f"running    {held.name}: host node17.example pid 4242, Slurm job 991_1, started"
            in s.stdout)
    r = sim(*sweep_args("sw"), cwd=tmp_path, env={"SIM_TEST_LOG": str(log)})
    assert r.returncode == 1 and "2 complete, 0 failed, 1 running" in r.stdout
    assert computed(log) == {} and ("busy", held.name) in {(e, n) for e, n, *_ in events(log)}
    assert lease.exists() and not (held / "summary.json").exists()

    # the other node died: its heartbeat stops; after SIM_LEASE_TIMEOUT the lease is stale
    old = time.time() - 3600
    os.utime(lease, (old, old))
    s = sim("status", "sw", cwd=tmp_path, env={"SIM_LEASE_TIMEOUT": "20"})
    assert "1 stale" in s.stdout and "no heartbeat for 60m0" in s.stdout
    r = sim(*sweep_args("sw"), cwd=tmp_path, env={"SIM_LEASE_TIMEOUT": "20",
                                                  "SIM_TEST_LOG": str(log)})
    assert r.returncode == 0 and "3 runs: 3 complete" in r.stdout
    assert computed(log) == {held.name: 1}
    assert not list(held.glob("lease.*.json"))
    assert outputs(sweep) == reference


@pytest.mark.slow
def test_skipping_a_complete_run_removes_what_dead_processes_left(tmp_path):
    r = sim(*sweep_args("sw", "0"), cwd=tmp_path)
    assert r.returncode == 0
    (run,) = [p for p in (tmp_path / "sw").iterdir() if p.is_dir()]
    complete = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.iterdir()
                if p.suffix in (".json", ".parquet")}
    # a dead process's lease (no heartbeat for an hour) and a half-written file
    (run / "lease.0.json").write_text(json.dumps({"host": "gone.example", "pid": 7}))
    old = time.time() - 3600
    os.utime(run / "lease.0.json", (old, old))
    (run / ".timeseries.parquet.abc.partial").write_bytes(b"half")
    r = sim(*sweep_args("sw", "0"), cwd=tmp_path)
    assert r.returncode == 0 and "complete already, skipped" in r.stdout + r.stderr
    assert not (run / "lease.0.json").exists() and not list(run.glob(".*.partial"))
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.iterdir()
            if p.suffix in (".json", ".parquet")} == complete


def test_tidy_leaves_a_live_writer_alone(tmp_path):
    lease = acquire_lease(tmp_path, timeout=600)
    (tmp_path / ".spells.parquet.abc.partial").write_bytes(b"being written")
    assert tidy(tmp_path) == []
    assert (tmp_path / ".spells.parquet.abc.partial").exists() and lease.path.exists()
    lease.release()


# ------------------------------------------------------------------- status/collect refuse


@pytest.mark.slow
@pytest.mark.parametrize("command", ["status", "collect"])
def test_status_and_collect_refuse_a_folder_that_is_not_a_sweep(tmp_path, command):
    (tmp_path / "notes" / "sub").mkdir(parents=True)
    (tmp_path / "notes" / "a.txt").write_text("x")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    r = sim(command, "notes", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: sweep_dir=notes: not a sweep or run")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    r = sim(command, "nowhere", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == "error: sweep_dir=nowhere: no such folder"


@pytest.mark.slow
def test_status_of_one_run_folder(tmp_path):
    r = sim("run", "+strategy=passive", *TINY, "hydra.run.dir=one", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    s = sim("status", "one", cwd=tmp_path)
    assert s.returncode == 0 and "1 runs: 1 complete" in s.stdout
    shutil.copy(tmp_path / "one" / "timeseries.parquet", tmp_path / "one" / "spells.parquet")
    s = sim("status", "one", cwd=tmp_path)
    assert s.returncode == 1 and "corrupt    one: spells.parquet" in s.stdout


@pytest.mark.parametrize("mode", [[], ["-m"]])
def test_bad_lease_timeout_is_one_line_and_leaves_no_folder(tmp_path, mode):
    r = sim("run", *mode, "+strategy=passive", *TINY, cwd=tmp_path,
            env={"SIM_LEASE_TIMEOUT": "abc"})
    assert r.returncode == 2
    assert r.stderr.strip() == "error: SIM_LEASE_TIMEOUT=abc: must be a number of seconds > 0"
    assert not list(tmp_path.iterdir())
