"""The one-line verdict at the top of the comment, counted over the metrics it is about.

- Evaluation metrics make the verdict; training and informational ones do not. A
  review with no evaluation metric at all counts its training metrics and says so.
- A training metric that improves while its evaluation counterpart gets worse (a
  generalisation gap) leads the line: "training `valid_0-l2` fell 100% while
  `valid_1-l2` rose 66%: overfitting?".
- Without any repeated measure behind the counted changes, the line ends with
  "single runs: differences may be noise".
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import Change, MetricCell, MetricRow, Role, counted_rows
from bot.review.bars import NOT_LOGGED
from bot.review.names import base_name

SINGLE_RUNS = "single runs: differences may be noise"
TRAINING_ONLY = "no evaluation metric logged, so training metrics are counted"
GAP = "training {train} {fell} {train_pct} while {held} {rose} {held_pct}: overfitting?"
WORSE_CHANGES = (Change.WORSE, Change.REGRESSION)
MOVED = (Change.BETTER, Change.WORSE, Change.REGRESSION)

# (change, words after the count, whether the noun goes before those words)
_PHRASES: tuple[tuple[Change, str, bool], ...] = (
    (Change.BETTER, "improved", False),
    (Change.REGRESSION, "regressed beyond threshold", False),
    (Change.WORSE, "worse within threshold", False),
    (Change.NOISE, "within noise (not significant)", False),
    (Change.SAME, "unchanged", False),
    (Change.NEW, "new", True),
    (Change.MISSING, "missing (only in production)", False),
    (Change.UNDEFINED, "not comparable (NaN or infinite)", False),
)


def summary(rows: Sequence[MetricRow]) -> dict[Change, int]:
    """How many cells have each change; every Change is a key (0 when absent)."""
    counts = dict.fromkeys(Change, 0)
    for row in rows:
        for cell in row.cells:
            counts[cell.change] += 1
    return counts


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{word}s"


def _counted(counts: dict[Change, int], noun: str) -> list[str]:
    parts: list[str] = []
    for change, words, noun_first in _PHRASES:
        n = counts[change]
        if not n:
            continue
        if parts:
            parts.append(f"{n} {words}")
        elif noun_first:
            parts.append(f"{n} {words} {_plural(n, noun)}")
        else:
            parts.append(f"{n} {_plural(n, noun)} {words}")
    return parts


def _side(bars: Sequence[str]) -> str:
    """How missed bars read together: "below", "above" or "outside"."""
    sides = {b.split(" ", 1)[0] for b in bars}
    return sides.pop() if len(sides) == 1 and sides <= {"below", "above"} else "outside"


def _bars(rows: Sequence[MetricRow]) -> str:
    """ "; 1 value above its bar" / "; 2 bars on metrics not logged"."""
    missed = [cell.missed for row in rows for cell in row.cells if cell.missed]
    absent = sum(1 for m in missed if m == (NOT_LOGGED,))
    present = [m for m in missed if m != (NOT_LOGGED,)]
    parts = []
    if present:
        n, side = len(present), _side([m[0] for m in present])
        parts.append(f"{n} {_plural(n, 'value')} {side} {'its' if n == 1 else 'their'} bar")
    if absent:
        on = "a metric" if absent == 1 else "metrics"
        parts.append(f"{absent} {_plural(absent, 'bar')} on {on} not logged")
    return "".join(f"; {p}" for p in parts)


def _pct(cell: MetricCell) -> str:
    return f"{abs(cell.rel_delta) * 100:.3g}%" if cell.rel_delta is not None else ""


def _moved(cell: MetricCell) -> str:
    return "rose" if (cell.delta or 0) > 0 else "fell"


def _gaps(rows: Sequence[MetricRow], index: int) -> list[tuple[MetricRow, MetricRow]]:
    """(training row, evaluation row) pairs where training improved and evaluation got
    worse: the same metric on another set, else any evaluation metric of the same
    direction."""
    evaluation = [r for r in rows if r.role is Role.EVALUATION and index < len(r.cells)]
    pairs = []
    for train in (r for r in rows if r.role is Role.TRAINING and index < len(r.cells)):
        if train.cells[index].change is not Change.BETTER:
            continue
        same = [r for r in evaluation if base_name(r.key) == base_name(train.key)]
        pool = same or [r for r in evaluation if r.direction is train.direction]
        pairs += [(train, r) for r in pool if r.cells[index].change in WORSE_CHANGES]
    return pairs


def generalisation_gap(rows: Sequence[MetricRow], index: int = 0) -> str | None:
    """The training metric that improved while its evaluation counterpart got worse the
    most, for candidate `index`, in words; None when there is none."""
    pairs = _gaps(rows, index)
    if not pairs:
        return None
    train, held = max(pairs, key=lambda p: abs(p[1].cells[index].rel_delta or 0.0))
    mine, theirs = train.cells[index], held.cells[index]
    return GAP.format(
        train=f"`{train.key}`",
        fell=_moved(mine),
        train_pct=_pct(mine),
        held=f"`{held.key}`",
        rose=_moved(theirs),
        held_pct=_pct(theirs),
    )


def single_runs(rows: Sequence[MetricRow]) -> bool:
    """Whether changes in `rows` rest on single values only (no noise estimate)."""
    cells = [c for r in rows for c in r.cells]
    moved = any(c.change in MOVED for c in cells)
    return moved and not any(c.estimate is not None or c.spread is not None for c in cells)


def verdict_line(rows: Sequence[MetricRow], has_baseline: bool, n_candidates: int) -> str:
    """One line for the top of the comment, e.g. "2 metrics improved, 1 regressed ..."."""
    if n_candidates == 0:
        return "No runs to review"
    counted = counted_rows(rows)
    if not counted:
        return "No metrics logged" if not rows else "No evaluation or training metrics logged"
    bars = _bars(rows)
    if not has_baseline:
        whose = "the candidate's" if n_candidates == 1 else f"the {n_candidates} candidates'"
        return f"No production model to compare with: showing {whose} metrics{bars}"
    counts = summary(counted)
    total = sum(counts.values())
    noun = "metric" if n_candidates == 1 else "metric value"
    if counts[Change.SAME] == total and total > 1:
        line = f"All {total} {noun}s unchanged"
    else:
        line = ", ".join(_counted(counts, noun))
    line += bars
    if counted[0].role is Role.TRAINING:
        line += f" ({TRAINING_ONLY})"
    if single_runs(counted):
        line += f"; {SINGLE_RUNS}"
    gap = generalisation_gap(rows) if n_candidates == 1 else None
    line = f"{gap[0].upper()}{gap[1:]} {line}" if gap else line
    return line if n_candidates == 1 else f"Across {n_candidates} runs: {line}"
