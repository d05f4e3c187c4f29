"""What the model's story costs a review: production's history, earlier reviews and
the run count (bot.review.history), measured against a real MLflow server.

    .venv/bin/python benchmarks/governance.py [--runs N]

Builds a registered model with a production version, two reviewed versions, a
history ledger and N other runs in the candidate's experiment (so the run count hits
its cap of 1,000 with the default N), then reviews the candidate with and without
the story and counts MLflow requests by endpoint. Also times the two extra calls
alone. Writes benchmarks/results/governance-<date>.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import counting  # noqa: E402
from tests.mlflow_server import running_server  # noqa: E402

ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}


def build(uri: str, others: int) -> dict[str, str]:
    """The model, its versions and `others` runs after production; returns names/ids."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    from bot.domain import HistoryEntry, LedgerAction
    from bot.review.ledger import ledger_tag

    client = MlflowClient(uri)
    experiment = client.create_experiment(f"bench-{uuid.uuid4().hex[:8]}")
    model = f"bench-model-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(model)

    def run(name: str, f1: float) -> str:
        """A run with 20 metrics and 20 params (left RUNNING: the count takes any status)."""
        created = client.create_run(experiment, run_name=name)
        rid = created.info.run_id
        now = int(time.time() * 1000)
        metrics = [Metric(f"m{i}", f1 + i / 100, now, 0) for i in range(20)]
        params = [Param(f"p{i}", str(i)) for i in range(20)]
        client.log_batch(rid, metrics=metrics, params=params)
        return str(rid)

    production = run("production", 0.80)
    time.sleep(0.01)  # the others start strictly after production
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda n: run(f"search-{n}", 0.5 + (n % 40) / 100), range(others)))
    candidate = run("candidate", 0.85)
    approved = {"model_review.status": "approved", "model_review.approvers": "bob,carol"}
    for rid, pr in ((production, 1), (candidate, 2)):
        version = client.create_model_version(model, f"runs:/{rid}/model", rid).version
        for key, value in {**approved, "model_review.pr": f"https://gh/acme/m/pull/{pr}"}.items():
            client.set_model_version_tag(model, version, key, value)
    client.set_registered_model_alias(model, "production", "1")
    entry = HistoryEntry("1", LedgerAction.PROMOTE, previous="none", key="merge:abc")
    client.set_registered_model_tag(model, *ledger_tag(entry, datetime.now(UTC)))
    return {"model": model, "candidate": candidate, "experiment": experiment}


def requests(uri: str, ids: dict[str, str], story: bool) -> dict[str, int]:
    from bot.config.schema import Config
    from bot.review import pipeline
    from bot.tracking.client import MlflowRuns

    real = pipeline.model_history
    if not story:
        pipeline.model_history = lambda *a, **k: (None, None)  # type: ignore[assignment]
    try:
        counting.take()
        request = pipeline.ReviewRequest(texts=[f"models:/{ids['model']}/2"])
        pipeline.build_review(request, MlflowRuns(uri), Config())
        return next(iter(counting.take().values()), {})
    finally:
        pipeline.model_history = real


def search_bytes(uri: str, experiment: str) -> int:
    """The size of the answer to the run count's one search (1,000 runs at most)."""
    import requests as http

    body = {"experiment_ids": [experiment], "max_results": 1000}
    return len(http.post(f"{uri}/api/2.0/mlflow/runs/search", json=body, timeout=120).content)


def timed(call: Callable[[], object], repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return round(statistics.median(samples) * 1000, 1)


def measure(uri: str, others: int) -> dict[str, Any]:
    from bot.tracking.client import MlflowRuns

    started = time.perf_counter()
    ids = build(uri, others)
    built = round(time.perf_counter() - started, 1)
    with_story, without = requests(uri, ids, True), requests(uri, ids, False)
    extra = {k: with_story.get(k, 0) - without.get(k, 0) for k in with_story}
    runs = MlflowRuns(uri)
    count = runs.count_runs(ids["experiment"], 0, 1000)
    return {
        "other_runs": others,
        "build_s": built,
        "requests_with_story": sum(with_story.values()),
        "requests_without_story": sum(without.values()),
        "extra_by_endpoint": {k: v for k, v in sorted(extra.items()) if v},
        "run_count": {"count": count[0], "capped": count[1]},
        "count_search_bytes": search_bytes(uri, ids["experiment"]),
        "count_runs_ms": timed(lambda: MlflowRuns(uri).count_runs(ids["experiment"], 0, 1000)),
        "model_record_ms": timed(lambda: MlflowRuns(uri).model_record(ids["model"])),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1050, help="other runs (default 1050)")
    args = parser.parse_args()
    os.environ.update(ENV)
    counting.install()
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as server:
        result = measure(server.uri, args.runs)
    out = ROOT / "benchmarks" / "results" / f"governance-{date.today().isoformat()}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    print(f"written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
