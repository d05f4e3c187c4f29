"""What the verdict counts, on runs logged the way teams log them (tests/real_projects.py)
and read back from the real MLflow server: issue #21's findings 2, 5, 8, 9 (directions),
10, 11 and 12 (the metric parts).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app.offline import EXIT_UNRESOLVED
from bot.cli import main
from bot.config.schema import Config, load_config
from bot.domain import Change, Direction, MetricRow, ReviewReport, Role
from bot.render.comment import render_comment
from bot.review.pipeline import ReviewRequest, build_review
from bot.tracking.client import MlflowRuns
from tests.real_projects import LightgbmProject, SklearnProject, XgboostRun

# The LightGBM and XGBoost projects pass the training set first in `eval_set`: the
# team says so, as the README's "Metric roles" asks.
BOOSTING_ROLES = 'metrics:\n  roles:\n    training: ["valid_0-*", "validation_0-*"]\n'


def _review(uri: str, run_id: str, config: Config | None = None) -> ReviewReport:
    request = ReviewRequest(texts=[f"runs:/{run_id}/model"])
    return build_review(request, MlflowRuns(uri), config or Config())


def _rows(report: ReviewReport) -> dict[str, MetricRow]:
    return {row.key: row for row in report.metric_rows}


def _verdict(report: ReviewReport) -> str:
    return render_comment(report).split("\n**", 1)[1].split("**\n", 1)[0]


# --- finding 2: training metrics do not drive the verdict (scikit-learn autolog) ------


@pytest.fixture(scope="module")
def sklearn_review(sklearn_project: SklearnProject) -> ReviewReport:
    return _review(sklearn_project.tracking_uri, sklearn_project.candidate_run)


def test_autolog_training_metrics_are_their_own_table_not_the_verdict(
    sklearn_review: ReviewReport,
) -> None:
    rows = _rows(sklearn_review)
    assert sklearn_review.baseline.run is not None
    training = [k for k, r in rows.items() if r.role is Role.TRAINING]
    assert "training_log_loss" in training and "training_roc_auc" in training
    assert rows["roc_auc"].role is Role.EVALUATION
    assert rows["example_count"].role is Role.INFORMATIONAL
    assert rows["example_count"].direction is Direction.NONE
    counted = sum(len(r.cells) for r in rows.values() if r.role is Role.EVALUATION)
    verdict = _verdict(sklearn_review)
    numbers = [int(w) for w in verdict.replace(",", " ").split() if w.isdigit()]
    assert sum(numbers) == counted  # every counted value is an evaluation metric's
    text = render_comment(sklearn_review)
    assert "<details><summary>Training metrics (" in text
    main_table = text.split("<details><summary>Training metrics", 1)[0]
    assert "`training_log_loss`" not in main_table
    assert "| `example_count` | · |" in main_table


def test_a_tiny_training_change_is_unchanged_and_single_runs_are_called_noise(
    sklearn_review: ReviewReport,
) -> None:
    rows = _rows(sklearn_review)
    auc = rows["training_roc_auc"].cells[0]
    base = rows["training_roc_auc"].baseline
    assert auc.value is not None and base is not None
    if abs(auc.value - base) < 0.001 * abs(base):
        assert auc.change is Change.SAME
    verdict = _verdict(sklearn_review)
    moved = any(
        c.change in (Change.BETTER, Change.WORSE, Change.REGRESSION)
        for r in rows.values()
        if r.role is Role.EVALUATION
        for c in r.cells
    )
    assert verdict.endswith("single runs: differences may be noise") is moved
    assert ("Is the difference real?" in render_comment(sklearn_review)) is moved


# --- finding 5: a typo in a bar is named, fails `render`, holds the gate ---------------


def test_a_typo_in_a_bar_is_named_with_a_did_you_mean(sklearn_project: SklearnProject) -> None:
    config = load_config("metrics:\n  rules:\n    rocauc: {min: 0.98}\n")
    report = _review(sklearn_project.tracking_uri, sklearn_project.candidate_run, config)
    assert report.misnamed == ("bar `rocauc`: no run logs it — did you mean `roc_auc`?",)
    assert report.bars_not_logged == ("rocauc",)
    assert "did you mean `roc_auc`?" in render_comment(report)


def test_render_exits_3_for_a_typo_in_a_bar(
    sklearn_project: SklearnProject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "model-review.yml"
    config.write_text("metrics:\n  rules:\n    rocauc: {min: 0.98}\n", encoding="utf-8")
    uri, run = sklearn_project.tracking_uri, sklearn_project.candidate_run
    args = ["render", "--tracking-uri", uri, "--run", run, "--config", str(config)]
    assert main(args) == EXIT_UNRESOLVED
    err = capsys.readouterr().err
    assert "did you mean `roc_auc`?" in err
    gate = "the gate `model-review` before any review: pending — a bar on `rocauc`, which"
    assert gate in err
    strict = "gate:\n  fail_on_regression: true\n"
    config.write_text(f"metrics:\n  rules:\n    rocauc: {{min: 0.98}}\n{strict}", encoding="utf-8")
    assert main(args) == EXIT_UNRESOLVED
    assert "before any review: failure — a bar on `rocauc`" in capsys.readouterr().err
    config.write_text("metrics:\n  rules:\n    roc_auc: {min: 0.5}\n", encoding="utf-8")
    assert main(args) == 0
    assert "before any review: pending — no reviewer assigned" in capsys.readouterr().err


# --- findings 8, 9, 10, 11, 12: LightGBM autolog ---------------------------------------


@pytest.fixture(scope="module")
def lgbm_config(lightgbm_project: LightgbmProject) -> Config:
    return load_config(f"baseline:\n  model: {lightgbm_project.model_name}\n{BOOSTING_ROLES}")


def test_lightgbm_losses_are_lower_is_better(
    lightgbm_project: LightgbmProject, lgbm_config: Config
) -> None:
    report = _review(lightgbm_project.tracking_uri, lightgbm_project.candidate_run, lgbm_config)
    rows = _rows(report)
    assert rows["valid_1-l2"].direction is Direction.LOWER
    assert rows["valid_0-l2"].role is Role.TRAINING
    cell, base = rows["valid_1-l2"].cells[0], rows["valid_1-l2"].baseline
    assert cell.value is not None and base is not None and cell.value < base  # a better model
    assert cell.change is Change.BETTER
    assert "| `valid_1-l2` | ↓ |" in render_comment(report)


def test_iterations_and_counts_have_no_direction(
    lightgbm_project: LightgbmProject, lgbm_config: Config
) -> None:
    report = _review(lightgbm_project.tracking_uri, lightgbm_project.candidate_run, lgbm_config)
    rows = _rows(report)
    for key in ("best_iteration", "example_count", "sum_on_target", "mean_on_target"):
        assert rows[key].role is Role.INFORMATIONAL, key
        assert rows[key].direction is Direction.NONE, key
        assert rows[key].cells[0].change in (Change.SAME, Change.CHANGED), key
    assert rows["max_error"].direction is Direction.LOWER
    assert rows["r2_score"].direction is Direction.HIGHER


def test_the_overfit_run_is_called_out_first(
    lightgbm_project: LightgbmProject, lgbm_config: Config
) -> None:
    report = _review(lightgbm_project.tracking_uri, lightgbm_project.overfit_run, lgbm_config)
    rows = _rows(report)
    assert rows["valid_0-l2"].cells[0].change is Change.BETTER  # training loss collapsed
    assert rows["valid_1-l2"].cells[0].change is Change.REGRESSION
    verdict = _verdict(report)
    assert verdict.startswith("Training `valid_0-l2` fell ")
    assert "overfitting?" in verdict.split(". ", 1)[0]


def test_fail_on_regression_looks_at_evaluation_metrics_only(
    lightgbm_project: LightgbmProject,
) -> None:
    text = f"baseline:\n  model: {lightgbm_project.model_name}\n{BOOSTING_ROLES}"
    config = load_config(text + "gate:\n  fail_on_regression: true\n")
    report = _review(lightgbm_project.tracking_uri, lightgbm_project.candidate_run, config)
    from bot.review.policy import metric_blockers

    blockers = metric_blockers(report) or ""
    assert "valid_0" not in blockers and "iteration" not in blockers
    assert "_on_target" not in blockers and "example_count" not in blockers


def test_a_missed_max_bar_says_above(lightgbm_project: LightgbmProject) -> None:
    text = f"baseline:\n  model: {lightgbm_project.model_name}\n{BOOSTING_ROLES}"
    config = load_config(text + "  rules:\n    max_error: {max: 0.001}\n")
    report = _review(lightgbm_project.tracking_uri, lightgbm_project.candidate_run, config)
    assert "; 1 value above its bar;" in _verdict(report)
    assert "| 🚫 above max 0.001 |" in render_comment(report)


def test_xgboost_losses_are_lower_is_better(xgboost_run: XgboostRun) -> None:
    config = load_config(BOOSTING_ROLES)
    report = _review(xgboost_run.tracking_uri, xgboost_run.run_id, config)
    rows = _rows(report)
    for key in ("validation_1-logloss", "validation_1-error"):
        assert rows[key].direction is Direction.LOWER, key
        assert rows[key].role is Role.EVALUATION, key
    assert rows["validation_1-auc"].direction is Direction.HIGHER
    assert rows["validation_0-logloss"].role is Role.TRAINING
