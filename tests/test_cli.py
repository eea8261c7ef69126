"""The command line, end to end, in subprocesses (as a user runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.core.config import SimConfig
from sim.errors import ConfigError

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
    (["+strategy=lions", "n_workers=300,abc"], "n_workers=300,abc: several values run a sweep: add -m"),
    (["-m", "+strategy=lions", "seed=interval(0,1)"], "seed=interval(0,1): a sweep takes lists"),
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
                 f"vacancy_rate: {SimConfig().market.vacancy_rate}", "calvo_jackson"):
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


# Each bad input of a single run, and the same mistake in a sweep (run -m, several runs):
# one line naming key and value, exit 2, no folder, not even the sweep folder's announcement.
BAD_INPUTS = {
    "unknown_key": (["+strategy=lions", "n_worker=300"],
                    ["-m", "+strategy=lions", "n_worker=300", "seed=0,1"],
                    "n_worker=300: unknown key (did you mean 'n_workers'?)"),
    "bad_value_among_several": (["+strategy=lions", "n_workers=abc"],
                                ["-m", "+strategy=lions", "n_workers=300,abc", "seed=0,1"],
                                "n_workers='abc': must be an integer"),
    "unknown_experiment": (["+experiment=smok"], ["-m", "+experiment=smok"],
                           "experiment=smok: unknown experiment; available: e1_strategies, "),
    "unknown_experiment_in_a_list": (["+experiment=smok"], ["-m", "+experiment=smoke,smok"],
                                     "experiment=smok: unknown experiment; available: "),
    "unknown_launcher": (["+strategy=lions", "hydra/launcher=nope"],
                         ["-m", "+strategy=lions", "hydra/launcher=nope", "seed=0,1"],
                         "hydra/launcher=nope: unknown hydra/launcher; available: "),
    "strategy_without_plus": (["strategy=lions"], ["-m", "strategy=lions", "seed=0,1"],
                              "strategy=lions: no strategy is chosen by default, so there is none "
                              "to override; write +strategy=lions to choose one"),
    "too_large_for_memory": (["+strategy=lions", "n_workers=100000000000"],
                             ["-m", "+strategy=lions", "n_workers=1000,100000000000"],
                             "n_workers=100000000000: does not fit in memory: needs at least "),
    "unparsable": (["+strategy=lions", "seed=range(a)"],
                   ["-m", "+strategy=lions", "seed=range(a)"], "seed=range(a): cannot parse it"),
}


@pytest.mark.parametrize("mode", ["single", "sweep"])
@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_single_and_sweep(tmp_path, case, mode):
    single, sweep, needle = BAD_INPUTS[case]
    r = sim("run", *(single if mode == "single" else sweep), cwd=tmp_path)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], r.stderr
    assert "sweep folder" not in r.stdout and not list(tmp_path.iterdir())


def test_error_lists_the_options(tmp_path):
    r = sim("run", "-m", "+strategy=lions", "hydra/launcher=nope", cwd=tmp_path)
    for name in ("basic", "joblib", "local", "slurm", "submitit_local", "submitit_slurm"):
        assert name in r.stderr
    r = sim("run", "-m", "+experiment=smok", cwd=tmp_path)
    assert all(f"e{i}_" in r.stderr for i in range(1, 6)) and "smoke" in r.stderr


def test_sweep_checks_every_combination_in_process(capsys):
    """The bad value is in the last of 600 runs, a combination of two valid values, or
    only in the experiment's own sweep parameters; every run is found as Hydra makes it."""
    from sim.workflow.compose import check_sweep

    assert check_sweep(["+strategy=lions,everyone", "seed=range(0,300)"]) == 600
    assert check_sweep(["+experiment=smoke"]) == 4  # its hydra.sweeper.params: 2 x 2
    cases = [
        (["+strategy=lions,everyone", "seed=range(0,299)", "n_workers=500,-1"],
         "n_workers=-1: must be >= 2"),
        (["+strategy=mixed,lions", "strategy.shares.lions=0.3,0.6"],
         "strategy.shares: shares sum to 0.3, must sum to 1 (lions=0.3) (in the sweep's "
         "run +strategy=lions strategy.shares.lions=0.3)"),
        (["+experiment=smoke", "weeks=0"], "weeks=0: must be >= 1"),
        (["+strategy=lions", "seed=1,2", "strategy.params.lions.focus_k=3,x"],
         "strategy.params.lions.focus_k='x': must be an integer"),
    ]
    for overrides, message in cases:
        with pytest.raises(ConfigError) as exc:  # the command line prints it as `error: ...`, exit 2
            check_sweep(overrides)
        assert str(exc.value) == message and exc.value.exit_code == 2, overrides


