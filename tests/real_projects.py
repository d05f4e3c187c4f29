"""Projects logged the way teams log them, on the REAL MLflow server of the session.

Each builder trains small real models and logs them with MLflow's own helpers (autolog,
`log_model(name=..., input_example=...)`, `mlflow.data.from_pandas` + `log_input`,
`mlflow.models.evaluate`, nested runs, the registry and its `production` alias), so
the review reads exactly what such a project leaves in MLflow:

- `log_sklearn_project`: scikit-learn breast cancer with `mlflow.sklearn.autolog()`.
  Production `rf-baseline` (v1, alias `production`) and the candidate `rf-tuned-leaf2`
  (v2): one feature dropped, `min_samples_leaf=2`, after a small grid search logged
  as nested child trials. Both evaluated on the same held-out rows (`bc-holdout`,
  context `eval`); each run holds autolog's model and the team's own.
- `log_lightgbm_project`: LightGBM regression on `make_friedman1` with
  `mlflow.lightgbm.autolog()` and two eval sets (`valid_0` = the training set,
  `valid_1` = validation); the holdout through `mlflow.models.evaluate(model_type=
  "regressor")`. Production `lgbm-baseline` (v1), the candidate `lgbm-x0x1` (v2: an
  added feature `x0_x1`, a 5-fold CV as child runs) and an overfit run `lgbm-overfit`
  (many leaves, no early stopping; not registered).
- `log_mixed_project`: breast cancer again, production a scikit-learn logistic
  regression and the candidate a LightGBM classifier, each with its library's autolog
  (autolog's `eval` inputs: the rows a post-training metric saw, LightGBM's `eval_set`)
  and both scored by `mlflow.models.evaluate("runs:/…/model", …)` on the same
  held-out `mlflow.data` dataset, which evaluate() then logs WITHOUT a context, lists
  in the run's `mlflow.datasets` tag and links to no metric.
- `log_xgboost_run`: one `XGBClassifier` run with `mlflow.xgboost.autolog()` and two
  eval sets (`validation_0`, `validation_1`).

The session fixtures in tests/conftest.py (`sklearn_project`, `lightgbm_project`,
`xgboost_run`) call these once per session under an experiment and model names of
their own, and commits of their own (`mlflow.source.git.commit`), so commit discovery
finds only these runs.

Two things differ from a team's script, both for speed and quiet: MLflow's
requirements inference (a Python per logged model that imports the model's
libraries, seconds each) is replaced by MLflow's own fallback for the flavor, which
is what MLflow writes when inference fails; and MLflow's and the libraries' warnings
and log lines are silenced while logging. mlflow and the libraries are imported only
when a builder runs.
"""

from __future__ import annotations

import contextlib
import io
import logging
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

HOLDOUT = "bc-holdout"  # the breast-cancer held-out set's dataset name
DROPPED = "worst fractal dimension"  # the feature the sklearn candidate drops
ADDED = "x0_x1"  # the feature the LightGBM candidate adds
TRUSTED = ["sklearn.tree._tree.Tree"]  # skops: our own freshly trained trees
SKLEARN_TRIALS = ((30, 3), (60, 5))  # (n_estimators, max_depth) of the grid
FOLDS = 5
ROWS = 3000  # make_friedman1 rows (train 60 %, validation 20 %, holdout 20 %)


@dataclass(frozen=True)
class SklearnProject:
    """Ids and names of the breast-cancer project (see the module docstring)."""

    tracking_uri: str
    experiment_id: str
    model_name: str  # registered model: v1 production (alias), v2 the candidate
    production_commit: str
    candidate_commit: str  # the trials and the candidate share it
    production_run: str
    candidate_run: str
    trial_runs: tuple[str, ...]  # nested under candidate_run
    production_model_id: str  # the team's logged model, registered as v1
    candidate_model_id: str  # the team's logged model, registered as v2
    candidate_autolog_model_id: str  # autolog's model in the candidate run

    @property
    def production_uri(self) -> str:
        return f"models:/{self.model_name}@production"


