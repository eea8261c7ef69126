"""One paper style for every figure: sizes, fonts, colours, file formats.

- widths of a one-column (3.5 in) and a two-column (7.1 in) layout;
- fonts embedded as TrueType in PDF (``pdf.fonttype = 42``, as journals require),
  DejaVu Sans (shipped with matplotlib, so every machine renders the same);
- the Okabe-Ito colour-blind-safe palette, with a fixed colour and line style per
  strategy and per hiring channel so that figures agree with each other;
- every figure saved as vector PDF plus a 300 dpi PNG.

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot), so
nothing depends on, or changes, the interactive backend.
"""

from __future__ import annotations

import contextlib
import itertools
import textwrap
from collections.abc import Iterator
from pathlib import Path

import matplotlib as mpl
from cycler import cycler
from matplotlib.figure import Figure

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7",
}
STRATEGY_COLORS = {"passive": OKABE_ITO["black"], "everyone": OKABE_ITO["orange"],
                   "lions": OKABE_ITO["blue"], "broadcast": OKABE_ITO["bluish_green"],
                   "all": OKABE_ITO["reddish_purple"], "mixed": OKABE_ITO["reddish_purple"]}
STRATEGY_LINES = {"passive": ":", "everyone": "--", "lions": "-", "broadcast": "-.", "all": "-",
                  "mixed": "-"}
CHANNEL_COLORS = {"formal": OKABE_ITO["sky_blue"], "lead": OKABE_ITO["yellow"],
                  "referral": OKABE_ITO["vermillion"], "recall": OKABE_ITO["bluish_green"]}
_SPARE = ("sky_blue", "vermillion", "yellow", "bluish_green", "reddish_purple")
WIDTHS = {"one": 3.5, "two": 7.1}  # inches
HEADER_CHARS = {"one": 64, "two": 132}  # characters per header line at HEADER_SIZE
HEADER_SIZE = 6.5  # points
HEADER_LINE = 0.115  # inches per header line
ROW_HEIGHT = {"one": 2.3, "two": 2.5}  # inches per row of panels
FORMATS = ("pdf", "png")
PNG_DPI = 300

RC = {
    "pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none",
    "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"],
    "font.size": 8, "axes.labelsize": 8, "axes.titlesize": 8, "legend.fontsize": 7,
    "xtick.labelsize": 7, "ytick.labelsize": 7, "figure.titlesize": 8,
    "axes.spines.top": False, "axes.spines.right": False, "axes.linewidth": 0.6,
    "xtick.major.width": 0.6, "ytick.major.width": 0.6, "lines.linewidth": 1.2,
    "axes.prop_cycle": cycler(color=list(OKABE_ITO.values())),
    "legend.frameon": False, "legend.handlelength": 1.8, "image.cmap": "cividis",
    "savefig.dpi": PNG_DPI, "savefig.bbox": None, "figure.dpi": 100,
    "figure.constrained_layout.use": True,
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context in which figures get the paper style (matplotlib rcParams).

    Example::

        with style():
            fig, axes = figure("one")
            ...
            save(fig, "figures", "km")
    """
    with mpl.rc_context(RC):
        yield


def figure(size: str = "one", n_panels: int = 1, ncols: int | None = None,
           height: float | None = None, sharey: bool = True) -> tuple[Figure, list]:
    """A styled figure with ``n_panels`` axes laid out in rows.

    Call inside :func:`style` (the rcParams apply when the figure is created and drawn).

    Args:
        size: ``"one"`` (3.5 in wide) or ``"two"`` (7.1 in).
        n_panels: number of axes.
        ncols: columns (default: up to 2 for one column, up to 4 for two).
        height: total height in inches (default: a fixed height per row).
        sharey: share the y axis across panels.

    Returns:
        ``(fig, axes)`` with ``axes`` a flat list of the used axes.
    """
    if size not in WIDTHS:
        raise ValueError(f"size must be one of {sorted(WIDTHS)}")
    ncols = ncols or min(n_panels, 2 if size == "one" else 4)
    nrows = -(-n_panels // ncols)
    h = height or ROW_HEIGHT[size] * nrows
    fig = Figure(figsize=(WIDTHS[size], h))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=sharey).ravel().tolist()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


def header(fig: Figure, size: str, *lines: str) -> None:
    """State what a figure shows above its panels: the estimand, the kind of band,
    caveats (few runs, cells on other pages). Wraps each non-empty line to the
    column width and makes the figure taller by the header's height, so the
    panels keep their size.

    Args:
        fig: the figure (its panels already drawn).
        size: ``"one"`` or ``"two"``.
        *lines: paragraphs of the header; empty ones are left out.
    """
    text = "\n".join(textwrap.fill(t, HEADER_CHARS[size], break_on_hyphens=False) for t in lines if t)
    if not text:
        return
    fig.suptitle(text, fontsize=HEADER_SIZE, x=0.01, ha="left", linespacing=1.15)
    w, h = fig.get_size_inches()
    fig.set_size_inches(w, h + HEADER_LINE * (text.count("\n") + 1) + 0.05)


def save(fig: Figure, out_dir: str | Path, name: str) -> list[Path]:
    """Write ``name.pdf`` (vector, TrueType fonts embedded) and ``name.png`` (300 dpi).

    Args:
        fig: the figure.
        out_dir: folder (created if missing).
        name: file name without extension.

    Returns:
        The paths written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with mpl.rc_context(RC):
        for fmt in FORMATS:
            p = out / f"{name}.{fmt}"
            meta = {"CreationDate": None} if fmt == "pdf" else {}  # reproducible bytes
            fig.savefig(p, format=fmt, dpi=PNG_DPI, metadata=meta)
            paths.append(p)
    return paths


def strategy_color(name: str) -> str:
    """The fixed colour of a strategy (spare Okabe-Ito colours for unknown names)."""
    if name not in STRATEGY_COLORS:
        used = set(STRATEGY_COLORS.values())
        spare = [OKABE_ITO[c] for c in _SPARE if OKABE_ITO[c] not in used] or list(OKABE_ITO.values())
        STRATEGY_COLORS[name] = next(itertools.islice(itertools.cycle(spare),
                                                      len(STRATEGY_COLORS) % len(spare), None))
    return STRATEGY_COLORS[name]


def strategy_line(name: str) -> str:
    """The fixed line style of a strategy (solid for unknown names)."""
    return STRATEGY_LINES.get(name, "-")
