"""The sections of benchmarks/run.py: each returns plain data for the JSON report."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks import measure, straightforward
from benchmarks.lower_bound import lower_bound as _lower_bound
from benchmarks.measure import Sample, summary
from benchmarks.scenario import STANDARD, Shape, World, build
from tests.github_sim import GitHubSim
from tests.mlflow_server import MlflowServer

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

PROCESS_RUNS = 3


def process_runs(runs: int) -> int:
    return min(runs, PROCESS_RUNS)  # a process costs seconds of imports each


PICTURE = re.compile(r"/blob/[0-9a-f]{40}/[^)\s\"']+\?raw=true")


@dataclass
class Bench:
    server: MlflowServer
    stub: GitHubSim
    folder: Path
    runs: int
    quick: bool
    worlds: dict[Shape, World] = field(default_factory=dict)

    def client(self) -> MlflowClient:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.server.uri)

    def world(self, shape: Shape) -> World:
        """The MLflow data of `shape` (the comment count lives on GitHub only)."""
        key = shape.but(comments=0)
        if key not in self.worlds:
            self.worlds[key] = build(self.client(), self.server.db_path, key)
        found = self.worlds[key]
        return World(shape, found.experiment, found.model, found.production,
                     found.candidates, found.commit)  # fmt: skip

    def env(self, world: World) -> dict[str, str]:
        folder = self.folder / f"event-{len(self.worlds)}-{time.monotonic_ns()}"
        folder.mkdir(parents=True)
        measure.fresh_pr(world, self.stub)
        return measure.action_env(world, self.stub, folder, self.server.uri)

    def inputs(self) -> straightforward.Inputs:
        return straightforward.Inputs(
            self.stub.repo, self.stub.number, self.stub.url, "ghs_benchmark", self.server.uri
        )

    # --- one review ---------------------------------------------------------------------
    def bot(self, world: World, env: dict[str, str], fresh: bool = True) -> Sample:
        if fresh:
            measure.fresh_pr(world, self.stub)
        unpaced = {**env, "MODEL_REVIEW_GITHUB_PACING": "off"}  # the work, not the sleeps
        return measure.timed(lambda: measure.bot_once(unpaced), self.stub)

    def plain(self, world: World) -> Sample:
        measure.fresh_pr(world, self.stub)
        inputs = self.inputs()
        return measure.timed(lambda: straightforward.review(inputs), self.stub)

    def process(self, world: World, env: dict[str, str], *, fresh: bool = True,
                count: bool = False, paced: bool = True) -> Sample:  # fmt: skip
        if fresh:
            measure.fresh_pr(world, self.stub)
        extra = {} if paced else {"MODEL_REVIEW_GITHUB_PACING": "off"}
        return measure.process_once({**env, **extra}, self.stub, count=count or not paced)


# --- 1-3: the standard review ----------------------------------------------------------


def standard(bench: Bench) -> dict[str, Any]:
    world = bench.world(STANDARD)
    env = bench.env(world)
    bench.bot(world, env)  # warm-up: imports, font cache, connections
    bench.plain(world)
    bot, plain = [], []
    for _ in range(bench.runs):  # interleaved, so both see the same machine
        bot.append(bench.bot(world, env))
        plain.append(bench.plain(world))
    bench.bot(world, env)
    rerun = [bench.bot(world, env, fresh=False) for _ in range(bench.runs)]
    memory = {
        "bot_peak_mb": measure.peak_mb(lambda: bench.bot(world, env)),
        "straightforward_peak_mb": measure.peak_mb(lambda: bench.plain(world)),
    }
    times = process_runs(bench.runs)
    process = [bench.process(world, env, count=(n == 0)) for n in range(times)]
    unpaced = [bench.process(world, env, paced=False) for _ in range(times)]
    process_rerun = [bench.process(world, env, fresh=False, count=(n == 0)) for n in range(times)]
    out = {
        "shape": STANDARD.label(),
        "bot": summary(bot),
        "bot_rerun": summary(rerun),
        "straightforward": summary(plain),
        "memory": memory,
        "process": _process_summary(process),
        "process_unpaced": summary(unpaced),
        "process_rerun": _process_summary(process_rerun),
        "bot_comment_chars": len(bench.stub.bot_comments[0]["body"]),
        "pictures": len(set(PICTURE.findall(bench.stub.bot_comments[0]["body"]))),
    }
    out["ratios"] = _ratios(out["bot"], out["straightforward"])
    return out


def _process_summary(samples: list[Sample]) -> dict[str, Any]:
    """The requests of the counted (first) run; times of all."""
    counted = samples[0]
    out = summary(samples)
    out.update(
        mlflow=counted.mlflow,
        github=counted.github,
        mlflow_requests=sum(counted.mlflow.values()),
        github_requests=sum(counted.github.values()),
        github_writes=counted.github_writes,
    )
    out["requests_identical_across_runs"] = all(s.github == counted.github for s in samples)
    return out


def _ratios(bot: dict[str, Any], plain: dict[str, Any]) -> dict[str, float]:
    def ratio(a: float, b: float) -> float:
        return round(a / b, 3) if b else float("nan")

    return {
        "time_bot_over_straightforward": ratio(bot["median_s"], plain["median_s"]),
        "mlflow_requests_bot_over_straightforward": ratio(
            bot["mlflow_requests"], plain["mlflow_requests"]
        ),
        "github_requests_bot_over_straightforward": ratio(
            bot["github_requests"], plain["github_requests"]
        ),
        "speedup": ratio(plain["median_s"], bot["median_s"]),
        "mlflow_requests_saved_factor": ratio(plain["mlflow_requests"], bot["mlflow_requests"]),
    }


def lower_bound(standard_results: dict[str, Any]) -> dict[str, Any]:
    return _lower_bound(STANDARD, standard_results)


# --- 4: growth ---------------------------------------------------------------------------

SERIES: dict[str, tuple[str, tuple[int, ...]]] = {
    "history": ("steps", (1_000, 10_000, 100_000)),
    "metrics": ("metrics", (10, 100, 1_000)),
    "candidates": ("candidates", (1, 3, 10)),
    "comments": ("comments", (0, 100, 300)),
}
# the straightforward client is measured once per point, and only where it finishes
# in reasonable time (100k-step histories cost it minutes per review)
PLAIN_LIMITS = {"steps": 10_000, "candidates": 3, "metrics": 100}


def growth(bench: Bench) -> dict[str, Any]:
    repeats = growth_runs(bench.runs, bench.quick)
    out: dict[str, Any] = {}
    for name, (field_name, values) in SERIES.items():
        rows = []
        for value in values:
            world = bench.world(STANDARD.but(**{field_name: value}))
            env = bench.env(world)
            samples = [bench.bot(world, env) for _ in range(repeats)]
            row: dict[str, Any] = {field_name: value, "bot": _brief(summary(samples))}
            if name == "history":
                row["history_request_ms"] = _history_request_ms(bench, world)
            if value <= PLAIN_LIMITS.get(field_name, value) and not (
                bench.quick and name != "comments" and value != values[0]
            ):
                row["straightforward"] = _brief(summary([bench.plain(world)]))
            rows.append(row)
        out[name] = rows
    return out


def growth_runs(runs: int, quick: bool) -> int:
    return 1 if quick else max(1, runs // 2 + 1)


def _history_request_ms(bench: Bench, world: World) -> float:
    """One get-history-bulk-interval request as the bot makes it (both runs, one curve):
    what the MLflow server spends sampling a history of this length."""
    import requests

    url = f"{bench.server.uri}/api/2.0/mlflow/metrics/get-history-bulk-interval"
    params = {"run_ids": [world.production, world.candidates[0]], "metric_key": "loss",
              "max_results": 2500}  # fmt: skip
    with requests.Session() as session:
        return measure.median_ms(lambda: session.get(url, params=params).raise_for_status(), 5)


def _brief(s: dict[str, Any]) -> dict[str, Any]:
    keep = ("median_s", "runs", "mlflow_requests", "github_requests", "github_writes")
    return {k: s[k] for k in keep}
