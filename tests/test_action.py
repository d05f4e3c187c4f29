"""`model-review action` end to end: real MLflow server, GitHub faked at the HTTP level.

The GitHub stand-in (tests/github_sim.py) keeps comments, reviews and statuses
between events and checks the JSON body of every write; tests assert the exact
writes they expect. Events are GitHub's published webhook payloads with the fields a test
needs changed.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from matrix import row
from mlflow.tracking import MlflowClient
from mlflow_helpers import make_run, register, unique_name

from bot.render.markdown import WORD_JOINER
from tests import github_payloads as gp
from tests.action_runner import Runner, now, pr_event, review_event
from tests.github_sim import GitHubSim

CONFIG = """
reviewers:
  primary: [alice, bob]
  secondary: [carol]
plots:
  host: none
"""


@pytest.fixture
def runs(mlflow_client: MlflowClient) -> dict[str, str]:
    experiment, model = unique_name("churn"), unique_name("churn-model")
    production = make_run(
        mlflow_client,
        experiment,
        params={"depth": 4},
        metrics={"val_f1": 0.80, "val_loss": 0.40},
        run_name="prod",
    )
    first = make_run(
        mlflow_client,
        experiment,
        params={"depth": 6},
        metrics={"val_f1": 0.84, "val_loss": 0.35},
        run_name="cand-1",
        notes="# Deeper\n\nSix levels.",
    )
    second = make_run(
        mlflow_client,
        experiment,
        params={"depth": 8},
        metrics={"val_f1": 0.85, "val_loss": 0.36},
        run_name="cand-2",
    )
    register(mlflow_client, model, production, aliases=["production"])
    register(mlflow_client, model, first)
    register(mlflow_client, model, second)
    return {"production": production, "first": first, "second": second}


@pytest.fixture
def sim(runs: dict[str, str]) -> Iterator[tuple[GitHubSim, responses.RequestsMock]]:
    github = GitHubSim(body=f"Retrain: runs:/{runs['first']}/model", config=CONFIG)
    with github.mocked("http://127.0.0.1") as rsps:  # MLflow: the real server
        yield github, rsps


@pytest.fixture
def action(tmp_path: Path, tracking_env: str) -> Runner:
    return Runner(tmp_path, tracking_env)


def test_opened_review_review_edited(sim, action, runs) -> None:
    github, _ = sim

    out = action("pull_request", pr_event(github, "opened"))
    assert out["gate"] == "pending" and "waiting for @bob (primary)" in out["description"]
    assert len(github.bot_comments) == 1
    comment = github.bot_comments[0]
    assert out["comment-url"] == comment["html_url"]
    assert "cand-1" in comment["body"] and "0.84" in comment["body"]
    assert github.requested == ["bob", "carol"]
    assert github.status is not None and github.status["state"] == "pending"
    assert github.status["target_url"] == comment["html_url"]

    time.sleep(1.1)  # GitHub's times have whole seconds
    bob = github.add_review("bob", "APPROVED", now())
    out = action("pull_request_review", review_event(github, bob))
    assert out["gate"] == "pending" and "carol" in out["description"]
    assert "✅" in github.bot_comments[0]["body"].split("#### 👀 Review")[1].split("####")[0]

    carol = github.add_review("carol", "APPROVED", now())
    out = action("pull_request_review", review_event(github, carol))
    assert out["gate"] == "success"
    assert github.status is not None and github.status["state"] == "success"

    time.sleep(1.1)
    github.body = f"Better one: runs:/{runs['second']}/model"
    out = action("pull_request", pr_event(github, "edited"))
    assert out["gate"] == "pending"  # the approvals were of the previous model
    assert "older than the current runs" in out["description"]
    assert len(github.bot_comments) == 1  # one comment, however many events
    assert "cand-2" in github.bot_comments[0]["body"]
    assert github.writes.count("create_comment") == 1
    # the file list is read only for `require_review_for`, which this config does not set
    assert "pulls/N/files" not in {route for _, route in github.calls}
    assert github.writes == [
        "create_comment", "request bob,carol", "status pending",  # opened
        "update_comment", "status pending",  # bob approved
        "update_comment", "status success",  # carol approved
        "update_comment", "status pending",  # another run: the approvals are stale
    ]  # fmt: skip


def comment_event(sim: GitHubSim, action: str, comment: dict[str, Any], before: str | None) -> Any:
    """GitHub's issue_comment `edited` / `deleted` example, about `comment` on the PR."""
    payload = copy.deepcopy(gp.webhook("issue_comment", action))
    payload["comment"] = comment
    payload["issue"]["number"] = sim.number
    payload["issue"]["user"]["login"] = sim.author
    payload["issue"]["pull_request"] = {"url": f"{gp.API}/repos/{sim.repo}/pulls/{sim.number}"}
    payload["repository"]["full_name"] = sim.repo
    if before is not None:
        payload["changes"] = {"body": {"from": before}}
    return payload


