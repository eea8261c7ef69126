"""The command line, end to end, in subprocesses (as a user runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

TINY = ["n_workers=800", "weeks=30", "burn_in=10"]


def sim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=env)


def run_folders(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.glob("outputs/runs/*/*/.hydra"))


@pytest.mark.parametrize("strategy", ["lions", "everyone", "passive", "broadcast"])
def test_run_each_strategy(tmp_path, strategy):
    r = sim("run", f"+strategy={strategy}", *TINY, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (folder,) = run_folders(tmp_path)
    assert f"run folder: {folder}" in r.stdout
    assert "KM median" in r.stdout and strategy in r.stdout
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["complete"] and summary["config"]["strategy"]["shares"] == {strategy: 1.0}
    assert set(summary["metrics"]) == {"all", strategy}
    for key in ("km_median_weeks", "share_reemployed_4w", "share_hires_contacts"):
        assert key in summary["metrics"][strategy]
    assert summary["versions"]["mesa"].startswith("3.")
    spells = pd.read_parquet(folder / "spells.parquet")
    ts = pd.read_parquet(folder / "timeseries.parquet")
    assert len(ts) == 30 and len(spells) > 0
    assert not (folder / "ties.parquet").exists()
    assert not list(folder.glob("*.partial")) and not list(folder.glob(".*partial"))


def test_mixed_with_share_override_and_ties_output(tmp_path):
    r = sim("run", "+strategy=mixed", "strategy.shares.lions=0.3", "output.ties=true", *TINY,
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (folder,) = run_folders(tmp_path)
    summary = json.loads((folder / "summary.json").read_text())
    shares = summary["config"]["strategy"]["shares"]
    assert shares["lions"] == 0.3 and abs(shares["everyone"] - 0.7) < 1e-12
    ties = pd.read_parquet(folder / "ties.parquet")
    assert {"a", "b", "kind", "strength", "knows_a", "knows_b", "common_neighbors",
            "age_weeks"} <= set(ties.columns)
    ts = pd.read_parquet(folder / "timeseries.parquet")
    assert {"unemployment_rate_lions", "mean_degree_everyone"} <= set(ts.columns)


def test_same_seed_byte_identical_outputs(tmp_path):
    outs = []
    for name in ("a", "b"):
        r = sim("run", "+strategy=lions", *TINY, "seed=3", f"hydra.run.dir={name}", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        outs.append(tmp_path / name)
    for f in ("spells.parquet", "timeseries.parquet"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes()
    r = sim("run", "+strategy=lions", *TINY, "seed=4", "hydra.run.dir=c", cwd=tmp_path)
    assert (outs[0] / "spells.parquet").read_bytes() != (tmp_path / "c/spells.parquet").read_bytes()


@pytest.mark.parametrize("args, needle", [
    (["+strategy=lions", "n_workers=-5"], "n_workers=-5"),
    (["+strategy=lions", "market.separation_rate=1.5"], "market.separation_rate=1.5"),
    (["+strategy=mixed", "strategy.shares.lions=0.5", "strategy.shares.everyone=0.2"],
     "strategy.shares"),
    (["+strategy=lions", "weeks=0"], "weeks=0"),
    (["+strategy=lions", "market.vacancy_rat=0.1"], "market.vacancy_rat=0.1: unknown key"),
    (["+strategy=lions", "n_workers=many"], "n_workers='many'"),
    (["+strategy=lionz"], "lionz"),
    ([], "+strategy="),
])
def test_bad_input_one_line_error_no_folder(tmp_path, args, needle):
    r = sim("run", *args, cwd=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], r.stderr
    assert not (tmp_path / "outputs").exists()


def test_misspelt_and_missing_strategy_list_the_options(tmp_path):
    for args in (["+strategy=lionz"], []):
        r = sim("run", *args, cwd=tmp_path)
        for name in ("lions", "everyone", "passive", "broadcast", "mixed"):
            assert name in r.stderr


def test_complete_run_is_never_overwritten(tmp_path):
    r = sim("run", "+strategy=passive", *TINY, "hydra.run.dir=fixed", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    before = (tmp_path / "fixed/summary.json").read_bytes()
    r = sim("run", "+strategy=passive", *TINY, "seed=9", "hydra.run.dir=fixed", cwd=tmp_path)
    assert r.returncode == 2 and "already holds a complete run" in r.stderr
    assert (tmp_path / "fixed/summary.json").read_bytes() == before


def test_help(tmp_path):
    r = sim("--help", cwd=tmp_path)
    assert r.returncode == 0 and "run" in r.stdout
    r = sim("run", "--help", cwd=tmp_path)
    assert r.returncode == 0
    for text in ("+strategy=broadcast|everyone|lions|mixed|passive", "market:",
                 "vacancy_rate: 0.04", "calvo_jackson"):
        assert text in r.stdout
    r = sim("frobnicate", cwd=tmp_path)
    assert r.returncode == 2 and "unknown command" in r.stderr


def test_calvo_jackson_preset_cli(tmp_path):
    r = sim("run", "+preset=calvo_jackson", *TINY, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (folder,) = run_folders(tmp_path)
    assert "calvo_jackson" in folder.name


def test_plot_a_run_folder(tmp_path):
    r = sim("run", "+strategy=lions", *TINY, "hydra.run.dir=one", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    p = sim("plot", "one", "--size", "two", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    pdfs = sorted((tmp_path / "one" / "figures").glob("*.pdf"))
    assert {"km.pdf", "channels.pdf", "market.pdf"} <= {f.name for f in pdfs}
    assert all(f.with_suffix(".png").stat().st_size > 1000 for f in pdfs)
    bad = sim("plot", "nowhere", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