@dataclass(frozen=True)
class LightgbmProject:
    """Ids and names of the LightGBM regression project (see the module docstring)."""

    tracking_uri: str
    experiment_id: str
    model_name: str  # v1 production (alias), v2 the candidate
    production_commit: str
    candidate_commit: str
    overfit_commit: str
    production_run: str
    candidate_run: str
    fold_runs: tuple[str, ...]  # the candidate's 5-fold CV, nested under candidate_run
    overfit_run: str
    production_model_id: str
    candidate_model_id: str


@dataclass(frozen=True)
class MixedProject:
    """Two libraries, one held-out set (see the module docstring)."""

    tracking_uri: str
    production_run: str  # scikit-learn, registered as v1 with the alias `production`
    candidate_run: str  # LightGBM


@dataclass(frozen=True)
class XgboostRun:
    tracking_uri: str
    experiment_id: str
    commit: str
    run_id: str
    model_id: str


def new_commit() -> str:
    """A commit SHA no other run of the server carries."""
    return uuid.uuid4().hex + uuid.uuid4().hex[:8]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# -- quiet, fast MLflow ---------------------------------------------------------------

_LOGGERS = ("mlflow", "lightgbm", "xgboost", "alembic")


@contextlib.contextmanager
def _quiet_mlflow(tracking_uri: str, experiment: str) -> Iterator[str]:
    """MLflow's fluent API pointed at `tracking_uri` and a new experiment (its id is
    yielded), with warnings and log lines silenced and requirements inference replaced
    by MLflow's fallback; the global state is put back afterwards."""
    import mlflow
    import mlflow.models

    previous_uri = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    patch = _fallback_requirements(mlflow.models)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            for name in _LOGGERS:
                logging.getLogger(name).setLevel(logging.ERROR)
            mlflow.set_tracking_uri(tracking_uri)
            experiment_id = mlflow.create_experiment(experiment)
            mlflow.set_experiment(experiment_id=experiment_id)
            yield str(experiment_id)
    finally:
        patch.undo()
        for flavor in ("sklearn", "lightgbm", "xgboost"):
            with contextlib.suppress(ImportError, AttributeError):
                getattr(mlflow, flavor).autolog(disable=True)
        _clear_active_model(mlflow)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        mlflow.set_tracking_uri(previous_uri or "")


def _fallback_requirements(models_module: Any) -> Any:
    """Requirements inference starts a Python per logged model (5 to 50 s on a busy
    machine); return MLflow's own fallback for the flavor instead."""
    import pytest

    def fallback(_model_uri: str, _flavor: str, fallback: Any = None, **_: Any) -> Any:
        return fallback

    patch = pytest.MonkeyPatch()
    patch.setattr(models_module, "infer_pip_requirements", fallback)
    return patch


def _clear_active_model(mlflow: Any) -> None:
    clear = getattr(mlflow, "clear_active_model", None)
    if clear is not None:
        clear()


def _last_model() -> Any:
    """The model autolog (or log_model) just logged in this process."""
    import mlflow

    model = mlflow.last_logged_model()
    assert model is not None, "autolog logged no model"
    return model


def _register(model_uri: str, name: str) -> str:
    import mlflow

    return str(mlflow.register_model(model_uri, name).version)


# -- scikit-learn: breast cancer --------------------------------------------------------

SKLEARN_PRODUCTION_NOTE = "# Random forest baseline\n\nDepth 4, default leaves.\n"
SKLEARN_CANDIDATE_NOTE = (
    "# Larger leaves, one feature fewer\n\n"
    f"`min_samples_leaf=2` after a small grid search; `{DROPPED}` dropped.\n"
)


