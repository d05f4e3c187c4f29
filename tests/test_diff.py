from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config.schema import MetricRule, MetricsConfig, ParamsConfig
from bot.domain import (
    Change,
    Direction,
    MetricCell,
    MetricRow,
    ParamChange,
    ParamChangeKind,
    RunSnapshot,
    Threshold,
)
from bot.review.diff import (
    compare_metric,
    guess_direction,
    metric_rows,
    name_tokens,
    param_diffs,
    summary,
    verdict_line,
)

HIGHER, LOWER = Direction.HIGHER, Direction.LOWER
NONE = Threshold()
INF, NAN = math.inf, math.nan


def run(run_id: str, metrics: dict[str, float] | None = None,
        params: dict[str, str] | None = None) -> RunSnapshot:  # fmt: skip
    return RunSnapshot(run_id=run_id, experiment_id="1", metrics=metrics or {},
                       params=params or {})  # fmt: skip


# --- guess_direction ---------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "loss", "val_loss", "eval/rmse", "trainingLogLoss", "p99_latency_ms", "log_loss",
        "logloss", "mse", "MAE", "test-mape", "smape", "perplexity", "val.perplexity",
        "inference_time", "fit_duration_seconds", "wer", "cer", "fpr", "FNR",
        "false_positive_rate", "falsePositives", "false_negatives", "brier_score",
        "cross_entropy", "hinge_loss", "mean_squared_error", "MSELoss", "valRMSE",
        "HTTPLatency", "eval/error_rate", "train_err", "negative_log_likelihood", "nll",
        "expected_cost", "kl_divergence", "ece",
    ],
)  # fmt: skip
def test_lower_is_better_names(key: str) -> None:
    assert guess_direction(key) is LOWER


@pytest.mark.parametrize(
    "key",
    [
        "precision", "accuracy", "f1", "roc_auc", "r2", "errorless", "recall",
        "training_score", "top1_accuracy", "val/auc", "map@10", "log_likelihood",
        "uptime", "timestamp", "ndcg", "throughput", "neg_log_loss",
        "neg_mean_squared_error", "terror", "mission_rate", "lossless_ratio",
    ],
)  # fmt: skip
def test_higher_is_better_names(key: str) -> None:
    assert guess_direction(key) is HIGHER


@pytest.mark.parametrize(
    ("key", "tokens"),
    [
        ("trainingLogLoss", ["training", "log", "loss"]),
        ("p99_latency_ms", ["p", "99", "latency", "ms"]),
        ("eval/val-RMSE.best", ["eval", "val", "rmse", "best"]),
        ("MSELoss", ["mse", "loss"]),
        ("", []),
    ],
)
def test_name_tokens(key: str, tokens: list[str]) -> None:
    assert name_tokens(key) == tokens


