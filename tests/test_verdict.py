from __future__ import annotations

import pytest

from bot.config.schema import MetricRoles, MetricRule, MetricsConfig
from bot.domain import (
    Change,
    Direction,
    Estimate,
    MetricCell,
    MetricRow,
    Role,
    RunSnapshot,
    Threshold,
)
from bot.review.diff import metric_rows
from bot.review.verdict import (
    SINGLE_RUNS,
    TRAINING_ONLY,
    counted_rows,
    generalisation_gap,
    summary,
    verdict_line,
)

HIGHER, LOWER = Direction.HIGHER, Direction.LOWER
NONE = Threshold()


def run(run_id: str, metrics: dict[str, float]) -> RunSnapshot:
    return RunSnapshot(run_id=run_id, experiment_id="1", metrics=metrics)


def _row(key: str, *changes: Change) -> MetricRow:
    cells = tuple(MetricCell(1.0, None, None, c) for c in changes)
    return MetricRow(key, HIGHER, NONE, 1.0, cells)


def test_summary_counts_every_cell() -> None:
    rows = [_row("a", Change.BETTER, Change.REGRESSION), _row("b", Change.BETTER)]
    counts = summary(rows)
    assert counts[Change.BETTER] == 2
    assert counts[Change.REGRESSION] == 1
    assert counts[Change.SAME] == 0
    assert set(counts) == set(Change)


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        ([Change.BETTER, Change.BETTER, Change.REGRESSION, Change.WORSE],
         "2 metrics improved, 1 regressed beyond threshold, 1 worse within threshold"),
        ([Change.BETTER], "1 metric improved"),
        ([Change.REGRESSION], "1 metric regressed beyond threshold"),
        ([Change.REGRESSION, Change.REGRESSION, Change.SAME],
         "2 metrics regressed beyond threshold, 1 unchanged"),
        ([Change.WORSE, Change.WORSE], "2 metrics worse within threshold"),
        ([Change.SAME, Change.SAME, Change.SAME], "All 3 metrics unchanged"),
        ([Change.SAME], "1 metric unchanged"),
        ([Change.NEW, Change.NEW, Change.BETTER], "1 metric improved, 2 new"),
        ([Change.NEW], "1 new metric"),
        ([Change.NEW, Change.NEW], "2 new metrics"),
        ([Change.MISSING], "1 metric missing (only in production)"),
        ([Change.UNDEFINED, Change.UNDEFINED],
         "2 metrics not comparable (NaN or infinite)"),
        ([Change.BETTER, Change.SAME, Change.MISSING, Change.UNDEFINED],
         "1 metric improved, 1 unchanged, 1 missing (only in production), "
         "1 not comparable (NaN or infinite)"),
    ],
)  # fmt: skip
def test_verdict_line_one_candidate(changes: list[Change], line: str) -> None:
    rows = [_row(f"m{i}", c) for i, c in enumerate(changes)]
    moved = any(c in (Change.BETTER, Change.WORSE, Change.REGRESSION) for c in changes)
    suffix = f"; {SINGLE_RUNS}" if moved else ""
    assert verdict_line(rows, has_baseline=True, n_candidates=1) == line + suffix


def test_verdict_line_several_candidates_counts_values() -> None:
    rows = [_row("a", Change.BETTER, Change.BETTER), _row("b", Change.REGRESSION, Change.SAME)]
    assert verdict_line(rows, True, 2) == (
        "Across 2 runs: 2 metric values improved, 1 regressed beyond threshold, 1 unchanged; "
        "single runs: differences may be noise"
    )
    same = [_row("a", Change.SAME, Change.SAME)]
    assert verdict_line(same, True, 2) == "Across 2 runs: All 2 metric values unchanged"


def test_verdict_line_without_baseline_or_metrics() -> None:
    rows = [_row("a", Change.NEW)]
    assert verdict_line(rows, False, 1) == (
        "No production model to compare with: showing the candidate's metrics"
    )
    assert verdict_line(rows, False, 3) == (
        "No production model to compare with: showing the 3 candidates' metrics"
    )
    assert verdict_line([], True, 1) == "No metrics logged"
    assert verdict_line([], False, 1) == "No metrics logged"
    assert verdict_line([], True, 0) == "No runs to review"


def test_verdict_line_from_real_rows() -> None:
    base = run("b", {"accuracy": 0.8, "val_loss": 0.3, "f1": 0.5})
    cand = run("c", {"accuracy": 0.85, "val_loss": 0.25, "f1": 0.4})
    rows = metric_rows([cand], base, MetricsConfig())
    assert verdict_line(rows, True, 1) == (
        "2 metrics improved, 1 regressed beyond threshold; single runs: differences may be noise"
    )


# --- what the verdict counts ----------------------------------------------------------


def _role_row(key: str, role: Role, change: Change, rel: float = 0.1,
              direction: Direction = LOWER) -> MetricRow:  # fmt: skip
    cell = MetricCell(1.0, rel, rel, change)
    return MetricRow(key, direction, NONE, 1.0, (cell,), role=role)


def test_the_verdict_counts_evaluation_metrics_only() -> None:
    rows = [
        _role_row("roc_auc", Role.EVALUATION, Change.BETTER),
        _role_row("training_log_loss", Role.TRAINING, Change.REGRESSION),
        _role_row("example_count", Role.INFORMATIONAL, Change.CHANGED),
    ]
    assert [r.key for r in counted_rows(rows)] == ["roc_auc"]
    assert verdict_line(rows, True, 1) == f"1 metric improved; {SINGLE_RUNS}"