def log_sklearn_project(tracking_uri: str) -> SklearnProject:
    import mlflow

    model_name = unique("rp-breast-cancer")
    commits = (new_commit(), new_commit())
    with _quiet_mlflow(tracking_uri, unique("rp-sklearn")) as experiment_id:
        data = _breast_cancer()
        mlflow.sklearn.autolog(silent=True)
        production = _sklearn_run("rf-baseline", commits[0], data, {}, SKLEARN_PRODUCTION_NOTE)
        candidate = _sklearn_run(
            "rf-tuned-leaf2",
            commits[1],
            data,
            {"min_samples_leaf": 2},
            SKLEARN_CANDIDATE_NOTE,
            dropped=(DROPPED,),
            trials=SKLEARN_TRIALS,
        )
        v1 = _register(production.model_uri, model_name)
        _register(candidate.model_uri, model_name)
        mlflow.MlflowClient().set_registered_model_alias(model_name, "production", v1)
    return SklearnProject(
        tracking_uri=tracking_uri,
        experiment_id=experiment_id,
        model_name=model_name,
        production_commit=commits[0],
        candidate_commit=commits[1],
        production_run=production.run_id,
        candidate_run=candidate.run_id,
        trial_runs=candidate.children,
        production_model_id=production.model_id,
        candidate_model_id=candidate.model_id,
        candidate_autolog_model_id=candidate.autolog_model_id,
    )


@dataclass(frozen=True)
class _Logged:
    run_id: str
    model_id: str
    model_uri: str
    autolog_model_id: str = ""
    children: tuple[str, ...] = ()


def _breast_cancer() -> tuple[Any, Any, Any, Any]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    features, target = load_breast_cancer(return_X_y=True, as_frame=True)
    split = train_test_split(features, target, test_size=0.3, random_state=7, stratify=target)
    return tuple(split)  # type: ignore[return-value]


def _sklearn_run(
    name: str,
    commit: str,
    data: tuple[Any, Any, Any, Any],
    extra: dict[str, Any],
    note: str,
    *,
    dropped: tuple[str, ...] = (),
    trials: tuple[tuple[int, int], ...] = (),
) -> _Logged:
    import mlflow
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    x_train, x_test = (x.drop(columns=list(dropped)) for x in data[:2])
    y_train, y_test = data[2:]
    x_fit, x_val, y_fit, y_val = train_test_split(x_train, y_train, test_size=0.25, random_state=0)
    tags = {"mlflow.source.git.commit": commit, "mlflow.note.content": note}
    with mlflow.start_run(run_name=name, tags=tags) as run:
        children = []
        for n_estimators, depth in trials:
            child_tags = {"mlflow.source.git.commit": commit}
            with mlflow.start_run(
                run_name=f"trial-n{n_estimators}-d{depth}", nested=True, tags=child_tags
            ) as child:
                trial = RandomForestClassifier(
                    n_estimators=n_estimators, max_depth=depth, random_state=0, **extra
                )
                trial.fit(x_fit, y_fit)
                score = roc_auc_score(y_val, trial.predict_proba(x_val)[:, 1])
                mlflow.log_metric("val_roc_auc", float(score))
                children.append(child.info.run_id)
        model = RandomForestClassifier(n_estimators=30, max_depth=4, random_state=0, **extra)
        model.fit(x_train, y_train)
        autolog_model = _last_model()
        info = mlflow.sklearn.log_model(
            model, name="model", input_example=x_test.head(3), skops_trusted_types=TRUSTED
        )
        holdout = mlflow.data.from_pandas(
            x_test.assign(label=y_test), targets="label", name=HOLDOUT
        )
        mlflow.log_input(holdout, context="eval")
        mlflow.models.evaluate(
            info.model_uri, holdout, model_type="classifier", evaluators=["default"]
        )
    return _Logged(
        run_id=run.info.run_id,
        model_id=info.model_id,
        model_uri=info.model_uri,
        autolog_model_id=autolog_model.model_id,
        children=tuple(children),
    )


# -- LightGBM: regression on make_friedman1 ---------------------------------------------

LGBM_BASE = {
    "metric": ["l1", "l2"],
    "learning_rate": 0.2,
    "num_leaves": 15,
    "n_estimators": 200,
    "verbose": -1,
    "random_state": 0,
    "n_jobs": 1,
    "deterministic": True,
}
LGBM_OVERFIT = {
    **LGBM_BASE,
    "num_leaves": 512,
    "min_child_samples": 1,
    "learning_rate": 0.3,
    "n_estimators": 60,
}
EARLY_STOPPING = 10  # rounds without improvement on valid_1


