"""Tests of ``python -m sim report``: a report from a real tiny sweep run through the
command line (files, self-contained HTML, LaTeX tables, parameters, provenance),
Markdown, one-line errors for bad paths, and the rule that a report never
silently replaces a file it did not write or that was edited since."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import load
from analysis.report import ReportError, publish, write_report
from sim.errors import SimError

SWEEP = ["+strategy=everyone,lions", "seed=0,1", "n_workers=300", "weeks=26", "burn_in=10",
         "output.progress=off", "market.vacancy_rate=0.03"]
TABLES = ("headline", "difference", "logrank", "channels", "cox")


def sim(*args, cwd, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """2 strategies x 2 seeds of a tiny market, run with the command line."""
    root = tmp_path_factory.mktemp("report")
    folder = root / "sweep"
    res = sim("run", "-m", *SWEEP, f"hydra.sweep.dir={folder}", cwd=root)
    assert res.returncode == 0, res.stderr[-2000:]
    return folder


@pytest.fixture(scope="module")
def html_report(sweep) -> Path:
    res = sim("report", sweep, cwd=sweep.parent)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == f"report: {sweep / 'report' / 'report.html'}"
    return sweep / "report"


@pytest.mark.slow
def test_report_files_exist(html_report, sweep):
    assert (html_report / "report.html").is_file()
    for name in TABLES:
        assert (html_report / "tables" / f"{name}.csv").is_file(), name
        assert (html_report / "tables" / f"{name}.tex").is_file(), name
    # figures were made (none existed) in the sweep's figures/ and copied beside the report
    assert (sweep / "figures" / "km.png").is_file()
    assert {"km.png", "km.pdf", "hazard.png", "channels.png", "market.png"} <= {
        p.name for p in (html_report / "figures").iterdir()}
    manifest = json.loads((html_report / ".report-files.json").read_text())
    assert "report.html" in manifest and "tables/headline.tex" in manifest
    assert not list(html_report.glob(".staging-*")), "staging folder left behind"


@pytest.mark.slow
def test_html_is_self_contained(html_report):
    text = (html_report / "report.html").read_text()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    srcs = re.findall(r'\bsrc="([^"]*)"', text)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r"<link\b|<script\b|url\(|href=\"http", text)
    n_png = len(list((html_report / "figures").glob("*.png")))
    assert len(srcs) == n_png


@pytest.mark.slow
def test_latex_tables_are_booktabs(html_report):
    for name in TABLES:
        tex = (html_report / "tables" / f"{name}.tex").read_text()
        assert tex.count(r"\begin{tabular}") == 1 and tex.count(r"\end{tabular}") == 1, name
        assert tex.index(r"\toprule") < tex.index(r"\midrule") < tex.index(r"\bottomrule"), name
        assert r"\begin{table}" in tex and rf"\label{{tab:{name}}}" in tex
        body = tex.split(r"\midrule", 1)[1].split(r"\bottomrule", 1)[0]
        ncols = len(tex.split(r"\begin{tabular}{", 1)[1].split("}", 1)[0])
        for row in filter(None, (r.strip() for r in body.split(r"\\"))):
            assert row.count("&") == ncols - 1, (name, row)  # every row has every column
        # special characters escaped: no bare underscore outside commands
        assert not re.search(r"(?<!\\)_", body), (name, body)
    head = (html_report / "tables" / "headline.csv").read_text().splitlines()
    assert head[0].startswith("strategy,runs,spells,events,median,median_lower")
    assert len(head) == 3  # everyone and lions


@pytest.mark.slow
def test_report_states_parameters_and_provenance(html_report, sweep):
    text = (html_report / "report.html").read_text()
    # what varied and the fixed settings changed from the defaults
    assert "+strategy" in text and "everyone, lions" in text
    assert "market.vacancy_rate" in text and "0.03" in text and "n_workers" in text
    # provenance: versions, git commit, the run command, dates, the report command
    for item in ("git commit", "numpy version", "lifelines (report)", "run command",
                 "runs started (UTC)", "report command", "python -m sim run -m"):
        assert item in text, item
    assert "The sweep is complete (4 runs)." in text
    # the command passes the configuration's defaults: changes from them are marked
    assert "Fixed settings that differ from the defaults of configs/config.yaml" in text
    assert "The whole fixed configuration" in text


@pytest.mark.slow
def test_markdown_links_relative_figures(sweep, tmp_path):
    out = tmp_path / "md"
    res = sim("report", sweep, "--format", "md", "--out", out, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    md = (out / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert links and all(not Path(p).is_absolute() and (out / p).is_file() for p in links)
    assert "| strategy | runs | spells |" in md


@pytest.mark.slow
def test_rerun_replaces_own_files_but_never_edited_ones(sweep, tmp_path):
    data = load(sweep)
    out = tmp_path / "rep"
    write_report(data, out)
    first = (out / "report.html").read_text()
    # no defaults given (analysis does not read the model's configuration): nothing marked
    assert "the defaults were not given to the report" in first
    assert "differ from the defaults" not in first
    write_report(data, out)  # the report's own, unedited files: replaced without fuss
    assert (out / "report.html").is_file()
    (out / "tables" / "cox.tex").write_text("% my edits\n")
    with pytest.raises(ReportError, match=r"cox\.tex: edited since the report wrote it"):
        write_report(data, out)
    assert (out / "tables" / "cox.tex").read_text() == "% my edits\n"
    assert (out / "report.html").read_text().count("<h2>") == first.count("<h2>")
    res = sim("report", sweep, "--out", out, cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("error: ")
    assert "--force" in res.stderr
    write_report(data, out, force=True)
    assert (out / "tables" / "cox.tex").read_text().startswith(r"\begin{table}")


def test_report_errors_are_one_line_sim_errors(tmp_path):
    with pytest.raises(ReportError, match=r"^fmt=pdf: not a report format") as err:
        write_report(None, tmp_path / "out", "pdf")
    assert isinstance(err.value, SimError) and err.value.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_publish_refuses_a_file_it_did_not_write(tmp_path):
    staging, out = tmp_path / "staging", tmp_path / "out"
    staging.mkdir()
    out.mkdir()
    (staging / "report.html").write_text("new")
    (out / "report.html").write_text("the user's own page")
    with pytest.raises(ReportError, match="not written by the report"):
        publish(staging, out)
    assert (out / "report.html").read_text() == "the user's own page"
    assert (staging / "report.html").is_file()  # nothing moved


def test_publish_removes_only_unedited_stale_files(tmp_path):
    out = tmp_path / "out"
    for content in (("a.txt", "b.txt"), ("a.txt",)):
        staging = tmp_path / f"s{len(content)}"
        staging.mkdir()
        for name in content:
            (staging / name).write_text(name)
        publish(staging, out)
    assert (out / "a.txt").is_file() and not (out / "b.txt").exists()


@pytest.mark.parametrize("setup, reason", [
    (lambda p: p / "missing", "no such file or folder"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "not a sweep, collected or run folder"),
    (lambda p: (p / "file.txt").write_text("x") and p / "file.txt",
     "not a sweep, collected or run folder"),
])
def test_bad_path_is_one_line_exit_2(tmp_path, setup, reason):
    path = setup(tmp_path)
    res = sim("report", path, cwd=tmp_path, timeout=120)
    assert res.returncode == 2
    assert res.stderr == f"error: {path}: {reason}\n"
    assert not (Path(path) / "report").exists()


# ---------------------------------------------------------------------------- inference (issues 14, 18)

#: The quantity's range of each interval column of the report's CSV tables.
RANGES = {"median": (0, None), "rmst": (0, None), "within": (0, 1), "formal": (0, 1),
          "lead": (0, 1), "referral": (0, 1), "weak_ties": (0, 1), "hr": (0, None)}


def _check_report(report: Path, n_seeds: int) -> None:
    """What a report of a 2-strategy sweep with ``n_seeds`` seeds must show."""
    import numpy as np
    import pandas as pd

    md = (report / "report.md").read_text()
    tab = {p.stem: pd.read_csv(p) for p in (report / "tables").glob("*.csv")}
    assert {"headline", "difference", "direction", "logrank", "cox", "ph_test", "piecewise",
            "cox_adjusted", "channels"} <= set(tab)
    # every table states its estimand
    for name in tab:
        assert re.search(rf"\*\*{name}\*\*: Estimand: ", md), name
    # no interval outside its quantity's range, none of zero width
    for name, t in tab.items():
        for col, (lo, hi) in RANGES.items():
            if f"{col}_lower" not in t:
                continue
            low, up, est = t[f"{col}_lower"], t[f"{col}_upper"], t[col]
            ok = low.notna()
            assert (low[ok] < up[ok]).all(), (name, col)  # no zero-width interval shown
            assert (low[ok] <= est[ok]).all() and (est[ok] <= up[ok]).all(), (name, col)
            assert (low[ok] >= lo).all(), (name, col)
            if col == "rmst":
                assert (up[ok] <= t["horizon"][ok]).all(), name
            elif hi is not None:
                assert (up[ok] <= hi).all(), (name, col)
    horizon = tab["headline"]["horizon"].iloc[0]
    d = tab["difference"]
    for metric, bound in (("rmst", horizon), ("share_within", 1.0)):
        r = d[d["metric"] == metric]
        assert (r["lower"] >= -bound).all() and (r["upper"] <= bound).all()
        assert r["paired"].all() and (r["n_seeds"] == n_seeds).all()
    # adjusted p-values in every table with tests
    for name in ("difference", "logrank", "cox", "ph_test", "piecewise", "cox_adjusted"):
        assert "p_holm" in tab[name], name
        assert (tab[name]["p_holm"].dropna() >= tab[name].filter(regex="^p(_value)?$").iloc[
            :, 0].dropna() - 1e-12).all(), name
    # log-rank stratified by seed
    assert (tab["logrank"]["strata"] == "seed").all()
    assert (tab["logrank"]["n_strata"] == n_seeds).all()
    # the default Cox is the total effect (no degree) and agrees with the RMST difference
    assert "log2_degree_at_start" not in set(tab["cox"]["covariate"])
    assert "log2_degree_at_start" in set(tab["cox_adjusted"]["covariate"])
    hr = tab["cox"].loc[tab["cox"]["covariate"] == "strategy[lions]", "hr"].iloc[0]
    rmst = d.loc[d["metric"] == "rmst", "diff"].iloc[0]
    # slower (RMST up) <=> hazard ratio < 1 when the hazards are proportional; when the two
    # summaries disagree in direction (crossing hazards, small effects) the report says so
    if np.sign(np.log(hr)) == -np.sign(rmst):
        assert "Direction check" in md or "disagree in direction" in md
    else:
        assert "disagree in direction" in md, (hr, rmst)
    # the PH check and its consequence are stated
    assert "Proportional hazards" in md
    # few replicates said in the report and in the tables
    few = n_seeds < 5
    assert ("Few replicates" in md) == few
    assert tab["headline"]["note"].fillna("").str.contains("few runs").all() == few
    # one definition of "varied": never "nothing" when parameters varied
    assert "varied across runs: +strategy, seed" in md


@pytest.fixture(scope="module")
def sweep5(tmp_path_factory) -> Path:
    """2 strategies x 5 seeds of a tiny market, run with the command line."""
    root = tmp_path_factory.mktemp("report5")
    folder = root / "sweep"
    args = [a if not a.startswith("seed=") else "seed=range(0,5)" for a in SWEEP]
    res = sim("run", "-m", *args, f"hydra.sweep.dir={folder}", cwd=root)
    assert res.returncode == 0, res.stderr[-2000:]
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("which, n_seeds", [("sweep", 2), ("sweep5", 5)])
def test_report_inference_on_real_sweeps(request, tmp_path, which, n_seeds):
    folder = request.getfixturevalue(which)
    out = tmp_path / "md"
    res = sim("report", folder, "--format", "md", "--out", out, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    _check_report(out, n_seeds)


@pytest.mark.slow
def test_report_of_one_run_shows_no_interval(sweep, tmp_path):
    import pandas as pd

    run = next(p for p in sorted(sweep.iterdir()) if (p / "summary.json").is_file())
    out = tmp_path / "one"
    res = sim("report", run, "--format", "md", "--out", out, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    md = (out / "report.md").read_text()
    head = pd.read_csv(out / "tables" / "headline.csv")
    assert head[["rmst_lower", "within_lower", "median_lower"]].isna().all().all()
    assert head["note"].str.startswith("no replicates").all()
    assert "No replicates" in md
    # pooled-spell intervals only in the table labelled within-run
    within = pd.read_csv(out / "tables" / "within_run.csv")
    assert within["rmst_lower"].notna().all()
    assert (within["interval"] == "within-run (spells as independent)").all()
    assert "**within_run**: Estimand: " in md and "WITHIN-RUN intervals" in md


def _sweep_like(root: Path) -> None:
    """A run folder as Hydra leaves it before the run completes (no summary.json)."""
    (root / "a" / ".hydra").mkdir(parents=True)


@pytest.mark.parametrize("make, reason", [
    (lambda p: (_sweep_like(p / "s"), p / "s")[1], "no complete run to analyse"),
    (lambda p: (_sweep_like(p), p / "a")[1], "an incomplete run (no summary.json)"),
])
def test_report_on_a_folder_without_runs_writes_nothing(tmp_path, make, reason):
    path = make(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    res = sim("report", path, cwd=tmp_path, timeout=120)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and res.stderr.startswith(f"error: {path}: ")
    assert reason in res.stderr
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.slow
def test_report_refuses_a_corrupt_run(sweep, tmp_path):
    import shutil

    src = next(p for p in sorted(sweep.iterdir()) if (p / "summary.json").is_file())
    run = tmp_path / src.name
    shutil.copytree(src, run)
    spells = run / "spells.parquet"
    spells.write_bytes(spells.read_bytes()[:-100])  # truncated under a summary that vouches for it
    res = sim("report", run, "--out", tmp_path / "out", cwd=tmp_path, timeout=120)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "a corrupt run" in res.stderr
    assert not (tmp_path / "out").exists()
