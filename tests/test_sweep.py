"""Sweeps end to end: Hydra multirun on each launcher, resume, status, collect."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

TINY = ["n_workers=300", "weeks=12", "burn_in=4", "output.progress=off"]


def sim(*args: str, cwd: Path, timeout: float = 600,
        env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def run_dir(sweep: Path, *parts: str) -> Path:
    """The one run folder whose override-named id contains all ``parts``."""
    (found,) = [p for p in sweep.iterdir() if all(x in p.name.split(",") for x in parts)]
    return found


def summaries(sweep: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in sweep.glob("*/summary.json")}


def test_sweep_status_collect(tmp_path):
    r = sim("run", "-m", "+strategy=everyone,lions", "seed=range(0,2)",
            "market.vacancy_rate=0.02,0.04", *TINY, "hydra.sweep.dir=sw", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "8 runs: 8 complete, 0 failed, 0 missing" in r.stdout
    sweep = tmp_path / "sw"
    assert len(summaries(sweep)) == 8
    # run folders are named by their overrides (a stable id), not by job number
    assert (run_dir(sweep, "+strategy=lions", "market.vacancy_rate=0.04", "seed=1")
            / "summary.json").is_file()
    s = sim("status", "sw", cwd=tmp_path)
    assert s.returncode == 0 and "8 complete" in s.stdout
    c = sim("collect", "sw", cwd=tmp_path)
    assert c.returncode == 0, c.stderr
    runs = pd.read_parquet(sweep / "collected" / "runs.parquet")
    spells = pd.read_parquet(sweep / "collected" / "spells.parquet")
    assert len(runs) == 8 and runs["run_id"].is_unique and (runs["status"] == "complete").all()
    assert set(runs["market.vacancy_rate"]) == {0.02, 0.04} and set(runs["seed"]) == {0, 1}
    assert {"run_id", "strategy", "seed", "market.vacancy_rate", "duration_weeks",
            "censored", "channel"} <= set(spells.columns)
    # every run's spells, exactly once
    per_run = spells.groupby("run_id").size()
    for _, row in runs.iterrows():
        own = pd.read_parquet(sweep / row["run_id"] / "spells.parquet")
        assert per_run[row["run_id"]] == len(own)
    assert runs["km_median_weeks.all"].notna().any()
    # the funnel figures of each run's summary, as columns (calibration reads them)
    for _, row in runs.iterrows():
        funnel = json.loads((sweep / row["run_id"] / "summary.json").read_text())["funnel"]
        assert row["funnel.applications_per_vacancy"] == funnel["applications_per_vacancy"]
        assert row["funnel.offers_per_application.formal"] == \
            funnel["offers_per_application"]["formal"]


def test_same_command_resumes_and_defaults_to_a_stable_folder(tmp_path):
    args = ["run", "-m", "+strategy=passive", "seed=0,1", *TINY]
    first = sim(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    (sweep,) = (tmp_path / "outputs" / "sweeps").iterdir()
    before = summaries(sweep)
    mtimes = {p: p.stat().st_mtime_ns for p in sweep.glob("*/summary.json")}
    again = sim(*args, cwd=tmp_path)
    assert again.returncode == 0
    assert f"sweep folder: outputs/sweeps/{sweep.name}" in again.stdout
    assert "complete already, skipped" in again.stdout + again.stderr
    assert summaries(sweep) == before
    assert {p: p.stat().st_mtime_ns for p in sweep.glob("*/summary.json")} == mtimes


def test_joblib_sweep_is_byte_identical_to_serial(tmp_path):
    common = ["run", "-m", "+strategy=everyone,lions", "seed=0,1", *TINY]
    assert sim(*common, "hydra.sweep.dir=serial", cwd=tmp_path).returncode == 0
    r = sim(*common, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
            "hydra.sweep.dir=parallel", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    runs = sorted(p.name for p in (tmp_path / "serial").glob("*/summary.json"))
    names = sorted(p.parent.name for p in (tmp_path / "serial").glob("*/summary.json"))
    assert len(runs) == len(names) == 4
    for name in names:
        for f in ("spells.parquet", "timeseries.parquet"):
            a = (tmp_path / "serial" / name / f).read_bytes()
            b = (tmp_path / "parallel" / name / f).read_bytes()
            assert a == b, f"{name}/{f} differs between serial and joblib"


def test_complete_run_of_another_configuration_is_neither_reused_nor_overwritten(tmp_path):
    """After the defaults change, resuming a sweep must not pass old runs off as current."""
    common = ["run", "-m", "+strategy=lions", "seed=0,1", *TINY, "hydra.sweep.dir=sw"]
    assert sim(*common, cwd=tmp_path).returncode == 0
    old = run_dir(tmp_path / "sw", "seed=0") / "summary.json"
    summary = json.loads(old.read_text())
    summary["config"]["hiring"]["applications"] = 0.05  # as if made with other defaults
    old.write_text(json.dumps(summary))
    before = {p: p.read_bytes() for p in old.parent.iterdir()
              if p.suffix in (".json", ".parquet")}  # the run's outputs (Hydra appends to sim.log)
    r = sim(*common, cwd=tmp_path)
    assert r.returncode == 1
    assert "1 complete, 1 failed" in r.stdout
    assert "another configuration (hiring.applications 0.05 -> 0.064)" in r.stdout
    assert len(before) == 3 and all(p.read_bytes() == b for p, b in before.items())  # untouched
    s = sim("status", "sw", cwd=tmp_path)
    assert s.returncode == 1 and "StaleRun" in s.stdout


def test_submitit_local_launcher(tmp_path):
    r = sim("run", "-m", "+strategy=lions", "seed=0,1", *TINY, "hydra/launcher=submitit_local",
            "hydra.sweep.dir=sl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(summaries(tmp_path / "sl")) == 2


def test_failed_run_does_not_stop_the_others(tmp_path):
    # a bad value is refused before the sweep starts; a run that fails while it runs
    # (here made to by the test hook, as a crash of the model would) is recorded
    hook = {"SIM_TEST_HOOK": "before-outputs:raise@market.vacancy_rate=0.04"}
    args = ["run", "-m", "+strategy=passive", "market.vacancy_rate=0.02,0.04", *TINY,
            "hydra.sweep.dir=sw"]
    r = sim(*args, cwd=tmp_path, env=hook)
    assert r.returncode == 1
    assert "1 complete, 1 failed" in r.stdout
    assert "market.vacancy_rate=0.04" in r.stdout and "RuntimeError: test hook" in r.stdout
    s = sim("status", "sw", cwd=tmp_path)
    assert s.returncode == 1 and "failed" in s.stdout and "RuntimeError: test hook" in s.stdout
    failed = run_dir(tmp_path / "sw", "market.vacancy_rate=0.04")
    err = json.loads((failed / "error.json").read_text())
    assert err["type"] == "RuntimeError"
    assert not list(failed.glob("lease.*.json")) and not (failed / "summary.json").exists()
    r = sim(*args, cwd=tmp_path)  # the failure is gone: the resume redoes the failed run
    assert r.returncode == 0 and "2 complete, 0 failed" in r.stdout
    assert not (failed / "error.json").exists()


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def test_resume_after_a_worker_is_killed(tmp_path):
    args = ["run", "-m", "+strategy=lions,everyone", "seed=range(0,4)", "n_workers=2500",
            "weeks=80", "burn_in=10", "output.progress=off", "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2", "hydra.sweep.dir=sw"]
    sweep = tmp_path / "sw"
    proc = subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.time() + 300
        while len(list(sweep.glob("*/summary.json"))) < 2:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.time() < deadline, "the sweep made no progress"
            time.sleep(0.2)
        workers = [p for p in _descendants(proc.pid)
                   if b"loky" in Path(f"/proc/{p}/cmdline").read_bytes()
                   or b"joblib" in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert workers, "no joblib worker found"
        os.kill(workers[-1], signal.SIGKILL)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    done_before = summaries(sweep)
    assert 2 <= len(done_before) < 8, "the kill came too late to test resuming"
    r = sim(*args, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "8 runs: 8 complete, 0 failed, 0 missing" in r.stdout
    after = summaries(sweep)
    assert len(after) == 8
    # nothing complete was redone or overwritten
    assert all(after[k] == v for k, v in done_before.items())
    assert not list(sweep.glob("*/.*.partial")) and not list(sweep.glob("*/error.json"))


def test_collect_reports_corrupt_and_missing_runs(tmp_path):
    r = sim("run", "-m", "+strategy=passive", "seed=range(0,4)", *TINY, "hydra.sweep.dir=sw",
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    sweep = tmp_path / "sw"
    corrupt, missing = run_dir(sweep, "seed=1"), run_dir(sweep, "seed=2")
    (corrupt / "spells.parquet").write_bytes(b"not parquet")
    import shutil

    shutil.rmtree(missing)
    c = sim("collect", "sw", cwd=tmp_path)
    assert c.returncode == 0, c.stderr
    assert corrupt.name in c.stdout and "corrupt" in c.stdout
    runs = pd.read_parquet(sweep / "collected" / "runs.parquet").set_index("run_id")
    assert runs.loc[corrupt.name, "status"] == "corrupt"
    assert runs.loc[missing.name, "status"] == "missing"
    assert (runs["status"] == "complete").sum() == 2
    spells = pd.read_parquet(sweep / "collected" / "spells.parquet")
    assert set(spells["run_id"]) == {run_dir(sweep, "seed=0").name, run_dir(sweep, "seed=3").name}
    s = sim("status", "sw", cwd=tmp_path)
    assert "missing" in s.stdout and missing.name in s.stdout


def test_experiment_preset_runs_with_one_command(tmp_path):
    r = sim("run", "-m", "+experiment=smoke", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "4 runs: 4 complete" in r.stdout
    assert "outputs/sweeps/smoke-" in r.stdout


SLURM = os.environ.get("SIM_SLURM_AVAILABLE") == "1"


@pytest.mark.slurm
@pytest.mark.skipif(not SLURM and not os.environ.get("CI"),
                    reason="needs the single-node Slurm that .ci/run starts")
def test_slurm_sweep_every_run_back_exactly_once(tmp_path):
    assert SLURM, "CI must run this test on the Slurm cluster started by .ci/run"
    r = sim("run", "-m", "+strategy=everyone,lions", "seed=0,1", *TINY, "hydra/launcher=slurm",
            "hydra.launcher.timeout_min=10", "hydra.launcher.mem_gb=1",
            "hydra.launcher.array_parallelism=2", "hydra.sweep.dir=slurm", cwd=tmp_path,
            timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    sweep = tmp_path / "slurm"
    assert list((sweep / ".submitit").iterdir()), "no Slurm job was submitted"
    c = sim("collect", "slurm", cwd=tmp_path)
    assert c.returncode == 0
    runs = pd.read_parquet(sweep / "collected" / "runs.parquet")
    assert len(runs) == 4 and runs["run_id"].is_unique and (runs["status"] == "complete").all()
    spells = pd.read_parquet(sweep / "collected" / "spells.parquet")
    for run_id, n in spells.groupby("run_id").size().items():
        assert n == len(pd.read_parquet(sweep / run_id / "spells.parquet"))


def test_expected_run_ids_are_hydras_folder_names(tmp_path):
    """expected_runs computes each run's folder name with one parse per swept key; the
    names are those of Hydra's own get_overrides_dirname, for every override form."""
    import yaml
    from hydra._internal.config_loader_impl import get_overrides_dirname
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from sim.results.folders import expected_runs

    task = ["+strategy=lions,passive", "seed=range(0,3)", "market.vacancy_rate=0.02,0.04",
            "++output.progress=off", "ties.decay.online=0.05", "~leads.per_helper"]
    od = {"exclude_keys": ["output.progress", "hydra.sweep.dir"], "item_sep": ",", "kv_sep": "="}
    (tmp_path / "multirun.yaml").write_text(yaml.safe_dump({"hydra": {
        "overrides": {"task": task}, "sweeper": {"params": {"n_workers": "100,200"}},
        "job": {"config": {"override_dirname": od}}}}))
    runs = expected_runs(tmp_path)
    assert len(runs) == 2 * 2 * 3 * 2
    parser = OverridesParser.create()
    for run_id, job in runs.items():
        assert run_id == get_overrides_dirname(parser.parse_overrides(job), **od)
    assert "+strategy=lions,market.vacancy_rate=0.02,n_workers=100,seed=0," \
           "ties.decay.online=0.05,~leads.per_helper=null" in runs  # output.progress left out
