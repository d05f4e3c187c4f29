"""What a review costs: time, memory and API requests, against the fewest requests
possible and a straightforward client.

    .venv/bin/python benchmarks/run.py [--quick] [--runs N] [--only SECTION ...]

Starts a real MLflow server (sqlite store, proxied artifacts) and a GitHub stand-in
on a loopback socket (tests/github_sim.py), builds the data, and measures:
the standard review (in-process, as a whole `model-review action` process, and
re-run with nothing changed), the straightforward client on the same data, the lower
bound of requests, growth with history length / metrics / candidates / comments,
start-up, the webhook's ack latency (benchmarks/webhook_load.py) and the loopback
connection cost. Writes benchmarks/results/<date>.json and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import counting, probes, sections  # noqa: E402
from benchmarks.lower_bound import targets  # noqa: E402
from benchmarks.report import write_markdown  # noqa: E402
from tests.github_sim import GitHubSim  # noqa: E402
from tests.mlflow_server import running_server  # noqa: E402

SECTIONS = ("standard", "growth", "startup", "webhook", "connection")
CLIENT_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}


def machine() -> dict[str, Any]:
    from importlib import metadata

    import matplotlib
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # no "View run" lines

    cpu = ""
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        cpu = next((ln.split(":", 1)[1].strip() for ln in handle if "model name" in ln), "")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": round(memory, 1),
        "python": platform.python_version(),
        "mlflow": mlflow.__version__,
        "pygithub": metadata.version("PyGithub"),
        "matplotlib": matplotlib.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer runs and smaller growth")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per case (median)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    runs = args.runs or (2 if args.quick else 5)
    os.environ.update(CLIENT_ENV)
    counting.install()
    info = machine()
    command = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    results: dict[str, Any] = {
        "benchmark": "model-review",
        "date": date.today().isoformat(),
        "command": command.strip(),
        "quick": args.quick,
        "runs": runs,
        "process_runs": sections.process_runs(runs),
        "growth_runs": sections.growth_runs(runs, args.quick),
        "machine": info,
    }
    began = time.perf_counter()
    run_sections(args, runs, results)
    results["seconds"] = round(time.perf_counter() - began, 1)
    results["targets"] = targets(results)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{results['date']}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results, args.docs)
    print(f"wrote {path} and {args.docs}")
    for target in results["targets"]:
        print(f"{'met' if target['met'] else 'NOT MET':>8}  {target['target']}: {target['value']}")
    return 0


def run_sections(args: argparse.Namespace, runs: int, results: dict[str, Any]) -> None:
    """Every section asked for, each timed; the servers they need are started here."""
    began = time.perf_counter()
    timings: dict[str, float] = {}

    def timed(name: str, work: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        print(f"[{start - began:6.0f} s] {name} ...", flush=True)
        try:
            return work()
        finally:
            timings[name] = round(time.perf_counter() - start, 1)

    stub = GitHubSim(author="dave", contract=None)  # times the bot, not the contract checks
    stub.serve()
    try:
        with tempfile.TemporaryDirectory(prefix="model-review-bench-") as tmp:
            folder = Path(tmp)
            if {"standard", "growth", "connection"} & set(args.only):
                with running_server(folder / "mlflow") as server:
                    bench = sections.Bench(server, stub, folder, runs, args.quick)
                    if "standard" in args.only:
                        results["standard"] = timed("standard", lambda: sections.standard(bench))
                        results["lower_bound"] = sections.lower_bound(results["standard"])
                    if "growth" in args.only:
                        results["growth"] = timed("growth", lambda: sections.growth(bench))
                    if "connection" in args.only:
                        results["connection"] = timed(
                            "connection", lambda: probes.connection(bench)
                        )
            if "startup" in args.only:
                results["startup"] = timed("startup", lambda: probes.startup(runs))
            if "webhook" in args.only:
                results["webhook"] = timed("webhook", lambda: probes.webhook(args.quick))
    finally:
        stub.stop()
    results["section_seconds"] = timings


if __name__ == "__main__":
    raise SystemExit(main())
