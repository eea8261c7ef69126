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
