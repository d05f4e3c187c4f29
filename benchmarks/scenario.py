"""The data a benchmark reviews: MLflow runs on the real server and the PR around them.

A `Shape` says how big the review is (metrics, curves and their length, candidates,
images, earlier comments). `build` creates a production run (registered, alias
`production`) and the candidates (registered as later versions) with MLflow's own
client, and returns a `World`: the run ids and the PR body that links the candidates.

Long histories are written straight into the server's sqlite store (one
`executemany`), because logging 10^6 points through the REST API 1,000 at a time
would take minutes; the final value of every curve goes through the API like any
other metric, so MLflow's latest-metric table is exactly what a real run leaves.
"""

from __future__ import annotations

import math
import random
import sqlite3
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.plots import artifact

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

CURVES = ("loss", "val_loss", "accuracy", "val_accuracy", "learning_rate")
IMAGES = ("confusion_matrix.png", "roc_curve.png")
KINDS = ("auc", "f1", "precision", "recall", "loss", "latency_ms", "throughput", "error_rate")
BATCH = 1000  # MLflow accepts at most 1,000 metrics per log_batch


@dataclass(frozen=True)
class Shape:
    metrics: int = 50  # final metrics per run (the curves count among them)
    curves: int = 5
    steps: int = 10_000  # points per curve
    candidates: int = 1
    images: int = 2  # image artifacts per run
    comments: int = 40  # earlier comments on the PR, by people

    def but(self, **changes: int) -> Shape:
        return replace(self, **changes)

    def label(self) -> str:
        return (
            f"{self.candidates} candidate(s) vs production, {self.metrics} metrics, "
            f"{self.curves} curves x {self.steps:,} steps, {self.images} images per run, "
            f"{self.comments} earlier comments"
        )


STANDARD = Shape()


@dataclass(frozen=True)
class World:
    shape: Shape
    experiment: str
    model: str
    production: str
    candidates: tuple[str, ...]
    commit: str

    @property
    def pr_body(self) -> str:
        links = "\n".join(f"- runs:/{run_id}/model" for run_id in self.candidates)
        return f"Retrained the churn model.\n\nRuns:\n{links}\n"

    def config(self) -> str:
        curves = ", ".join(CURVES[: self.shape.curves])
        return (
            "reviewers:\n  primary: [alice, bob]\n  secondary: [carol]\n"
            f"plots:\n  curves: [{curves}]\n  max_curves: {max(1, self.shape.curves)}\n"
        )


def metric_names(shape: Shape) -> list[str]:
    curves = list(CURVES[: shape.curves])
    others = [f"{KINDS[i % len(KINDS)]}_{i:04d}" for i in range(shape.metrics - len(curves))]
    return curves + others


def _curve(key: str, steps: int, rng: random.Random, better: float) -> list[float]:
    """A plausible training curve: decaying loss, rising accuracy, stepped rate."""
    out = []
    for s in range(steps):
        t = s / max(steps - 1, 1)
        if "loss" in key:
            value = 2.0 * math.exp(-5 * t) + 0.1 - better + rng.gauss(0, 0.02)
        elif "accuracy" in key:
            value = 0.95 - 0.45 * math.exp(-5 * t) + better + rng.gauss(0, 0.01)
        else:
            value = 0.01 * 0.5 ** int(4 * t)
        out.append(value)
    return out


def _make_run(
    client: MlflowClient,
    db: Path,
    *,
    experiment_id: str,
    shape: Shape,
    name: str,
    commit: str,
    better: float,
) -> str:
    from mlflow.entities import Metric, Param

    rng = random.Random(f"{name}-{shape}")
    tags = {
        "mlflow.source.git.commit": commit,
        "mlflow.source.name": "train.py",
        "mlflow.source.type": "LOCAL",
        "mlflow.note.content": f"# {name}\n\nGradient boosting, deeper trees.\n",
    }
    run = client.create_run(experiment_id, run_name=name, tags=tags)
    run_id = str(run.info.run_id)
    now = int(time.time() * 1000)
    curves = {k: _curve(k, shape.steps, rng, better) for k in CURVES[: shape.curves]}
    finals = [Metric(k, v[-1], now, shape.steps - 1) for k, v in curves.items()]
    others = metric_names(shape)[len(curves) :]
    finals += [Metric(k, rng.uniform(0.5, 0.9) + better, now, 0) for k in others]
    params = [Param(f"param_{i:02d}", str(rng.randint(1, 9))) for i in range(20)]
    client.log_batch(run_id, params=params)
    for start in range(0, len(finals), BATCH):
        client.log_batch(run_id, metrics=finals[start : start + BATCH])
    _insert_history(db, run_id, curves, now)
    for index, filename in enumerate(IMAGES[: shape.images]):
        _upload(client, run_id, filename, artifact(index + (0 if better else 100)))
    client.set_terminated(run_id, "FINISHED")
    return run_id


def _insert_history(db: Path, run_id: str, curves: dict[str, list[float]], now: int) -> None:
    """Every point but the last (logged through the API) straight into the store."""
    rows = [
        (key, value, now - len(values) + step, run_id, step, 0)
        for key, values in curves.items()
        for step, value in enumerate(values[:-1])
    ]
    with sqlite3.connect(db, timeout=60) as conn:
        conn.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )


def _upload(client: MlflowClient, run_id: str, filename: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / filename
        path.write_bytes(data)
        client.log_artifact(run_id, str(path))


def build(client: MlflowClient, db: Path, shape: Shape) -> World:
    """New experiment and registered model holding one production run and the candidates."""
    tag = uuid.uuid4().hex[:8]
    experiment, model = f"churn-{tag}", f"churn-model-{tag}"
    experiment_id = str(client.create_experiment(experiment))
    commit = uuid.uuid4().hex + uuid.uuid4().hex[:8]
    production = _make_run(
        client,
        db,
        experiment_id=experiment_id,
        shape=shape,
        name="production",
        commit="c" * 40,
        better=0.0,
    )
    client.create_registered_model(model)
    version = client.create_model_version(model, f"runs:/{production}/model", run_id=production)
    client.set_registered_model_alias(model, "production", version.version)
    candidates = []
    for n in range(shape.candidates):
        run_id = _make_run(
            client,
            db,
            experiment_id=experiment_id,
            shape=shape,
            name=f"candidate-{n + 1}",
            commit=commit,
            better=0.02,
        )
        client.create_model_version(model, f"runs:/{run_id}/model", run_id=run_id)
        candidates.append(run_id)
    return World(shape, experiment, model, production, tuple(candidates), commit)
