"""What every figure of the review shares: size, dpi, palette, and how it becomes PNG.

matplotlib is imported inside the functions (through `Figure` and the Agg canvas, never
pyplot), so importing this module stays cheap. Every figure has a fixed size and dpi;
production is always drawn in PRODUCTION_COLOUR and the n-th candidate always in
CANDIDATE_COLOURS[n] (Okabe-Ito, safe for colour-blind readers).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure

DPI = 144
METRICS_SIZE = (8.0, 6.0)  # inches: 1152 x 864 pixels
CURVE_SIZE = (8.0, 4.5)  # 1152 x 648
PAIR_SIZE = (8.0, 4.5)
ALONE_SIZE = (5.0, 4.5)  # one image whose counterpart was not logged
PRODUCTION_COLOUR = "#595959"
CANDIDATE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9")
MAX_LABEL = 40


def candidate_colour(index: int) -> str:
    return CANDIDATE_COLOURS[index % len(CANDIDATE_COLOURS)]


def new_figure(size: tuple[float, float]) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def legend_below(fig: Figure, handles: Sequence[Artist]) -> None:
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(len(handles), 4),
        fontsize=8,
        frameon=False,
    )


def plain(text: str) -> str:
    """User text drawn literally: a `$` must not switch matplotlib into math mode."""
    return text.replace("$", r"\$")


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return plain(text)


def safe_stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:60] or "plot"


def unique_png_name(stem: str, used: set[str]) -> str:
    name, n = stem, 2
    while name.lower() in used:
        name, n = f"{stem}-{n}", n + 1
    used.add(name.lower())
    return f"{name}.png"