def test_training_metrics_count_when_nothing_is_evaluation() -> None:
    rows = [
        _role_row("train_loss", Role.TRAINING, Change.BETTER),
        _role_row("epochs", Role.INFORMATIONAL, Change.CHANGED),
    ]
    assert verdict_line(rows, True, 1) == f"1 metric improved ({TRAINING_ONLY}); {SINGLE_RUNS}"
    only_info = [_role_row("epochs", Role.INFORMATIONAL, Change.CHANGED)]
    assert verdict_line(only_info, True, 1) == "No evaluation or training metrics logged"


def test_repeated_measures_drop_the_single_runs_note() -> None:
    est = Estimate(0.1, 0.05, 0.15, 0.01, "Welch t", significant=True)
    cell = MetricCell(1.1, 0.1, 0.1, Change.BETTER, estimate=est)
    rows = [MetricRow("auc", HIGHER, NONE, 1.0, (cell,))]
    assert verdict_line(rows, True, 1) == "1 metric improved"
    same = [MetricRow("auc", HIGHER, NONE, 1.0, (MetricCell(1.0, 0.0, 0.0, Change.SAME),))]
    assert verdict_line(same, True, 1) == "1 metric unchanged"


def test_a_generalisation_gap_leads_the_verdict() -> None:
    rows = [
        _role_row("valid_1-l2", Role.EVALUATION, Change.REGRESSION, rel=0.664),
        _role_row("valid_0-l2", Role.TRAINING, Change.BETTER, rel=-1.0),
        _role_row("root_mean_squared_error", Role.EVALUATION, Change.REGRESSION, rel=0.27),
    ]
    gap = "training `valid_0-l2` fell 100% while `valid_1-l2` rose 66.4%: overfitting?"
    assert generalisation_gap(rows) == gap
    assert verdict_line(rows, True, 1).startswith(
        "Training `valid_0-l2` fell 100% while `valid_1-l2` rose 66.4%: overfitting? "
        "2 metrics regressed beyond threshold"
    )
    # no counterpart of the same metric: the holdout's metric of the same direction
    rows = [rows[1], rows[2]]
    assert generalisation_gap(rows) == (
        "training `valid_0-l2` fell 100% while `root_mean_squared_error` rose 27%: overfitting?"
    )


def test_no_gap_when_the_holdout_also_improves_or_training_got_worse() -> None:
    rows = [
        _role_row("log_loss", Role.EVALUATION, Change.BETTER, rel=-0.05),
        _role_row("training_log_loss", Role.TRAINING, Change.BETTER, rel=-0.2),
    ]
    assert generalisation_gap(rows) is None
    rows = [
        _role_row("log_loss", Role.EVALUATION, Change.REGRESSION, rel=0.05),
        _role_row("training_log_loss", Role.TRAINING, Change.REGRESSION, rel=0.2),
    ]
    assert generalisation_gap(rows) is None
    higher = _role_row("roc_auc", Role.EVALUATION, Change.REGRESSION, direction=HIGHER)
    assert generalisation_gap([rows[1], higher]) is None


def _missed(*bars: str) -> MetricRow:
    return MetricRow(
        "auc", HIGHER, NONE, None, (MetricCell(1.0, None, None, Change.NEW, missed=bars),)
    )


def test_missed_bars_say_which_side() -> None:
    assert verdict_line([_missed("above max 0.5")], False, 1).endswith("; 1 value above its bar")
    assert verdict_line([_missed("below min 0.9")], False, 1).endswith("; 1 value below its bar")
    rows = [_missed("below min 0.9"), _missed("above max 0.5")]
    assert verdict_line(rows, False, 1).endswith("; 2 values outside their bar")
    assert verdict_line([_missed("not logged")], False, 1).endswith(
        "; 1 bar on a metric not logged"
    )


def test_real_rows_from_an_autolog_run() -> None:
    base = run("b", {"roc_auc": 0.990, "training_roc_auc": 0.9998, "training_log_loss": 0.040,
                     "example_count": 171.0, "log_loss": 0.12})  # fmt: skip
    cand = run("c", {"roc_auc": 0.9905, "training_roc_auc": 0.9999, "training_log_loss": 0.060,
                     "example_count": 171.0, "log_loss": 0.10})  # fmt: skip
    rows = metric_rows([cand], base, MetricsConfig())
    assert verdict_line(rows, True, 1) == f"1 metric improved, 1 unchanged; {SINGLE_RUNS}"
    rule = MetricRule("*", threshold=Threshold(0.5, relative=True))
    rows = metric_rows([cand], base, MetricsConfig(rules=(rule,), roles=MetricRoles()))
    assert "regressed" not in verdict_line(rows, True, 1)


def test_the_gap_named_is_the_one_whose_holdout_got_worst() -> None:
    rows = [
        _role_row("valid_0-l1", Role.TRAINING, Change.BETTER, rel=-1.0),
        _role_row("valid_0-l2", Role.TRAINING, Change.BETTER, rel=-1.0),
        _role_row("valid_1-l1", Role.EVALUATION, Change.REGRESSION, rel=0.536),
        _role_row("valid_1-l2", Role.EVALUATION, Change.REGRESSION, rel=1.47),
    ]
    assert generalisation_gap(rows) == (
        "training `valid_0-l2` fell 100% while `valid_1-l2` rose 147%: overfitting?"
    )
