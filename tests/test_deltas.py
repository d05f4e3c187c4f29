"""bot.plots.deltas: the metrics chart shows each metric's change, right is better."""

from __future__ import annotations

import pytest
from matplotlib.colors import to_hex

from bot.domain import Change, Direction, Estimate, MetricCell, MetricRow, Threshold
from bot.plots import deltas, figures
from tests.plot_helpers import pixels, png_size


def cell(value: float, base: float, change: Change, est: Estimate | None = None) -> MetricCell:
    return MetricCell(value, value - base, (value - base) / abs(base), change, estimate=est)


def row(
    key: str, base: float, *cells: MetricCell, lower: bool = False, tol: Threshold | None = None
) -> MetricRow:
    direction = Direction.LOWER if lower else Direction.HIGHER
    return MetricRow(key, direction, tol or Threshold(), base, cells)


ROWS = [
    row("loss", 0.2, cell(0.25, 0.2, Change.REGRESSION), lower=True, tol=Threshold(0.1, True)),
    row(
        "accuracy",
        0.8,
        cell(0.84, 0.8, Change.BETTER, Estimate(0.04, 0.02, 0.06, 0.001, "paired t", True)),
    ),
    row("f1", 0.5, cell(0.49, 0.5, Change.NOISE, Estimate(-0.01, -0.03, 0.01, 0.4, "Welch t"))),
]


def test_change_is_signed_so_right_is_better_with_interval_and_band() -> None:
    found = {b.key: b for b in deltas.bars(ROWS)}
    assert found["loss"].percent == pytest.approx(-25.0)  # a loss that rose points left
    assert found["loss"].band == pytest.approx(10.0)
    assert found["accuracy"].percent == pytest.approx(5.0)
    assert found["accuracy"].interval == pytest.approx((2.5, 7.5))
    assert found["f1"].interval == pytest.approx((-6.0, 2.0))
    lower = deltas.bars(
        [
            row(
                "loss",
                0.2,
                cell(
                    0.15, 0.2, Change.BETTER, Estimate(-0.05, -0.07, -0.01, 0.01, "paired t", True)
                ),
                lower=True,
            )
        ]
    )
    assert lower[0].percent == pytest.approx(25.0)
    assert lower[0].interval == pytest.approx((5.0, 35.0))  # flipped and sorted


def test_bars_are_coloured_by_state_and_intervals_drawn() -> None:
    [image] = deltas.metric_changes(ROWS, ["candidate"])
    assert (image.name, image.group, image.primary) == ("metrics.png", "metrics", True)
    assert png_size(image.png) == pixels(figures.METRICS_SIZE)
    assert "loss -25% (regression)" in image.alt and "right is better" in image.alt
    from matplotlib.patches import Rectangle

    fig = figures.new_figure(figures.METRICS_SIZE)
    ax = fig.add_subplot()
    drawn = deltas.bars(ROWS)
    deltas._draw(ax, drawn, ["loss", "accuracy", "f1"], 1)
    colours = [to_hex(p.get_facecolor()) for p in ax.patches if isinstance(p, Rectangle)]
    assert colours == [
        deltas.STATE_COLOURS[c].lower() for c in (Change.REGRESSION, Change.BETTER, Change.NOISE)
    ]
    assert len(ax.collections) == 1 + 2  # one threshold band, two error bars
    assert deltas.metric_changes(ROWS, ["candidate"])[0].png == image.png  # deterministic


def test_no_production_or_nothing_comparable_gives_no_chart() -> None:
    new = MetricRow(
        "auc", Direction.HIGHER, Threshold(), None, (MetricCell(0.7, None, None, Change.NEW),)
    )
    zero = row("bias", 0.0, MetricCell(0.1, 0.1, None, Change.WORSE))
    assert deltas.metric_changes([new, zero], ["candidate"]) == []
    assert deltas.metric_changes(ROWS, ["candidate"], max_metrics=0) == []


def test_huge_changes_are_capped_but_labelled_with_their_value() -> None:
    [bar] = deltas.bars([row("lat", 1.0, cell(50.0, 1.0, Change.BETTER))])
    assert bar.percent == pytest.approx(4900.0)
    assert deltas._capped(bar.percent) == deltas.CAP


def test_the_alt_text_names_as_many_metrics_as_it_counts() -> None:
    rows = [row(f"m{i}", 0.5, cell(0.5 + 0.01 * i, 0.5, Change.BETTER)) for i in range(1, 7)]
    alt = deltas.metric_changes(rows, ["candidate"])[0].alt
    assert alt.startswith("Change against production of 6 metrics, right is better; the first 4: ")
    assert alt.count("(better)") == 4 and "m4 +8%" in alt and "m5" not in alt
    [image] = deltas.metric_changes(ROWS, ["candidate"])
    assert "of 3 metrics, right is better: loss" in image.alt  # all named: no "first"
