"""The metrics tables as the comment shows them: every cell's text made here, in
Python, so the template only lays out the table.

- The main table holds the metrics the verdict counts (evaluation, or training when
  nothing is evaluation) and the informational ones (no better or worse: `·`).
- Training metrics, when evaluation metrics exist, go to their own collapsed table.
- A row with absolute bars gets a Bar cell: `✓ ≥ 0.98` when every candidate meets
  them, else 🚫 and what was missed; the candidate's own cell then shows 🚫 as its state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain import Change, Direction, MetricCell, MetricRow, Role, Threshold, counted_rows
from bot.render import intervals as iv
from bot.render import markdown as md
from bot.review.verdict import single_runs

MET = "✓"
NO_CELL = "—"
SINGLE_RUNS_NOTE = (
    "Single runs: with no repeated measures (child runs, repeats or an evaluation "
    "table) there is no noise estimate, so a small difference may be noise; see "
    "“Is the difference real?” in the model-review README."
)
PAIRED = "paired: "  # before an interval of paired rows beside a mean of repeats
TRAINING_SUMMARY = "Training metrics ({n}): measured on the training data, not counted"


@dataclass(frozen=True)
class MetricLine:
    """One table row, every cell as markdown text."""

    key: str
    better: str
    production: str
    cells: tuple[str, ...]  # one per candidate, in candidate order
    bar: str = ""


@dataclass(frozen=True)
class MetricTable:
    rows: tuple[MetricRow, ...]  # the main table's rows (the preview still reads them)
    hidden: int
    hidden_regressions: int
    lines: tuple[MetricLine, ...] = ()
    training: tuple[MetricLine, ...] = ()
    bars: bool = False  # a Bar column is shown


def _logged(value: float | None) -> str:
    return f" (run's own: {md.fmt_num(value)})" if value is not None else ""


def _share(cell: MetricCell, delta: float) -> float | None:
    """`delta` relative to production's value: the percentage beside an interval is
    of the interval's own difference (paired rows can differ from the repeats' means)."""
    if cell.value is None or cell.delta is None:
        return cell.rel_delta
    base = cell.value - cell.delta
    return delta / abs(base) if base else None


def _change(cell: MetricCell) -> str:
    if cell.estimate is not None:
        share = _share(cell, cell.estimate.delta)
        rel = f" ({md.fmt_pct(share)})" if share is not None else ""
        # the value shown is the repeats' mean, the interval is of the evaluation rows
        paired = PAIRED if cell.estimate.rows is not None and cell.spread is not None else ""
        return f" · {paired}{iv.interval(cell.estimate)}{rel}"
    if cell.delta is None:
        return ""
    rel = f", {md.fmt_pct(cell.rel_delta)}" if cell.rel_delta is not None else ""
    return f" ({md.fmt_delta(cell.delta)}{rel})"


def metric_cell(row: MetricRow, index: int, has_baseline: bool) -> str:
    """`✅ 0.91 (+0.01, +1.1%)`; 🚫 as the state when the value misses a bar."""
    if index >= len(row.cells):
        return NO_CELL
    c = row.cells[index]
    value = iv.with_spread(c.value, c.spread) + _logged(c.logged)
    if not has_baseline:
        return f"{iv.MISSED_ICON} {value}" if c.missed else value
    icon = iv.MISSED_ICON if c.missed else md.change_icon(c.change)
    return f"{icon} {value}{_change(c)}"


def better(row: MetricRow) -> str:
    """`↓ tol. 2%`; `·` for a metric with no better or worse."""
    tol = row.threshold.value and row.direction is not Direction.NONE
    return md.arrow(row.direction) + (f" tol. {row.threshold.describe()}" if tol else "")


def bar_cell(row: MetricRow) -> str:
    """`✓ ≥ 0.98` when every candidate meets the row's bars; else 🚫 what was missed."""
    if not row.bars:
        return ""
    missed = list(dict.fromkeys(m for c in row.cells for m in c.missed))
    if missed:
        return f"{iv.MISSED_ICON} " + ", ".join(missed)
    return f"{MET} " + ", ".join(row.bars)


def _line(row: MetricRow, has_baseline: bool) -> MetricLine:
    cells = tuple(metric_cell(row, i, has_baseline) for i in range(len(row.cells)))
    production = iv.with_spread(row.baseline, row.baseline_spread) + _logged(row.baseline_logged)
    return MetricLine(row.key, better(row), production, cells, bar_cell(row))


def _cut(rows: Sequence[MetricRow], limit: int | None) -> tuple[list[MetricRow], int, int]:
    """The rows kept under `limit` (regressions first), and how many were left out."""
    if limit is None or len(rows) <= limit:
        return list(rows), 0, 0
    by_importance = sorted(
        range(len(rows)), key=lambda i: (rows[i].worst is not Change.REGRESSION, i)
    )
    keep = set(by_importance[:limit])
    hidden = [row for i, row in enumerate(rows) if i not in keep]
    regressions = sum(1 for row in hidden if row.worst is Change.REGRESSION)
    return [r for i, r in enumerate(rows) if i in keep], len(hidden), regressions


def metric_table(rows: Sequence[MetricRow], limit: int | None, has_baseline: bool) -> MetricTable:
    """The main table and the collapsed training table, cut to `limit` rows together."""
    counted = {r.key for r in counted_rows(rows)}
    main = [r for r in rows if r.key in counted or r.role is Role.INFORMATIONAL]
    main.sort(key=lambda r: r.role is Role.INFORMATIONAL)  # stable: informational last
    training = [r for r in rows if r.key not in counted and r.role is Role.TRAINING]
    kept, hidden, regressions = _cut([*main, *training], limit)
    shown = {r.key for r in kept}
    main = [r for r in main if r.key in shown]
    training = [r for r in training if r.key in shown]
    return MetricTable(
        rows=tuple(main),
        hidden=hidden,
        hidden_regressions=regressions,
        lines=tuple(_line(r, has_baseline) for r in main),
        training=tuple(_line(r, has_baseline) for r in training),
        bars=any(r.bars for r in (*main, *training)),
    )


def single_runs_note(rows: Sequence[MetricRow], has_baseline: bool) -> str:
    """The pointer to the README when the counted changes rest on single values."""
    return SINGLE_RUNS_NOTE if has_baseline and single_runs(counted_rows(rows)) else ""


def training_summary(rows: Sequence[MetricRow]) -> str:
    counted = {r.key for r in counted_rows(rows)}
    n = sum(1 for r in rows if r.role is Role.TRAINING and r.key not in counted)
    return TRAINING_SUMMARY.format(n=n)


def min_change_text(min_change: Threshold | None) -> str:
    """`0.1%` for the legend ("unchanged: less than 0.1% apart"); "" when exact."""
    return min_change.describe() if min_change is not None and min_change.value > 0 else ""


def has_changed(rows: Sequence[MetricRow]) -> bool:
    """Whether any cell is 🔹 changed (a metric with no better or worse)."""
    return any(c.change is Change.CHANGED for r in rows for c in r.cells)
