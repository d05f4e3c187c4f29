"""Merge queues end to end under the Action: real MLflow server, GitHub's real
`merge_group` payload (tests/fixtures/github/merge_group), the GitHub stand-in with
two pull requests (#7 and #8) in one merge group.

The group's commit gets `model-review`: `success` only when every PR in it is
approved for its current runs; else `failure` naming the PR. No comment is written,
and a redelivered event writes nothing new.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient
from mlflow_helpers import make_run, register, unique_name

from tests import github_payloads as gp
from tests.action_runner import Runner, now, pr_event
from tests.github_sim import GitHubSim
from tests.mlflow_server import free_port

CONFIG = """
reviewers:
  primary: [alice, bob]
  secondary: [carol]
require_review_for: ["models/**"]
plots:
  host: none
"""
GROUP = "f" * 40


@pytest.fixture
def runs(mlflow_client: MlflowClient) -> dict[str, str]:
    experiment, model = unique_name("queue"), unique_name("queue-model")
    made = {
        name: make_run(mlflow_client, experiment, metrics={"val_f1": f1}, run_name=name)
        for name, f1 in (("prod", 0.80), ("seven", 0.84), ("eight", 0.85))
    }
    register(mlflow_client, model, made["prod"], aliases=["production"])
    return made


@pytest.fixture
def queue(runs: dict[str, str]) -> Iterator[GitHubSim]:
    """PR #7 (the stand-in itself) and PR #8 (`other`), each linking its run."""
    seven = GitHubSim(body=f"Retrain: runs:/{runs['seven']}/model", config=CONFIG)
    seven.add_pull(
        number=8, body=f"Tune: runs:/{runs['eight']}/model", config=CONFIG, author="erin",
        head_sha="c" * 40, commits=["c" * 40],
    )  # fmt: skip
    with seven.mocked("http://127.0.0.1"):  # MLflow: the real server
        yield seven


@pytest.fixture
def action(tmp_path: Path, tracking_env: str) -> Runner:
    return Runner(tmp_path, tracking_env)


def other(seven: GitHubSim) -> GitHubSim:
    (eight,) = seven.others
    return eight


def enqueue(seven: GitHubSim) -> dict[str, Any]:
    """#8's queue entry, built on #7's: the group's commit holds both."""
    merged = gp.queue_commit("e" * 40, "Merge pull request #7 from acme/retrain\n\nRetrain")
    seven.compares[(seven.base_sha, GROUP)] = [merged]
    return gp.merge_group(GROUP, 8, seven.base_sha)


def review_both(action: Runner, seven: GitHubSim, *approvers: str) -> None:
    for sim in (seven, other(seven)):
        out = action("pull_request", pr_event(sim, "opened"))
        assert out["gate"] == "pending"
    time.sleep(1.1)  # GitHub's times have whole seconds: approvals after the review
    for sim in (seven, other(seven)):
        for login in approvers:
            sim.add_review(login, "APPROVED", now())


def writes(seven: GitHubSim) -> tuple[list[str], list[str]]:
    return list(seven.writes), list(other(seven).writes)


def group_statuses(seven: GitHubSim) -> list[tuple[str, str]]:
    return [(s["state"], s["description"]) for s in seven.statuses if s["sha"] == GROUP]


def test_two_approved_prs_make_the_group_green_and_a_redelivery_writes_nothing(
    queue: GitHubSim, action: Runner
) -> None:
    review_both(action, queue, "alice", "bob", "carol")
    before = writes(queue)
    event = enqueue(queue)

    out = action("merge_group", event)

    assert out["gate"] == "success", out
    expected = ("success", "every PR in the merge group is approved: #7, #8")
    assert group_statuses(queue) == [expected]
    assert writes(queue) == (before[0] + ["status success"], before[1])  # no comment
    action("merge_group", event)  # redelivered
    assert group_statuses(queue) == [expected]
    assert writes(queue) == (before[0] + ["status success"], before[1])


def test_a_pr_missing_a_reviewer_fails_the_group_by_name(queue: GitHubSim, action: Runner) -> None:
    review_both(action, queue, "alice", "bob")  # nobody from the secondary pool

    out = action("merge_group", enqueue(queue))

    assert out["gate"] == "failure"
    ((state, description),) = group_statuses(queue)
    assert state == "failure" and description.startswith("#7 pending: waiting for @carol")


def test_a_run_changed_after_the_approvals_fails_the_group(
    queue: GitHubSim, action: Runner, runs: dict[str, str], mlflow_client: MlflowClient
) -> None:
    review_both(action, queue, "alice", "bob", "carol")
    time.sleep(1.1)  # whole seconds: the change comes after the approvals, never with them
    mlflow_client.log_metric(runs["eight"], "val_f1", 0.70)  # no GitHub event for this

    out = action("merge_group", enqueue(queue))

    assert out["gate"] == "failure"
    ((state, description),) = group_statuses(queue)
    assert state == "failure" and description.startswith("#8 pending:"), description


@pytest.mark.parametrize("files", [["README.md"], ["models/train.py"]])
def test_a_pr_that_links_no_run_is_judged_as_its_own_review_judges_it(
    queue: GitHubSim, action: Runner, files: list[str]
) -> None:
    eight = other(queue)
    eight.body, eight.files = "Docs only", files
    own = action("pull_request", pr_event(eight, "opened"))["gate"]
    out = action("pull_request", pr_event(queue, "opened"))
    time.sleep(1.1)
    for login in ("alice", "bob", "carol"):
        queue.add_review(login, "APPROVED", now())
    assert action("pull_request", pr_event(queue, "synchronize"))["gate"] == "success", out

    group = action("merge_group", enqueue(queue))["gate"]

    assert group == own == ("success" if files == ["README.md"] else "failure")
    if group == "failure":
        ((_, description),) = group_statuses(queue)
        assert description == "#8 failure: this PR changes model code but links no MLflow run"


def test_a_pr_that_cannot_be_checked_fails_the_group_by_name(
    queue: GitHubSim, action: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    review_both(action, queue, "alice", "bob", "carol")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    action.tracking_uri = f"http://127.0.0.1:{free_port()}"  # MLflow is down: nothing listens

    out = action("merge_group", enqueue(queue))

    assert out["gate"] == "failure"
    ((state, description),) = group_statuses(queue)
    assert state == "failure" and description.startswith("#7 error: could not be checked:")
