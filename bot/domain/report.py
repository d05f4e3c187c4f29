"""The review as a whole (ReviewReport) and the model's record: production's history,
earlier reviews, the run count since production.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bot.domain.metrics import (
    Change,
    CheckItem,
    HostedImage,
    MetricRow,
    NotesSummary,
    ParamDiff,
    Threshold,
    counted_rows,
)
from bot.domain.modelchanges import ChangeReport
from bot.domain.runs import Baseline, Candidate, Unresolved

# --- the model's record: production history, earlier reviews, the search ------


class LedgerAction(Enum):
    """How a version came to hold the production alias."""

    PROMOTE = "promote"  # a merged, approved PR (model-review moved the alias)
    ROLLBACK = "rollback"  # `model-review rollback`
    RECORDED = "recorded"  # known from the version's tags only (before the ledger)
    OUTSIDE = "outside"  # holds the alias now, with no record: set by hand


@dataclass(frozen=True)
class HistoryEntry:
    """One version that held the production alias, and how it got there."""

    version: str
    action: LedgerAction
    at: str = ""  # ISO 8601 UTC; "" when not known
    previous: str | None = None  # the version it replaced ("none": the first one)
    pr: str | None = None  # the PR that promoted it
    approvers: tuple[str, ...] = ()
    by: str | None = None  # who rolled back
    reason: str | None = None
    key: str | None = None  # idempotency key: "merge:<sha>", "rollback:<id>"


@dataclass(frozen=True)
class PriorReview:
    """A PR that reviewed a version of the model (from the version's tags)."""

    version: str
    pr: str
    status: str  # model_review.status
    approvers: tuple[str, ...] = ()
    at: str = ""  # when approved, if it was


@dataclass(frozen=True)
class RunCount:
    """How many runs the candidate's experiment holds since production was trained."""

    experiment_id: str
    experiment_name: str | None
    count: int
    capped: bool = False  # more than `count` exist: shown as "1,000+"
    since: int | None = None  # ms since epoch: production run's start; None: all runs


@dataclass(frozen=True)
class ModelHistory:
    """The registered model's story for the review: production's history, whether
    production was ever reviewed, earlier reviews, and the search behind the candidate."""

    model: str
    production: str | None = None  # the version holding the alias now
    reviewed: bool | None = None  # production approved through model-review (None: no prod)
    history: tuple[HistoryEntry, ...] = ()  # newest first
    prior_reviews: tuple[PriorReview, ...] = ()  # newest first
    runs_since: RunCount | None = None
    # this PR's repository on GitHub ("https://HOST/OWNER/NAME"): only PR links into it
    # are shown as links (a `pr` value in MLflow is text anyone who can log may write)
    repo_url: str | None = None


# --- the review as a whole ---------------------------------------------------


@dataclass(frozen=True)
class ReviewReport:
    """Everything the comment shows about the model(s) under review."""

    candidates: tuple[Candidate, ...]
    baseline: Baseline
    metric_rows: tuple[MetricRow, ...] = ()
    param_diffs: tuple[ParamDiff, ...] = ()  # one per candidate
    notes: tuple[NotesSummary | None, ...] = ()  # one per candidate
    checklists: tuple[tuple[CheckItem, ...], ...] = ()  # one per candidate
    unresolved: tuple[Unresolved, ...] = ()
    ui_base: str | None = None  # MLflow UI address for links, no trailing slash
    images: tuple[HostedImage, ...] = ()
    images_note: str | None = None  # why there are no images, where to look instead
    problems: tuple[str, ...] = ()  # user-facing errors met while reviewing
    # references the caps of bot.review.refs left out (past 50, plus texts cut): the
    # gate cannot say what they name, so it is never `success` over them
    capped: int = 0
    history: ModelHistory | None = None  # production's history, earlier reviews (issue #16)
    uncertainty_notes: tuple[str, ...] = ()  # where the intervals came from, what was refused
    changes: tuple[ChangeReport, ...] = ()  # what changed besides metrics, per candidate
    min_change: Threshold | None = None  # smaller differences were called unchanged
    # exact metric names in the config (rules, plots.curves, step_samples) that no
    # reviewed run logs, user-facing with a did-you-mean: `render` exits 3 for them
    misnamed: tuple[str, ...] = ()
    unmatched_names: tuple[str, ...] = ()  # config globs that match no metric (a mention)
    bars_not_logged: tuple[str, ...] = ()  # metrics with a bar a candidate lacks: hold the gate
    roles_hint: str = ""  # two positional eval sets count: how to give the first a role

    @property
    def regressions(self) -> int:
        """Regressions of the metrics the verdict counts (bot.domain.counted_rows)."""
        rows = counted_rows(self.metric_rows)
        return sum(1 for row in rows for c in row.cells if c.change is Change.REGRESSION)

    @property
    def missed_bars(self) -> int:
        return sum(1 for row in self.metric_rows for c in row.cells if c.missed)
