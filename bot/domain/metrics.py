"""Diffs: metric rows and cells (direction, change, thresholds, intervals), parameter
changes; the checklist, notes summary and plot images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

# --- diffs ------------------------------------------------------------------


class Direction(Enum):
    HIGHER = "higher"  # higher is better
    LOWER = "lower"  # lower is better
    NONE = "none"  # neither: shown without better/worse, never in the verdict or the gate


class Role(Enum):
    """What a metric is about (bot.review.roles): only evaluation metrics make the
    verdict and `gate.fail_on_regression`."""

    EVALUATION = "evaluation"  # measured on held-out data
    TRAINING = "training"  # measured on the training data: context, not the verdict
    INFORMATIONAL = "informational"  # counts, iterations, timings: no better or worse


class Change(Enum):
    BETTER = "better"
    WORSE = "worse"  # worse, but within the threshold
    REGRESSION = "regression"  # worse beyond the threshold
    SAME = "same"
    NEW = "new"  # only on the candidate
    MISSING = "missing"  # only on the baseline
    UNDEFINED = "undefined"  # NaN/inf or no baseline to compare with
    NOISE = "noise"  # the difference is not significant: within seed/sampling noise
    CHANGED = "changed"  # differs, but the metric has no better or worse (Direction.NONE)


@dataclass(frozen=True)
class Threshold:
    """How much worse a metric may get before it counts as a regression."""

    value: float = 0.0
    relative: bool = False  # True: value is a fraction of the baseline (0.02 = 2%)

    def describe(self) -> str:
        if self.relative:
            return f"{self.value * 100:g}%"
        return f"{self.value:g}"


@dataclass(frozen=True)
class Spread:
    """A mean of repeated measures with the half-width of its 95% t-interval."""

    mean: float
    half_width: float
    n: int


@dataclass(frozen=True)
class Estimate:
    """The difference candidate - production with its 95% interval and p-value."""

    delta: float
    low: float
    high: float
    p_value: float
    method: str  # "paired t", "Welch t", "one-sample t", "paired bootstrap"
    significant: bool = False  # after Holm's correction across the review's metrics
    rows: int | None = None  # evaluation-table rows behind a bootstrap


@dataclass(frozen=True)
class MetricCell:
    """One candidate's value of one metric, compared with the baseline."""

    value: float | None  # the mean of the samples when there are enough
    delta: float | None  # value - baseline
    rel_delta: float | None  # delta / |baseline|
    change: Change
    spread: Spread | None = None
    estimate: Estimate | None = None
    logged: float | None = None  # the run's own value when it differs from the mean
    missed: tuple[str, ...] = ()  # absolute bars not met, user-facing ("min 0.9")


@dataclass(frozen=True)
class MetricRow:
    key: str
    direction: Direction
    threshold: Threshold
    baseline: float | None
    cells: tuple[MetricCell, ...]  # one per candidate, in candidate order
    baseline_spread: Spread | None = None
    baseline_logged: float | None = None  # production's own value when it differs
    role: Role = Role.EVALUATION
    bars: tuple[str, ...] = ()  # the absolute bars of its rule, user-facing ("≥ 0.98")

    @property
    def missed(self) -> bool:
        return any(c.missed for c in self.cells)

    @property
    def worst(self) -> Change:
        order = [
            Change.REGRESSION,
            Change.WORSE,
            Change.MISSING,
            Change.UNDEFINED,
            Change.NOISE,
        ]
        for change in order:
            if any(c.change is change for c in self.cells):
                return change
        if any(c.change is Change.BETTER for c in self.cells):
            return Change.BETTER
        return self.cells[0].change if self.cells else Change.UNDEFINED


class ParamChangeKind(Enum):
    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True)
class ParamChange:
    key: str
    kind: ParamChangeKind
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ParamDiff:
    """Parameter changes of one candidate against the baseline."""

    run_id: str
    changes: tuple[ParamChange, ...]
    unchanged: int  # how many params are equal on both sides


# --- checklist and notes ----------------------------------------------------


@dataclass(frozen=True)
class CheckItem:
    label: str
    ok: bool | None  # None: not applicable / could not tell
    detail: str = ""


@dataclass(frozen=True)
class NotesSummary:
    heading: str | None
    paragraph: str | None
    full: str | None  # the whole note (escaped at render time)
    truncated: bool = False
    says_more: bool = True  # the whole note has more than the heading and paragraph


# --- plots ------------------------------------------------------------------


@dataclass(frozen=True)
class PlotImage:
    """A picture for the comment: PNG bytes plus what to say about it."""

    name: str  # stable file name, e.g. "metrics.png", "curve-val_loss.png"
    title: str
    alt: str
    png: bytes
    primary: bool = True  # False: goes into the collapsed section
    group: str = "plots"  # "metrics", "curves", "artifacts"


@dataclass(frozen=True)
class HostedImage:
    name: str
    title: str
    alt: str
    url: str
    primary: bool = True
    group: str = "plots"
    sha256: str = ""  # of the PNG, as published (the plot cache reuses it by content)


def counted_rows(rows: Sequence[MetricRow]) -> tuple[MetricRow, ...]:
    """The rows the verdict and `gate.fail_on_regression` are about: the evaluation
    metrics, or the training metrics when there is no evaluation metric at all."""
    evaluation = tuple(r for r in rows if r.role is Role.EVALUATION)
    return evaluation or tuple(r for r in rows if r.role is Role.TRAINING)