# --- compare_metric -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "base", "direction", "threshold", "change"),
    [
        (0.9, 0.8, HIGHER, NONE, Change.BETTER),
        (0.7, 0.8, HIGHER, NONE, Change.REGRESSION),
        (0.2, 0.3, LOWER, NONE, Change.BETTER),
        (0.4, 0.3, LOWER, NONE, Change.REGRESSION),
        (0.5, 0.5, HIGHER, NONE, Change.SAME),
        (0.5 + 1e-14, 0.5, LOWER, NONE, Change.SAME),
        (0.0, -0.0, HIGHER, NONE, Change.SAME),
        (0.5, None, HIGHER, NONE, Change.NEW),
        (None, 0.5, HIGHER, NONE, Change.MISSING),
        (None, None, HIGHER, NONE, Change.MISSING),
        (NAN, 0.5, HIGHER, NONE, Change.UNDEFINED),
        (0.5, NAN, HIGHER, NONE, Change.UNDEFINED),
        (INF, 0.5, HIGHER, NONE, Change.UNDEFINED),
        (0.5, -INF, LOWER, NONE, Change.UNDEFINED),
        (INF, INF, HIGHER, NONE, Change.UNDEFINED),
        # absolute threshold: exactly at it is WORSE, beyond it REGRESSION
        (0.7, 0.8, HIGHER, Threshold(0.1), Change.WORSE),
        (0.75, 0.8, HIGHER, Threshold(0.1), Change.WORSE),
        (0.69, 0.8, HIGHER, Threshold(0.1), Change.REGRESSION),
        (0.8, 0.7, LOWER, Threshold(0.1), Change.WORSE),
        (0.81, 0.7, LOWER, Threshold(0.1), Change.REGRESSION),
        # relative threshold: a fraction of |baseline|
        (0.98, 1.0, HIGHER, Threshold(0.02, relative=True), Change.WORSE),
        (0.97, 1.0, HIGHER, Threshold(0.02, relative=True), Change.REGRESSION),
        (0.882, 0.9, HIGHER, Threshold(0.02, relative=True), Change.WORSE),
        (0.881, 0.9, HIGHER, Threshold(0.02, relative=True), Change.REGRESSION),
        (-102.0, -100.0, HIGHER, Threshold(0.02, relative=True), Change.WORSE),
        (-103.0, -100.0, HIGHER, Threshold(0.02, relative=True), Change.REGRESSION),
        (0.5, 0.0, LOWER, Threshold(0.5, relative=True), Change.REGRESSION),
        (0.5, 0.0, LOWER, Threshold(0.5), Change.WORSE),
        (0.5, 0.0, HIGHER, Threshold(0.5, relative=True), Change.BETTER),
        (1e308, -1e308, HIGHER, NONE, Change.BETTER),
        (-1e308, 1e308, HIGHER, Threshold(INF), Change.WORSE),
    ],
)
def test_compare_metric_changes(
    value: float | None, base: float | None, direction: Direction, threshold: Threshold,
    change: Change,
) -> None:  # fmt: skip
    assert compare_metric(value, base, direction, threshold).change is change


def test_compare_metric_deltas() -> None:
    cell = compare_metric(0.9, 0.8, HIGHER, NONE)
    assert cell.value == 0.9
    assert cell.delta == pytest.approx(0.1)
    assert cell.rel_delta == pytest.approx(0.125)
    negative = compare_metric(-3.0, -2.0, LOWER, NONE)
    assert negative.delta == -1.0
    assert negative.rel_delta == -0.5  # relative to |baseline|
    assert negative.change is Change.BETTER


@pytest.mark.parametrize(
    ("value", "base", "expected"),
    [
        (0.5, 0.0, MetricCell(0.5, 0.5, None, Change.REGRESSION)),
        (0.5, None, MetricCell(0.5, None, None, Change.NEW)),
        (None, 0.5, MetricCell(None, None, None, Change.MISSING)),
        (NAN, 0.5, None),
        (0.5, INF, MetricCell(0.5, None, None, Change.UNDEFINED)),
    ],
)
def test_compare_metric_undefined_deltas(
    value: float | None, base: float | None, expected: MetricCell | None
) -> None:
    cell = compare_metric(value, base, LOWER, NONE)
    assert cell.delta is None or base == 0.0
    assert cell.rel_delta is None
    if expected is not None:
        assert cell == expected
    else:
        assert cell.change is Change.UNDEFINED and math.isnan(cell.value or 0.0)


def test_negative_or_nan_threshold_counts_as_zero() -> None:
    assert compare_metric(0.79, 0.8, HIGHER, Threshold(-1.0)).change is Change.REGRESSION
    assert compare_metric(0.79, 0.8, HIGHER, Threshold(NAN)).change is Change.REGRESSION


_any_float = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))