def log_lightgbm_project(tracking_uri: str) -> LightgbmProject:
    import mlflow

    model_name = unique("rp-friedman")
    commits = (new_commit(), new_commit(), new_commit())
    with _quiet_mlflow(tracking_uri, unique("rp-lightgbm")) as experiment_id:
        data = _friedman()
        mlflow.lightgbm.autolog(silent=True)
        production = _lgbm_run("lgbm-baseline", commits[0], data, LGBM_BASE)
        candidate = _lgbm_run("lgbm-x0x1", commits[1], data, LGBM_BASE, added=True, folds=FOLDS)
        overfit = _lgbm_run("lgbm-overfit", commits[2], data, LGBM_OVERFIT, early=False)
        v1 = _register(production.model_uri, model_name)
        _register(candidate.model_uri, model_name)
        mlflow.MlflowClient().set_registered_model_alias(model_name, "production", v1)
    return LightgbmProject(
        tracking_uri=tracking_uri,
        experiment_id=experiment_id,
        model_name=model_name,
        production_commit=commits[0],
        candidate_commit=commits[1],
        overfit_commit=commits[2],
        production_run=production.run_id,
        candidate_run=candidate.run_id,
        fold_runs=candidate.children,
        overfit_run=overfit.run_id,
        production_model_id=production.model_id,
        candidate_model_id=candidate.model_id,
    )


def _friedman() -> dict[str, Any]:
    import pandas as pd
    from sklearn.datasets import make_friedman1

    features, target = make_friedman1(n_samples=ROWS, noise=1.0, random_state=0)
    frame = pd.DataFrame(features, columns=[f"x{i}" for i in range(features.shape[1])])
    frame["y"] = target
    cut = (int(ROWS * 0.6), int(ROWS * 0.8))
    return {"train": frame[: cut[0]], "valid": frame[cut[0] : cut[1]], "holdout": frame[cut[1] :]}


def _features(frame: Any, added: bool) -> Any:
    out = frame.drop(columns=["y"])
    return out.assign(**{ADDED: out["x0"] * out["x1"]}) if added else out


def _lgbm_run(
    name: str,
    commit: str,
    data: dict[str, Any],
    params: dict[str, Any],
    *,
    added: bool = False,
    folds: int = 0,
    early: bool = True,
) -> _Logged:
    """One training run: LightGBM's scikit-learn API with the training set first in
    `eval_set` (autolog names it `valid_0`) and the validation set second (`valid_1`),
    early stopping on validation unless `early` is off; the holdout through evaluate()."""
    import lightgbm as lgb
    import mlflow

    x_train, x_valid, x_holdout = (_features(data[k], added) for k in ("train", "valid", "holdout"))
    y_train, y_valid = data["train"]["y"], data["valid"]["y"]
    with mlflow.start_run(run_name=name, tags={"mlflow.source.git.commit": commit}) as run:
        children = _lgbm_folds(commit, x_train, y_train, params, folds)
        for context, x, y in (("train", x_train, y_train), ("validation", x_valid, y_valid)):
            frame = x.assign(y=y)
            mlflow.log_input(
                mlflow.data.from_pandas(frame, targets="y", name=f"friedman-{context}"),
                context=context,
            )
        callbacks = [lgb.early_stopping(EARLY_STOPPING, verbose=False)] if early else []
        # the training set evaluated as a frame of its own, as a team's eval list does
        # (the same object would be named `training` by LightGBM)
        again = _features(data["train"], added), data["train"]["y"].copy()
        lgb.LGBMRegressor(**params).fit(
            x_train, y_train, eval_set=[again, (x_valid, y_valid)], callbacks=callbacks
        )
        logged = _last_model()
        model_uri = f"models:/{logged.model_id}"
        holdout = x_holdout.assign(y=data["holdout"]["y"])
        mlflow.models.evaluate(
            model_uri, holdout, targets="y", model_type="regressor", evaluators=["default"]
        )
    return _Logged(
        run_id=run.info.run_id, model_id=logged.model_id, model_uri=model_uri, children=children
    )


