"""`model-review demo`: a local MLflow store with two real models, and their review.

Trains a gradient-boosted classifier twice on scikit-learn's bundled breast-cancer
data set: a production version (registered, alias `production`) and a candidate with
other hyperparameters, notes and a logged model; each also trains on SEEDS other
splits as child runs (param `seed`), so the review shows intervals and pairs the two
models seed by seed. Both models are scored on the held-out split and the pairs logged
to the candidate run, as `model-review evaluate` would, so the held-out metrics are
compared row by row. Then it renders the candidate's review.
This module writes example data, so (unlike the bot) it uses mlflow's logging API.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shlex
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import UsageError

log = logging.getLogger(__name__)

MODEL_NAME = "demo-breast-cancer-classifier"
PR_BODY = "pr-body.md"
_PLOT = re.compile(r'<img src="([\w.-]+\.png)"')  # the plots an earlier review wrote
EXPERIMENT = "demo-breast-cancer"
# the tree storage of our own freshly trained model: safe to load back
TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]
SEEDS = 5  # repeats per model, logged as child runs
# MLflow's advice that is not the demo user's problem: the breast-cancer target is an
# integer column with no missing values
QUIET_WARNINGS = (r"Hint: Inferred schema contains integer column",)
NEEDS_EXTRA = "the demo needs MLflow's server package and scikit-learn"
NEEDS_EXTRA_HINT = "install them with: pip install 'model-review[demo]'"
LATENCY_CALLS = 20  # one-row predictions a round
LATENCY_ROUNDS = 5  # the fastest round counts: the one least disturbed by other work

# how `predict_latency_ms` is measured: (fitted model, held-out rows) -> milliseconds
Latency = Callable[[Any, Any], float]

PRODUCTION_NOTES = """# Baseline gradient boosting

Shallow trees, default learning rate. Serving since the spring release.
"""

CANDIDATE_NOTES = """# Deeper trees, slower learning rate

More estimators with a smaller learning rate and deeper trees: validation
log-loss drops and precision improves. Training and prediction get slower with
the number of trees, so check `predict_latency_ms` before approving.

## Data
Same split as production (seed 7, 25% held out). The noisy `worst fractal
dimension` feature is dropped.
"""


@dataclass(frozen=True)
class Recipe:
    name: str
    params: dict[str, Any]
    notes: str
    commit: str
    tags: dict[str, str] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()  # feature columns left out of training
    packages: tuple[str, ...] = ()  # requirements written with the model (no slow inference)


PRODUCTION = Recipe(
    name="gbm-baseline",
    params={"n_estimators": 60, "learning_rate": 0.2, "max_depth": 1, "subsample": 1.0},
    notes=PRODUCTION_NOTES,
    commit="3f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39",
    packages=("scikit-learn==1.5.2", "numpy==1.26.4"),
)
CANDIDATE = Recipe(
    name="gbm-deeper-slower",
    params={"n_estimators": 150, "learning_rate": 0.08, "max_depth": 3, "subsample": 0.8},
    notes=CANDIDATE_NOTES,
    commit="9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a",
    dropped=("worst fractal dimension",),
    packages=("scikit-learn=={sklearn}", "numpy=={numpy}", "pandas=={pandas}"),
)


def predict_latency_ms(model: Any, rows: Any) -> float:
    """Milliseconds per one-row prediction, timed on this machine (best round)."""
    row = rows[:1]
    rounds = []
    for _ in range(LATENCY_ROUNDS):
        started = time.perf_counter()
        for _ in range(LATENCY_CALLS):
            model.predict(row)
        rounds.append((time.perf_counter() - started) / LATENCY_CALLS * 1000)
    return min(rounds)


def run_demo(directory: str, latency: Latency = predict_latency_ms) -> int:
    """Build the store, train both models, render the review; print where to look.
    `latency` times a model's predictions (a fixed measure gives a fixed review)."""
    folder = Path(directory).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if start_clean(folder):
        print(f"Removed the previous demo store in {folder}: starting clean.\n")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    production_id, candidate_id = build_store(folder, uri, latency)
    from bot.app.offline import review_to_text
    from bot.config.schema import Config, MlflowConfig
    from bot.review.pipeline import ReviewRequest

    text = f"Retrain the classifier with deeper trees.\n\nMLflow run: runs:/{candidate_id}/model\n"
    (folder / PR_BODY).write_text(text, encoding="utf-8")
    config = Config(mlflow=MlflowConfig(ui_url="http://127.0.0.1:5000"))
    markdown, html = review_to_text(ReviewRequest(texts=[text]), uri, config, str(folder))
    (folder / "comment.md").write_text(markdown, encoding="utf-8")
    (folder / "preview.html").write_text(html, encoding="utf-8")
    print(f"Production run: {production_id}\nCandidate run:  {candidate_id}\n")
    print(f"Review written to {folder / 'comment.md'}")
    print(f"Open the preview:  {folder / 'preview.html'}")
    print(f"Browse the runs:   mlflow ui --backend-store-uri {uri} --port 5000")
    print(f"Render it again:   {render_command(folder, uri)}")
    return 0


