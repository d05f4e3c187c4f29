"""bot.review.policy: gate.fail_on_regression."""

from __future__ import annotations

from bot.domain import (
    Baseline,
    Change,
    Direction,
    GateDecision,
    GateState,
    MetricCell,
    MetricRow,
    ReviewReport,
    Role,
    Threshold,
)
from bot.review.policy import hold_for_metrics

APPROVED = GateDecision(GateState.SUCCESS, "approved by @a (primary) and @b (secondary)")


def _report(change: Change, missed: tuple[str, ...] = ()) -> ReviewReport:
    cell = MetricCell(0.8, -0.1, -0.1, change, missed=missed)
    row = MetricRow("acc", Direction.HIGHER, Threshold(), 0.9, (cell,))
    return ReviewReport(candidates=(), baseline=Baseline(None, how=""), metric_rows=(row,))


def test_off_by_default_reviewers_decide() -> None:
    assert hold_for_metrics(APPROVED, _report(Change.REGRESSION), False) is APPROVED


def test_a_regression_or_a_missed_bar_fails_whatever_the_approvals() -> None:
    held = hold_for_metrics(APPROVED, _report(Change.REGRESSION), True)
    assert held.state is GateState.FAILURE
    assert held.description == "regression in acc (gate.fail_on_regression)"
    assert held.approved_by == APPROVED.approved_by
    bar = hold_for_metrics(APPROVED, _report(Change.BETTER, ("below min 0.9",)), True)
    assert bar.state is GateState.FAILURE and "absolute bar missed by acc" in bar.description


def test_within_noise_and_errors_are_left_alone() -> None:
    assert hold_for_metrics(APPROVED, _report(Change.NOISE), True) is APPROVED
    error = GateDecision(GateState.ERROR, "model-review could not check: MLflow is down")
    assert hold_for_metrics(error, _report(Change.REGRESSION), True) is error


def test_only_the_metrics_the_verdict_counts_can_fail_the_gate() -> None:
    cell = MetricCell(0.8, 0.3, 0.6, Change.REGRESSION)
    training = MetricRow("training_log_loss", Direction.LOWER, Threshold(), 0.5, (cell,),
                         role=Role.TRAINING)  # fmt: skip
    held_out = MetricRow("log_loss", Direction.LOWER, Threshold(), 0.5,
                         (MetricCell(0.4, -0.1, -0.2, Change.BETTER),))  # fmt: skip
    report = ReviewReport((), Baseline(None, how=""), metric_rows=(training, held_out))
    assert hold_for_metrics(APPROVED, report, True) is APPROVED
    # a team that logs only training metrics keeps today's gate
    alone = ReviewReport((), Baseline(None, how=""), metric_rows=(training,))
    assert hold_for_metrics(APPROVED, alone, True).state is GateState.FAILURE
