"""The repository's Markdown: every relative link resolves (file and #anchor), and no
document or source file points outside the repository (the research brief is
docs/RESEARCH.md, not a sibling folder)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", ".venv", "outputs", "node_modules", "sim.egg-info", ".pytest_cache",
             "__pycache__", ".ruff_cache"}
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # https:, mailto: ...


def repo_files(*suffixes: str) -> list[Path]:
    return sorted(p for p in ROOT.rglob("*") if p.is_file() and p.suffix in suffixes
                  and not SKIP_DIRS & set(p.relative_to(ROOT).parts))


MARKDOWN = repo_files(".md")


def prose(text: str) -> str:
    """The text without fenced code blocks and inline code (links there are examples)."""
    text = re.sub(r"(?ms)^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", "", text)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: markup and punctuation dropped, lower case, spaces
    to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors a Markdown file defines: its headings (repeated ones get -1, -2, ...)
    and explicit ``<a id=...>`` / ``<a name=...>``."""
    text = path.read_text(encoding="utf-8")
    text_no_code = re.sub(r"(?ms)^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", "", text)
    seen: dict[str, int] = {}
    out = set(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", text))
    for m in re.finditer(r"(?m)^ {0,3}#{1,6}\s+(.+?)\s*#*\s*$", text_no_code):
        s = slug(m.group(1))
        n = seen.get(s, 0)
        out.add(s if n == 0 else f"{s}-{n}")
        seen[s] = n + 1
    return out


def test_slug_follows_github():
    assert slug("5. Stylized facts") == "5-stylized-facts"
    assert slug("5b. The hiring funnel") == "5b-the-hiring-funnel"
    assert slug("Sweeps (Hydra multirun), on a laptop or a Slurm cluster") == \
        "sweeps-hydra-multirun-on-a-laptop-or-a-slurm-cluster"
    assert slug("Outputs (a contract)") == "outputs-a-contract"
    assert slug("`make test-all`: the whole suite") == "make-test-all-the-whole-suite"


def test_there_is_markdown_to_check():
    names = {p.relative_to(ROOT).as_posix() for p in MARKDOWN}
    assert {"README.md", "docs/ODD.md", "docs/RESEARCH.md", "experiments/README.md"} <= names


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(path):
    broken = []
    for target in LINK.findall(prose(path.read_text(encoding="utf-8"))):
        if EXTERNAL.match(target):
            continue
        file_part, _, anchor = unquote(target).partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if ROOT not in dest.parents and dest != ROOT:
            broken.append(f"{target}: outside the repository")
        elif not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading with anchor #{anchor} in {dest.name}")
    assert not broken, f"{path.relative_to(ROOT)}: " + "; ".join(broken)


def test_nothing_points_outside_the_repository():
    """No document, config or source file names the sibling folder the brief used to
    live in, or an absolute path of the machine the project was written on."""
    offenders = []
    for p in repo_files(".md", ".py", ".yaml", ".yml", ".toml", ".sh", ".cfg", ".txt"):
        if p == Path(__file__).resolve():
            continue
        text = p.read_text(encoding="utf-8", errors="replace")
        for needle in ("../shared", "shared/RESEARCH", "shared/notes", "/work/shared"):
            if needle in text:
                offenders.append(f"{p.relative_to(ROOT)}: {needle}")
    assert not offenders, offenders


def sim(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "HYDRA_FULL_ERROR": "0"})


RUN_FOLDER = re.compile(r"run folder: \S*outputs/runs/\d{4}-\d\d-\d\d/\d\d-\d\d-\d\d-\d{6}_(\w+)_seed(\d+)")


@pytest.mark.slow
def test_readme_example_output_is_what_the_documented_command_prints(tmp_path):
    """The README's example summary is the output of the command it names (at the
    defaults: 10,000 workers, 520 weeks, seed 0), line for line but the run folder's
    date and time."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"output of `python -m sim (run [^`]+)`.*?\n```\n(run folder: [^\n]*)\n(.*?)\n```",
                  readme, re.S)
    assert m, "README: no example output after 'output of `python -m sim run ...`'"
    args, folder_line, table = m.group(1).split(), m.group(2), m.group(3)
    r = sim(args, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout.strip().splitlines()
    assert RUN_FOLDER.fullmatch(folder_line) and RUN_FOLDER.fullmatch(out[0]), (folder_line, out[0])
    assert RUN_FOLDER.fullmatch(folder_line).groups() == RUN_FOLDER.fullmatch(out[0]).groups()
    assert "\n".join(out[1:]) == table, "README's example output is out of date; it now is:\n" + \
        "\n".join(out)


def test_readme_example_error_is_what_the_command_prints(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (message,) = re.findall(r"`(error: market\.vacancy_rate=[^`]*)`", readme)
    override = message.split()[1].rstrip(":")
    r = sim(["run", "+strategy=lions", override], tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == message and not list(tmp_path.iterdir())


def test_readme_floor_rows_come_from_the_speed_floor_results():
    """The rows of the README's floor table are the figures in
    benchmarks/results/speed_floor_<strategy>.json (benchmarks/speed_floor.py --out)."""
    readme = (ROOT / "README.md").read_text()
    for strategy in ("mixed", "everyone", "lions"):
        r = json.loads((ROOT / "benchmarks" / "results" / f"speed_floor_{strategy}.json")
                       .read_text())
        assert r["commit"][:7] in readme and r["workers"] == 100_000
        row = next(line for line in readme.splitlines() if line.startswith(f"| {strategy} |"))
        model_s = r["model_ms_per_week"] * r["run_weeks"] / 1000
        assert row == (f"| {strategy} | {model_s:.1f} s ({r['model_ms_per_week']:.1f} ms a week) "
                       f"| {r['floor_run_s']:.1f} s ({r['floor_ms_per_week']:.1f}) "
                       f"| {r['bound_run_s']:.1f} s ({r['bound_ms_per_week']:.1f}) "
                       f"| {r['target_s']:g} s |")


def test_readme_performance_rows_come_from_the_benchmark_results_file():
    """The 100,000-worker rows of the README's performance table are the figures in
    benchmarks/results/model_speed_full.json (written by benchmarks/model_speed.py --out)."""
    results = json.loads((ROOT / "benchmarks" / "results" / "model_speed_full.json").read_text())
    readme = (ROOT / "README.md").read_text()
    assert results["commit"][:7] in readme
    for r in results["results"]:
        total = r["load_s"] + r["setup_s"] + r["run_s"]
        row = next(line for line in readme.splitlines()
                   if line.startswith(f"| {r['n_workers']:,} workers, {r['strategy']}"))
        assert f"**{total:.1f} s**" in row and f"| {r['ms_per_week']:.1f} |" in row, row
