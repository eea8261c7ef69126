"""The report made: its content (:mod:`analysis.report.content`) rendered
(:mod:`analysis.report.render`) into a staging folder and published
(:mod:`analysis.report.publish`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from analysis import tables
from analysis.data import Data
from analysis.report.content import build_sections, ensure_figures
from analysis.report.publish import ReportError, publish, staging_folder
from analysis.report.render import render_html, render_markdown

FORMATS = ("html", "md")


def write_report(data: Data, out: Path, fmt: str = "html", *, title: str | None = None,
                 figures: Path | None = None, size: str = "one", horizon: float = 52.0,
                 force: bool = False, command: str | None = None,
                 skipped: dict[str, str] | None = None, intro: str | None = None,
                 captions: dict[str, str] | None = None, first: tuple[str, ...] = (),
                 cox_max_spells: int = tables.COX_MAX_SPELLS,
                 defaults: Mapping | None = None) -> Path:
    """Make the report of ``data`` in ``out`` (see the package docstring).

    Args:
        data: loaded outputs.
        out: report folder.
        fmt: ``"html"`` or ``"md"``.
        title: the report's title (default from the folder name).
        figures: the figures folder (default ``<root>/figures``; made if missing or stale).
        size: column width of figures made here.
        horizon: RMST horizon in weeks.
        force: replace files even if edited by hand.
        command: the command line, for provenance.
        skipped: figures skipped, with why (when the caller made the figures).
        intro: a first paragraph (e.g. an experiment's question).
        captions: extra figure captions by file stem.
        first: figure stems shown first.
        cox_max_spells: spells per Cox model.
        defaults: the configuration's defaults (nested, as in a run's ``summary.json``
            ``config``; e.g. ``sim.core.config.to_dict(build_config({}))``): the
            Parameters section marks the fixed settings that differ from them. None:
            the fixed settings are listed unmarked.

    Returns:
        The report file.

    Raises:
        ReportError: ``fmt`` is not a format, or a file to replace was edited or not
            made by the report (nothing is replaced).
    """
    if fmt not in FORMATS:
        raise ReportError(f"fmt={fmt}: not a report format (html or md)")
    out = Path(out)
    fig_dir = Path(figures) if figures else data.root / "figures"
    made_skips: dict[str, str] = {}
    png = ensure_figures(data, fig_dir, size, horizon, made_skips)
    name = f"report.{fmt}"
    with staging_folder(out) as staging:
        sections = build_sections(data, png, staging, horizon=horizon, command=command,
                                  skipped={**made_skips, **(skipped or {})}, intro=intro,
                                  captions=captions, first=first, cox_max_spells=cox_max_spells,
                                  defaults=defaults)
        title = title or f"Report: {data.root.name}"
        text = (render_html(title, sections) if fmt == "html"
                else render_markdown(title, sections, staging))
        (staging / name).write_text(text)
        publish(staging, out, force)
    return out / name
