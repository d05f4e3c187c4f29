"""When production moves: from MLflow's alias move to the re-review's status, on the App.

Starts a real MLflow server (sqlite store, MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true) and
the App in this process (create_app, the in-process queue with ONE worker, served on
a loopback port), registers the webhook with `model-review mlflow-webhook create`,
and repeats: approve the PR (a review and two approvals dated 2020), move the
production alias (back and forth between v1 and v3), wait for the PR's status to turn
`pending`. GitHub is the typed FakeGitHub behind a counter (one port call is one
request; lists one per 100); MLflow's requests are counted where MLflow's client sends
them. `--others N` more open PRs, about another model, are checked and left alone.

Baseline, measured in the same run: the same re-review run directly (the handler,
no webhook, no queue); the ratio is what the delivery, the job and the fan-out add.

    .venv/bin/python benchmarks/registry_follow.py [--runs 5] [--others 4]

Also the Action's scheduled check of a repository with one approved PR whose
production did not move: what checking costs.

Prints the numbers, writes benchmarks/results/registry-<date>.json and its section of
docs/benchmarks.md (benchmarks/run.py keeps that section).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from benchmarks.report import REGISTRY_END, REGISTRY_START, replace_section  # noqa: E402
from bot.app.queue.jobs import InProcessQueue  # noqa: E402
from bot.app.queue.runner import JobRunner  # noqa: E402
from bot.app.settings import Settings  # noqa: E402
from bot.app.webhook import AppDeps, MemoryDeliveries, create_app  # noqa: E402
from bot.app.wiring import make_runs  # noqa: E402
from bot.cli import main as cli  # noqa: E402
from bot.domain import GateState  # noqa: E402
from bot.handlers.context import Deps  # noqa: E402
from bot.handlers.pull_request import review_pull_request  # noqa: E402
from tests.fakes import FakeGitHub, FakeInstallations, FakeInventory  # noqa: E402
from tests.mlflow_helpers import make_run, register  # noqa: E402
from tests.mlflow_server import running_server  # noqa: E402
from tests.registry_world import FRAUD, Pull, approved, installation, serving  # noqa: E402

SECRET = "benchmark-registry-secret"
OUT = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs" / "benchmarks.md"
DOCS = ROOT / "docs" / "benchmarks.md"
DEADLINE = 300.0


class Counting:
    """GitHub and MLflow requests since the last `take`."""

    def __init__(self) -> None:
        self.github: Counter[str] = Counter()
        self.mlflow: Counter[str] = Counter()
        self.last: tuple[dict[str, int], dict[str, int]] = ({}, {})

    def take(self) -> tuple[int, int]:
        self.last = (dict(self.github), dict(self.mlflow))
        found = (sum(self.github.values()), sum(self.mlflow.values()))
        self.github.clear()
        self.mlflow.clear()
        return found


class CountedGitHub:
    """A FakeGitHub that counts its calls as the real adapter's requests."""

    def __init__(self, inner: FakeGitHub, counting: Counting) -> None:
        self._inner, self._counting = inner, counting

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)
        if not callable(method) or name in ("bot_login", "status_of", "blob_url"):
            return method

        def counted(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            pages = -(-len(result) // 100) if isinstance(result, list) else 1
            self._counting.github[name] += max(1, pages)
            return result

        return counted


@contextmanager
def mlflow_counted(counting: Counting) -> Iterator[None]:
    real = requests.Session.send

    def send(session: requests.Session, request: Any, **kwargs: Any) -> Any:
        if "/api/2.0/mlflow" in (request.url or "") or "/ajax-api/" in (request.url or ""):
            counting.mlflow[str(request.url).split("?")[0].rsplit("/", 2)[-2]] += 1
        return real(session, request, **kwargs)

    requests.Session.send = send  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        requests.Session.send = real  # type: ignore[method-assign]


def wait_for(check: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > end:
            raise RuntimeError(f"gave up waiting for {what}")
        time.sleep(0.02)


def build(uri: str, others: int) -> tuple[dict[Pull, str], str, str]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    fraud, churn = "fraud-model", "churn-model"
    bodies: dict[Pull, str] = {}
    for name in (fraud, churn):
        register(
            client,
            name,
            make_run(client, "bench", metrics={"val_auc": 0.9}),
            aliases=["production"],
        )
        register(client, name, make_run(client, "bench", metrics={"val_auc": 0.93}))
    bodies[FRAUD] = f"runs:/{client.get_model_version(fraud, '2').run_id}/model"
    churn_run = client.get_model_version(churn, "2").run_id
    for n in range(others):
        bodies[Pull(f"acme/other-{n}", 20 + n, f"{n + 5:x}" * 40, f"{n + 6:x}" * 40)] = (
            f"runs:/{churn_run}/model"
        )
    register(client, fraud, make_run(client, "bench", metrics={"val_auc": 0.91}))  # v3
    return bodies, fraud, uri


def measure(args: argparse.Namespace, uri: str) -> dict[str, Any]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    bodies, fraud, _ = build(uri, args.others)
    counting = Counting()
    apps = installation(bodies)
    runs = lambda config: make_runs(uri, config)  # noqa: E731
    settings = Settings(
        app_id=1,
        private_key="-",
        webhook_secret="-",
        tracking_uri=uri,
        mlflow_webhook_secret=SECRET,
    )

    class Apps(FakeInstallations):
        def repo(self, installation_id: int, full_name: str) -> Any:
            return CountedGitHub(apps.repos[full_name], counting)

    counted = Apps(repos=apps.repos, installed=apps.installed)
    runner = JobRunner(settings, counted, runs=runs, images=lambda gh: lambda *a: None)
    queue = InProcessQueue(runner, workers=1)
    runner.queue, runner.inventory = queue, FakeInventory(apps)
    app = create_app(settings, AppDeps(queue, MemoryDeliveries()))
    github = apps.repos[FRAUD.repo]
    production = ["1"]

    def move() -> None:
        production[0] = "3" if production[0] == "1" else "1"
        client.set_registered_model_alias(fraud, "production", production[0])

    for pull in bodies:  # the other PRs: reviewed and approved against their production
        if pull != FRAUD:
            approved(apps.repos[pull.repo], pull, runs)
    direct = [_direct(github, runs, move) for _ in range(args.runs)]  # before the webhook
    rows: list[dict[str, Any]] = []
    with serving(app) as url, mlflow_counted(counting):
        os.environ["BENCH_MLFLOW_HOOK_SECRET"] = SECRET
        events = "model_version_alias.created,model_version_alias.deleted"
        hook = f"{url}/mlflow/webhook"
        create = ["create", "--url", hook, "--secret-env", "BENCH_MLFLOW_HOOK_SECRET"]
        assert cli(["mlflow-webhook", "--tracking-uri", uri, *create, "--events", events]) == 0
        for run, baseline in enumerate(direct):
            _approve_again(github, runs)
            wait_for(lambda: queue.depth() == 0, "the queue")
            counting.take()
            started = time.monotonic()
            move()
            wait_for(lambda: github.status_of(FRAUD.head) is GateState.PENDING, "the status")
            seconds = time.monotonic() - started
            wait_for(lambda: queue.status().depth == 0 and _idle(queue), "the queue")
            github_requests, mlflow_requests = counting.take()
            rows.append({
                "seconds": round(seconds, 3), "direct_seconds": round(baseline, 3),
                "github_requests": github_requests, "mlflow_requests": mlflow_requests,
                "github_by_call": counting.last[0], "mlflow_by_endpoint": counting.last[1],
            })  # fmt: skip
            print(
                f"run {run + 1}: {seconds:.2f} s from the alias move to the status (a direct "
                f"review: {baseline:.2f} s); {github_requests} GitHub and {mlflow_requests} "
                "MLflow requests",
                flush=True,
            )
        scheduled = _scheduled(apps, runs, counting)
    queue.close(30)
    return {**summarize(rows, args), "scheduled_check_unaffected_pr": scheduled}


def _scheduled(apps: FakeInstallations, runs: Any, counting: Counting) -> dict[str, Any]:
    """The Action's scheduled check of a repository with one approved PR whose
    production did not move: what checking it costs."""
    from bot.app.scheduled import recheck

    name = next(r for r in apps.repos if r.startswith("acme/other"))
    github = CountedGitHub(apps.repos[name], counting)
    deps = Deps(
        github=github, runs=runs, images=lambda *a: None, now=lambda: "2020-01-03T00:00:00Z"
    )
    counting.take()
    report, failed = recheck(deps, name, {})
    github_requests, mlflow_requests = counting.take()
    assert not report.queued and not failed
    print(
        f"scheduled check, one approved PR, nothing moved: {github_requests} GitHub and "
        f"{mlflow_requests} MLflow requests"
    )
    return {
        "github_requests": github_requests, "mlflow_requests": mlflow_requests,
        "github_by_call": counting.last[0], "mlflow_by_endpoint": counting.last[1],
    }  # fmt: skip


def _idle(queue: InProcessQueue) -> bool:
    return not any(queue.busy(key) for key in (f"{FRAUD.repo}#{FRAUD.number}",))


def _approve_again(github: FakeGitHub, runs: Any) -> None:
    """The PR as new, reviewed and approved against today's production (dated 2020)."""
    fresh = installation({FRAUD: github.pulls[FRAUD.number].body}).repos[FRAUD.repo]
    github.__dict__.update(fresh.__dict__)
    approved(github, FRAUD, runs)


def _direct(github: FakeGitHub, runs: Any, move: Callable[[], None]) -> float:
    """The baseline: the same re-review, run directly after the same move."""
    _approve_again(github, runs)
    move()
    deps = Deps(
        github=github, runs=runs, images=lambda *a: None, now=lambda: "2020-01-02T00:00:00Z"
    )
    started = time.monotonic()
    review_pull_request(FRAUD.number, deps)
    seconds = time.monotonic() - started
    assert github.status_of(FRAUD.head) is GateState.PENDING
    return seconds


def summarize(rows: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    seconds = statistics.median(r["seconds"] for r in rows)
    direct = statistics.median(r["direct_seconds"] for r in rows)
    return {
        "runs": rows,
        "open_prs": 1 + args.others,
        "affected_prs": 1,
        "workers": 1,
        "median_seconds_alias_to_status": round(seconds, 3),
        "median_seconds_direct_review": round(direct, 3),
        "ratio_to_direct_review": round(seconds / direct, 2) if direct else None,
        "median_github_requests_per_affected_pr": statistics.median(
            r["github_requests"] for r in rows
        ),
        "median_mlflow_requests_per_affected_pr": statistics.median(
            r["mlflow_requests"] for r in rows
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--others", type=int, default=4, help="open PRs about another model")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as folder, running_server(Path(folder) / "mlflow") as server:
        result = measure(args, server.uri)
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    OUT.mkdir(parents=True, exist_ok=True)
    name = f"registry-{date.today().isoformat()}.json"
    (OUT / name).write_text(json.dumps(result, indent=2) + "\n")
    replace_section(DOCS, REGISTRY_START, REGISTRY_END, section(result, name))
    return 0


def section(result: dict[str, Any], name: str) -> str:
    """The benchmark's section of docs/benchmarks.md."""
    first, scheduled = result["runs"][0], result["scheduled_check_unaffected_pr"]
    github = ", ".join(f"{k} {v}" for k, v in sorted(first["github_by_call"].items()))
    mlflow = ", ".join(f"{k} {v}" for k, v in sorted(first["mlflow_by_endpoint"].items()))
    checked = ", ".join(f"{k} {v}" for k, v in sorted(scheduled["github_by_call"].items()))
    rows = [
        ("alias moved to the re-review's status", f"{result['median_seconds_alias_to_status']} s"),
        (
            "baseline: the same re-review run directly",
            f"{result['median_seconds_direct_review']} s",
        ),
        ("ratio", str(result["ratio_to_direct_review"])),
        (
            "GitHub requests per affected PR (the event's job and the review)",
            str(result["median_github_requests_per_affected_pr"]),
        ),
        ("MLflow requests per affected PR", str(result["median_mlflow_requests_per_affected_pr"])),
        (
            "the Action's scheduled check of one approved PR, nothing moved",
            f"{scheduled['github_requests']} GitHub, {scheduled['mlflow_requests']} MLflow",
        ),
    ]
    table = "\n".join(f"| {a} | {b} |" for a, b in rows)
    extra = result["median_seconds_alias_to_status"] - result["median_seconds_direct_review"]
    return (
        f"{REGISTRY_START}\n## When production moves (issue #24)\n\n"
        f"`benchmarks/registry_follow.py` (results in `benchmarks/results/{name}`): a real "
        "MLflow server with the App's webhook registered by `model-review mlflow-webhook "
        "create`, the App in process (in-process queue, one worker) on a loopback port, "
        f"{result['open_prs']} open PRs of which {result['affected_prs']} compared with the "
        "moved model; GitHub is the typed fake behind a counter (a call is a request, lists "
        f"one per 100). Medians of {len(result['runs'])} runs.\n\n"
        f"| Measure | value |\n|---|---|\n{table}\n\n"
        f"GitHub calls of one event: {github}. MLflow endpoints: {mlflow}. The scheduled "
        f"check's calls: {checked}.\n\n"
        "MLflow's delivery, the job that finds the PRs and the queue's hand-offs add "
        f"{extra:.1f} s (medians) to the review itself, whose time is mostly reading the runs "
        "and production from MLflow (a busy 2-core machine; both vary run to run). The job "
        "reads each open PR's comments (the bot's state) and, for a PR about the moved "
        "model, its config; the other PRs cost one request each.\n"
        f"{REGISTRY_END}"
    )


if __name__ == "__main__":
    sys.exit(main())
