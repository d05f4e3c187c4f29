"""A small classification project for `model-review evaluate`, logged with MLflow's own
helpers on the REAL server: production (v1, alias `production`) is a logistic
regression on features a, b, c; the candidate (v2) drops `c` and fits better. Both log
their held-out accuracy, roc_auc, f1 and log_loss. The held-out rows are returned for
the test to write as CSV.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np

from tests.real_projects import _quiet_mlflow

ROWS, TRAIN = 420, 250


@dataclass(frozen=True)
class PairedProject:
    model_name: str
    production_run: str
    candidate_run: str
    holdout: Any  # pandas DataFrame: id, a, b, c, label
    models: dict[str, Any]  # "production" / "candidate" -> the fitted estimator


def _data() -> Any:
    import pandas as pd

    rng = np.random.default_rng(25)
    a, b, c = rng.normal(size=(3, ROWS))
    y = (a + 0.8 * b + 0.15 * c + rng.normal(0, 0.9, ROWS) > 0).astype(int)
    ids = [f"ex-{i:04d}" for i in range(ROWS)]
    return pd.DataFrame({"id": ids, "a": a, "b": b, "c": c, "label": y})


def _log(mlflow: Any, name: str, model: Any, x: Any, holdout: Any, **kw: Any) -> tuple[str, str]:
    from sklearn import metrics

    with mlflow.start_run(run_name=name) as run:
        info = mlflow.sklearn.log_model(
            model, name="model", input_example=x.head(3), serialization_format="cloudpickle", **kw
        )
        p = model.predict_proba(holdout[list(x.columns)])[:, 1]
        y = holdout["label"]
        mlflow.log_metrics(
            {
                "accuracy": metrics.accuracy_score(y, p >= 0.5),
                "roc_auc": metrics.roc_auc_score(y, p),
                "f1": metrics.f1_score(y, p >= 0.5),
                "log_loss": metrics.log_loss(y, p),
            }
        )
    return run.info.run_id, info.model_id


def log_paired_project(tracking_uri: str) -> PairedProject:
    import mlflow
    import mlflow.sklearn
    from mlflow.tracking import MlflowClient
    from sklearn.linear_model import LogisticRegression

    from tests.mlflow_helpers import register

    data = _data()
    train, holdout = data.iloc[:TRAIN], data.iloc[TRAIN:].reset_index(drop=True)
    name = f"paired-{uuid.uuid4().hex[:8]}"
    prod_model = LogisticRegression(C=0.02).fit(train[["a", "b", "c"]], train["label"])
    cand_model = LogisticRegression(C=1.0).fit(train[["a", "b"]], train["label"])
    with _quiet_mlflow(tracking_uri, name):
        prod_run, prod_id = _log(mlflow, "lr-abc", prod_model, train[["a", "b", "c"]], holdout)
        cand_run, cand_id = _log(mlflow, "lr-ab", cand_model, train[["a", "b"]], holdout)
    client = MlflowClient(tracking_uri)
    register(client, name, prod_run, prod_id, aliases=["production"])
    register(client, name, cand_run, cand_id)
    models = {"production": prod_model, "candidate": cand_model}
    return PairedProject(name, prod_run, cand_run, holdout, models)


def log_pinned_version(tracking_uri: str, project: PairedProject, pins: list[str]) -> str:
    """A further version of the candidate's model whose requirements pin `pins`."""
    import mlflow
    import mlflow.sklearn
    from mlflow.tracking import MlflowClient

    from tests.mlflow_helpers import register

    train = _data().iloc[:TRAIN]
    with _quiet_mlflow(tracking_uri, f"{project.model_name}-pinned"):
        run, model_id = _log(
            mlflow,
            "lr-ab-pinned",
            project.models["candidate"],
            train[["a", "b"]],
            project.holdout,
            pip_requirements=pins,
        )
    return register(MlflowClient(tracking_uri), project.model_name, run, model_id)