def _lgbm_folds(
    commit: str, x_train: Any, y_train: Any, params: dict[str, Any], folds: int
) -> tuple[str, ...]:
    """`folds`-fold CV on the training set as nested runs: each trains on the other
    folds with its own fold as the one eval set (autolog names it `valid_0`)."""
    import lightgbm as lgb
    import mlflow
    from sklearn.model_selection import KFold

    children = []
    splits = KFold(folds, shuffle=True, random_state=0).split(x_train) if folds else ()
    for index, (fit_rows, val_rows) in enumerate(splits):
        tags = {"mlflow.source.git.commit": commit}
        with mlflow.start_run(run_name=f"fold-{index}", nested=True, tags=tags) as child:
            mlflow.log_param("fold", index)
            x_val, y_val = x_train.iloc[val_rows], y_train.iloc[val_rows]
            lgb.LGBMRegressor(**params).fit(
                x_train.iloc[fit_rows],
                y_train.iloc[fit_rows],
                eval_set=[(x_val, y_val)],
                callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False)],
            )
            children.append(child.info.run_id)
    return tuple(children)


# -- two libraries, one held-out set ----------------------------------------------------

MIXED_HOLDOUT = "bc-mixed-holdout"


def log_mixed_project(tracking_uri: str) -> MixedProject:
    import lightgbm as lgb
    import mlflow
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    model_name = unique("rp-mixed")
    with _quiet_mlflow(tracking_uri, unique("rp-mixed")) as _:
        x_train, x_test, y_train, y_test = _breast_cancer()
        x_fit, x_val, y_fit, y_val = train_test_split(
            x_train, y_train, test_size=0.25, random_state=0
        )
        holdout = mlflow.data.from_pandas(
            x_test.assign(label=y_test), targets="label", name=MIXED_HOLDOUT
        )
        mlflow.sklearn.autolog(silent=True)
        with mlflow.start_run(run_name="logreg-baseline") as production:
            model = LogisticRegression(max_iter=5000).fit(x_train, y_train)
            roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])  # autolog: `eval` input
            uri = f"runs:/{production.info.run_id}/model"  # as MLflow 2's guides write it
            mlflow.models.evaluate(uri, holdout, model_type="classifier")
        mlflow.sklearn.autolog(disable=True)
        version = _register(uri, model_name)
        mlflow.MlflowClient().set_registered_model_alias(model_name, "production", version)
        mlflow.lightgbm.autolog(silent=True)
        with mlflow.start_run(run_name="lgbm-candidate") as candidate:
            lgb.LGBMClassifier(n_estimators=40, verbose=-1, n_jobs=1, random_state=0).fit(
                x_fit, y_fit, eval_set=[(x_val, y_val)]
            )
            uri = f"runs:/{candidate.info.run_id}/model"
            mlflow.models.evaluate(uri, holdout, model_type="classifier")
        _register(uri, model_name)
    return MixedProject(tracking_uri, production.info.run_id, candidate.info.run_id)


# -- XGBoost: one classifier -------------------------------------------------------------


def log_xgboost_run(tracking_uri: str) -> XgboostRun:
    import mlflow
    import xgboost as xgb

    commit = new_commit()
    with _quiet_mlflow(tracking_uri, unique("rp-xgboost")) as experiment_id:
        x_train, x_test, y_train, y_test = _breast_cancer()
        mlflow.xgboost.autolog(silent=True)
        with mlflow.start_run(run_name="xgb-baseline", tags={"mlflow.source.git.commit": commit}):
            model = xgb.XGBClassifier(
                n_estimators=30,
                max_depth=3,
                n_jobs=1,
                eval_metric=["logloss", "error", "auc"],
                early_stopping_rounds=10,
            )
            evals = [(x_train, y_train), (x_test, y_test)]
            model.fit(x_train, y_train, eval_set=evals, verbose=False)
            logged = _last_model()
            run_id = mlflow.active_run().info.run_id  # type: ignore[union-attr]
    return XgboostRun(
        tracking_uri=tracking_uri,
        experiment_id=experiment_id,
        commit=commit,
        run_id=run_id,
        model_id=logged.model_id,
    )