@given(
    value=_any_float,
    base=_any_float,
    direction=st.sampled_from(Direction),
    threshold=st.builds(Threshold, st.floats(allow_nan=True, allow_infinity=True), st.booleans()),
)
def test_compare_metric_properties(
    value: float | None, base: float | None, direction: Direction, threshold: Threshold
) -> None:
    cell = compare_metric(value, base, direction, threshold)
    assert cell.value is value
    if cell.change is Change.BETTER:
        assert value is not None and base is not None
        assert (value > base) if direction is HIGHER else (value < base)
    if cell.change in (Change.WORSE, Change.REGRESSION):
        assert value is not None and base is not None
        assert (value < base) if direction is HIGHER else (value > base)
    if cell.delta is not None:
        assert value is not None and base is not None
        assert math.isfinite(value) and math.isfinite(base)
    if cell.rel_delta is not None:
        assert base not in (None, 0.0)


# --- metric_rows ---------------------------------------------------------------------


def _changes(row: MetricRow) -> list[Change]:
    return [c.change for c in row.cells]


def test_rows_cover_both_sides_and_sort_worst_first() -> None:
    base = run("b", {"accuracy": 0.8, "val_loss": 0.30, "f1": 0.7, "old_metric": 1.0,
                     "recall": 0.6, "auc": 0.9})  # fmt: skip
    cand = run("c", {"accuracy": 0.9, "val_loss": 0.35, "f1": 0.7, "new_metric": 2.0,
                     "recall": 0.59, "auc": 0.95})  # fmt: skip
    config = MetricsConfig(rules=(MetricRule("recall", threshold=Threshold(0.05)),))
    rows = metric_rows([cand], base, config)
    assert [r.key for r in rows] == [
        "val_loss",  # regression
        "recall",  # worse within its rule's threshold
        "accuracy", "auc",  # better, alphabetical
        "f1", "new_metric", "old_metric",  # the rest, alphabetical
    ]  # fmt: skip
    by_key = {r.key: r for r in rows}
    assert _changes(by_key["val_loss"]) == [Change.REGRESSION]
    assert by_key["val_loss"].direction is LOWER
    assert _changes(by_key["recall"]) == [Change.WORSE]
    assert by_key["recall"].threshold == Threshold(0.05)
    assert by_key["accuracy"].threshold == Threshold()
    assert _changes(by_key["new_metric"]) == [Change.NEW]
    assert _changes(by_key["old_metric"]) == [Change.MISSING]
    assert by_key["old_metric"].baseline == 1.0
    assert _changes(by_key["f1"]) == [Change.SAME]


def test_rows_for_several_candidates_keep_candidate_order() -> None:
    base = run("b", {"loss": 0.5})
    one, two = run("1", {"loss": 0.4}), run("2", {"loss": 0.6, "acc": 0.9})
    rows = metric_rows([one, two], base, MetricsConfig())
    assert [r.key for r in rows] == ["loss", "acc"]
    assert _changes(rows[0]) == [Change.BETTER, Change.REGRESSION]
    assert [c.value for c in rows[0].cells] == [0.4, 0.6]
    assert _changes(rows[1]) == [Change.MISSING, Change.NEW]


def test_rows_without_baseline_are_new() -> None:
    rows = metric_rows([run("c", {"b": 1.0, "a": 2.0})], None, MetricsConfig())
    assert [r.key for r in rows] == ["a", "b"]
    assert all(r.baseline is None and _changes(r) == [Change.NEW] for r in rows)


def test_no_candidates_no_rows() -> None:
    assert metric_rows([], run("b", {"a": 1.0}), MetricsConfig()) == ()


