"""`gate.fail_on_regression`: the metrics themselves can hold the merge.

When the option is on, the status is FAILURE while any evaluation metric (the
metrics the verdict counts) regressed beyond its threshold (and, with repeated
measures, significantly: a change within noise is never a regression) or misses an
absolute bar, whatever the approvals. An ERROR (the bot
could not check) stays an ERROR. Off by default: reviewers decide.
"""

from __future__ import annotations

from dataclasses import replace

from bot.domain import Change, GateDecision, GateState, ReviewReport, counted_rows
from bot.review.gate import fit


def _names(keys: list[str]) -> str:
    shown = ", ".join(keys[:3])
    return shown + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")


def metric_blockers(report: ReviewReport) -> str | None:
    """Why the metrics hold the merge, or None."""
    counted = counted_rows(report.metric_rows)  # evaluation metrics only
    regressed = [r.key for r in counted if any(c.change is Change.REGRESSION for c in r.cells)]
    missed = [r.key for r in report.metric_rows if r.missed]
    parts = []
    if regressed:
        parts.append(f"regression in {_names(regressed)}")
    if missed:
        parts.append(f"absolute bar missed by {_names(missed)}")
    return "; ".join(parts) or None


def hold_for_metrics(
    decision: GateDecision, report: ReviewReport, fail_on_regression: bool
) -> GateDecision:
    """The decision, turned into FAILURE when the metrics hold the merge."""
    if not fail_on_regression or decision.state is GateState.ERROR:
        return decision
    blockers = metric_blockers(report)
    if blockers is None:
        return decision
    text = f"{blockers} (gate.fail_on_regression)"
    return replace(decision, state=GateState.FAILURE, description=fit(text))
