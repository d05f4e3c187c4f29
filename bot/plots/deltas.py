"""The metrics chart: each metric's change against production, not two bars.

One horizontal bar per metric (and candidate): the relative change in percent, signed
so that right is always better (a loss that falls points right), coloured by its state
(better, worse, regression, within noise, unchanged); the 95% interval of the change as
an error bar when there are repeated measures; and the tolerated worsening (the
metric's threshold) as a shaded band left of zero. Pure: rows in, PNG bytes out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.domain import Change, Direction, MetricCell, MetricRow, PlotImage
from bot.plots.figures import (
    METRICS_SIZE,
    candidate_colour,
    legend_below,
    new_figure,
    plain,
    shorten,
    to_png,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

CAP = 1000.0  # percent: longer bars are drawn to here and labelled with their value
STATE_COLOURS = {
    Change.BETTER: "#009E73",
    Change.WORSE: "#E69F00",
    Change.REGRESSION: "#D55E00",
    Change.NOISE: "#999999",
    Change.SAME: "#BBBBBB",
}
STATE_NAMES = {
    Change.BETTER: "better",
    Change.WORSE: "worse, within threshold",
    Change.REGRESSION: "regression",
    Change.NOISE: "within noise",
    Change.SAME: "unchanged",
}
BAND_COLOUR = "#F5DEB3"


@dataclass(frozen=True)
class Bar:
    key: str
    candidate: int
    change: Change
    percent: float  # right is better
    interval: tuple[float, float] | None  # percent, right is better
    band: float  # tolerated worsening in percent (>= 0)


def _percent(value: float, base: float, sign: float) -> float:
    return sign * value / abs(base) * 100


def _bar(row: MetricRow, index: int, cell: MetricCell) -> Bar | None:
    base = row.baseline
    if base is None or not math.isfinite(base) or base == 0 or cell.delta is None:
        return None
    if cell.change not in STATE_COLOURS or not math.isfinite(cell.delta):
        return None
    sign = 1.0 if row.direction is Direction.HIGHER else -1.0
    interval = None
    if cell.estimate is not None:
        ends = sorted(_percent(v, base, sign) for v in (cell.estimate.low, cell.estimate.high))
        interval = (ends[0], ends[1])
    limit = row.threshold.value
    band = limit * 100 if row.threshold.relative else limit / abs(base) * 100
    return Bar(row.key, index, cell.change, _percent(cell.delta, base, sign), interval, band)


def bars(rows: Sequence[MetricRow], max_metrics: int = 12) -> list[Bar]:
    """The drawable changes of the first `max_metrics` metrics that have any."""
    out: list[Bar] = []
    keys: list[str] = []
    for row in rows:
        found = [b for i, c in enumerate(row.cells) if (b := _bar(row, i, c)) is not None]
        if found and len(keys) < max_metrics:
            keys.append(row.key)
            out += found
    return out


def _capped(x: float) -> float:
    return max(-CAP, min(CAP, x))


def _draw(ax: Axes, drawn: Sequence[Bar], keys: list[str], series: int) -> None:
    height = 0.8 / series
    for bar in drawn:
        y = keys.index(bar.key) + (bar.candidate - (series - 1) / 2) * height
        if bar.band > 0:
            ax.fill_betweenx(
                [y - height / 2, y + height / 2], -min(bar.band, CAP), 0, color=BAND_COLOUR, lw=0
            )
        x = _capped(bar.percent)
        end = x
        edge = candidate_colour(bar.candidate) if series > 1 else STATE_COLOURS[bar.change]
        ax.barh(y, x, height=height * 0.7, color=STATE_COLOURS[bar.change], edgecolor=edge)
        if bar.interval is not None:
            low, high = (_capped(v) for v in bar.interval)
            end = max(x, high) if x >= 0 else min(x, low)
            ax.errorbar(x, y, xerr=[[max(x - low, 0)], [max(high - x, 0)]], fmt="none",
                        ecolor="#303030", capsize=3, linewidth=1)  # fmt: skip
        label = f"{bar.percent:+.3g}%"
        ax.annotate(label, (end, y), xytext=(4 if x >= 0 else -4, 0), textcoords="offset points",
                    ha="left" if x >= 0 else "right", va="center", fontsize=6)  # fmt: skip


def metric_changes(
    rows: Sequence[MetricRow], candidate_names: Sequence[str], max_metrics: int = 12
) -> list[PlotImage]:
    """The chart as one primary PNG; [] when no metric has a change to draw."""
    drawn = bars(rows, max_metrics)
    if not drawn:
        return []
    from matplotlib.patches import Patch

    keys = list(dict.fromkeys(b.key for b in drawn))
    series = max(len(candidate_names), 1 + max(b.candidate for b in drawn))
    fig = new_figure(METRICS_SIZE)
    ax = fig.add_subplot()
    _draw(ax, drawn, keys, series)
    ax.axvline(0, color="#303030", linewidth=0.8)
    ax.set_yticks(range(len(keys)), [shorten(k) for k in keys], fontsize=8)
    ax.set_ylim(len(keys) - 0.5, -0.5)
    ax.set_xlabel("change against production, % (right is better)", fontsize=9)
    ax.tick_params(axis="x", labelsize=7)
    ax.margins(x=0.15)
    states = [c for c in STATE_COLOURS if any(b.change is c for b in drawn)]
    handles = [Patch(color=STATE_COLOURS[c], label=STATE_NAMES[c]) for c in states]
    if any(b.band > 0 for b in drawn):
        handles.append(Patch(color=BAND_COLOUR, label="tolerated (threshold)"))
    if series > 1:
        handles += [
            Patch(facecolor="white", edgecolor=candidate_colour(i), label=plain(name))
            for i, name in enumerate(candidate_names)
        ]
    legend_below(fig, handles)
    fig.suptitle("Metrics: change against production", fontsize=11)
    return [
        PlotImage("metrics.png", "Metrics", _alt(drawn, keys, rows), to_png(fig), True, "metrics")
    ]


ALT_LISTED = 4  # metrics the alt text names; it counts the rest


def _alt(drawn: Sequence[Bar], keys: list[str], rows: Sequence[MetricRow]) -> str:
    first = [b for b in drawn if b.candidate == 0][:ALT_LISTED]
    said = ", ".join(f"{b.key} {b.percent:+.3g}% ({STATE_NAMES[b.change]})" for b in first)
    named = len({b.key for b in first})
    which = f"; the first {named}" if named < len(keys) else ""  # first: the alt may be cut
    more = len({r.key for r in rows}) - len(keys)
    tail = f"; {more} more metrics in the table" if more > 0 else ""
    return (
        f"Change against production of {len(keys)} metrics, right is better{which}: {said}{tail}."
    )