def test_rules_direction_exact_beats_glob_and_first_glob_wins() -> None:
    config = MetricsConfig(
        threshold=Threshold(0.5),
        rules=(
            MetricRule("val_*", direction=LOWER, threshold=Threshold(0.01)),
            MetricRule("val_*", direction=HIGHER),
            MetricRule("val_score", direction=HIGHER),
        ),
    )
    base = run("b", {"val_score": 1.0, "val_thing": 1.0, "other_loss": 1.0})
    cand = run("c", {"val_score": 0.9, "val_thing": 0.9, "other_loss": 1.2})
    rows = {r.key: r for r in metric_rows([cand], base, config)}
    assert rows["val_score"].direction is HIGHER  # exact name beats the earlier glob
    assert rows["val_score"].threshold == Threshold(0.5)  # rule without one: config's
    assert _changes(rows["val_score"]) == [Change.WORSE]
    assert rows["val_thing"].direction is LOWER
    assert _changes(rows["val_thing"]) == [Change.BETTER]
    assert rows["other_loss"].direction is LOWER  # guessed
    assert _changes(rows["other_loss"]) == [Change.WORSE]


def test_include_and_exclude_globs() -> None:
    cand = run("c", {"val_loss": 1.0, "val_acc": 1.0, "train_loss": 1.0, "system/cpu": 1.0})
    config = MetricsConfig(include=("val_*", "train_*"), exclude=("*_acc",))
    assert [r.key for r in metric_rows([cand], None, config)] == ["train_loss", "val_loss"]
    only_exclude = MetricsConfig(exclude=("system/*",))
    keys = [r.key for r in metric_rows([cand], None, only_exclude)]
    assert keys == ["train_loss", "val_acc", "val_loss"]


def test_nan_metric_sorts_with_the_rest() -> None:
    base = run("b", {"acc": 0.5, "zeta": 0.5})
    cand = run("c", {"acc": NAN, "zeta": 0.6})
    rows = metric_rows([cand], base, MetricsConfig())
    assert [(r.key, _changes(r)) for r in rows] == [
        ("zeta", [Change.BETTER]),
        ("acc", [Change.UNDEFINED]),
    ]


# --- param_diffs ------------------------------------------------------------------------


def test_param_diffs_changed_added_removed_ignored() -> None:
    base = run("b", params={"lr": "0.1", "depth": "6", "seed": "1", "old": "x", "same": "y"})
    cand = run("c", params={"lr": "0.05", "depth": "6", "seed": "2", "new": "z", "same": "y"})
    (diff,) = param_diffs([cand], base, ParamsConfig(ignore=("seed",)))
    assert diff.run_id == "c"
    assert diff.changes == (
        ParamChange("lr", ParamChangeKind.CHANGED, "0.1", "0.05"),
        ParamChange("new", ParamChangeKind.ADDED, None, "z"),
        ParamChange("old", ParamChangeKind.REMOVED, "x", None),
    )
    assert diff.unchanged == 2


def test_param_diffs_per_candidate_and_globs() -> None:
    base = run("b", params={"a": "1", "tmp.path": "/x"})
    diffs = param_diffs(
        [run("1", params={"a": "1", "tmp.path": "/y"}), run("2", params={"a": "2"})],
        base,
        ParamsConfig(ignore=("tmp.*",)),
    )
    assert [d.run_id for d in diffs] == ["1", "2"]
    assert diffs[0].changes == () and diffs[0].unchanged == 1
    assert diffs[1].changes == (ParamChange("a", ParamChangeKind.CHANGED, "1", "2"),)


def test_param_diffs_without_baseline_are_empty() -> None:
    diffs = param_diffs([run("c", params={"a": "1"})], None, ParamsConfig())
    assert [(d.run_id, d.changes, d.unchanged) for d in diffs] == [("c", (), 0)]


# --- summary and verdict -------------------------------------------------------------


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
    assert verdict_line(rows, has_baseline=True, n_candidates=1) == line


def test_verdict_line_several_candidates_counts_values() -> None:
    rows = [_row("a", Change.BETTER, Change.BETTER), _row("b", Change.REGRESSION, Change.SAME)]
    assert verdict_line(rows, True, 2) == (
        "Across 2 runs: 2 metric values improved, 1 regressed beyond threshold, 1 unchanged"
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
    assert verdict_line(rows, True, 1) == "2 metrics improved, 1 regressed beyond threshold"
