"""Smoke tests of the named experiments: each runs the real command
(``python -m sim experiment eN --smoke``: sweep, collect, figures, report) with a
tiny population, and checks what it must leave behind. Also the registry against
the sweep files and documents, and E5's claim that its switches isolate the
mechanisms (marked slow: each experiment takes 10-30 s)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis import load
from experiments import EXPERIMENTS, SMOKE, get
from experiments.launch import sweep_args, sweep_folder
from experiments.plots import ASK, PHASE_CSV, e5_series, phase_cells, sign_boundary
from sim.results.folders import sweep_status

ROOT = Path(__file__).resolve().parent.parent
GENERIC = {"km", "hazard", "channels", "market"}
#: figures each experiment must make beyond the generic ones
SPECIFIC = {
    "e1": {"e1_difference_vs_everyone"},
    "e2": {"e2_lions_minus_everyone_vs_share", "rmst_vs_share_lions"},
    "e3": {"e3_main_effects", "rmst_vs_market-vacancy_rate", "rmst_vs_networking-time_budget",
           "rmst_vs_market-market_size", "diff_lions_minus_everyone_rmst"},
    "e4": {"e4_preparedness_gain", "rmst_vs_networking-employed_share"},
    "e5": {"e5_mechanisms"},
    "e7": {"e7_phase", "rmst_vs_market-vacancy_rate", "rmst_vs_funnel-applications",
           "diff_lions_minus_everyone_rmst"},
}


def test_registry_matches_sweep_files_and_documents():
    assert list(EXPERIMENTS) == ["e1", "e2", "e3", "e4", "e5", "e7"]
    index = (ROOT / "experiments" / "README.md").read_text()
    for exp in EXPERIMENTS.values():
        cfg = ROOT / "configs" / "experiment" / f"{exp.config}.yaml"
        text = cfg.read_text()
        assert text.startswith("# @package _global_"), cfg
        params = yaml.safe_load(text)["hydra"]["sweeper"]["params"]
        assert "seed" in params and "+strategy" in params
        doc = ROOT / "experiments" / exp.doc
        assert doc.is_file() and exp.doc in index
        body = doc.read_text()
        for heading in ("## Question", "## Sweep", "## Figures", "## How to read", "## Time"):
            assert heading in body, (exp.doc, heading)
        assert f"python -m sim experiment {exp.key}" in body
        assert get(exp.config) is exp and get(exp.key.upper()) is exp
        # smoke overrides name real swept keys (or seed)
        keys = {o.split("=", 1)[0] for o in exp.smoke}
        assert keys <= set(params) | {"seed"}, (exp.key, keys - set(params))


def test_unknown_experiment_is_one_line_exit_2(tmp_path):
    res = subprocess.run([sys.executable, "-m", "sim", "experiment", "e9"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert res.stderr == "error: unknown experiment 'e9'; experiments: e1, e2, e3, e4, e5, e7\n"


def test_smoke_sweep_has_its_own_resumable_folder():
    exp = get("e2")
    full = sweep_folder(sweep_args(exp, False, "local", []))
    smoke = sweep_folder(sweep_args(exp, True, "basic", []))
    assert full.name.startswith("e2_adoption-") and smoke.name.startswith("e2_adoption-")
    assert full != smoke
    # the launcher does not change the folder: a sweep started locally resumes on Slurm
    assert sweep_folder(sweep_args(exp, False, "slurm", [])) == full
    assert set(SMOKE) <= set(sweep_args(exp, True, "basic", []))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("experiments")


def run_smoke(key: str, cwd: Path) -> Path:
    res = subprocess.run([sys.executable, "-m", "sim", "experiment", key, "--smoke"], cwd=cwd,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    sweep = cwd / sweep_folder(sweep_args(get(key), True, "basic", []))
    assert f"report: {sweep.relative_to(cwd) / 'report' / 'report.html'}" in res.stdout
    return sweep


@pytest.mark.slow
@pytest.mark.parametrize("key", list(EXPERIMENTS))
def test_smoke_experiment(key, workdir):
    sweep = run_smoke(key, workdir)
    runs = sweep_status(sweep)
    assert runs and all(r.status == "complete" for r in runs)
    collected = pd.read_parquet(sweep / "collected" / "runs.parquet")
    assert len(collected) == len(runs) and (collected["status"] == "complete").all()
    assert (sweep / "collected" / "spells.parquet").is_file()
    made = {p.stem for p in (sweep / "figures").glob("*.png")}
    assert GENERIC | SPECIFIC[key] <= made, (GENERIC | SPECIFIC[key]) - made
    report = (sweep / "report" / "report.html").read_text()
    assert get(key).question in report
    for stem in SPECIFIC[key]:
        assert f'alt="{stem}"' in report
    assert (sweep / "report" / "tables" / "headline.tex").is_file()


@pytest.mark.slow
def test_report_command_adds_the_experiments_texts(workdir, tmp_path):
    """`python -m sim report` on an experiment's sweep: its title, question and own
    figures' captions come from experiments/ (analysis does not import it)."""
    exp = get("e1")
    sweep = workdir / sweep_folder(sweep_args(exp, True, "basic", []))
    if not (sweep / "collected").is_dir():
        run_smoke("e1", workdir)
    res = subprocess.run([sys.executable, "-m", "sim", "report", sweep, "--format", "md",
                          "--out", tmp_path / "rep"], cwd=workdir, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    md = (tmp_path / "rep" / "report.md").read_text()
    assert md.startswith(f"# {exp.title}\n") and exp.intro() in md
    for stem, text in exp.captions.items():
        assert f"*{stem}*: {text}" in md
    # its own figure first
    figures = re.findall(r"^!\[([^\]]+)\]", md, flags=re.M)
    assert figures[0] == next(iter(exp.captions))


@pytest.mark.slow
def test_e5_information_off_cells_are_one_model(workdir):
    """With leads.hear_prob=0 no lead or referral exists, so the endorsement switches
    cannot matter: the four cells must give identical spells (common random numbers)."""
    sweep = workdir / sweep_folder(sweep_args(get("e5"), True, "basic", []))
    if not (sweep / "collected").is_dir():
        run_smoke("e5", workdir)
    data = load(sweep)
    s = data.all_spells
    off = s[s["leads.hear_prob"] == 0]
    # no contact channel: formal hires, and recalls (not information) where recall is on
    assert "formal" in set(off["channel"].dropna()) <= {"formal", "recall"}
    cols = ["worker_id", "start_week", "end_week", "duration_weeks", "censored"]
    variants = [g.sort_values(cols)[cols].reset_index(drop=True)
                for _, g in off.groupby(["strategy", "hiring.referral_bonus",
                                         "hiring.referral_noise", ASK], observed=True)]
    assert len(variants) == 16  # 2 strategies x 4 endorsement cells x asking on/off
    for v in variants[1:]:  # nor can the strategy: the network has no way to matter
        pd.testing.assert_frame_equal(v, variants[0])
    # and with information on, the network does carry hires
    on = s[(s["leads.hear_prob"] > 0) & ~s["censored"]]
    assert on["channel"].isin(["lead", "referral"]).any()


@pytest.mark.slow
def test_e5_asking_is_a_lions_switch(workdir):
    """E5's asking factor (``strategy.params.lions.ask``) is a swept parameter of every
    run; lions run without asking where it is false, and everyone, which has no lions,
    gives identical spells in its two asking cells under every mechanism."""
    sweep = workdir / sweep_folder(sweep_args(get("e5"), True, "basic", []))
    if not (sweep / "collected").is_dir():
        run_smoke("e5", workdir)
    data = load(sweep)
    assert ASK in data.params
    for folder in data.run_folders.values():
        summary = json.loads((folder / "summary.json").read_text())
        ask = summary["config"]["strategy"]["params"]["lions"]["ask"]
        assert f"++{ASK}={ask}," in folder.name
    s = data.all_spells
    cols = ["worker_id", "start_week", "end_week", "duration_weeks", "censored", "channel"]
    cells = ["leads.hear_prob", "hiring.referral_bonus", "hiring.referral_noise"]
    everyone = s[s["strategy"] == "everyone"]
    n = 0
    for _, g in everyone.groupby(cells, observed=True):
        on, off = (g[g[ASK] == a].sort_values(cols)[cols].reset_index(drop=True)
                   for a in (True, False))
        assert len(on) > 0
        pd.testing.assert_frame_equal(on, off)
        n += 1
    assert n == 8


def test_e5_series_split_lions_by_asking():
    """The E5 figure's bar groups: everyone pooled over its asking cells, lions split."""
    est = pd.DataFrame({"strategy": ["lions", "everyone", "lions", "everyone"],
                        ASK: [True, True, False, False], "rmst": [1.0, 2.0, 3.0, 2.0]})
    series = e5_series(est)
    assert [(label, s, len(g)) for label, s, g in series] == [
        ("everyone", "everyone", 2), ("lions", "lions", 1), ("lions, no asking", "lions", 1)]
    assert series[2][2]["rmst"].tolist() == [3.0]
    only = e5_series(est[est[ASK]])  # a sweep without the switch: lions are asking lions
    assert [label for label, _, _ in only] == ["everyone", "lions"]


def test_e1_difference_bars_stay_in_range_and_say_few_seeds(tmp_path, monkeypatch):
    """Issue 14: with 2 seeds the share difference's t interval ran to -130..+105 points.
    The bars must stay in [-100, 100] points (and [-tau, tau] weeks), and the figure
    must say that its intervals rest on few runs."""
    from matplotlib.collections import LineCollection

    import experiments.plots as ef
    from tests.test_bands import make_data

    # per-run durations: the share within 4 weeks is 1 or 0 and the paired differences
    # are +1 and -1: a plain t interval with 1 degree of freedom runs to +-12.7
    durs = {("everyone", 0): 10, ("lions", 0): 2, ("everyone", 1): 2, ("lions", 1): 10}
    data = make_data(durs, [])
    figs = []
    real_save = ef.save
    monkeypatch.setattr(ef, "save", lambda fig, out, name: figs.append(fig) or real_save(fig, out, name))
    paths = ef.e1_figures(data, tmp_path)
    assert {p.suffix for p in paths} == {".pdf", ".png"}
    (fig,) = figs
    for ax, top in zip(fig.axes[:2], (52.0, 100.0), strict=True):
        xs = [np.asarray(s)[:, 0] for c in ax.collections if isinstance(c, LineCollection)
              for s in c.get_segments()]
        assert xs, "no error bar drawn"
        xs = np.concatenate(xs)
        assert xs.min() == -top and xs.max() == top  # the t interval, cut to the range
    assert "rest on few runs" in fig._suptitle.get_text().replace("\n", " ")


@pytest.mark.slow
def test_e7_phase_cells_measure_the_design(workdir):
    """E7's smoke sweep: every run had the funnel on (the sweep file sets it) and was a
    mixed market; the measured coordinates follow the design (more vacancies: more
    vacancies per searcher; more applications per searcher: more per vacancy, at each
    vacancy rate); the figure's cells table holds lions - everyone as
    analysis.survival.strategy_difference gives it, one row per design cell."""
    from analysis import survival

    sweep = workdir / sweep_folder(sweep_args(get("e7"), True, "basic", []))
    if not (sweep / "collected").is_dir():
        run_smoke("e7", workdir)
    data = load(sweep)
    for folder in data.run_folders.values():
        cfg = json.loads((folder / "summary.json").read_text())["config"]
        assert cfg["funnel"]["enabled"] is True and cfg["strategy"]["name"] == "mixed"
    cells = pd.read_csv(sweep / "figures" / PHASE_CSV)
    v, a = "market.vacancy_rate", "funnel.applications"
    assert len(cells) == 4 and (cells["n_runs"] == 2).all()
    wide = cells.pivot(index=a, columns=v, values="tightness")
    assert (wide[0.06] > wide[0.02]).all(), wide
    wide = cells.pivot(index=v, columns=a, values="competition")
    assert (wide[4.0] > wide[0.5]).all(), wide
    pd.testing.assert_frame_equal(cells, phase_cells(data), check_dtype=False)
    d = survival.strategy_difference(data, "lions", "everyone", "rmst", by=[v, a])
    merged = cells.merge(d, on=[v, a])
    np.testing.assert_allclose(merged["rmst_diff"], merged["diff"])
    assert (merged["rmst_n_seeds"] == 2).all()


def test_e7_sign_boundary_interpolates_in_log_coordinates():
    """The surface under the sign boundary is the linear interpolation of the cells in
    log10 coordinates: a difference linear in log10(x) - log10(y) is reproduced exactly,
    so its 0 contour is the diagonal x = y; collinear or too few cells give no surface."""
    x = np.array([0.1, 1.0, 0.1, 1.0, 0.3])
    y = np.array([1.0, 1.0, 10.0, 10.0, 3.0])
    z = 2.0 * (np.log10(x) + 1.0) - (np.log10(y) + 0.0)
    gx, gy, gz = sign_boundary(x, y, z, n=41)
    np.testing.assert_allclose(gz, 2.0 * (np.log10(gx) + 1.0) - np.log10(gy), atol=1e-9)
    assert not np.ma.getmaskarray(gz).any()  # the grid spans the cells' hull, a rectangle here
    assert sign_boundary(x[:2], y[:2], z[:2]) is None
    assert sign_boundary([0.1, 0.2, 0.4], [1.0, 2.0, 4.0], [1.0, 0.0, -1.0]) is None
    assert sign_boundary([0.1, 0.2, np.nan, 0.3], [1.0, 2.0, 4.0, 1.0], [1.0, 0.0, -1.0, 2.0]) is not None
