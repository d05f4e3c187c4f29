"""The review's training curves, as PNG bytes (the metrics chart: bot.plots.deltas).

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

from bot.domain import PlotImage, Role, RunSnapshot
from bot.plots.figures import (
    CURVE_SIZE,
    PRODUCTION_COLOUR,
    candidate_colour,
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
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)
LOG_SPAN = 100  # a curve whose values span more than this factor gets a log axis

# --- training curves ----------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    label: str
    colour: str
    points: list[Point]
    production: bool
    run_id: str = ""


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
    marks: Mapping[str, float] | None = None,
) -> list[PlotImage]:
    """One line chart per metric (in the order given): candidates and production by
    step, with a dotted mark at each run's `marks` step (its best iteration)."""
    images: list[PlotImage] = []
    used: set[str] = set()
    for key, series in histories.items():
        lines = _lines(series, run_labels, baseline_run_id, max_points)
        if not lines:
            log.debug("no finite points for curve %s", key)
            continue
        fig = _figure_for_curve(key, lines, marks or {})
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
            lines.append(_Line(label, PRODUCTION_COLOUR, points, True, baseline_run_id))
    others = [r for r in run_labels if r != baseline_run_id]
    others += sorted(r for r in series if r not in run_labels and r != baseline_run_id)
    for index, run_id in enumerate(others):
        points = bucket_minmax(series.get(run_id, ()), max_points)
        if points:
            label = run_labels.get(run_id, run_id[:8])
            lines.append(_Line(label, candidate_colour(index), points, False, run_id))
    return lines


def _figure_for_curve(key: str, lines: Sequence[_Line], marks: Mapping[str, float]) -> Figure:
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
    for line in lines:
        if line.run_id in marks:
            ax.axvline(marks[line.run_id], color=line.colour, linestyle=":", linewidth=1,
                       label=plain(f"{line.label}: best iteration"))  # fmt: skip
    every = [v for line in lines for _, v in line.points]
    if min(every) > 0 and max(every) / min(every) > LOG_SPAN:
        ax.set_yscale("log")
    ax.set_xlabel("step", fontsize=9)
    ax.set_ylabel(shorten(key), fontsize=9)
    ax.set_title(shorten(key, 80), fontsize=11)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    legend_below(fig, ax.get_lines())
    return fig


def choose_curves(
    runs: Sequence[RunSnapshot],
    configured: Sequence[str],
    max_curves: int,
    roles: Mapping[str, Role] | None = None,
) -> list[str]:
    """Which metrics get a curve: the configured names (or globs) that were logged, in
    config order; else (or if none was logged) evaluation metrics before training ones
    (informational ones never), then those whose latest value was logged at the
    highest step, ties alphabetical. Metrics only ever logged at step 0 have no curve."""
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
    role = {k: (roles or {}).get(k, Role.EVALUATION) for k in keys}
    drawn = [k for k in keys if last[k] > 0 and role[k] is not Role.INFORMATIONAL]
    ranked = sorted(drawn, key=lambda k: (role[k] is Role.TRAINING, -last[k], k))
    return ranked[:max_curves]
