"""What "what changed besides the metrics" (issue #15) costs in MLflow requests.

One production run and N candidates, each with dataset inputs and an MLflow 3 logged
model (MLmodel with a signature and size, requirements.txt, python_env.yaml), on a
real MLflow server. The same review is built with every section on and with every
section off (and the comparability rule off); the difference is the extra requests.

    .venv/bin/python benchmarks/changes.py [--candidates 1,3] [--runs 3]

Prints a table and writes benchmarks/results/changes-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import counting  # noqa: E402
from bot.config.schema import load_config  # noqa: E402
from bot.review.pipeline import ReviewRequest, build_review  # noqa: E402
from bot.tracking.client import MlflowRuns  # noqa: E402
from tests.mlflow_helpers import DatasetSpec, log_model, make_run, register, unique_name  # noqa: E402
from tests.mlflow_server import running_server  # noqa: E402

FILES = {
    "requirements.txt": b"mlflow==3.17.2\nscikit-learn==1.9.1\nnumpy==2.4.6\n",
    "python_env.yaml": b"python: 3.11.7\ndependencies:\n- -r requirements.txt\n",
}
OFF = """
compare:
  require_same_eval_data: off
sections:
  data: false
  signature: false
  environment: false
  size: false
  code: false
"""


def build(uri: str, candidates: int) -> tuple[str, list[str]]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiment, model = unique_name("bench-changes"), unique_name("bench-model")
    data = [DatasetSpec("holdout", "d1", context="evaluation")]
    prod = make_run(client, experiment, metrics={"auc": 0.9}, datasets=data)
    register(client, model, prod, log_model(client, prod, files=FILES), aliases=["production"])
    cands = []
    for n in range(candidates):
        run_id = make_run(client, experiment, metrics={"auc": 0.91 + n / 100}, datasets=data)
        register(client, model, run_id, log_model(client, run_id, files=FILES, size_bytes=n))
        cands.append(run_id)
    return model, cands


def review(uri: str, model: str, cands: list[str], config_text: str) -> tuple[float, Counter[str]]:
    config = load_config(f"baseline:\n  model: {model}\n{config_text}")
    text = " ".join(f"runs:/{c}/model" for c in cands)
    counting.take()  # drop what building the data sent
    started = time.perf_counter()
    build_review(ReviewRequest(texts=[text]), MlflowRuns(uri), config)
    elapsed = time.perf_counter() - started
    tally: Counter[str] = Counter()
    for per_host in counting.take().values():
        tally.update(per_host)
    return elapsed, tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", default="1,3")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    counting.install()
    results: dict[str, Any] = {
        "date": date.today().isoformat(),
        "python": platform.python_version(),
    }
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as server:
        for n in (int(x) for x in args.candidates.split(",")):
            model, cands = build(server.uri, n)
            row: dict[str, Any] = {}
            for label, text in (("sections_on", ""), ("sections_off", OFF)):
                samples = [review(server.uri, model, cands, text) for _ in range(args.runs)]
                row[label] = {
                    "median_s": round(statistics.median(s[0] for s in samples), 3),
                    "mlflow_requests": sum(samples[-1][1].values()),
                    "by_endpoint": dict(sorted(samples[-1][1].items())),
                }
            on, off = row["sections_on"], row["sections_off"]
            row["extra_requests"] = on["mlflow_requests"] - off["mlflow_requests"]
            row["extra_s"] = round(on["median_s"] - off["median_s"], 3)
            results[f"candidates_{n}"] = row
            print(
                f"{n} candidate(s): {off['mlflow_requests']} requests without the sections, "
                f"{on['mlflow_requests']} with (+{row['extra_requests']}); "
                f"median {off['median_s']} s -> {on['median_s']} s"
            )
    out = ROOT / "benchmarks" / "results" / f"changes-{results['date']}.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
