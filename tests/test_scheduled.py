"""The Action's scheduled check (bot.app.scheduled) end to end: a real MLflow server,
GitHub faked by the simulator with one repository and two open pull requests, each
approved against the production model of its own registered model. Production of one
model moves; a `schedule` run re-reviews that PR (pending, and the comment says why)
and leaves the other alone, within its request bounds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from mlflow.tracking import MlflowClient
from mlflow_helpers import make_run, register, unique_name

from tests import github_payloads as gp
from tests.action_runner import Runner, now, pr_event, review_event
from tests.github_sim import GitHubSim, tally, write_count
from tests.registry_world import wait_for

CONFIG = "reviewers:\n  primary: [alice]\n  secondary: [carol]\nplots:\n  host: none\n"
SCHEDULE = {"schedule": "*/30 * * * *"}


def _model(client: MlflowClient) -> tuple[str, str, str]:
    """A registered model: v1 production, v2 the candidate; its name and both runs."""
    experiment, name = unique_name("scheduled"), unique_name("model")
    production = make_run(client, experiment, metrics={"val_f1": 0.80})
    candidate = make_run(client, experiment, metrics={"val_f1": 0.84})
    register(client, name, production, aliases=["production"])
    register(client, name, candidate)
    return name, experiment, candidate


@pytest.fixture
def action(tmp_path: Path, tracking_env: str) -> Runner:
    return Runner(tmp_path, tracking_env)


@pytest.fixture
def world(
    mlflow_client: MlflowClient,
) -> Iterator[tuple[GitHubSim, GitHubSim, str, str, responses.RequestsMock]]:
    moved, experiment, first = _model(mlflow_client)
    other_model, _, second = _model(mlflow_client)
    sim = GitHubSim(body=f"Retrain: runs:/{first}/model", config=CONFIG)
    other = sim.add_pull(
        number=8, body=f"Churn: runs:/{second}/model", config=CONFIG,
        head_sha="c" * 40, commits=["c" * 40],
    )  # fmt: skip
    assert other_model
    with sim.mocked("http://127.0.0.1") as rsps:  # MLflow: the real server
        yield sim, other, moved, experiment, rsps


def _approve(pull: GitHubSim, action: Runner) -> None:
    action("pull_request", pr_event(pull, "opened"))
    out: dict[str, str] = {}
    for login in ("alice", "carol"):
        review = pull.add_review(login, "APPROVED", now())
        out = action("pull_request_review", review_event(pull, review))
    assert out["gate"] == "success"


def test_a_scheduled_run_re_reviews_the_pr_whose_production_moved(
    world, action: Runner, mlflow_client: MlflowClient
) -> None:
    sim, other, model, experiment, _ = world
    for pull in (sim, other):
        _approve(pull, action)
    approved_at = now()
    # GitHub's times have whole seconds: the check must come after the approvals
    wait_for(lambda: now() > approved_at, "the next second")
    version = register(mlflow_client, model, make_run(mlflow_client, experiment))
    mlflow_client.set_registered_model_alias(model, "production", version)
    other_writes = list(other.writes)
    sim.take_calls()
    other.take_calls()

    out = action("schedule", SCHEDULE)

    assert out["gate"] == "skipped"
    assert sim.status is not None and sim.status["state"] == "pending"
    body = sim.bot_comments[0]["body"]
    assert re.search(
        r"production moved from v1 to v3 \(found at \d\d:\d\d UTC by the scheduled check\); "
        r"approvals must be given again",
        body,
    ), body
    assert other.writes == other_writes  # the other model's PR: not touched
    assert other.status is not None and other.status["state"] == "success"
    checks = other.take_calls()  # what checking an unaffected PR cost
    assert write_count(checks) == 0 and len(checks) <= 6, tally(checks)


def test_a_scheduled_run_with_nothing_moved_writes_nothing(world, action: Runner) -> None:
    sim, other, *_ = world
    for pull in (sim, other):
        _approve(pull, action)
    before = (list(sim.writes), list(other.writes))
    action("schedule", SCHEDULE)
    assert (sim.writes, other.writes) == before


def test_a_run_stops_at_its_review_bound(world, action: Runner, tmp_path: Path) -> None:
    sim, other, *_ = world
    # neither PR has a status yet though both link runs: both are due
    dispatched = gp.webhook("workflow_dispatch", "payload")  # GitHub's example
    code = action.run("workflow_dispatch", dispatched, MODEL_REVIEW_SCHEDULE_REVIEWS="1")
    assert code == 1  # stopped at a bound: says so, and fails the run
    assert [p.status is not None for p in (sim, other)] == [True, False]
