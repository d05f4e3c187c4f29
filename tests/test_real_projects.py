"""The realistic projects of tests/real_projects.py leave in MLflow what the other
tests rely on (and what such a project leaves: autolog's names, evaluate()'s metrics
and datasets, nested runs, the registry's alias), read back with MLflow's own client."""

from __future__ import annotations

import json
from typing import Any

from mlflow.tracking import MlflowClient

from tests.real_projects import (
    ADDED,
    DROPPED,
    FOLDS,
    HOLDOUT,
    LightgbmProject,
    SklearnProject,
    XgboostRun,
)


def _inputs(client: MlflowClient, run_id: str) -> list[tuple[str, str, int, list[str]]]:
    """(name, context, rows, columns) of each dataset input of `run_id`."""
    found = []
    for item in client.get_run(run_id).inputs.dataset_inputs:
        context = next((t.value for t in item.tags if t.key == "mlflow.data.context"), "")
        profile: dict[str, Any] = json.loads(item.dataset.profile or "{}")
        schema = json.loads(item.dataset.schema or "{}").get("mlflow_colspec", [])
        columns = [c.get("name", "") for c in schema]
        found.append((item.dataset.name, context, int(profile.get("num_rows", -1)), columns))
    return found


def _models(client: MlflowClient, run_id: str) -> list[str]:
    outputs = client.get_run(run_id).outputs
    return [o.model_id for o in (outputs.model_outputs if outputs else [])]


def test_sklearn_project(sklearn_project: SklearnProject, mlflow_client: MlflowClient) -> None:
    p = sklearn_project
    prod, cand = (mlflow_client.get_run(r) for r in (p.production_run, p.candidate_run))
    version = mlflow_client.get_model_version_by_alias(p.model_name, "production")
    assert (version.version, version.run_id) == ("1", p.production_run)
    assert mlflow_client.get_model_version(p.model_name, "2").run_id == p.candidate_run
    for run in (prod, cand):  # autolog's training metrics beside evaluate()'s
        assert {"training_log_loss", "training_roc_auc", "roc_auc", "example_count"} <= set(
            run.data.metrics
        )
    assert cand.data.params["min_samples_leaf"] == "2"
    assert cand.data.tags["mlflow.source.git.commit"] == p.candidate_commit
    for trial in p.trial_runs:
        tags = mlflow_client.get_run(trial).data.tags
        assert tags["mlflow.parentRunId"] == p.candidate_run
        assert tags["mlflow.source.git.commit"] == p.candidate_commit
    holdouts = {
        run_id: next(i for i in _inputs(mlflow_client, run_id) if i[0] == HOLDOUT)
        for run_id in (p.production_run, p.candidate_run)
    }
    (_, prod_ctx, prod_rows, prod_cols), (_, cand_ctx, cand_rows, cand_cols) = holdouts.values()
    assert (prod_ctx, cand_ctx) == ("eval", "eval")
    assert prod_rows == cand_rows == 171
    assert set(prod_cols) - set(cand_cols) == {DROPPED}
    # two logged models in the candidate run: autolog's and the team's (registered)
    assert set(_models(mlflow_client, p.candidate_run)) == {
        p.candidate_model_id,
        p.candidate_autolog_model_id,
    }
    names = {a.path for a in mlflow_client.list_artifacts(p.candidate_run)}
    assert {"roc_curve_plot.png", "precision_recall_curve_plot.png"} <= names


def test_lightgbm_project(lightgbm_project: LightgbmProject, mlflow_client: MlflowClient) -> None:
    p = lightgbm_project
    prod, cand, overfit = (
        mlflow_client.get_run(r) for r in (p.production_run, p.candidate_run, p.overfit_run)
    )
    assert mlflow_client.get_model_version_by_alias(p.model_name, "production").version == "1"
    for run in (prod, cand, overfit):  # two eval sets: valid_0 the training set, valid_1
        assert {"valid_0-l1", "valid_0-l2", "valid_1-l1", "valid_1-l2"} <= set(run.data.metrics)
        assert {"root_mean_squared_error", "max_error", "r2_score", "sum_on_target"} <= set(
            run.data.metrics
        )
    assert "best_iteration" in cand.data.metrics
    assert "best_iteration" not in overfit.data.metrics  # no early stopping
    training, holdout = "valid_0-l2", "root_mean_squared_error"
    assert overfit.data.metrics[training] < prod.data.metrics[training] / 10
    assert overfit.data.metrics[holdout] > prod.data.metrics[holdout]
    assert cand.data.metrics[holdout] < prod.data.metrics[holdout]
    assert len(p.fold_runs) == FOLDS
    for fold in p.fold_runs:
        run = mlflow_client.get_run(fold)
        assert run.data.tags["mlflow.parentRunId"] == p.candidate_run
        assert "valid_0-l2" in run.data.metrics
        assert "valid_1-l2" not in run.data.metrics
    cand_inputs = _inputs(mlflow_client, p.candidate_run)
    assert any(ADDED in columns for _, _, _, columns in cand_inputs)
    assert any(name == "dataset" for name, _, _, _ in cand_inputs)  # autolog's unnamed inputs


def test_xgboost_run(xgboost_run: XgboostRun, mlflow_client: MlflowClient) -> None:
    metrics = mlflow_client.get_run(xgboost_run.run_id).data.metrics
    for eval_set in ("validation_0", "validation_1"):
        assert {f"{eval_set}-logloss", f"{eval_set}-error", f"{eval_set}-auc"} <= set(metrics)
    assert _models(mlflow_client, xgboost_run.run_id) == [xgboost_run.model_id]
