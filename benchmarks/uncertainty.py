"""What intervals cost: the extra MLflow requests of each source of repeated measures,
and the time of the per-example bootstrap.

    .venv/bin/python benchmarks/uncertainty.py

Starts a real MLflow server, logs a candidate and a production run (10 metrics, 5
seeds as child runs, 5 sibling repeats, 3 per-fold metrics, an evaluation table of
2,000 rows), reviews them with each source switched on alone and counts the requests
by endpoint against the same review with every source off. Then times the bootstrap
(1,000 resamples) on 10,000 and 200,000 rows. Prints the numbers and writes
benchmarks/results/uncertainty-<date>.json.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import numpy as np  # noqa: E402

from benchmarks import counting  # noqa: E402
from bot.config.schema import load_config  # noqa: E402
from bot.config.uncertainty import EvalTableConfig  # noqa: E402
from bot.review import bootstrap  # noqa: E402
from bot.review.pipeline import ReviewRequest, build_review  # noqa: E402
from bot.tracking.client import MlflowRuns  # noqa: E402
from tests.mlflow_server import running_server  # noqa: E402

COMMITS = {
    3: "fedcba9876543210fedcba9876543210fedcba98",
    5: "0123456789abcdef0123456789abcdef01234567",
}
METRICS = [f"m{i}" for i in range(10)]
TABLE = "eval/predictions.json"
OFF = "uncertainty: {children: false}"
SOURCES = {
    "children": "uncertainty: {children: true}",
    "siblings (vary)": "uncertainty: {children: false, vary: [seed]}",
    "steps (3 keys)": 'uncertainty: {children: false, step_samples: ["cv_*"]}',
    "eval table": (
        "uncertainty: {children: false, eval_table: "
        f"{{path: {TABLE}, label: y, score: p, id: id}}}}"
    ),
}


def _table(rng: np.random.Generator, n: int, skill: float) -> tuple[bytes, Any, Any]:
    y = np.random.default_rng(n).integers(0, 2, n)  # the same examples on both sides
    p = np.clip(y * skill + (1 - skill) / 2 + rng.normal(0, 0.2, n), 0.001, 0.999)
    rows = [[f"r{i}", int(a), float(b)] for i, (a, b) in enumerate(zip(y, p, strict=True))]
    return json.dumps({"columns": ["id", "y", "p"], "data": rows}).encode(), y, p


def _side(client: Any, exp: str, rng: np.random.Generator, skill: float, depth: int) -> str:
    from mlflow_helpers import make_run

    values = {k: float(rng.normal(0.8, 0.01)) for k in METRICS}
    folds = {f"cv_{k}": [float(rng.normal(0.8, 0.01)) for _ in range(5)] for k in "abc"}
    table, _, _ = _table(rng, 2000, skill)
    parent = make_run(
        client, exp, params={"depth": depth}, metrics=values, history=folds,
        artifacts={TABLE: table}, commit=COMMITS[depth],
    )  # fmt: skip
    for seed in range(5):
        scores = {k: float(rng.normal(0.8, 0.01)) for k in METRICS}
        tags = {"mlflow.parentRunId": parent}
        make_run(client, exp, params={"seed": seed}, metrics=scores, tags=tags)
        if seed:  # four more runs of the parent's commit and recipe: sibling repeats
            params = {"depth": depth, "seed": seed}
            make_run(client, exp, params=params, metrics=scores, commit=COMMITS[depth])
    return parent


def _requests(uri: str, cand: str, model: str, config: str) -> dict[str, int]:
    cfg = load_config(f"baseline: {{model: {model}}}\n{config}")
    counting.take()
    build_review(ReviewRequest(texts=[f"runs:/{cand}/model"]), MlflowRuns(uri), cfg)
    return next(iter(counting.take().values()), {})


def requests_per_source(uri: str) -> dict[str, dict[str, int]]:
    from mlflow.tracking import MlflowClient
    from mlflow_helpers import register

    client = MlflowClient(uri)
    rng = np.random.default_rng(0)
    prod = _side(client, "bench-uncertainty", rng, 0.5, 3)
    cand = _side(client, "bench-uncertainty", rng, 0.6, 5)
    register(client, "bench-uncertainty-model", prod, aliases=["production"])
    base = _requests(uri, cand, "bench-uncertainty-model", OFF)
    out = {"all sources off (total)": {"total": sum(base.values())}}
    for name, config in SOURCES.items():
        found = _requests(uri, cand, "bench-uncertainty-model", config)
        extra = {k: found.get(k, 0) - base.get(k, 0) for k in sorted({*found, *base})}
        out[name] = {k: v for k, v in extra.items() if v} | {"total": sum(extra.values())}
    return out


def bootstrap_seconds() -> dict[str, float]:
    config = EvalTableConfig(path="t.json", label="y", score="p", id="id")
    out: dict[str, float] = {}
    for n in (10_000, 200_000):
        rng = np.random.default_rng(n)
        cand, _, _ = _table(rng, n, 0.6)
        base, _, _ = _table(rng, n, 0.5)
        started = time.perf_counter()
        result = bootstrap.compare_tables(cand, base, config)
        out[f"{n:,} rows, {len(result.estimates)} metrics"] = round(
            time.perf_counter() - started, 2
        )
    return out


def main() -> int:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    counting.install()
    with (
        tempfile.TemporaryDirectory(prefix="bench-uncertainty-") as tmp,
        running_server(Path(tmp)) as server,
    ):
        requests = requests_per_source(server.uri)
    results = {"extra MLflow requests": requests, "bootstrap seconds": bootstrap_seconds()}
    text = json.dumps(results, indent=2)
    print(text)
    out = ROOT / "benchmarks" / "results" / f"uncertainty-{date.today().isoformat()}.json"
    out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
