"""What a review of autolog + evaluate() runs costs in MLflow requests, now and before
issue #21 (metric roles, directions, the gap, the config's metric names, the plots'
order), on the same runs.

Logs the realistic projects of tests/real_projects.py (scikit-learn autolog with
evaluate() and nested trials; LightGBM autolog with two eval sets, CV folds as child
runs and an overfit run) on a real MLflow server, then reviews them, plots included,
each review in a process of its own: once with this tree's `bot`, once with the `bot`
and templates of `--baseline-ref` (default: main before issue #21), unpacked from git.

    .venv/bin/python benchmarks/verdict.py [--runs 3] [--baseline-ref REF]

Prints a table, writes benchmarks/results/verdict-<date>.json and its section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.report import VERDICT_END, VERDICT_START, replace_section, table  # noqa: E402
from tests.mlflow_server import running_server  # noqa: E402

BASELINE_REF = "5cabcc5"  # main just before issue #21's first change to bot/
NOTE = (
    "Requests are the whole review's (runs, production, the models' files, histories, "
    "images). Roles, directions, the gap, the config's metric names and the plots' order "
    "are computed from what the review already reads: no request is added. Times are on "
    "a busy 2-core machine, all reviews of one version before the other's, and *now* "
    "holds every change since the baseline, not only issue #21's.\n"
)

# One review in a fresh process: `bot` comes from sys.argv[1]; prints the tally.
ONE_REVIEW = """
import json, sys, tempfile, time
sys.path.insert(0, sys.argv[1]); sys.path.insert(1, sys.argv[2])
from benchmarks import counting
from bot.app.images import LocalImages
from bot.config.schema import load_config
from bot.review.pipeline import ReviewRequest, build_review
from bot.tracking.client import MlflowRuns
spec = json.loads(sys.argv[3])
counting.install()
runs = MlflowRuns(spec["uri"])
request = ReviewRequest(texts=spec["texts"], commits=spec["commits"] or None)
config = load_config(spec["config"])
counting.take()
started = time.perf_counter()
with tempfile.TemporaryDirectory() as out:
    report = build_review(request, runs, config, LocalImages(__import__("pathlib").Path(out)))
elapsed = time.perf_counter() - started
tally = {}
for per_host in counting.take().values():
    for key, n in per_host.items():
        tally[key] = tally.get(key, 0) + n
print(json.dumps({"seconds": elapsed, "requests": tally, "runs": len(report.candidates)}))
"""


def scenarios(uri: str) -> dict[str, dict[str, Any]]:
    """The reviews to measure, on freshly logged projects."""
    from tests.real_projects import log_lightgbm_project, log_sklearn_project

    sk, lgbm = log_sklearn_project(uri), log_lightgbm_project(uri)
    boosting = f"baseline:\n  model: {lgbm.model_name}\n"

    def linked(run: str, config: str = "") -> dict[str, Any]:
        return {"uri": uri, "texts": [f"runs:/{run}/model"], "commits": [], "config": config}

    return {
        "sklearn candidate (linked)": linked(sk.candidate_run),
        "sklearn candidate (by commit)": {
            "uri": uri,
            "texts": [],
            "commits": [sk.candidate_commit],
            "config": "",
        },
        "LightGBM candidate with 5 CV folds": linked(lgbm.candidate_run, boosting),
        "LightGBM overfit run": linked(lgbm.overfit_run, boosting),
    }


def unpack(ref: str, into: Path) -> Path:
    """`bot/` and `templates/` of git `ref`, as a folder to import `bot` from."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "bot", "templates"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def measure(code_root: Path, spec: dict[str, Any], runs: int) -> dict[str, Any]:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", ONE_REVIEW, str(code_root), str(ROOT), json.dumps(spec)],
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    last = samples[-1]
    return {
        "median_s": round(statistics.median(s["seconds"] for s in samples), 2),
        "mlflow_requests": sum(last["requests"].values()),
        "candidates": last["runs"],
        "by_endpoint": dict(sorted(last["requests"].items())),
    }


def section(results: dict[str, Any]) -> str:
    rows = [
        (
            name,
            r["before"]["candidates"],
            r["before"]["mlflow_requests"],
            r["now"]["candidates"],
            r["now"]["mlflow_requests"],
            r["before"]["median_s"],
            r["now"]["median_s"],
        )
        for name, r in results["reviews"].items()
    ]
    head = ("review", "runs before", "requests before", "runs now", "requests now",
            "s before", "s now")  # fmt: skip
    return (
        f"{VERDICT_START}\n## Reviews of autolog + evaluate() runs (issue #21)\n\n"
        f"`benchmarks/verdict.py`, {results['date']}: the realistic projects of "
        "tests/real_projects.py on a real MLflow server, each review (plots included) in "
        f"a process of its own, with this tree's code and with `{results['baseline_ref']}` "
        f"(main before issue #21); median of {results['runs']} runs, requests of the last.\n\n"
        + table(head, rows)
        + f"\n{NOTE}\n{VERDICT_END}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-ref", default=BASELINE_REF)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "date": date.today().isoformat(),
        "python": platform.python_version(),
        "baseline_ref": args.baseline_ref,
        "runs": args.runs,
        "reviews": {},
    }
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as server:
        before = unpack(args.baseline_ref, Path(tmp) / "before")
        for name, spec in scenarios(server.uri).items():
            row = {
                "before": measure(before, spec, args.runs),
                "now": measure(ROOT, spec, args.runs),
            }
            row["extra_requests"] = row["now"]["mlflow_requests"] - row["before"]["mlflow_requests"]
            results["reviews"][name] = row
            print(
                f"{name}: {row['before']['mlflow_requests']} requests before "
                f"({row['before']['candidates']} runs), {row['now']['mlflow_requests']} now "
                f"({row['now']['candidates']} runs); median {row['before']['median_s']} s -> "
                f"{row['now']['median_s']} s",
                flush=True,
            )
    out = ROOT / "benchmarks" / "results" / f"verdict-{results['date']}.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    replace_section(ROOT / "docs" / "benchmarks.md", VERDICT_START, VERDICT_END, section(results))
    print(f"written to {out} and docs/benchmarks.md")


if __name__ == "__main__":
    main()