def render_command(folder: Path, uri: str) -> str:
    """The exact `model-review render` command that reviews the demo's PR text."""
    args = ["--tracking-uri", uri, "--text-file", str(folder / PR_BODY)]
    return "model-review render " + " ".join(shlex.quote(a) for a in args)


def start_clean(folder: Path) -> bool:
    """Remove what an earlier demo left in `folder` (its store, artifacts and review),
    so production is version 1 again; other files stay. True if there was a store."""
    had_store = (folder / "mlflow.db").exists()
    comment = folder / "comment.md"
    plots = _PLOT.findall(comment.read_text(encoding="utf-8")) if comment.is_file() else []
    for name in ("mlflow.db", "comment.md", "preview.html", PR_BODY, *plots):
        (folder / name).unlink(missing_ok=True)
    shutil.rmtree(folder / "artifacts", ignore_errors=True)
    return had_store


def build_store(folder: Path, uri: str, latency: Latency = predict_latency_ms) -> tuple[str, str]:
    """Train and log both models; returns (production run id, candidate run id)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        import mlflow  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        raise UsageError(NEEDS_EXTRA, hint=NEEDS_EXTRA_HINT) from None
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # after mlflow set up its logging
    # production's environment is pinned to older versions on purpose (the review's
    # environment section shows the change): MLflow's mismatch warning is not news
    logging.getLogger("mlflow.utils.requirements_utils").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        for message in QUIET_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        return _build(folder, uri, latency)


def _build(folder: Path, uri: str, latency: Latency) -> tuple[str, str]:
    import mlflow

    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(uri)
    if client.get_experiment_by_name(EXPERIMENT) is None:
        client.create_experiment(EXPERIMENT, artifact_location=(folder / "artifacts").as_uri())
    mlflow.set_experiment(EXPERIMENT)
    data = _dataset()
    production, production_model, prod_fit = _train(PRODUCTION, data, latency)
    candidate, candidate_model, cand_fit = _train(CANDIDATE, data, latency)
    for recipe, parent in ((PRODUCTION, production), (CANDIDATE, candidate)):
        _train_seeds(client, recipe, parent)
    prod_version = _register(production_model)
    _register(candidate_model)
    client.set_registered_model_alias(MODEL_NAME, "production", prod_version)
    fits = {"candidate": cand_fit, "production": prod_fit}
    _log_paired(client, candidate, f"{MODEL_NAME}/{prod_version}", data, fits)
    return production, candidate


def _log_paired(client: Any, run_id: str, production: str, data: Any, fits: dict[str, Any]) -> None:
    """What `model-review evaluate` logs: both models scored on the held-out split (the
    models in memory here, loaded with mlflow.pyfunc there), paired row by row."""
    import tempfile

    from bot.app.evaluate import score_rows
    from bot.review import predictions
    from bot.tracking.scoring import LoadedModel

    def scorer(role: str) -> LoadedModel:
        model = fits[role]
        inputs = tuple(str(c) for c in model.feature_names_in_)
        return LoadedModel(role, role, inputs, "P(class 1)", lambda f: model.predict_proba(f)[:, 1])

    holdout = data[1].assign(label=data[3]).rename_axis("row").reset_index()
    with tempfile.TemporaryDirectory(prefix="model-review-demo-") as tmp:
        path = Path(tmp) / "holdout.csv"
        holdout.to_csv(path, index=False)
        table, rows = score_rows(
            path, "label", "row", (scorer("candidate"), scorer("production")), production
        )
        out = Path(tmp) / Path(predictions.PATH).name
        out.write_bytes(table)
        client.log_artifact(run_id, str(out), str(Path(predictions.PATH).parent))
    tags = {predictions.TAG_PRODUCTION: production, predictions.TAG_ROWS: str(rows)}
    for key, value in tags.items():
        client.set_tag(run_id, key, value)


def _dataset(seed: int = 7) -> tuple[Any, Any, Any, Any]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    features, target = load_breast_cancer(return_X_y=True, as_frame=True)
    split: tuple[Any, Any, Any, Any] = tuple(
        train_test_split(features, target, test_size=0.25, random_state=seed, stratify=target)
    )
    return split


def _train_seeds(client: Any, recipe: Recipe, parent_id: str) -> None:
    """SEEDS child runs of `parent_id`: the recipe on another split each (seed 0..4),
    logged in one batch a run."""
    from mlflow.entities import Metric, Param, RunTag
    from sklearn.ensemble import GradientBoostingClassifier

    experiment = client.get_run(parent_id).info.experiment_id
    now = int(time.time() * 1000)
    for seed in range(SEEDS):
        x_train, x_test, y_train, y_test = _dataset(seed)
        model = GradientBoostingClassifier(random_state=seed, **recipe.params)
        model.fit(x_train, y_train)
        scores = _scores(model, x_test, y_test)
        tags = {"mlflow.parentRunId": parent_id, "mlflow.source.git.commit": recipe.commit}
        run = client.create_run(experiment, run_name=f"{recipe.name}-seed-{seed}", tags=tags)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, now, 0) for k, v in scores.items()],
            params=[Param(k, str(v)) for k, v in {**recipe.params, "seed": seed}.items()],
            tags=[RunTag("mlflow.source.name", "train.py")],
        )
        client.set_terminated(run.info.run_id)


def _train(
    recipe: Recipe, data: tuple[Any, Any, Any, Any], latency: Latency
) -> tuple[str, str, Any]:
    import mlflow
    from mlflow.models import infer_signature
    from sklearn.ensemble import GradientBoostingClassifier

    x_full_test = data[1]
    x_train, x_test = (x.drop(columns=list(recipe.dropped)) for x in data[:2])
    y_train, y_test = data[2:]
    model = GradientBoostingClassifier(random_state=7, **recipe.params)
    with mlflow.start_run(run_name=recipe.name) as run:
        mlflow.set_tags(
            {
                "mlflow.note.content": recipe.notes,
                "mlflow.source.git.commit": recipe.commit,
                "mlflow.source.name": "train.py",
                "mlflow.source.type": "LOCAL",
            }
        )
        mlflow.log_params({**recipe.params, "dataset": "sklearn.breast_cancer", "test_size": 0.25})
        started = time.perf_counter()
        model.fit(x_train, y_train)
        mlflow.log_metric("fit_seconds", round(time.perf_counter() - started, 4))
        _log_curves(model, x_train, y_train, x_test, y_test)
        scores = _scores(model, x_test, y_test)
        mlflow.log_metrics({**scores, "predict_latency_ms": round(latency(model, x_test), 3)})
        _log_datasets(x_train, y_train, x_full_test, y_test)
        mlflow.log_figure(_confusion_figure(model, x_test, y_test), "confusion_matrix.png")
        signature = infer_signature(x_test, model.predict(x_test))
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            skops_trusted_types=TRUSTED_TYPES,
            # given, not inferred: inferring starts a Python that imports the model's
            # libraries, 5 to 50 s per model (idle to busy machine)
            pip_requirements=_requirements(recipe),
        )
        return str(run.info.run_id), str(info.model_uri), model


def _log_curves(model: Any, x_train: Any, y_train: Any, x_test: Any, y_test: Any) -> None:
    import mlflow
    from mlflow.entities import Metric
    from sklearn.metrics import log_loss

    now = int(time.time() * 1000)
    metrics = []
    for step, (train_p, test_p) in enumerate(
        zip(model.staged_predict_proba(x_train), model.staged_predict_proba(x_test), strict=True)
    ):
        metrics.append(Metric("train_loss", float(log_loss(y_train, train_p)), now, step))
        metrics.append(Metric("val_loss", float(log_loss(y_test, test_p)), now, step))
    client = mlflow.MlflowClient()
    run_id = mlflow.active_run().info.run_id  # type: ignore[union-attr]
    for start in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[start : start + 1000])


def _scores(model: Any, x_test: Any, y_test: Any) -> dict[str, float]:
    from sklearn import metrics as skm

    predicted = model.predict(x_test)
    proba = model.predict_proba(x_test)[:, 1]
    return {
        "accuracy": float(skm.accuracy_score(y_test, predicted)),
        "f1": float(skm.f1_score(y_test, predicted)),
        "precision": float(skm.precision_score(y_test, predicted)),
        "recall": float(skm.recall_score(y_test, predicted)),
        "roc_auc": float(skm.roc_auc_score(y_test, proba)),
        "log_loss": float(skm.log_loss(y_test, proba)),
    }


def _log_datasets(x_train: Any, y_train: Any, x_test: Any, y_test: Any) -> None:
    """The training data (without the dropped columns) and the evaluation data (the
    same for both models: the review checks that)."""
    import mlflow
    from mlflow.data.pandas_dataset import from_pandas

    train = from_pandas(
        x_train.assign(target=y_train), targets="target", name="breast_cancer_train"
    )
    test = from_pandas(x_test.assign(target=y_test), targets="target", name="breast_cancer_test")
    mlflow.log_input(train, context="training")
    mlflow.log_input(test, context="evaluation")


def _requirements(recipe: Recipe) -> list[str]:
    """The model's requirements: the production model pins the older versions it was
    trained with, the candidate today's (what the review's environment diff shows)."""
    from importlib.metadata import version

    names = ("mlflow", "scikit-learn", "numpy", "pandas", "skops")
    found = {name: version(name) for name in names}
    pinned = {"sklearn": found["scikit-learn"], "numpy": found["numpy"], "pandas": found["pandas"]}
    packages = (p.format(**pinned) for p in recipe.packages)
    return [f"mlflow=={found['mlflow']}", *packages, f"skops=={found['skops']}"]


def _confusion_figure(model: Any, x_test: Any, y_test: Any) -> Any:
    import numpy as np
    from matplotlib.figure import Figure
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(y_test, model.predict(x_test))
    fig = Figure(figsize=(4, 4), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        ax.text(col, row, str(count), ha="center", va="center")
    ax.set_xticks([0, 1], labels=["malignant", "benign"])
    ax.set_yticks([0, 1], labels=["malignant", "benign"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix")
    return fig


def _register(model_uri: str) -> str:
    import mlflow

    with contextlib.redirect_stderr(io.StringIO()):  # mlflow prints progress lines there
        version = mlflow.register_model(model_uri, MODEL_NAME)
    return str(version.version)
