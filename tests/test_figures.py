"""Tests of the paper figures: the style, every figure made from a real small sweep
run through the command line (marked slow), and the figures a single run supports."""

from __future__ import annotations

import logging
import re
import subprocess
import sys

import pytest
from matplotlib.image import imread

from analysis import load
from analysis.figures import make_figures
from analysis.style import OKABE_ITO, WIDTHS, figure, save, strategy_color, style
from sim.core.config import build_config
from sim.workflow.run import run_simulation

SWEEP = ["+strategy=mixed", "strategy.shares.lions=0.25,0.75", "market.vacancy_rate=0.02,0.04",
         "seed=0,1", "n_workers=600", "market.market_size=null", "weeks=30", "burn_in=10",
         "output.progress=off", "output.ties=true"]
EXPECTED = {"km", "hazard", "rmst_vs_market-vacancy_rate", "diff_lions_minus_everyone_rmst",
            "rmst_vs_share_lions", "channels", "market"}


def pdf_width_pt(path) -> float:
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)", path.read_bytes())
    return float(box.group(1))


def assert_good_files(paths, width_in):
    pdfs = [p for p in paths if p.suffix == ".pdf"]
    pngs = [p for p in paths if p.suffix == ".png"]
    assert len(pdfs) == len(pngs) > 0
    for pdf in pdfs:
        raw = pdf.read_bytes()
        assert raw.startswith(b"%PDF")
        assert b"FontFile2" in raw, f"{pdf.name}: TrueType font not embedded"
        assert b"/Type3" not in raw, f"{pdf.name}: Type 3 fonts"
        assert pdf_width_pt(pdf) == pytest.approx(width_in * 72, abs=0.5)
    for png in pngs:
        img = imread(png)
        assert img.ndim == 3 and img[..., :3].std() > 0.02, f"{png.name} is blank"


# ---------------------------------------------------------------------------- style (fast)


@pytest.mark.parametrize("size", ["one", "two"])
def test_style_saves_embedded_fonts_at_column_width(tmp_path, size):
    with style():
        fig, (ax,) = figure(size)
        ax.plot([0, 1, 2], [1.0, 0.5, 0.2], color=strategy_color("lions"), label="lions")
        ax.set_xlabel("weeks")
    paths = save(fig, tmp_path, "demo")
    assert [p.name for p in paths] == ["demo.pdf", "demo.png"]
    assert_good_files(paths, WIDTHS[size])


def test_palette_is_okabe_ito_and_stable():
    assert strategy_color("lions") == OKABE_ITO["blue"]
    assert strategy_color("everyone") == OKABE_ITO["orange"]
    new = strategy_color("some_new_strategy")
    assert new in OKABE_ITO.values() and strategy_color("some_new_strategy") == new


# ---------------------------------------------------------------------------- real sweep (slow)


@pytest.fixture(scope="module")
def cli_sweep(tmp_path_factory):
    """2 shares of lions x 2 vacancy rates x 2 seeds of a mixed lions/everyone
    population, run and collected with the command line."""
    root = tmp_path_factory.mktemp("cli")
    sweep = root / "sweep"
    run = subprocess.run([sys.executable, "-m", "sim", "run", "-m", *SWEEP,
                          f"hydra.sweep.dir={sweep}"], cwd=root, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    col = subprocess.run([sys.executable, "-m", "sim", "collect", str(sweep)], cwd=root,
                         capture_output=True, text=True, timeout=120)
    assert col.returncode == 0, col.stderr[-2000:]
    return sweep


@pytest.mark.slow
def test_every_figure_from_a_real_sweep(cli_sweep, tmp_path):
    data = load(cli_sweep)
    assert data.params == ["strategy.shares.lions", "market.vacancy_rate"]
    skipped: dict[str, str] = {}
    paths = make_figures(data, tmp_path, size="one", skipped=skipped)
    made = {p.stem for p in paths}
    assert EXPECTED <= made, (made, skipped)
    # the median needs every run's KM curve to reach 0.5; if not, a reason is given
    assert "median_vs_market-vacancy_rate" in made or "median" in "".join(skipped)
    # the share of lions is swept: its outcome figure is the one against the share, and the
    # outcome-against-parameter figures for it are listed as skipped, saying where to look
    share = {"rmst_vs_strategy-shares-lions", "median_vs_strategy-shares-lions"}
    assert share <= set(skipped) <= {"median_vs_market-vacancy_rate"} | share
    assert all("rmst_vs_share_lions" in skipped[k] for k in share)
    assert_good_files(paths, WIDTHS["one"])


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    """One run of a mixed population (30% lions), made in-process."""
    cfg = build_config({"n_workers": 600, "market": {"market_size": None}, "weeks": 30,
                        "burn_in": 10, "seed": 3,
                        "strategy": {"name": "mixed", "shares": {"lions": 0.3, "everyone": 0.7}},
                        "output": {"progress": "off"}})
    folder = tmp_path_factory.mktemp("run") / "mixed_seed3"
    run_simulation(cfg, folder)
    return folder


def test_two_column_figures_and_skips_for_a_single_run(one_run, tmp_path, caplog):
    data = load(one_run)
    assert data.kind == "run" and data.strategies == ["everyone", "lions"]
    skipped: dict[str, str] = {}
    with caplog.at_level(logging.INFO, logger="analysis.figures"):
        paths = make_figures(data, tmp_path, size="two", skipped=skipped)
    made = {p.stem for p in paths}
    assert {"km", "hazard", "channels", "market"} <= made
    # one run: nothing swept, a single share of lions -> no outcome against a parameter,
    # no heatmap, no share curve, each with its true reason
    assert set(skipped) == {"rmst_vs_parameter", "median_vs_parameter",
                            "diff_lions_minus_everyone_rmst", "rmst_vs_share_lions"}
    assert "no parameter is swept" in skipped["rmst_vs_parameter"]
    assert "two swept parameters" in skipped["diff_lions_minus_everyone_rmst"]
    assert "single share of lions (0.3)" in skipped["rmst_vs_share_lions"]
    assert "skipped" in caplog.text
    assert_good_files(paths, WIDTHS["two"])