@row(
    "input",
    "A PR approved by both reviewers; then the author edits a comment to link another "
    "run, then deletes it (`issue_comment` edited / deleted; the webhook queues the same "
    "events)",
    "Each re-runs the review: the edit adds the run and makes the approvals stale "
    "(`pending`), the deletion removes it; edits of comments that never held a "
    "reference, and of bots' comments, are ignored",
)
def test_a_comment_edited_to_link_a_run_or_deleted_re_runs_the_review(sim, action, runs) -> None:
    github, _ = sim
    github.add_comment("the better run: (link to come)", github.author)
    action("pull_request", pr_event(github, "opened"))
    github.add_review("bob", "APPROVED", now())
    github.add_review("carol", "APPROVED", now())
    assert action("pull_request", pr_event(github, "synchronize"))["gate"] == "success"

    time.sleep(1.1)  # GitHub's times have whole seconds
    comment = github.comments[0]
    before, comment["body"] = comment["body"], f"the better run: runs:/{runs['second']}/model"
    out = action("issue_comment", comment_event(github, "edited", comment, before))
    assert out["gate"] == "pending" and "older than the current runs" in out["description"]
    assert "cand-2" in github.bot_comments[0]["body"]

    github.comments.remove(comment)
    out = action("issue_comment", comment_event(github, "deleted", comment, None))
    assert out["gate"] == "pending"
    assert "cand-2" not in github.bot_comments[0]["body"]
    assert "cand-1" in github.bot_comments[0]["body"]


def _approved(github: GitHubSim, action: Runner) -> None:
    action("pull_request", pr_event(github, "opened"))
    github.add_review("bob", "APPROVED", now())
    github.add_review("carol", "APPROVED", now())
    assert action("pull_request", pr_event(github, "synchronize"))["gate"] == "success"
    time.sleep(1.1)  # GitHub's times have whole seconds


@row(
    "gate",
    "After both approvals (`success`), the PR's author posts a new comment linking another "
    "run (`issue_comment` created, no command); a drive-by account (NONE) posts the same",
    "The author's comment re-runs the review: the run is added and the approvals go stale "
    "(`pending`). The drive-by comment starts nothing (`skipped`, no write); the README "
    "workflow's `if:` lets comments with references through",
)
def test_a_new_comment_linking_a_run_re_runs_the_review(sim, action, runs) -> None:
    github, _ = sim
    _approved(github, action)
    link = f"one more: runs:/{runs['second']}/model"
    stranger = github.add_comment(link, "mallory", association="NONE")
    writes = list(github.writes)
    out = action("issue_comment", comment_event(github, "created", stranger, None))
    assert out["gate"] == "skipped" and github.writes == writes
    mine = github.add_comment(link, github.author, association="CONTRIBUTOR")
    out = action("issue_comment", comment_event(github, "created", mine, None))
    assert out["gate"] == "pending" and "older than the current runs" in out["description"]
    assert "cand-2" in github.bot_comments[0]["body"]


@row(
    "gate",
    "An org MEMBER whose permission is `read` comments `/model-review reassign primary "
    "@alice`; an OWNER's comment shows `LGTM!` and hides `<!-- /model-review reassign "
    "secondary @alice -->`",
    "The MEMBER's command is refused after one permission lookup: the primary stays "
    "@bob and the comment says the command was not applied for lack of write access. "
    "The hidden command is no command: nothing runs, nothing is written",
)
def test_commands_need_verified_write_access_and_visible_text(sim, action) -> None:
    github, _ = sim
    github.roles = {"frank": "read"}
    action("pull_request", pr_event(github, "opened"))
    hidden = github.add_comment("LGTM!\n<!-- /model-review reassign secondary @alice -->", "owner")
    writes = list(github.writes)
    out = action("issue_comment", comment_event(github, "created", hidden, None))
    assert out["gate"] == "skipped" and github.writes == writes
    grab = github.add_comment("/model-review reassign primary @alice", "frank", "MEMBER")
    out = action("issue_comment", comment_event(github, "created", grab, None))
    assert out["gate"] == "pending" and "waiting for @bob (primary)" in out["description"]
    body = github.bot_comments[0]["body"].replace("\\", "").replace(WORD_JOINER, "")
    assert "reassign primary @alice` was not applied" in body and "@frank has none" in body
    asked = [r for _, r in github.calls if "permission" in r]
    assert len(asked) == 1, asked


def test_approval_before_the_run_changed_is_stale(sim, action, runs) -> None:
    github, _ = sim
    action("pull_request", pr_event(github, "opened"))
    github.add_review("bob", "APPROVED", "2000-01-01T00:00:00Z")
    github.add_review("carol", "APPROVED", "2000-01-01T00:00:00Z")
    out = action("pull_request", pr_event(github, "synchronize"))
    assert out["gate"] == "pending" and "older than the current runs" in out["description"]
    github.add_review("carol", "CHANGES_REQUESTED", "2099-01-01T00:00:00Z")
    out = action("pull_request", pr_event(github, "synchronize"))
    assert out["gate"] == "failure" and "changes requested by @carol" in out["description"]


def test_rerun_with_nothing_changed_writes_nothing(sim, action) -> None:
    github, _ = sim
    action("pull_request", pr_event(github, "opened"))
    writes = list(github.writes)
    github.take_calls()
    action("pull_request", pr_event(github, "synchronize"))
    assert github.writes == writes
    assert {method for method, _ in github.take_calls()} == {"GET"}


def test_fork_pr_writes_only_the_job_summary(sim, action, tmp_path) -> None:
    github, _ = sim
    github.head_repo = "mallory/models"
    payload = pr_event(github, "opened")
    out = action("pull_request", payload)
    assert github.writes == [] and out["gate"] == "pending"
    assert "cand-1" in (tmp_path / "summary.md").read_text()


def test_unhandled_event_exits_0_with_a_notice(action, capsys) -> None:
    out = action("workflow_run", gp.webhook("workflow_run", "completed"))
    assert out["gate"] == "skipped"
    assert "::notice::" in capsys.readouterr().out
