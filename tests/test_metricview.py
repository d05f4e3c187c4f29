"""bot.render.metricview: the metrics tables' cells, and how the comment lays them out."""

from __future__ import annotations

from dataclasses import replace

import reports

from bot.domain import Change, Direction, Estimate, MetricCell, MetricRow, Role, Spread, Threshold
from bot.render.comment import render_comment
from bot.render.metricview import (
    SINGLE_RUNS_NOTE,
    bar_cell,
    better,
    metric_cell,
    metric_table,
    single_runs_note,
)

HIGHER, LOWER = Direction.HIGHER, Direction.LOWER


def _row(key: str, value: float, base: float | None, change: Change, **kw: object) -> MetricRow:
    cell = MetricCell(value, None if base is None else value - base,
                      None if not base else (value - base) / abs(base), change)  # fmt: skip
    extra = {k: v for k, v in kw.items() if k not in ("missed", "direction")}
    missed = kw.get("missed", ())
    direction = kw.get("direction", HIGHER)
    cells = (replace(cell, missed=missed),)
    return MetricRow(key, direction, Threshold(), base, cells, **extra)  # type: ignore[arg-type]


def test_cells_show_state_value_and_change() -> None:
    row = _row("auc", 0.91, 0.9, Change.BETTER)
    assert metric_cell(row, 0, True) == "✅ 0.91 (+0.01, +1.1%)"
    assert metric_cell(row, 0, False) == "0.91"
    assert metric_cell(row, 1, True) == "—"


def test_a_paired_interval_beside_a_mean_of_repeats_says_it_is_paired() -> None:
    """The mean of five seeds rose while the rows scored pairwise fell: the cell says
    which number the interval is of, so the two do not read as a contradiction."""
    paired = Estimate(-0.01, -0.06, 0.04, 0.6, "paired bootstrap", rows=143)
    mean = MetricCell(0.14, 0.024, 0.21, Change.NOISE, Spread(0.14, 0.04, 5), paired, 0.086)
    row = MetricRow("log_loss", LOWER, Threshold(), 0.116, (mean,))
    cell = metric_cell(row, 0, True)
    assert cell.startswith("〰️ 0.14 ± 0.04 (n=5) (run's own: 0.086) · paired: −0.01 [")
    assert cell.endswith("(−8.6%)")  # of the paired difference, over production's value
    repeats = replace(mean, estimate=replace(paired, method="Welch t", rows=None))
    assert "paired" not in metric_cell(replace(row, cells=(repeats,)), 0, True)
    one_value = replace(mean, spread=None, logged=None)  # nothing else to tell it from
    assert "paired" not in metric_cell(replace(row, cells=(one_value,)), 0, True)


def test_a_missed_bar_is_its_own_state_and_cell() -> None:
    row = _row("auc", 0.97, 0.96, Change.BETTER, missed=("below min 0.98",), bars=("≥ 0.98",))
    assert metric_cell(row, 0, True).startswith("🚫 0.97")
    assert "✅" not in metric_cell(row, 0, True)
    assert bar_cell(row) == "🚫 below min 0.98"
    met = _row("auc", 0.99, 0.96, Change.BETTER, bars=("≥ 0.98",))
    assert bar_cell(met) == "✓ ≥ 0.98"
    assert metric_cell(met, 0, True).startswith("✅ 0.99")
    assert bar_cell(_row("auc", 0.99, 0.96, Change.BETTER)) == ""


def test_no_direction_reads_as_such() -> None:
    row = _row("best_iteration", 65, 80, Change.CHANGED, direction=Direction.NONE)
    assert better(row) == "·"
    assert metric_cell(row, 0, True).startswith("🔹 65")
    tol = MetricRow("loss", LOWER, Threshold(0.02, relative=True), 1.0, ())
    assert better(tol) == "↓ tol. 2%"


def test_training_metrics_get_their_own_table_informational_ones_come_last() -> None:
    rows = (
        _row("example_count", 171, 171, Change.SAME, role=Role.INFORMATIONAL),
        _row("training_log_loss", 0.06, 0.04, Change.REGRESSION, role=Role.TRAINING),
        _row("roc_auc", 0.99, 0.98, Change.BETTER),
    )
    table = metric_table(rows, None, True)
    assert [line.key for line in table.lines] == ["roc_auc", "example_count"]
    assert [line.key for line in table.training] == ["training_log_loss"]
    # nothing is evaluation: training metrics are the main table
    alone = metric_table(rows[:2], None, True)
    assert [line.key for line in alone.lines] == ["training_log_loss", "example_count"]
    assert alone.training == ()


def test_the_single_runs_note_needs_a_moved_counted_metric_without_repeats() -> None:
    moved = (_row("roc_auc", 0.99, 0.98, Change.BETTER),)
    assert single_runs_note(moved, True) == SINGLE_RUNS_NOTE
    assert single_runs_note(moved, False) == ""
    assert single_runs_note((_row("roc_auc", 0.99, 0.99, Change.SAME),), True) == ""


def test_the_comment_lays_out_both_tables_and_the_bar_column() -> None:
    report = reports.one_candidate()
    rows = (
        _row("roc_auc", 0.99, 0.98, Change.BETTER, bars=("≥ 0.98",)),
        _row(
            "training_log_loss", 0.06, 0.04, Change.REGRESSION, role=Role.TRAINING, direction=LOWER
        ),
    )
    text = render_comment(replace(report, metric_rows=rows, min_change=Threshold(0.001, True)))
    assert "| Metric | Better | Production | gbm-balanced | Bar |" in text
    assert "| `roc_auc` | ↑ | 0.98 | ✅ 0.99 (+0.01, +1.0%) | ✓ ≥ 0.98 |" in text
    assert "<details><summary>Training metrics (1): measured on the training data" in text
    assert "| `training_log_loss` | ↓ | 0.04 | ❌ 0.06 (+0.02, +50.0%) |  |" in text
    assert "➖ unchanged (less than 0.1% apart)" in text
    assert "**1 metric improved; single runs: differences may be noise**" in text
