"""How one review is measured: in-process, as a whole process, and the straightforward
client, against the same GitHub stand-in and MLflow server.

Every measurement returns a `Sample` per run (seconds, requests by service and
endpoint, writes); `summary` turns several into medians. Requests are counted on the
client (benchmarks/counting.py) and, for GitHub, checked against what the stand-in
received.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import counting
from benchmarks.scenario import World
from tests import github_payloads as gp
from tests.github_sim import GitHubSim, tally, write_count

ROOT = Path(__file__).resolve().parents[1]
CONSOLE = Path(sys.executable).parent / "model-review"
HOOK = ROOT / "benchmarks" / "hook"


@dataclass
class Sample:
    seconds: float
    mlflow: dict[str, int] = field(default_factory=dict)
    github: dict[str, int] = field(default_factory=dict)
    github_writes: int = 0
    max_rss_mb: float | None = None


def summary(samples: list[Sample]) -> dict[str, Any]:
    """Median time (and spread), the requests of the last run, whether runs agreed."""
    times = [s.seconds for s in samples]
    last = samples[-1]
    same = all(s.mlflow == last.mlflow and s.github == last.github for s in samples)
    out: dict[str, Any] = {
        "runs": len(samples),
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "mlflow_requests": sum(last.mlflow.values()),
        "github_requests": sum(last.github.values()),
        "github_writes": last.github_writes,
        "mlflow": last.mlflow,
        "github": last.github,
        "requests_identical_across_runs": same,
    }
    rss = [s.max_rss_mb for s in samples if s.max_rss_mb is not None]
    if rss:
        out["max_rss_mb"] = round(statistics.median(rss), 1)
    return out


# --- the PR and the event ---------------------------------------------------------


def fresh_pr(world: World, stub: GitHubSim) -> None:
    """The PR before the bot ever saw it: the body links the candidates, `comments`
    earlier comments by people, no status, no assets branch."""
    stub.reset(
        title="Retrain churn model", body=world.pr_body, commits=[world.commit],
        config=world.config(),
    )  # fmt: skip
    stub.add_comments(world.shape.comments)


def action_env(world: World, stub: GitHubSim, folder: Path, tracking_uri: str) -> dict[str, str]:
    payload = copy.deepcopy(gp.webhook("pull_request", "opened"))
    payload["action"] = "synchronize"
    payload["pull_request"] = gp.pull(
        stub.number, body=world.pr_body, author=stub.author,
        head_sha=stub.head_sha, base_sha=stub.base_sha,
    )  # fmt: skip
    payload["repository"]["full_name"] = stub.repo
    event = folder / "event.json"
    event.write_text(json.dumps(payload))
    return {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": stub.repo,
        "GITHUB_TOKEN": "ghs_benchmark",
        "GITHUB_API_URL": stub.url,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_STEP_SUMMARY": str(folder / "summary.md"),
        "GITHUB_OUTPUT": str(folder / "outputs.txt"),
        "MLFLOW_TRACKING_URI": tracking_uri,
    }


def _split(counts: dict[str, dict[str, int]], stub: GitHubSim) -> tuple[dict, dict]:
    github_host = stub.url.removeprefix("http://")
    github = counts.pop(github_host, {})
    mlflow: dict[str, int] = {}
    for per_host in counts.values():
        for key, value in per_host.items():
            mlflow[key] = mlflow.get(key, 0) + value
    return mlflow, github


def _checked(stub: GitHubSim, github: dict[str, int]) -> int:
    """The stand-in must have received exactly what the client counted."""
    received = stub.take_calls()
    if tally(received) != github:
        raise RuntimeError(f"GitHub counts differ: client {github}, server {tally(received)}")
    return write_count(received)


# --- in-process -------------------------------------------------------------------------


def timed(work: Callable[[], object], stub: GitHubSim) -> Sample:
    counting.take()
    stub.take_calls()
    began = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        work()
    seconds = time.perf_counter() - began
    mlflow, github = _split(counting.take(), stub)
    return Sample(seconds, mlflow, github, _checked(stub, github))


def bot_once(env: dict[str, str]) -> None:
    from bot.app.action import run_action

    code = run_action(env)
    if code != 0:
        raise RuntimeError(f"model-review action exited {code}")


def peak_mb(work: Callable[[], object]) -> float:
    """tracemalloc peak of Python allocations during `work` (numpy's included)."""
    tracemalloc.start()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            work()
        return round(tracemalloc.get_traced_memory()[1] / 1e6, 1)
    finally:
        tracemalloc.stop()


# --- a whole process --------------------------------------------------------------------


def process_once(env: dict[str, str], stub: GitHubSim, count: bool = False) -> Sample:
    """`model-review action` as its own process: wall time, peak RSS (wait4) and, when
    `count`, the requests it made (through benchmarks/hook/sitecustomize.py)."""
    full = {**os.environ, **env}
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        count_file = Path(handle.name)
    if count:
        full["PYTHONPATH"] = os.pathsep.join([str(HOOK), str(ROOT)])
    if count:
        full["BENCH_COUNT_FILE"] = str(count_file)
    stub.take_calls()
    began = time.perf_counter()
    proc = subprocess.Popen(
        [str(CONSOLE), "action"], env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - began
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"model-review action exited {proc.returncode}: {stderr[-2000:]}")
    counts = json.loads(count_file.read_text() or "{}") if count else {}
    count_file.unlink(missing_ok=True)
    mlflow, github = _split(counts, stub)
    received = stub.take_calls()
    if count and tally(received) != github:
        raise RuntimeError(f"GitHub counts differ: client {github}, server {tally(received)}")
    sample = Sample(seconds, mlflow, tally(received), write_count(received))
    sample.max_rss_mb = round(usage.ru_maxrss / 1024, 1)
    return sample


def median_ms(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return round(1000 * statistics.median(times), 2)
