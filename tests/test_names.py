from __future__ import annotations

import pytest

from bot.domain import Direction
from bot.review.names import base_name, eval_set, guess_direction, library_direction, name_tokens

HIGHER, LOWER = Direction.HIGHER, Direction.LOWER


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


# --- library metric names -----------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "valid_0-l1", "valid_0-l2", "valid_1-l2", "valid_1-l2_root", "valid_0-rmse",
        "valid_0-mae", "valid_0-mape", "valid_0-huber", "valid_0-binary_logloss",
        "valid_1-multi_logloss", "valid_0-binary_error", "validation_0-rmse",
        "validation_0-mae", "validation_0-logloss", "validation_1-mlogloss",
        "validation_0-error", "validation_0-merror", "training-l2", "loss", "val_loss",
        "train_loss", "valid_0-cox-nloglik",
    ],
)  # fmt: skip
def test_library_losses_are_lower_is_better(key: str) -> None:
    assert library_direction(key) is LOWER
    assert guess_direction(key) is LOWER


@pytest.mark.parametrize(
    "key",
    ["valid_0-auc", "validation_0-aucpr", "valid_1-ndcg@5", "valid_0-map@10",
     "valid_1-average_precision", "val_accuracy", "valid_0-auc_mu"],
)  # fmt: skip
def test_library_scores_are_higher_is_better(key: str) -> None:
    assert library_direction(key) is HIGHER
    assert guess_direction(key) is HIGHER


@pytest.mark.parametrize("key", ["roc_auc_score", "r2_score", "precision", "l2norm", "errorless"])
def test_no_library_name_no_library_direction(key: str) -> None:
    assert library_direction(key) is None


@pytest.mark.parametrize(
    ("key", "base"),
    [
        ("valid_0-l2", "l2"), ("valid_1-l2", "l2"), ("training-l2", "l2"),
        ("validation_0-rmse", "rmse"), ("training_log_loss", "log_loss"),
        ("training_roc_auc", "roc_auc"), ("val_loss", "loss"), ("train_loss", "loss"),
        ("rmse_train", "rmse"), ("test/accuracy", "accuracy"), ("roc_auc", "roc_auc"),
        ("training_accuracy_score", "accuracy_score"), ("train", "train"),
    ],
)  # fmt: skip
def test_base_name_drops_the_data_set(key: str, base: str) -> None:
    assert base_name(key) == base


def test_eval_set_names_the_library_set() -> None:
    assert eval_set("valid_0-l2") == "valid_0"
    assert eval_set("validation_1-rmse") == "validation_1"
    assert eval_set("training-l2") == "training"
    assert eval_set("roc_auc") is None
    assert eval_set("val_loss") is None
