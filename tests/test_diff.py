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
    Role,
    RunSnapshot,
    Threshold,
)
from bot.review.diff import compare_metric, metric_rows, param_diffs

HIGHER, LOWER = Direction.HIGHER, Direction.LOWER
NONE = Threshold()
INF, NAN = math.inf, math.nan


def run(run_id: str, metrics: dict[str, float] | None = None,
        params: dict[str, str] | None = None) -> RunSnapshot:  # fmt: skip
    return RunSnapshot(run_id=run_id, experiment_id="1", metrics=metrics or {},
                       params=params or {})  # fmt: skip


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


# --- practical change, roles and groups ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "base", "min_change", "change"),
    [
        (0.9999, 0.9998, Threshold(0.001, relative=True), Change.SAME),  # +0.01%
        (0.9998, 0.9999, Threshold(0.001, relative=True), Change.SAME),
        (1.0011, 1.0, Threshold(0.001, relative=True), Change.BETTER),
        (0.9989, 1.0, Threshold(0.001, relative=True), Change.REGRESSION),
        (-1.0005, -1.0, Threshold(0.001, relative=True), Change.SAME),
        (1e-9, 0.0, Threshold(0.001, relative=True), Change.BETTER),  # a zero baseline
        (0.9999, 0.9998, Threshold(), Change.BETTER),  # 0 restores the exact comparison
        (0.9999, 0.9998, None, Change.BETTER),
        (0.5, 0.49, Threshold(0.02), Change.SAME),  # absolute
        (0.5, 0.47, Threshold(0.02), Change.BETTER),
    ],
)
def test_differences_below_min_change_are_unchanged(
    value: float, base: float, min_change: Threshold | None, change: Change
) -> None:
    cell = compare_metric(value, base, HIGHER, NONE, min_change=min_change)
    assert cell.change is change


def test_no_direction_is_changed_never_better_or_worse() -> None:
    assert compare_metric(90, 110, Direction.NONE, NONE).change is Change.CHANGED
    assert compare_metric(110, 110, Direction.NONE, NONE).change is Change.SAME
    assert compare_metric(None, 110, Direction.NONE, NONE).change is Change.MISSING


def test_rows_carry_roles_and_informational_rows_have_no_direction() -> None:
    base = run("b", {"roc_auc": 0.9, "training_log_loss": 0.05, "example_count": 171})
    cand = run("c", {"roc_auc": 0.92, "training_log_loss": 0.08, "example_count": 171})
    rows = {r.key: r for r in metric_rows([cand], base, MetricsConfig())}
    assert rows["roc_auc"].role is Role.EVALUATION
    assert rows["training_log_loss"].role is Role.TRAINING
    assert rows["training_log_loss"].cells[0].change is Change.REGRESSION
    assert rows["example_count"].role is Role.INFORMATIONAL
    assert rows["example_count"].direction is Direction.NONE
    assert rows["example_count"].cells[0].change is Change.SAME


def test_lightgbm_losses_get_the_right_direction_in_rows() -> None:
    base = run("b", {"valid_1-l2": 1.185, "best_iteration": 80})
    cand = run("c", {"valid_1-l2": 1.118, "best_iteration": 65})
    rows = {r.key: r for r in metric_rows([cand], base, MetricsConfig())}
    assert rows["valid_1-l2"].direction is LOWER
    assert rows["valid_1-l2"].cells[0].change is Change.BETTER
    assert rows["best_iteration"].cells[0].change is Change.CHANGED


def test_one_metric_on_several_sets_stays_together() -> None:
    base = run("b", {"valid_0-l2": 1.0, "valid_1-l2": 1.0, "auc": 0.8, "zz": 1.0})
    cand = run("c", {"valid_0-l2": 2.0, "valid_1-l2": 0.9, "auc": 0.7, "zz": 1.0})
    keys = [r.key for r in metric_rows([cand], base, MetricsConfig())]
    assert keys == ["auc", "valid_0-l2", "valid_1-l2", "zz"]
    cand = run("c", {"valid_0-l2": 2.0, "valid_1-l2": 0.9, "auc": 0.9, "zz": 1.0})
    keys = [r.key for r in metric_rows([cand], base, MetricsConfig())]
    assert keys == ["valid_0-l2", "valid_1-l2", "auc", "zz"]


def test_rows_name_their_bars() -> None:
    rule = MetricRule("auc", min=0.98, max=0.999)
    rows = metric_rows([run("c", {"auc": 0.99})], None, MetricsConfig(rules=(rule,)))
    assert rows[0].bars == ("≥ 0.98", "≤ 0.999")
