"""Pictures for the review, as PNG bytes: pure functions, no I/O.

matplotlib is imported inside the functions (through `Figure` and the Agg canvas, never
pyplot), so importing this module stays cheap. Every figure has a fixed size and dpi;
production is always drawn in PRODUCTION_COLOUR and the n-th candidate always in
CANDIDATE_COLOURS[n] (Okabe-Ito, safe for colour-blind readers).
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import posixpath
import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from operator import itemgetter
from typing import TYPE_CHECKING

from bot.domain import MetricRow, PlotImage, RunSnapshot
from bot.ports import Point

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy import uint8
    from numpy.typing import NDArray

log = logging.getLogger(__name__)

DPI = 144
METRICS_SIZE = (8.0, 6.0)  # inches: 1152 x 864 pixels
CURVE_SIZE = (8.0, 4.5)  # 1152 x 648
PAIR_SIZE = (8.0, 4.5)
PRODUCTION_COLOUR = "#595959"
CANDIDATE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9")
NOT_LOGGED = "not logged"
MAX_LABEL = 40
MAX_PANELS = 4  # scale groups in the metric chart
LARGEST = 1e150  # bigger bars overflow matplotlib's arithmetic: drawn as n/a
MAX_IMAGE_SIDE = 1200  # artifacts are shrunk to this before drawing
MAX_IMAGE_PIXELS = 40_000_000  # bigger artifacts are not decoded at all
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")


def candidate_colour(index: int) -> str:
    return CANDIDATE_COLOURS[index % len(CANDIDATE_COLOURS)]


# --- metric comparison --------------------------------------------------------


@dataclass(frozen=True)
class _Bars:
    key: str
    values: tuple[float | None, ...]  # production first, then each candidate

    @property
    def finite(self) -> list[float]:
        return [v for v in self.values if v is not None]


def scale_group(values: Sequence[float]) -> int:
    """0 for values within ±1, else the power of ten that bounds them (120 -> 3)."""
    top = max((abs(v) for v in values), default=0.0)
    return 0 if top <= 1 else math.ceil(math.log10(top))


def metric_comparison(
    rows: Sequence[MetricRow], candidate_names: Sequence[str], max_metrics: int = 12
) -> list[PlotImage]:
    """One bar chart of candidates vs production, one panel per order of magnitude."""
    bars = _plottable(rows)
    fig = _figure_for_metrics(rows, candidate_names, max_metrics)
    if fig is None:
        return []
    shown = min(len(bars), max_metrics)
    more = f" ({len(bars) - shown} more in the table)" if len(bars) > shown else ""
    names = ", ".join(candidate_names) or "the candidate"
    alt = f"Bar chart of {shown} metrics{more}: {names} against production, grouped by scale."
    return [PlotImage("metrics.png", "Metrics", alt, _png(fig), True, "metrics")]


def _plottable(rows: Sequence[MetricRow]) -> list[_Bars]:
    out = []
    for row in rows:
        values = [row.baseline, *(cell.value for cell in row.cells)]
        bars = _Bars(row.key, tuple(v if _drawable(v) else None for v in values))
        if bars.finite:
            out.append(bars)
    return out


def _drawable(value: float | None) -> bool:
    return value is not None and math.isfinite(value) and abs(value) < LARGEST


def _figure_for_metrics(
    rows: Sequence[MetricRow], candidate_names: Sequence[str], max_metrics: int = 12
) -> Figure | None:
    bars = _plottable(rows)[: max(max_metrics, 0)]
    if not bars:
        return None
    groups: dict[int, list[_Bars]] = {}
    for bar in bars:
        groups.setdefault(scale_group(bar.finite), []).append(bar)
    ordered = _merge_panels(sorted(groups.items()))
    series = max(len(candidate_names) + 1, *(len(b.values) for b in bars))
    from matplotlib.patches import Patch

    fig = _new_figure(METRICS_SIZE)
    ratios = [len(group) + 1 for _, group in ordered]
    axes = fig.subplots(len(ordered), 1, squeeze=False, height_ratios=ratios)[:, 0]
    for ax, (scale, group) in zip(axes, ordered, strict=True):
        _draw_panel(ax, group, series, scale)
    names = ["production"] + [
        candidate_names[i] if i < len(candidate_names) else f"candidate {i + 1}"
        for i in range(series - 1)
    ]
    colours = [PRODUCTION_COLOUR, *map(candidate_colour, range(series - 1))]
    handles = [Patch(color=c, label=_plain(n)) for n, c in zip(names, colours, strict=True)]
    _legend(fig, handles)
    fig.suptitle("Metrics: candidate vs production", fontsize=11)
    return fig


def _merge_panels(groups: list[tuple[int, list[_Bars]]]) -> list[tuple[int, list[_Bars]]]:
    """At most MAX_PANELS panels: merge the closest scales, the smallest pair first."""
    while len(groups) > MAX_PANELS:
        pairs = range(len(groups) - 1)
        i = min(pairs, key=lambda j: (groups[j + 1][0] - groups[j][0], _size(groups, j), j))
        groups[i : i + 2] = [(groups[i + 1][0], groups[i][1] + groups[i + 1][1])]
    return groups


def _size(groups: list[tuple[int, list[_Bars]]], j: int) -> int:
    return len(groups[j][1]) + len(groups[j + 1][1])


def _draw_panel(ax: Axes, group: Sequence[_Bars], series: int, scale: int) -> None:
    height = 0.8 / series
    for s in range(series):
        ys, widths = [], []
        for i, bar in enumerate(group):
            value = bar.values[s] if s < len(bar.values) else None
            y = i + (s - (series - 1) / 2) * height
            if value is None:
                ax.text(0, y, " n/a", va="center", fontsize=6, color="#404040")
                continue
            ys.append(y)
            widths.append(value)
        colour = PRODUCTION_COLOUR if s == 0 else candidate_colour(s - 1)
        container = ax.barh(ys, widths, height=height * 0.9, color=colour)
        ax.bar_label(container, labels=[_number(w) for w in widths], padding=2, fontsize=6)
    ax.set_yticks(range(len(group)), [_short(b.key) for b in group], fontsize=8)
    ax.set_ylim(len(group) - 0.5, -0.5)  # first metric on top
    ax.axvline(0, color="#303030", linewidth=0.6)
    ax.tick_params(axis="x", labelsize=7)
    bound = f"±{10**scale}" if scale < 6 else f"±1e{scale}"
    ax.set_title(f"values within {bound}", fontsize=8, loc="left")
    _pad_xlim(ax, [v for b in group for v in b.finite])


def _pad_xlim(ax: Axes, values: Sequence[float]) -> None:
    """Leave room beside the bars for their value labels."""
    lo, hi = min(0.0, *values), max(0.0, *values)
    pad = 0.22 * ((hi - lo) or 1.0)
    ax.set_xlim(lo - pad if lo < 0 else 0.0, hi + pad if hi > 0 or lo >= 0 else 0.0)


# --- training curves ----------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    label: str
    colour: str
    points: list[Point]
    production: bool


def downsample(points: Sequence[Point], max_points: int) -> list[Point]:
    """At most `max_points` points that keep the curve's shape: the steps are cut into
    max_points // 4 equal ranges and each keeps its first, lowest, highest and last
    point, in step order. Non-finite values are dropped; spikes survive."""
    if max_points < 4:
        raise ValueError("max_points must be at least 4 (first, min, max and last per bucket)")
    clean = sorted([p for p in points if math.isfinite(p[1])], key=itemgetter(0))
    if len(clean) <= max_points:
        return clean
    steps, values = [s for s, _ in clean], [v for _, v in clean]
    buckets, first, span = max_points // 4, steps[0], steps[-1] - steps[0]
    # bucket b holds the steps s with (s - first) * buckets // span == b
    bounds = [bisect_left(steps, first - (-b * span // buckets)) for b in range(1, buckets)]
    keep: list[int] = []
    for start, stop in zip([0, *bounds], [*bounds, len(clean)], strict=True):
        if start < stop:
            part = values[start:stop]
            lo, hi = start + part.index(min(part)), start + part.index(max(part))
            keep.extend(sorted({start, lo, hi, stop - 1}))
    return [clean[i] for i in keep]


def training_curves(
    histories: Mapping[str, Mapping[str, Sequence[Point]]],
    run_labels: Mapping[str, str],
    baseline_run_id: str | None,
    max_points: int = 1000,
) -> list[PlotImage]:
    """One line chart per metric (in the order given): candidates and production by step."""
    images: list[PlotImage] = []
    used: set[str] = set()
    for key, series in histories.items():
        lines = _lines(series, run_labels, baseline_run_id, max_points)
        if not lines:
            log.debug("no finite points for curve %s", key)
            continue
        fig = _figure_for_curve(key, lines)
        ends = "; ".join(f"{ln.label} ends at {ln.points[-1][1]:.4g}" for ln in lines)
        alt = f"Line chart of {key} by step: {ends}."
        name = _unique(f"curve-{_safe(key)}", used)
        images.append(PlotImage(name, key, alt, _png(fig), len(images) < 2, "curves"))
    return images


def _lines(
    series: Mapping[str, Sequence[Point]],
    run_labels: Mapping[str, str],
    baseline_run_id: str | None,
    max_points: int,
) -> list[_Line]:
    lines: list[_Line] = []
    if baseline_run_id is not None and baseline_run_id in series:
        points = downsample(series[baseline_run_id], max_points)
        label = run_labels.get(baseline_run_id, "production")
        if points:
            lines.append(_Line(label, PRODUCTION_COLOUR, points, True))
    others = [r for r in run_labels if r != baseline_run_id]
    others += sorted(r for r in series if r not in run_labels and r != baseline_run_id)
    for index, run_id in enumerate(others):
        points = downsample(series.get(run_id, ()), max_points)
        if points:
            label = run_labels.get(run_id, run_id[:8])
            lines.append(_Line(label, candidate_colour(index), points, False))
    return lines


def _figure_for_curve(key: str, lines: Sequence[_Line]) -> Figure:
    fig = _new_figure(CURVE_SIZE)
    ax = fig.add_subplot()
    for line in lines:
        steps, values = zip(*line.points, strict=True)
        ax.plot(
            steps,
            values,
            color=line.colour,
            linestyle="--" if line.production else "-",
            linewidth=1.4,
            marker="o" if len(set(steps)) == 1 else None,
            markersize=3,
            label=_plain(line.label),
        )
    every = [v for line in lines for _, v in line.points]
    if min(every) > 0 and max(every) / min(every) > 1000:
        ax.set_yscale("log")
    ax.set_xlabel("step", fontsize=9)
    ax.set_ylabel(_short(key), fontsize=9)
    ax.set_title(_short(key, 80), fontsize=11)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    _legend(fig, ax.get_lines())
    return fig


def choose_curves(
    runs: Sequence[RunSnapshot], configured: Sequence[str], max_curves: int
) -> list[str]:
    """Which metrics get a curve: the configured names (or globs) that were logged, in
    config order; else (or if none was logged) the metrics whose latest value was
    logged at the highest step, ties alphabetical. Metrics only ever logged at step 0
    have no curve to show."""
    if max_curves <= 0:
        return []
    keys = sorted({k for r in runs for k in (*r.metrics, *r.metric_steps)})
    chosen: list[str] = []
    for pattern in configured:
        chosen += [k for k in keys if fnmatchcase(k, pattern) and k not in chosen]
    if chosen:
        return chosen[:max_curves]
    if configured:
        log.info("none of the configured curves %s was logged", ", ".join(configured))
    last = {k: max(r.metric_steps.get(k, 0) for r in runs) for k in keys}
    ranked = sorted((k for k in keys if last[k] > 0), key=lambda k: (-last[k], k))
    return ranked[:max_curves]


# --- image artifacts ----------------------------------------------------------


def artifact_pairs(
    candidate_files: Sequence[str], baseline_files: Sequence[str], patterns: Sequence[str]
) -> list[tuple[str, str | None, str | None]]:
    """Pair image artifacts of a candidate and production: (display name, candidate
    path, production path). Same relative path first, then same file name (both
    case-insensitive). Only files matching a glob (on the path or the file name) count;
    no patterns means no images. Sorted by display name."""
    cands = sorted({p for p in candidate_files if _wanted(p, patterns)}, key=str.lower)
    bases = sorted({p for p in baseline_files if _wanted(p, patterns)}, key=str.lower)
    matched: dict[str, str] = {}
    for same in (str.lower, lambda p: posixpath.basename(p).lower()):
        for cand in cands:
            if cand in matched:
                continue
            free = (b for b in bases if b not in matched.values() and same(b) == same(cand))
            found = next(free, None)
            if found is not None:
                matched[cand] = found
    pairs: list[tuple[str, str | None, str | None]] = [(c, c, matched.get(c)) for c in cands]
    pairs += [(b, None, b) for b in bases if b not in matched.values()]
    return sorted(pairs, key=lambda pair: pair[0].lower())


def _wanted(path: str, patterns: Sequence[str]) -> bool:
    lowered = path.lower()
    names = (lowered, posixpath.basename(lowered))
    return any(fnmatchcase(name, p.lower()) for p in patterns for name in names)


def side_by_side(
    title: str,
    left: bytes | None,
    right: bytes | None,
    left_label: str,
    right_label: str,
    *,
    primary: bool = True,
) -> PlotImage | None:
    """Two images in one figure (production on the left by convention). A missing side
    says "not logged", an unreadable one (SVG, damaged, huge) says why. None when
    neither side can be drawn."""
    fig = _figure_for_pair(title, left, right, left_label, right_label)
    if fig is None:
        return None
    digest = hashlib.sha1(title.encode(), usedforsecurity=False).hexdigest()[:8]
    alt = f"{title}: {left_label} (left) and {right_label} (right) side by side."
    return PlotImage(
        f"artifact-{_safe(posixpath.splitext(title)[0])}-{digest}.png",
        title,
        alt,
        _png(fig),
        primary,
        "artifacts",
    )


def _figure_for_pair(
    title: str, left: bytes | None, right: bytes | None, left_label: str, right_label: str
) -> Figure | None:
    decoded = [_decode(left), _decode(right)]
    if all(pixels is None for pixels, _ in decoded):
        return None
    fig = _new_figure(PAIR_SIZE)
    axes = fig.subplots(1, 2)
    for ax, (pixels, why), label in zip(axes, decoded, (left_label, right_label), strict=True):
        ax.set_axis_off()
        ax.set_title(_plain(label), fontsize=10)
        if pixels is None:
            ax.text(0.5, 0.5, why, ha="center", va="center", fontsize=10, color="#404040")
        else:
            ax.imshow(pixels, interpolation="antialiased")
    fig.suptitle(_short(title, 80), fontsize=11)
    return fig


def _decode(data: bytes | None) -> tuple[NDArray[uint8] | None, str]:
    """Pixels (an RGBA array, at most MAX_IMAGE_SIDE wide and high) or why there are none."""
    if data is None:
        return None, NOT_LOGGED
    import numpy as np
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return None, f"too large to show ({image.width}x{image.height})"
            image.draft("RGB", (MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
            rgba = image.convert("RGBA")
    except Image.DecompressionBombError:
        return None, "too large to show"
    except (OSError, ValueError) as exc:
        log.debug("artifact image not readable: %s", exc)
        return None, "cannot be shown\n(not a readable PNG or JPEG)"
    rgba.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
    return np.asarray(rgba), ""


# --- shared -------------------------------------------------------------------


def _new_figure(size: tuple[float, float]) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _legend(fig: Figure, handles: Sequence[Artist]) -> None:
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(len(handles), 4),
        fontsize=8,
        frameon=False,
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if 1e4 <= abs(value) < 1e12 else f"{value:.4g}"


def _plain(text: str) -> str:
    """User text drawn literally: a `$` must not switch matplotlib into math mode."""
    return text.replace("$", r"\$")


def _short(text: str, limit: int = MAX_LABEL) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return _plain(text)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:60] or "plot"


def _unique(stem: str, used: set[str]) -> str:
    name, n = stem, 2
    while name.lower() in used:
        name, n = f"{stem}-{n}", n + 1
    used.add(name.lower())
    return f"{name}.png"
