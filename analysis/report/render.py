"""How the report looks: its sections (:mod:`analysis.report.content`) as one
self-contained HTML file (inline CSS, figures embedded as base64 PNG, no external
resource) or as Markdown (figures linked as files beside it, GitHub pipe tables).
The tables' LaTeX is written with their CSV by :func:`analysis.tables.write_table`.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from analysis.report.content import Section

CSS = """body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.4}table{border-collapse:collapse;margin:.5em 0 1.5em;
font-size:.85em}th,td{border-bottom:1px solid #ccc;padding:.2em .6em;text-align:left;
vertical-align:top}th{border-bottom:2px solid #444}caption{caption-side:top;text-align:left;
font-size:.95em;padding:.3em 0;color:#444}figure{margin:1em 0 2em}figcaption{font-size:.9em;
color:#444;max-width:760px}pre{background:#f5f5f5;padding:.6em;overflow-x:auto;font-size:.85em}
td{white-space:pre-wrap}.warn{background:#fff3cd;border-left:4px solid #d39e00;padding:.4em .6em}"""


def _png_width(path: Path) -> int:
    head = path.read_bytes()[16:20]
    return int.from_bytes(head, "big") if len(head) == 4 else 1000


def render_html(title: str, sections: list[Section]) -> str:
    """A single HTML file: inline CSS, figures as base64 PNG, no external resource.

    Args:
        title: the report's title.
        sections: its sections.

    Returns:
        The HTML text.
    """
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
           f"<h1>{html.escape(title)}</h1>"]
    for sec in sections:
        out.append(f"<h2>{html.escape(sec.title)}</h2>")
        for block in sec.blocks:
            out.append(_html_block(block))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_block(block) -> str:
    kind = block[0]
    if kind == "p":
        return f"<p>{html.escape(block[1])}</p>"
    if kind == "warn":
        return f'<p class="warn"><strong>Warning:</strong> {html.escape(block[1])}</p>'
    if kind == "pre":
        return f"<pre>{html.escape(block[1])}</pre>"
    if kind == "figure":
        path, cap = block[1], block[2]
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        width = round(_png_width(path) / 300 * 110)  # 300 dpi files shown at ~110 px/in
        return (f'<figure><img alt="{html.escape(path.stem)}" style="max-width:100%;width:{width}px" '
                f'src="data:image/png;base64,{data}"><figcaption><b>{html.escape(path.stem)}</b>: '
                f"{html.escape(cap)}</figcaption></figure>")
    if kind == "table":
        name, df, cap = block[1], block[2], block[3]
        table = df.to_html(index=False, escape=True, border=0, na_rep="-")
        label = f"<b>{html.escape(name)}</b>: " if name else ""
        files = (f" (tables/{html.escape(name)}.csv, tables/{html.escape(name)}.tex)"
                 if name else "")
        return _html_table(table, label, cap, files)
    if kind == "details":
        table = block[2].to_html(index=False, escape=True, border=0, na_rep="-")
        return f"<details><summary>{html.escape(block[1])}</summary>{table}</details>"
    raise ValueError(kind)


def _html_table(table: str, label: str, cap: str, files: str) -> str:
    head, rest = table.split(">", 1)
    return f"{head}><caption>{label}{html.escape(cap)}{files}</caption>{rest}"


def _md_cell(v) -> str:
    return str(v).replace("|", "\\|").replace("\n", "<br>")


def md_table(df: pd.DataFrame) -> str:
    """A pipe table (GitHub-flavoured Markdown).

    Args:
        df: the table (missing values shown as ``-``).

    Returns:
        The Markdown lines, joined.
    """
    cols = [_md_cell(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_md_cell("-" if pd.isna(v) else v) if not isinstance(
            v, (list, dict)) else _md_cell(v) for v in row) + " |")
    return "\n".join(lines)


def render_markdown(title: str, sections: list[Section], base: Path) -> str:
    """Markdown with the figures as relative links (``figures/<name>.png``).

    Args:
        title: the report's title.
        sections: its sections.
        base: the folder the Markdown file is in (links are relative to it).

    Returns:
        The Markdown text.
    """
    out = [f"# {title}", ""]
    for sec in sections:
        out += [f"## {sec.title}", ""]
        for block in sec.blocks:
            kind = block[0]
            if kind == "p":
                out += [block[1], ""]
            elif kind == "warn":
                out += [f"> **Warning:** {block[1]}", ""]
            elif kind == "pre":
                out += ["```", block[1], "```", ""]
            elif kind == "figure":
                rel = block[1].relative_to(base).as_posix()
                out += [f"![{block[1].stem}]({rel})", "", f"*{block[1].stem}*: {block[2]}", ""]
            elif kind == "table":
                name, df, cap = block[1], block[2], block[3]
                files = f" ([csv](tables/{name}.csv), [tex](tables/{name}.tex))" if name else ""
                label = f"**{name}**: " if name else ""
                out += [f"{label}{cap}{files}", "", md_table(df), ""]
            elif kind == "details":
                out += [f"<details><summary>{block[1]}</summary>", "", md_table(block[2]), "",
                        "</details>", ""]
    return "\n".join(out) + "\n"
