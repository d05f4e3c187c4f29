"""The review's charts, as PNG bytes: the metric comparison and the training curves.

Pure functions, no I/O. Sizes, palette and the PNG encoding come from bot.plots.figures;
the runs' own image artifacts are drawn by bot.plots.artifacts. matplotlib is imported
inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from operator import itemgetter
from typing import TYPE_CHECKING

from bot.domain import MetricRow, PlotImage, RunSnapshot
from bot.plots.figures import (
    CURVE_SIZE,
    METRICS_SIZE,
    PRODUCTION_COLOUR,
    candidate_colour,
    format_number,
    legend_below,
    new_figure,
    plain,
    safe_stem,
    shorten,
    to_png,
    unique_png_name,
)
from bot.ports import Point

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

MAX_PANELS = 4  # scale groups in the metric chart
LARGEST = 1e150  # bigger bars overflow matplotlib's arithmetic: drawn as n/a


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
    return [PlotImage("metrics.png", "Metrics", alt, to_png(fig), True, "metrics")]


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

    fig = new_figure(METRICS_SIZE)
    ratios = [len(group) + 1 for _, group in ordered]
    axes = fig.subplots(len(ordered), 1, squeeze=False, height_ratios=ratios)[:, 0]
    for ax, (scale, group) in zip(axes, ordered, strict=True):
        _draw_panel(ax, group, series, scale)
    names = ["production"] + [
        candidate_names[i] if i < len(candidate_names) else f"candidate {i + 1}"
        for i in range(series - 1)
    ]
    colours = [PRODUCTION_COLOUR, *map(candidate_colour, range(series - 1))]
    handles = [Patch(color=c, label=plain(n)) for n, c in zip(names, colours, strict=True)]
    legend_below(fig, handles)
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
        ax.bar_label(container, labels=[format_number(w) for w in widths], padding=2, fontsize=6)
    ax.set_yticks(range(len(group)), [shorten(b.key) for b in group], fontsize=8)
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


def bucket_minmax(points: Sequence[Point], max_points: int) -> list[Point]:
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
        name = unique_png_name(f"curve-{safe_stem(key)}", used)
        images.append(PlotImage(name, key, alt, to_png(fig), len(images) < 2, "curves"))
    return images


def _lines(
    series: Mapping[str, Sequence[Point]],
    run_labels: Mapping[str, str],
    baseline_run_id: str | None,
    max_points: int,
) -> list[_Line]:
    lines: list[_Line] = []
    if baseline_run_id is not None and baseline_run_id in series:
        points = bucket_minmax(series[baseline_run_id], max_points)
        label = run_labels.get(baseline_run_id, "production")
        if points:
            lines.append(_Line(label, PRODUCTION_COLOUR, points, True))
    others = [r for r in run_labels if r != baseline_run_id]
    others += sorted(r for r in series if r not in run_labels and r != baseline_run_id)
    for index, run_id in enumerate(others):
        points = bucket_minmax(series.get(run_id, ()), max_points)
        if points:
            label = run_labels.get(run_id, run_id[:8])
            lines.append(_Line(label, candidate_colour(index), points, False))
    return lines


def _figure_for_curve(key: str, lines: Sequence[_Line]) -> Figure:
    fig = new_figure(CURVE_SIZE)
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
            label=plain(line.label),
        )
    every = [v for line in lines for _, v in line.points]
    if min(every) > 0 and max(every) / min(every) > 1000:
        ax.set_yscale("log")
    ax.set_xlabel("step", fontsize=9)
    ax.set_ylabel(shorten(key), fontsize=9)
    ax.set_title(shorten(key, 80), fontsize=11)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    legend_below(fig, ax.get_lines())
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