def test_sweep_configs_equal_hydras_composition_of_each_run():
    """The cheap path (one Hydra composition per combination of groups, values set in a
    copy) gives each run exactly the configuration Hydra composes for it."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from sim.workflow.compose import CONFIG_DIR, sweep_configs

    overrides = ["+strategy=mixed,lions", "seed=3,4", "market.vacancy_rate=0.03,0.05",
                 "ties.strength={colleague:0.4,online:0.2}",
                 "~output.ties", "+preset=calvo_jackson"]
    runs = list(sweep_configs(overrides))
    assert len(runs) == 8
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        for run, data, _, swept in runs:
            expected = OmegaConf.to_container(compose("config", overrides=run), resolve=True)
            assert data == expected, run
            assert set(swept) == {"strategy", "seed", "market.vacancy_rate"}


def _summary_lines(stdout: str) -> list[str]:
    """The run's printed lines but the log records ('[time][logger]...'): with fewer
    workers than the default market.market_size, the one-market warning comes first."""
    return [line for line in stdout.strip().splitlines() if not line.startswith("[")]


def test_summary_of_a_tiny_market_has_rows_or_says_why_not(tmp_path):
    # 20 workers x 520 weeks: a few spells (with 2 workers both often stay unemployed from
    # the burn-in on, so that no spell begins in the recorded weeks, as in the second run)
    r = sim("run", "+strategy=lions", "n_workers=20", cwd=tmp_path)
    size = SimConfig().market.market_size
    assert size is None or size <= 20 or "n_workers=20 is below market.market_size" in r.stdout
    lines = _summary_lines(r.stdout)
    assert r.returncode == 0 and lines[1].startswith("strategy") and len(lines) == 4, r.stdout
    assert lines[2].split()[0] == "all" and lines[3].split()[0] == "lions"
    r = sim("run", "+strategy=lions", "n_workers=2", "weeks=5", "burn_in=0", cwd=tmp_path)
    lines = _summary_lines(r.stdout)
    assert r.returncode == 0 and lines[1].startswith("strategy") and len(lines) == 3, r.stdout
    assert lines[2] == ("(no row: no unemployment spell began in the recorded weeks; more "
                        "workers or more weeks give some)")


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)


def test_import_model_loads_only_the_mesa_it_needs_and_the_rest_still_works():
    r = _python("import sys; from sim.core.model import LabourMarket as M; "
                "print('scipy.spatial' in sys.modules, 'networkx' in sys.modules); "
                "import mesa; print(mesa.__version__ == __import__('importlib.metadata')"
                ".metadata.version('mesa')); print(mesa.space.SingleGrid is not None, "
                "M.__name__)")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["False", "False", "True", "True", "LabourMarket"]


def test_import_model_falls_back_to_the_whole_of_mesa():
    """If importing part of Mesa fails (a Mesa whose modules need its __init__), the plain
    import is used, with a warning, and the model works."""
    r = _python("import sys; sys.modules['mesa.agent'] = None; "  # makes `import mesa.agent` fail
                "from sim.core.model import LabourMarket as M; "
                "M({'n_workers': 200, 'weeks': 2, 'burn_in': 1}).run(); print('ok')")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "ok" and "importing all of it" in r.stderr
