from __future__ import annotations

import pytest

from bot.config.schema import MetricRoles, MetricRule, MetricsConfig, load_config
from bot.domain import DatasetInfo, Direction, LoggedModelInfo, Role, RunSnapshot
from bot.review.roles import eval_set_hint, metric_role, unmatched_globs

EVALUATION, TRAINING, INFO = Role.EVALUATION, Role.TRAINING, Role.INFORMATIONAL


@pytest.mark.parametrize(
    ("key", "role"),
    [
        # sklearn autolog and mlflow.models.evaluate
        ("training_log_loss", TRAINING), ("training_roc_auc", TRAINING),
        ("training_score", TRAINING), ("RandomForestClassifier_score_X_train", TRAINING),
        ("RandomForestClassifier_score_X_val", EVALUATION), ("roc_auc", EVALUATION),
        ("log_loss", EVALUATION), ("example_count", INFO), ("true_positives", INFO),
        ("false_negatives", INFO), ("mean_on_target", INFO), ("sum_on_target", INFO),
        ("root_mean_squared_error", EVALUATION), ("max_error", EVALUATION),
        # LightGBM / XGBoost autolog
        ("valid_1-l2", EVALUATION), ("training-l2", TRAINING), ("best_iteration", INFO),
        ("stopped_iteration", INFO), ("validation_0-rmse", EVALUATION),
        # Keras and hand-named
        ("train_loss", TRAINING), ("val_loss", EVALUATION), ("rmse_train", TRAINING),
        ("epoch", INFO), ("fit_time", INFO), ("train_duration_seconds", INFO),
        ("p99_latency_ms", EVALUATION), ("num_trees", INFO), ("n_rows_count", INFO),
    ],
)  # fmt: skip
def test_default_roles(key: str, role: Role) -> None:
    assert metric_role(MetricsConfig(), key) is role


def test_configured_roles_win_exact_name_first() -> None:
    roles = MetricRoles(
        evaluation=("valid_*", "example_count"), training=("valid_0-*",), informational=()
    )
    config = MetricsConfig(roles=roles)
    assert metric_role(config, "valid_0-l2") is EVALUATION  # evaluation globs come first
    config = MetricsConfig(roles=MetricRoles(evaluation=("valid_*",), training=("valid_0-l2",)))
    assert metric_role(config, "valid_0-l2") is TRAINING  # the exact name wins
    assert metric_role(config, "valid_1-l2") is EVALUATION
    assert metric_role(MetricsConfig(roles=roles), "example_count") is EVALUATION


def test_rule_directions_move_roles() -> None:
    none = MetricsConfig(rules=(MetricRule("accuracy", direction=Direction.NONE),))
    assert metric_role(none, "accuracy") is INFO
    timed = MetricsConfig(rules=(MetricRule("inference_time", direction=Direction.LOWER),))
    assert metric_role(timed, "inference_time") is EVALUATION
    assert metric_role(MetricsConfig(), "inference_time") is INFO
    # a direction does not make a training metric evaluation
    train = MetricsConfig(rules=(MetricRule("training_*", direction=Direction.LOWER),))
    assert metric_role(train, "training_loss") is TRAINING


def _run(context: str) -> RunSnapshot:
    data = DatasetInfo("frame", digest="d1", context=context)
    on_it = dict.fromkeys(("rmse", "example_count", "training_score"), ("frame", "d1"))
    model = LoggedModelInfo("m-1", metric_datasets=on_it)
    return RunSnapshot("r", "1", metrics={"rmse": 1.0}, datasets=(data,), logged_models=(model,))


def test_the_metric_s_own_dataset_context_decides() -> None:
    assert metric_role(MetricsConfig(), "rmse", [_run("training")]) is TRAINING
    assert metric_role(MetricsConfig(), "rmse", [_run("eval")]) is EVALUATION
    assert metric_role(MetricsConfig(), "rmse", [_run("other")]) is EVALUATION
    # evaluate()'s counts on the holdout stay counts; a training context wins
    assert metric_role(MetricsConfig(), "example_count", [_run("eval")]) is INFO
    assert metric_role(MetricsConfig(), "example_count", [_run("train")]) is TRAINING
    assert metric_role(MetricsConfig(), "training_score", [_run("eval")]) is EVALUATION
    # the config still wins over the dataset
    config = MetricsConfig(roles=MetricRoles(evaluation=("rmse",)))
    assert metric_role(config, "rmse", [_run("training")]) is EVALUATION


def test_unmatched_globs() -> None:
    config = MetricsConfig(roles=MetricRoles(training=("valid_0-*", "trn_*"), evaluation=("x",)))
    assert unmatched_globs(config, ["valid_0-l2", "valid_1-l2"]) == ["x", "trn_*"]


@pytest.mark.parametrize(
    ("roles", "counted", "hinted"),
    [
        ("", ["valid_0-l2", "valid_1-l2"], "valid_0-*"),
        ("", ["validation_0-rmse", "validation_1-rmse", "auc"], "validation_0-*"),
        ("", ["valid_1-l2"], None),  # one eval set: nothing to tell apart
        ("", ["valid_0-l2", "validation_1-rmse"], None),
        ('{evaluation: ["valid_*"]}', ["valid_0-l2", "valid_1-l2"], None),  # said on purpose
        ('{training: ["valid_0-*"]}', ["valid_1-l2"], None),
    ],
)
def test_eval_set_hint_only_when_two_positional_sets_count_without_a_role(
    roles: str, counted: list[str], hinted: str | None
) -> None:
    config = load_config(f"metrics:\n  roles: {roles}\n" if roles else "").metrics
    hint = eval_set_hint(config, counted)
    if hinted is None:
        assert hint == ""
    else:
        assert f'`metrics.roles: {{training: ["{hinted}"]}}`' in hint


@pytest.mark.parametrize(
    ("logged", "key", "role"),
    [
        ({"score": 0.9, "accuracy_score": 0.9}, "score", INFO),  # a classifier's evaluate()
        ({"score": 0.8, "r2_score": 0.8}, "score", INFO),  # a regressor's
        ({"training_score": 1.0, "training_accuracy_score": 1.0}, "training_score", INFO),
        ({"score": 0.9}, "score", EVALUATION),  # nothing it repeats
        ({"score": 0.9, "training_accuracy_score": 1.0}, "score", EVALUATION),  # another set
        ({"f1_score": 0.9, "accuracy_score": 0.9}, "f1_score", EVALUATION),
    ],
)
def test_sklearn_default_score_beside_what_it_repeats_is_informational(
    logged: dict[str, float], key: str, role: Role
) -> None:
    run = RunSnapshot("r", "1", metrics=logged)
    assert metric_role(MetricsConfig(), key, [run]) is role
    ruled = load_config(f"metrics:\n  rules:\n    {key}: {{direction: higher}}\n").metrics
    assert metric_role(ruled, key, [run]) is (
        TRAINING if key.startswith("training") else EVALUATION
    )
